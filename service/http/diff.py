"""/diff?from=A&to=B: what changed between two snapshots, or a snapshot and today ("now"), as a
page or JSON (service/diff.py works it out). Each side is judged on its own day; "now" on ?as_of=
(default today). Worked out once per pair and state of the store (pages.cached); each side's validation
is the one its own pages use (pages.report: kept, and counted against a reader's budget)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, g
from pydantic import Field

from .. import diff, snapshots, validation
from . import budget, formats, pages
from .api import OVER_BUDGET, Params, checked, operation
from .errors import Problem
from .state import state

bp = Blueprint("diff", __name__, template_folder="templates")
HTML_OR_JSON = {"application/json": "json", "text/html": "html"}


class DiffParams(Params):
    from_: str | None = Field(
        None, alias="from", description="A snapshot's name, or now (default: the newest snapshot)"
    )
    to: str = Field(diff.NOW, description="A snapshot's name, or now (the default)")
    as_of: dt.date | None = Field(None, description="The day now is judged on (default: today)")
    format: str | None = Field(None, description="json or html")


@bp.route("/diff")
@operation(
    "get",
    "What changed between two snapshots, or a snapshot and now: resources added, removed and changed "
    "(values before and after, by kind), requirements and risks whose verdict changed, evidence that expired (a page or JSON)",
    "snapshots",
    params=DiffParams,
    media=("application/json", "text/html"),
    others={404: "No such snapshot", **OVER_BUDGET},
    role="reader",
)
def compare() -> Response:
    asked: DiffParams = checked()
    g.pop("aims_snapshot", None)  # both sides are named: a ?snapshot= of the page plays no part
    store = state().store
    taken = snapshots.listed(store)
    json = formats.choose(HTML_OR_JSON) == "application/json"
    before = asked.from_ or (taken[-1].name if taken else None)
    day = asked.as_of or dt.date.today()
    if diff.NOW in (before, asked.to) or before is None:
        budget.spend(day)  # now is judged on that day: counted before anything is looked up
    if before is None:
        if json:
            raise Problem(404, "Not Found", "there is no snapshot to compare: take one first", "snapshot")
        return pages._page("diff.html", found=None, taken=taken, asked=asked)

    try:
        a, b = diff.side(store, before, day), diff.side(store, asked.to, day)
    except snapshots.SnapshotError as e:
        title = "Not Found" if e.status == 404 else "Bad snapshot"
        raise Problem(e.status, title, str(e), "snapshot") from None

    def report(side: diff.Side) -> validation.Report:
        """The side's report as its own pages have it (pages.report: worked out once, kept under
        the snapshot, counted against a reader's budget)."""
        g.aims_snapshot = side.store if side.snapshot is not None else None
        try:
            return pages.report(None, side.day)
        finally:
            g.pop("aims_snapshot", None)

    found = pages.cached(lambda: diff.compare(a, b, report), "diff", before, asked.to, day)
    if json:
        return Response(current_app.json.dumps(found.to_json()), mimetype="application/json")
    g.names = found.names
    return pages._page("diff.html", found=found, taken=taken, asked=asked, as_of=day)
