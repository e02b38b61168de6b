"""Reports over HTTP: health, validation, gap analysis, readiness, the Statement of Applicability,
traceability chains and the named queries; plus the OpenAPI description and an API page."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from rdflib import Literal, URIRef

from .. import __version__, queries, reports, validation
from ..store.base import Rows
from . import auth, formats, get_store
from .errors import Problem, checked_iri
from .openapi import API_PAGE, spec

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


def _text(term: Any) -> Any:
    if isinstance(term, Literal):
        value = term.toPython()
        return (
            value.isoformat()
            if hasattr(value, "isoformat")
            else (value if isinstance(value, bool | int) else str(value))
        )
    return str(term) if term is not None else None


@bp.route("/health")
def health() -> Response:
    store = get_store()
    return jsonify({"status": "ok", "version": __version__, "store": store.kind, "triples": store.count()})


@bp.route("/validate")
@auth.requires("reader")
def validate() -> Response:
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
    accept = request.accept_mimetypes
    if (
        accept.best_match(["application/json", "text/turtle"]) == "text/turtle"
        and accept["text/turtle"] > accept["application/json"]
    ):
        return Response(report.graph.serialize(format="turtle"), mimetype="text/turtle")
    return jsonify(report.to_json())


@bp.route("/gap-analysis")
@auth.requires("reader")
def gap_analysis() -> Response:
    with _validation_lock:
        statuses = reports.gap_analysis(get_store(), as_of=_date("as_of"), stage=_stage())
    return jsonify([vars(s) for s in statuses])


@bp.route("/readiness")
@auth.requires("reader")
def readiness() -> Response:
    stage, as_of = _stage(required=True), _date("as_of")
    with _validation_lock:
        result = reports.readiness(get_store(), stage, as_of=as_of)  # type: ignore[arg-type]
    return jsonify(result.to_json())


@bp.route("/soa")
@auth.requires("reader")
def soa() -> Response:
    rows = _run("statement-of-applicability", {})
    records = [{v: _text(row.get(v)) for v in rows.variables} for row in rows]
    best = (
        request.accept_mimetypes.best_match(["application/json", "text/csv", "text/html"])
        or "application/json"
    )
    if request.args.get("format") in ("json", "csv", "html"):
        best = {"json": "application/json", "csv": "text/csv", "html": "text/html"}[request.args["format"]]
    if best == "text/csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=rows.variables)
        writer.writeheader()
        writer.writerows(records)
        return Response(out.getvalue(), mimetype="text/csv")
    if best == "text/html":
        head = "".join(f"<th>{html.escape(v)}</th>" for v in rows.variables)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(r[v] if r[v] is not None else ''))}</td>" for v in rows.variables
            )
            + "</tr>"
            for r in records
        )
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Statement of Applicability</title></head>"
            f"<body><h1>Statement of Applicability</h1><table border='1'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></body></html>"
        )
        return Response(page, mimetype="text/html")
    return jsonify(records)


# How each trace nests its rows: the query, then levels of (key for the list, id column, columns).
TRACES: dict[str, tuple[str, str, list[tuple[str, str, list[str]]]]] = {
    "risk": (
        "trace-risk",
        "risk",
        [
            ("treatments", "treatment", ["option"]),
            ("implementations", "implementation", ["status", "control", "controlId"]),
            ("evidence", "evidence", ["generatedAt", "validUntil", "valid"]),
            ("supports", "supports", []),
        ],
    ),
    "control": (
        "trace-control",
        "control",
        [
            ("entries", "entry", ["applicable", "justification"]),
            ("implementations", "implementation", ["status"]),
            ("risks", "risk", []),
        ],
    ),
    "requirement": (
        "trace-requirement",
        "requirement",
        [
            ("answered", "answered", ["answeredId"]),
            ("resources", "resource", ["kind"]),
        ],
    ),
    "system": ("trace-system", "system", [("related", "resource", ["relation"])]),
    "evidence": ("trace-evidence", "evidence", [("reliedOnBy", "resource", ["relation"])]),
}


def _nest(rows: list[dict[str, Any]], levels: list[tuple[str, str, list[str]]]) -> list[dict[str, Any]]:
    if not levels:
        return []
    key, id_column, columns = levels[0]
    groups: dict[str, dict[str, Any]] = {}
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        ident = row.get(id_column)
        if ident is None:
            continue
        if ident not in groups:
            groups[ident] = {"iri": ident, **{c: row.get(c) for c in columns}}
            members[ident] = []
        members[ident].append(row)
    for ident, node in groups.items():
        if len(levels) > 1:
            node[levels[1][0]] = _nest(members[ident], levels[1:])
    return list(groups.values())


@bp.route("/trace/<kind>")
@auth.requires("reader")
def trace(kind: str) -> Response:
    if kind not in TRACES:
        raise Problem(404, "Not Found", f"no trace for {kind!r}; use one of {', '.join(TRACES)}", "no-trace")
    name, parameter, levels = TRACES[kind]
    iri = _iri("iri")
    params = {parameter: str(iri)}
    if request.args.get("as_of") and any(p.name == "asOf" for p in queries.get(name).parameters):
        params["asOf"] = request.args["as_of"]
    rows = _run(name, params)
    if not rows.rows:
        raise Problem(404, "Not Found", f"no {kind} {iri} in the graph", "unknown-iri")
    records = [{k: _text(v) for k, v in row.items()} for row in rows]
    top = {"iri": str(iri), **({"riskLevel": records[0]["riskLevel"]} if "riskLevel" in records[0] else {})}
    return jsonify({kind: top, levels[0][0]: _nest(records, levels)})


def _run(name: str, params: dict[str, str]) -> Rows:
    query = queries.get(name)
    timeout = current_app.extensions["aims_settings"].query_timeout
    result = get_store().query(query.text, query.bindings(params), timeout)
    assert isinstance(result, Rows)
    return result


@bp.route("/queries")
@auth.requires("reader")
def list_queries() -> Response:
    return jsonify([q.describe() for q in queries.catalogue().values()])


@bp.route("/queries/<name>")
@auth.requires("reader")
def run_query(name: str) -> Response:
    try:
        query = queries.get(name)
    except queries.QueryError as e:
        raise Problem(404, "Not Found", str(e), "no-query") from None
    params = {k: v for k, v in request.args.items() if k != "format"}
    rows = _run(query.name, params)
    media = formats.result_type()
    return Response(formats.serialize_rows(rows, media), mimetype=media)


@bp.route("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())


@bp.route("/")
@bp.route("/api")
def api_page() -> Response:
    return Response(API_PAGE, mimetype="text/html")
