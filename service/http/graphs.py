"""The SPARQL 1.1 Graph Store HTTP Protocol (/graph-store?graph=IRI or ?default) and /export."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, request
from rdflib import URIRef

from .. import history, jsonld, oscal, validation, workbook
from ..namespaces import DEFAULT_GRAPH
from ..store import FORMATS, RDFFormat, StoreError, format_for
from ..store.formats import to_ntriples
from ..store.input_limits import MAX_TRIPLES_PER_REQUEST, check_input
from ..store.terms import reserved_graph
from . import audit, formats
from .api import ExportParams, GraphParams, ImportParams, ImportResult, operation
from .audit import write_lock
from .errors import Problem, checked_iri
from .pages import cached
from .state import default_day, get_store

bp = Blueprint("graphs", __name__)
# `?default` is the store's default graph, the one a SPARQL update without GRAPH writes.


def _target(direct: str | None = None) -> URIRef:
    """The graph a request names: ?graph=IRI, ?default, or (direct identification) its own URL."""
    if direct is not None:
        return checked_iri(request.base_url)  # a URL path can hold what an IRI cannot (<, >, spaces)
    has_default, graph = "default" in request.args, request.args.get("graph")
    if has_default == (graph is not None):
        raise Problem(400, "Bad graph", "name exactly one of ?graph=IRI and ?default", "bad-graph")
    if graph is None:
        return DEFAULT_GRAPH
    return checked_iri(graph)


def _body_format():  # type: ignore[no-untyped-def]
    try:
        return format_for(media_type=request.mimetype or "")
    except StoreError as e:
        raise Problem(415, "Unsupported Media Type", str(e), "media-type") from None


def _body() -> tuple[bytes, RDFFormat]:
    """The request's RDF; a multipart/form-data upload becomes one N-Triples document, so that
    all its parts are loaded together or not at all."""
    if request.mimetype != "multipart/form-data":
        return request.get_data(), _body_format()
    parts = []
    for name, upload in request.files.items(multi=True):
        try:
            fmt = format_for(media_type=upload.mimetype or "", path=upload.filename or name)
        except StoreError as e:
            raise Problem(415, "Unsupported Media Type", f"part {name!r}: {e}", "media-type") from None
        data = upload.read()
        data = check_input(data, fmt, f"part {name}")  # before the parser that to_ntriples runs
        parts.append(to_ntriples(data, fmt, source=f"part {name}"))
    return b"".join(parts), FORMATS["nt"]


@bp.route("/graph-store", methods=["GET", "HEAD", "PUT", "POST", "DELETE"])
@bp.route("/graph-store/<path:direct>", methods=["GET", "HEAD", "PUT", "POST", "DELETE"])
@operation(
    "get",
    "A graph (?graph=IRI, ?default, or the URL itself)",
    "graph store",
    params=GraphParams,
    media=formats.GRAPH_MEDIA,
    others={404: "No such graph", 406: "Format not offered"},
    role="reader",
)
@operation(
    "head",
    "A graph's headers",
    "graph store",
    params=GraphParams,
    media=formats.GRAPH_MEDIA,
    others={404: "No such graph"},
    role="reader",
)
@operation(
    "put",
    "Replace a graph, all or nothing",
    "graph store",
    params=GraphParams,
    status=201,
    others={204: "Replaced", 413: "Too large", 415: "Unsupported type"},
    body=formats.GRAPH_MEDIA + ("multipart/form-data",),
    role="editor",
)
@operation(
    "post",
    "Add to a graph, all or nothing",
    "graph store",
    params=GraphParams,
    status=201,
    others={204: "Added", 413: "Too large", 415: "Unsupported type"},
    body=formats.GRAPH_MEDIA + ("multipart/form-data",),
    role="editor",
)
@operation(
    "delete",
    "Delete a graph",
    "graph store",
    params=GraphParams,
    status=204,
    others={404: "No such graph"},
    role="editor",
)
def graph_store(direct: str | None = None) -> Response:
    graph = _target(direct)
    store = get_store()
    if request.method in ("GET", "HEAD"):
        if graph not in store.graphs():
            raise Problem(404, "Not Found", f"no graph {graph}", "no-graph")
        try:
            fmt = formats.graph_type()
        except Problem:
            if request.method != "HEAD":
                raise
            fmt = formats.GRAPH_TYPES["text/turtle"]  # HEAD: the headers of the default answer
        body = store.export(fmt, graph)
        return Response(b"" if request.method == "HEAD" else body, mimetype=fmt.media_type)
    if reserved_graph(graph):
        raise Problem(403, "Forbidden", f"the graph {graph} is read-only or internal", "read-only-graph")
    if request.method != "DELETE":
        # read and checked before the lock: a slow, large or refused upload holds up no other
        # writer, and the store's own check of checked data under the lock is free
        data, fmt = _body()
        data = check_input(data, fmt, "request body", MAX_TRIPLES_PER_REQUEST)
    with write_lock():
        existed = graph in store.graphs()
        before = store.count(graph) if existed else 0
        if request.method == "DELETE":
            if not existed:
                raise Problem(404, "Not Found", f"no graph {graph}", "no-graph")
            old = history.snapshot(store, graphs=[graph])
            store.drop(graph)
            audit.record("graph-store DELETE", str(graph), before, 0, history.diff(old, set()))
            return Response(status=204)
        # the graph before and after, under the lock: a PUT of what it holds changes nothing
        old = history.snapshot(store, graphs=[graph]) if existed else set()
        store.load(
            data,
            fmt,
            graph,
            replace=request.method == "PUT",
            source="request body",
            max_triples=MAX_TRIPLES_PER_REQUEST,
        )
        new = history.snapshot(store, graphs=[graph])
        audit.record(
            f"graph-store {request.method}", str(graph), before, store.count(graph), history.diff(old, new)
        )
    return Response(status=204 if existed else 201)


@bp.route("/export")
@operation(
    "get",
    "The organisation's data (the catalogue only when asked) or one graph: Turtle and TriG with prefixes, JSON-LD compacted with /context.jsonld, the workbook (xlsx) or the SoA in OSCAL (oscal)",
    "data",
    params=ExportParams,
    media=formats.GRAPH_MEDIA
    + ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/json"),
    others={404: "No such graph"},
    role="reader",
)
def export() -> Response:
    store = get_store()
    name = request.args.get("format")
    if name == "oscal":
        as_of = request.args.get("as_of")
        try:
            day = dt.date.fromisoformat(as_of) if as_of else default_day()
        except ValueError:
            raise Problem(
                400, "Bad date", f"as_of={as_of!r} is not a date (YYYY-MM-DD)", "bad-parameter"
            ) from None
        text = cached(lambda: oscal.export_json(store, day), "export", "oscal", day)
        return Response(text, mimetype="application/json")
    if name == "xlsx":
        try:
            data = cached(lambda: workbook.export(store), "export", "xlsx")  # no date in it
        except workbook.WorkbookError as e:
            raise Problem(409, "Does not fit the workbook", str(e), "workbook") from None
        response = Response(data, mimetype=XLSX)
        response.headers["Content-Disposition"] = 'attachment; filename="aims.xlsx"'
        return response
    graph = request.args.get("graph")
    target = None
    if graph:
        target = checked_iri(graph)
        if target not in store.graphs():
            raise Problem(404, "Not Found", f"no graph {graph}", "no-graph")
    if name:
        try:
            fmt = format_for(name=name)
        except StoreError as e:
            raise Problem(400, "Bad format", str(e), "bad-format") from None
    else:
        fmt = formats.graph_type(quads=True)
    with_catalogue = bool(request.params.with_catalogue)  # type: ignore[attr-defined]  # checked by ExportParams
    if fmt.name == "json-ld":  # compacted by rdflib, far slower than Oxigraph's other formats
        key = ("export", fmt.name, target, with_catalogue)
        return Response(
            cached(lambda: store.export(fmt, target, with_catalogue), *key), mimetype=fmt.media_type
        )
    return Response(store.export(fmt, target, with_catalogue), mimetype=fmt.media_type)


@bp.route("/context.jsonld")
@operation(
    "get", "The vocabulary's JSON-LD context", "data", media=("application/ld+json",), answer=dict[str, Any]
)
def jsonld_context() -> Response:
    """The vocabulary's JSON-LD context, which the JSON-LD export uses and uploads may name."""
    return Response(json.dumps(jsonld.document(), indent=2), mimetype="application/ld+json")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_GRAPH = "https://w3id.org/aims/graph/source/import.xlsx"


