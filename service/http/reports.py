"""Reports over HTTP: health, validation, gap analysis, readiness and the named queries; plus the
OpenAPI description and an API page. Each answers JSON, or its page (pages.py) to a browser."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from rdflib import URIRef

from .. import __version__, queries, reports, validation
from . import auth, formats, get_store, pages
from .api import (
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
    operation,
    page,
    spec,
)
from .errors import Problem, checked_iri

bp = Blueprint("reports", __name__)
# Validation runs pySHACL, whose rdflib query parsing is not thread-safe: one report at a time.
_validation_lock = threading.Lock()


def _date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Problem(
            400, "Bad date", f"{name}={raw!r} is not a date (YYYY-MM-DD)", "bad-parameter"
        ) from None


def _stage(required: bool = False) -> int | None:
    raw = request.args.get("stage")
    if raw is None:
        if required:
            raise Problem(400, "Missing stage", "give ?stage=1 or ?stage=2", "bad-parameter")
        return None
    if raw not in ("1", "2"):
        raise Problem(400, "Bad stage", f"stage={raw!r}: use 1 or 2", "bad-parameter")
    return int(raw)


def _iri(name: str) -> URIRef:
    raw = request.args.get(name)
    if not raw:
        raise Problem(400, "Missing parameter", f"give ?{name}=IRI", "bad-parameter")
    return checked_iri(raw, "Bad IRI", "bad-parameter")


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
    others={406: "Format not offered"},
    role="reader",
)
@auth.requires("reader")
def validate() -> Response:
    media = formats.choose({"application/json": "json", "text/turtle": "turtle", "text/html": "html"})
    if media == "text/html":
        return pages.validation_page()
    system = _iri("system") if request.args.get("system") else None
    store = get_store()
    with _validation_lock:
        report = validation.validate(
            store,
            as_of=_date("as_of"),
            stage=_stage(),
            system=system,
            inference=request.args.get("inference", "none"),
            engine=request.args.get("engine", "store"),
        )
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
    role="reader",
)
@auth.requires("reader")
def gap_analysis() -> Response:
    if formats.choose(pages.HTML_OR_JSON) == "text/html":
        return pages.gap_page()
    with _validation_lock:
        statuses = reports.gap_analysis(get_store(), as_of=_date("as_of"), stage=_stage())
    return jsonify([vars(s) for s in statuses])


@bp.route("/readiness")
@operation(
    "get",
    "Certification readiness for a stage (JSON; a browser goes to the dashboard)",
    "reports",
    params=ReadinessParams,
    answer=Readiness,
    others={302: "A browser: to the dashboard"},
    role="reader",
)
@auth.requires("reader")
def readiness() -> Response:
    stage, as_of = _stage(required=True), _date("as_of")
    if formats.choose(pages.HTML_OR_JSON) == "text/html":
        return redirect(url_for("pages.dashboard", as_of=as_of.isoformat() if as_of else None))  # type: ignore[return-value]
    with _validation_lock:
        result = reports.readiness(get_store(), stage, as_of=as_of)  # type: ignore[arg-type]
    return jsonify(result.to_json())


@bp.route("/queries")
@operation("get", "The named queries and their parameters", "queries", answer=list[NamedQuery], role="reader")
@auth.requires("reader")
def list_queries() -> Response:
    return jsonify([q.describe() for q in queries.catalogue().values()])


@bp.route("/queries/<name>")
@operation(
    "get",
    "Run a named query; its own parameters as query parameters",
    "queries",
    params=FormatParams,
    answer=SparqlResults,
    media=(
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ),
    others={404: "No such query"},
    role="reader",
)
@auth.requires("reader")
def run_query(name: str) -> Response:
    try:
        query = queries.get(name)
    except queries.QueryError as e:
        raise Problem(404, "Not Found", str(e), "no-query") from None
    params = {k: v for k, v in request.args.items() if k != "format"}
    timeout = current_app.extensions["aims_settings"].query_timeout
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
