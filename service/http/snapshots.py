"""Snapshots over HTTP: `?snapshot=NAME` on any read answers from that snapshot (every page,
register, trace, report, named query, SPARQL query and export: `get_store()` gives them the
snapshot's read-only view, judged on its day), and /snapshots lists, takes and deletes them.

A request for a snapshot that would write anything is refused (403) before any view runs; links
on a snapshot's pages keep `?snapshot=` (url_defaults), so a reader stays in it until they leave it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, g, make_response, redirect, request, url_for
from pydantic import Field

from .. import snapshots
from . import audit, auth, formats, pages
from .api import Params, operation
from .audit import write_lock
from .errors import Problem
from .pages import _page, csrf
from .state import current_snapshot, state

bp = Blueprint("snapshots", __name__, template_folder="templates")
NOW = "now"  # ?snapshot=now: today's data, as without the parameter
HTML_OR_JSON = {"application/json": "json", "text/html": "html"}


def _signing(endpoint: str) -> bool:
    """Signing in and out: the same on every page, a snapshot's too (a form that writes a session)."""
    return endpoint.startswith("session.")


def _problem(e: snapshots.SnapshotError) -> Problem:
    title = {404: "Not Found", 409: "Conflict"}.get(e.status, "Bad snapshot")
    return Problem(e.status, title, str(e), "snapshot")


@bp.before_app_request
def _choose() -> None:
    name = request.args.get("snapshot")
    if not name or name == NOW or request.endpoint in (None, "pages.static") or _signing(request.endpoint):
        return
    auth.check("reader")  # who may read is settled before a snapshot's name is looked up
    if request.method not in auth.SAFE_METHODS:
        raise Problem(
            403, "Forbidden",
            f"snapshot {name!r} is read-only: nothing can be written to it (leave out ?snapshot= to change today's data)",
            "read-only-snapshot",
        )  # fmt: skip
    store = state().store
    try:
        # looked up once per state of the store, as a page is: a snapshot's warm page then asks
        # the store nothing more than today's does
        taken = pages.cached(lambda: snapshots.get(store, name), "snapshot", name)
        g.aims_snapshot = snapshots.SnapshotView(store, taken)
    except snapshots.SnapshotError as e:
        raise _problem(e) from None


@bp.app_url_defaults
def _keep(endpoint: str, values: dict[str, Any]) -> None:
    """Links on a snapshot's page stay in the snapshot (a link may leave it with snapshot="now")."""
    view = current_snapshot()
    if (
        view is not None
        and endpoint != "pages.static"
        and not _signing(endpoint)
        and "snapshot" not in values
    ):
        values["snapshot"] = view.snapshot.name
    if values.get("snapshot") == NOW:
        values.pop("snapshot")


def now_url() -> str:
    """This page for today's data: the same address without ?snapshot=."""
    values: dict[str, Any] = {k: v for k, v in request.args.items() if k != "snapshot"}
    values.update(request.view_args or {}, snapshot=NOW)
    return url_for(request.endpoint or "pages.dashboard", **values)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"snapshot": current_snapshot(), "now_url": now_url}


# ------------------------------------------------------------------------------ /snapshots


class SnapshotForm(Params):
    name: str = Field(description="1 to 64 letters, digits, '.', '_' or '-' (stage-2, 2026-11-gap)")
    note: str = Field("", description="What the milestone was")
    as_of: dt.date | None = Field(None, description="The day its verdicts are judged on (default: today)")


@bp.route("/snapshots")
@operation(
    "get",
    "The snapshots: name, who took it, when, the day it is judged on, its note and graphs (a page or JSON)",
    "snapshots",
    media=("application/json", "text/html"),
    role="reader",
)
def listing() -> Response:
    found = snapshots.listed(state().store)
    if formats.choose(HTML_OR_JSON) == "application/json":
        return Response(current_app.json.dumps([s.as_json() for s in found]), mimetype="application/json")
    return _page("snapshots.html", found=found, today=dt.date.today())


def _form_post() -> bool:
    """A form of the snapshots page (a browser), not a tool with a token."""
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and not (
        request.headers.get("Authorization")
    )


def _fields() -> dict[str, Any]:
    if _form_post():
        csrf.protect()
        return {k: v for k, v in request.form.items() if k != "csrf_token" and v != ""}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(
            400, "Bad request", "send a JSON object {name, note, as_of}, or the page's form", "bad-request"
        )
    return body


@bp.route("/snapshots", methods=["POST"])
@operation(
    "post",
    "Take a snapshot of every organisation graph (admin): JSON {name, note, as_of} or the page's form",
    "snapshots",
    status=201,
    body=("application/json", "application/x-www-form-urlencoded"),
    others={400: "Bad name or day", 409: "The name is taken"},
    role="admin",
)
def take() -> Response:
    auth.check("admin")
    try:
        fields = SnapshotForm.model_validate(_fields())
    except ValueError as e:
        raise Problem(
            400, "Bad snapshot", str(e).splitlines()[0] if str(e) else "bad fields", "snapshot"
        ) from None
    store = state().store
    with write_lock():
        before = store.count()
        try:
            taken = snapshots.create(store, fields.name, audit.caller(), fields.note, fields.as_of)
        except snapshots.SnapshotError as e:
            raise _problem(e) from None
        # the live data is unchanged: the kept validation reports stay good (no changes)
        audit.record("snapshot create", None, before, store.count(), [], snapshot=taken.name)
        pages.keep_snapshot_report(store, taken)
    if _form_post():
        return make_response(redirect(url_for("snapshots.listing"), 303))
    response = Response(current_app.json.dumps(taken.as_json()), status=201, mimetype="application/json")
    response.headers["Location"] = url_for("snapshots.listing", _external=False)
    return response


@bp.route("/snapshots/<name>", methods=["DELETE"])
@bp.route("/snapshots/<name>/delete", methods=["POST"])
@operation(
    "post",
    "Delete a snapshot (admin): the snapshots page's form, with its CSRF token",
    "snapshots",
    status=303,
    body=("application/x-www-form-urlencoded",),
    others={404: "No such snapshot"},
    role="admin",
)
@operation(
    "delete",
    "Delete a snapshot (admin); the page's form POSTs to /snapshots/NAME/delete",
    "snapshots",
    status=204,
    others={404: "No such snapshot"},
    role="admin",
)
def remove(name: str) -> Response:
    auth.check("admin")
    if _form_post():
        csrf.protect()
    store = state().store
    with write_lock():
        before = store.count()
        try:
            snapshots.delete(store, name)
        except snapshots.SnapshotError as e:
            raise _problem(e) from None
        audit.record("snapshot delete", None, before, store.count(), [], snapshot=name)
    if _form_post():
        return make_response(redirect(url_for("snapshots.listing"), 303))
    return Response(status=204)
