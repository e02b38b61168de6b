"""A resource's history (/history?iri=: who changed it, when, and its values before and after) and
/my-work (what the signed-in person owns that falls due), as pages and JSON; and for the other
pages, the latest changes of a resource and the "Raise a finding" link."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request
from pydantic import Field
from rdflib import URIRef

from .. import browse, history, queries
from ..namespaces import AIMS_IRI
from . import auth, formats
from .api import AsOf, IriParams, operation
from .errors import Problem, checked_iri
from .state import get_store, state

bp = Blueprint("history", __name__, template_folder="templates")
# the newest writes a history page shows (a resource re-imported often has thousands)
HISTORY_PAGE = 500
HTML_OR_JSON = {"application/json": "json", "text/html": "html"}
RECENT = 10  # changes the resource page shows; the rest on /history
DUE_DAYS = 30  # /my-work: due within this many days of the as-of day counts as due


def _kept() -> history.History:
    return state().history


def recent(iri: str, limit: int = RECENT) -> tuple[list[history.Entry], dict[str, browse.Label]]:
    """The latest writes that changed a resource, for its page (the template's `history_of`)."""
    return history.entries(_kept(), get_store(), iri, limit)


# ------------------------------------------------------------------------------ a resource's history


@bp.route("/history")
@operation(
    "get",
    "What changed a resource, newest first: who, when, how, and each property's values before and after (JSON or a page)",
    "pages",
    params=IriParams,
    media=("application/json", "text/html"),
    role="reader",
)
def history_page() -> Response:
    raw = request.args.get("iri")
    if not raw:
        raise Problem(400, "Missing parameter", "give ?iri=IRI", "bad-parameter")
    iri = str(checked_iri(raw, "Bad IRI", "bad-parameter"))
    found, names = history.entries(_kept(), get_store(), iri, HISTORY_PAGE)
    if formats.choose(HTML_OR_JSON) == "application/json":
        return Response(
            current_app.json.dumps(history.to_json(iri, found, names)), mimetype="application/json"
        )
    from .pages import _page

    g.names = names
    return _page("history.html", iri=iri, label=names[iri], entries=found, limit=history.MAX_QUADS)


# ------------------------------------------------------------------------------ findings


# A finding's fields in the forms take the keys of the ontology's properties (aims-audit.ttl):
# aims:against (the requirement), aims:concerns (what it is about), aims:raisedIn (the audit).
_AUDITS = {AIMS_IRI + c for c in ("Audit", "InternalAudit", "CertificationAudit", "Stage1Audit",
                                  "Stage2Audit", "SurveillanceAudit", "GapAnalysis", "ManagementReview")}  # fmt: skip
_REQUIREMENTS = {AIMS_IRI + c for c in ("Requirement", "ClauseRequirement", "LeafClause", "Control",
                                        "ReferenceControl", "OrganisationControl")}  # fmt: skip


def finding_link(about: str | None = None, requirement: str | None = None, audit: str | None = None) -> str:
    """The form for a new finding with what is known filled in (the forms' prefill, by field key)."""
    given = {"concerns": about, "against": requirement, "raisedIn": audit}
    return "/new/finding?" + urlencode({k: v for k, v in given.items() if v and not v.startswith("_:")})


def finding_link_for(iri: str, types: list[str]) -> str:
    """The link to raise a finding from a resource's page: an audit or review raises it, a clause or control
    is what it is against, anything else is what it concerns."""
    if _AUDITS & set(types):
        return finding_link(audit=iri)
    if _REQUIREMENTS & set(types):
        return finding_link(requirement=iri)
    return finding_link(about=iri)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"history_of": recent, "finding_link": finding_link, "finding_link_for": finding_link_for}


# ------------------------------------------------------------------------------ my work


class MyWorkParams(AsOf):
    days: int = Field(DUE_DAYS, ge=0, le=3660, description="Due within this many days of the as-of day")
    format: str | None = Field(None, description="json or html")


@bp.route("/my-work")
@operation(
    "get",
    "What the signed-in person owns that falls due within ?days= of the as-of day or is overdue (the named query my-work): JSON or a page",
    "pages",
    params=MyWorkParams,
    media=("application/json", "text/html"),
    role="reader",
)
def my_work() -> Response:
    from .pages import _page, as_of

    media = formats.choose(HTML_OR_JSON)
    day = as_of(from_cookie=media == "text/html")
    params = request.params  # type: ignore[attr-defined]  # checked by MyWorkParams
    user = auth.current_user()
    person = getattr(user, "person", None)
    rows: list[dict[str, Any]] = []
    if person:
        until = day + dt.timedelta(days=params.days)
        found = queries.run(
            get_store(),
            "my-work",
            {"person": person, "asOf": day.isoformat(), "until": until.isoformat()},
        )
        rows = found.rows
    if media == "application/json":
        body = {
            "account": getattr(user, "name", None),
            "person": person,
            "as_of": day.isoformat(),
            "items": [{k: browse.plain(v) for k, v in r.items()} for r in rows],
        }
        return Response(current_app.json.dumps(body), mimetype="application/json")
    iris = {str(v) for r in rows for v in r.values() if isinstance(v, URIRef)}
    g.names = browse.labels(get_store(), iris | ({person} if person else set()))
    return _page("my-work.html", user=user, person=person, rows=rows, days=params.days, day=day)