@bp.route("/import", methods=["POST"])
@operation(
    "post",
    "A filled workbook (aims template) into a graph, all or nothing; every problem named by sheet, row and column",
    "data",
    params=ImportParams,
    answer=ImportResult,
    status=201,
    others={415: "Not an XLSX body"},
    body=(XLSX,),
    role="editor",
)
def import_workbook() -> Response:
    """A filled workbook (POSTed as XLSX) into a graph, all or nothing; the answer says what
    validation makes of the store after it. Every problem of the workbook is named in a 400."""
    if (request.mimetype or "") != XLSX:
        raise Problem(415, "Unsupported Media Type", f"POST the workbook as {XLSX}", "media-type")
    return load_workbook(request.get_data())


def load_workbook(xlsx: bytes) -> Response:
    """The import itself, for this route and the import page's form (http/files.py)."""
    graph = checked_iri(request.args.get("graph", IMPORT_GRAPH))
    if reserved_graph(graph):
        raise Problem(403, "Forbidden", f"the graph {graph} is read-only or internal", "read-only-graph")
    if graph == DEFAULT_GRAPH:
        raise Problem(400, "Bad graph", "import into a named graph, not the default graph", "bad-graph")
    base = str(
        checked_iri(request.args.get("base", "https://example.org/import/"), "Bad base", "bad-parameter")
    )
    try:
        data = workbook.read(xlsx, base)
    except workbook.WorkbookError as e:
        raise Problem(
            400, "Workbook refused", f"{len(e.errors)} problem(s); nothing was imported", "workbook",
            errors=[str(p) for p in e.errors],
        ) from None  # fmt: skip
    store = get_store()
    # checked before the write lock, as uploads are: the load under it does not check again
    triples = check_input(
        data.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], "workbook", MAX_TRIPLES_PER_REQUEST
    )
    with write_lock():
        before = store.count(graph)
        old = history.snapshot(store, graphs=[graph])
        added = store.load(triples, FORMATS["nt"], graph, replace=True, max_triples=MAX_TRIPLES_PER_REQUEST)
        changes = history.diff(old, history.snapshot(store, graphs=[graph]))
        audit.record("workbook import", str(graph), before, added, changes)
    report = validation.validate(store, as_of=dt.date.today())
    counts = {s: sum(1 for r in report.results if r.severity == s) for s in ("Violation", "Warning", "Info")}
    body = {
        "graph": str(graph),
        "triples": added,
        "validation": {"as_of": report.as_of.isoformat(), **counts},
    }
    return Response(json.dumps(body), status=201, mimetype="application/json")
