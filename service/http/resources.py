"""Any resource: its label, types, properties and what links to it, as JSON or a page (with what the
rules make of it, and its form)."""

from __future__ import annotations

from flask import Response, current_app, g, request
from rdflib import URIRef

from .. import browse, forms, traces, validation
from . import formats
from .api import IriParams, Resource, operation
from .errors import Problem, checked_iri
from .pages import HTML_OR_JSON, _page, as_of, bp, cached
from .state import get_store


@bp.route("/resource")
@operation(
    "get",
    "Any resource: label, types, properties and what links to it (JSON or a page)",
    "pages",
    params=IriParams,
    answer=Resource,
    media=("application/json", "text/html"),
    others={404: "Nothing in the graph is about it"},
    role="reader",
)
def resource_page() -> Response:
    raw = request.args.get("iri")
    if not raw:
        raise Problem(400, "Missing parameter", "give ?iri=IRI", "bad-parameter")
    found = browse.resource(get_store(), checked_iri(raw, "Bad IRI", "bad-parameter"))
    if not found.exists():
        raise Problem(404, "Not Found", f"nothing in the graph is about {raw}", "unknown-iri")
    media = formats.choose(HTML_OR_JSON)
    if media == "application/json":
        return Response(
            current_app.json.dumps(
                {
                    **found.label.to_json(),
                    "types": found.types,
                    "properties": [[p, browse.plain(v)] for p, v in found.properties],
                    "linkedFrom": [[s, p] for s, p in found.linked_from],
                }
            ),
            mimetype="application/json",
        )
    g.names = found.names
    trace_kind = traces.kind_of(found.types)
    # what the rules make of this resource alone (every rule, its own focus node): shown at once,
    # so that a form's save says what it leaves unmet
    day, iri = as_of(), URIRef(found.iri)
    results = cached(
        lambda: validation.validate(get_store(), as_of=day, focus_nodes=[iri]).results,
        "own results",
        iri,
        day,
    )
    editable = not forms.in_catalogue(get_store(), iri)  # offered Edit and Delete: not the catalogue
    form = forms.form_for(get_store(), found.types) if editable else None
    return _page(
        "resource.html", found=found, trace_kind=trace_kind, results=results, form=form, editable=editable
    )
