"""The service over HTTP: health, the named queries, the OpenAPI description and an API page.
Validation, gap analysis and readiness (verdicts.py) answer on this blueprint too."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .. import __version__, queries
from . import formats
from .api import FormatParams, Health, NamedQuery, SparqlResults, operation, page, spec
from .errors import Problem
from .state import default_day, get_store, state

bp = Blueprint("reports", __name__)


@bp.route("/health")
@operation("get", "Status, version, store kind and triple count", "service", answer=Health)
def health() -> Response:
    store = get_store()
    return jsonify({"status": "ok", "version": __version__, "store": store.kind, "triples": store.count()})


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
    params = {k: v for k, v in request.args.items() if k not in ("format", "snapshot")}
    timeout = state().settings.query_timeout
    rows = queries.run(get_store(), query.name, params, timeout, default_day())
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
