"""Traces: the whole chain from a risk, control, requirement, system or evidence, as JSON or a page."""

from __future__ import annotations

from flask import Response, current_app, g, redirect, url_for

from .. import frameworks, traces
from . import formats, pages
from .api import OVER_BUDGET, Trace, TraceParams, checked, operation
from .errors import Problem, checked_iri
from .pages import HTML_OR_JSON, _page, as_of, bp
from .state import get_store


@bp.route("/trace/<kind>")
@operation(
    "get",
    "The whole chain from a risk, control, requirement, system or evidence: JSON with a label for every IRI, or a page",
    "traces",
    params=TraceParams,
    answer=Trace,
    media=("application/json", "text/html"),
    others={404: "No such kind, or nothing of it with that IRI", **OVER_BUDGET},
    role="reader",
)
def trace(kind: str) -> Response:
    media = formats.choose(HTML_OR_JSON)
    params = checked()
    if not params.iri and not params.id:
        raise Problem(400, "Missing parameter", "give ?iri=IRI or ?id=IDENTIFIER", "bad-parameter")
    if kind == "requirement" and params.iri and frameworks.key_of(params.iri):  # an AI Act or NIST item
        return redirect(url_for("reports.framework_item", iri=params.iri, as_of=params.as_of), 303)  # type: ignore[return-value]
    day = as_of(from_cookie=media == "text/html")
    store = get_store()
    try:
        if params.iri:
            iri = checked_iri(params.iri, "Bad IRI", "bad-parameter")
        else:
            iri = traces.resolve(store, kind, params.id or "")
        if kind in traces.JUDGED:
            found = traces.trace(store, kind, iri, day, pages.report(2, day), pages.gaps(2, day))
        else:  # judged by the whole report when one is at hand, else validated for the chain's
            # own nodes: no wait for a whole validation after a write
            found = traces.trace(store, kind, iri, day, pages.report_at_hand(day))
    except traces.TraceNotFound as e:
        raise Problem(
            404, "Not Found", str(e), "unknown-iri" if kind in traces.KINDS else "no-trace"
        ) from None
    if media == "application/json":
        return Response(current_app.json.dumps(found.to_json()), mimetype="application/json")
    g.names = found.names
    return _page("trace.html", trace=found, day=day)
