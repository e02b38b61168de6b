"""Reports over HTTP: health, validation, gap analysis, readiness and the named queries; plus the
OpenAPI description and an API page. Each answers JSON, or its page (pages.py) to a browser."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for

from .. import __version__, queries, validation
from . import budget, formats, pages
from .api import (
    OVER_BUDGET,
    FormatParams,
    Health,
    NamedQuery,
    Readiness,
    ReadinessParams,
    RequirementStatus,
    SparqlResults,
    Stage,
    ValidateParams,
    ValidationReport,
    checked,
    operation,
    page,
    spec,
)
from .errors import Problem, checked_iri
from .state import get_store, state

bp = Blueprint("reports", __name__)
# The reference engine runs pySHACL, whose rdflib query parsing is not thread-safe: one such
# report at a time. Only that waits for it: the store engine's reports (pages, JSON) take no lock,
# and no cheap read does.
_reference_lock = threading.Lock()


@bp.route("/health")
@operation("get", "Status, version, store kind and triple count", "service", answer=Health)
def health() -> Response:
    store = get_store()
    return jsonify({"status": "ok", "version": __version__, "store": store.kind, "triples": store.count()})


@bp.route("/validate")
@bp.route("/validation")
@operation(
    "get",
    "The validation report: JSON, the W3C report graph (text/turtle), or a page grouped by clause",
    "reports",
    params=ValidateParams,
    answer=ValidationReport,
    media=("application/json", "text/turtle", "text/html"),
    others={
        403: "The reference engine or inference without the editor role",
        406: "Format not offered",
        **OVER_BUDGET,
    },
    role="reader",
)
def validate() -> Response:
    media = formats.choose({"application/json": "json", "text/turtle": "turtle", "text/html": "html"})
    if media == "text/html":
        return pages.validation_page()
    params = checked()
    system = checked_iri(params.system, "Bad IRI", "bad-parameter") if params.system else None
    store = get_store()
    day = params.as_of or dt.date.today()
    if params.engine == "pyshacl" or params.inference != "none":
        budget.require_editor("the reference engine (engine=pyshacl) and inference")
        with _reference_lock:
            report = validation.validate(
                store,
                as_of=day,
                stage=params.stage,
                system=system,
                inference=params.inference,
                engine="pyshacl",
            )
    elif system is not None:
        budget.spend(day)  # one system's rules: not cached, still a day's validation
        report = validation.validate(store, as_of=day, stage=params.stage, system=system)
    else:
        report = pages.report(params.stage, day)  # the pages' cache: a day worked out is free
    if media == "text/turtle":
        return Response(report.graph.serialize(format="turtle"), mimetype="text/turtle")
    return jsonify(report.to_json())


@bp.route("/gap-analysis")
@operation(
    "get",
    "A status for every leaf clause, Annex A and own control (JSON or a page)",
    "reports",
    params=Stage,
    answer=list[RequirementStatus],
    media=("application/json", "text/html"),
    others=OVER_BUDGET,
    role="reader",
)
def gap_analysis() -> Response:
    if formats.choose(pages.HTML_OR_JSON) == "text/html":
        return pages.gap_page()
    statuses = pages.gaps(checked().stage, checked().as_of or dt.date.today())
    return jsonify([vars(s) for s in statuses])


@bp.route("/readiness")
@operation(
    "get",
    "Certification readiness for a stage (JSON; a browser goes to the dashboard)",
    "reports",
    params=ReadinessParams,
    answer=Readiness,
    others={302: "A browser: to the dashboard", **OVER_BUDGET},
    role="reader",
)
def readiness() -> Response:
    stage, as_of = checked().stage, checked().as_of
    if formats.choose(pages.HTML_OR_JSON) == "text/html":
        return redirect(url_for("pages.dashboard", as_of=as_of.isoformat() if as_of else None))  # type: ignore[return-value]
    result = pages.readiness(stage, as_of or dt.date.today())
    return jsonify(result.to_json())


@bp.route("/queries")
@operation("get", "The named queries and their parameters", "queries", answer=list[NamedQuery], role="reader")
def list_queries() -> Response:
    return jsonify([q.describe() for q in queries.catalogue().values()])


@bp.route("/queries/<name>")
@operation(
    "get",
    "Run a named query; its own parameters as query parameters",
    "queries",
    params=FormatParams,
    answer=SparqlResults,
    media=formats.RESULT_MEDIA,
    others={404: "No such query"},
    role="reader",
)
def run_query(name: str) -> Response:
    try:
        query = queries.get(name)
    except queries.QueryError as e:
        raise Problem(404, "Not Found", str(e), "no-query") from None
    params = {k: v for k, v in request.args.items() if k != "format"}
    timeout = state().settings.query_timeout
    rows = queries.run(get_store(), query.name, params, timeout)
    media = formats.result_type()
    return Response(formats.serialize_rows(rows, media), mimetype=media)


@bp.route("/openapi.json")
@operation("get", "This description (OpenAPI 3.1)", "service", answer=dict[str, Any])
def openapi() -> Response:
    return jsonify(spec(current_app))


@bp.route("/api")
@operation("get", "A page listing the API", "service", media=("text/html",))
def api_page() -> Response:
    return Response(page(spec(current_app)), mimetype="text/html")
