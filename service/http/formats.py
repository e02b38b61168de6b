"""Content negotiation from one table: SPARQL results for SELECT/ASK, RDF formats for graphs."""

from __future__ import annotations

from flask import request
from rdflib import Graph, Variable
from rdflib.query import Result

from ..store import FORMATS, RDFFormat
from ..store.base import Rows
from .errors import Problem

# media type -> short name; the first is the default.
RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
}
GRAPH_TYPES = {
    f.media_type: f
    for f in (
        FORMATS["turtle"],
        FORMATS["nt"],
        FORMATS["json-ld"],
        FORMATS["xml"],
        FORMATS["trig"],
        FORMATS["nquads"],
    )
}
RESULT_MEDIA = tuple(m for m in RESULT_TYPES if m != "application/json")  # that one is an alias
GRAPH_MEDIA = tuple(GRAPH_TYPES)
GRAPH_TYPES_FOR_TRIPLES = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
]


def _choose(offered: list[str], names: dict[str, str]) -> str:
    """The media type to answer in: ?format=NAME, else the Accept header, else the first offered."""
    wanted = request.args.get("format")
    if wanted:
        for media in offered:
            if names.get(media) == wanted or media == wanted:
                return media
        raise Problem(
            406,
            "Not Acceptable",
            f"format {wanted!r} is not offered here; use one of "
            f"{', '.join(sorted({names.get(m, m) for m in offered}))}",
            "not-acceptable",
        )
    if not request.accept_mimetypes or request.accept_mimetypes.provided is False:
        return offered[0]
    best = request.accept_mimetypes.best_match(offered)
    if best is None:
        raise Problem(
            406,
            "Not Acceptable",
            f"cannot answer in {request.headers.get('Accept')}; offered: {', '.join(offered)}",
            "not-acceptable",
        )
    return best


def result_type() -> str:
    return _choose(list(RESULT_TYPES), RESULT_TYPES)


def graph_type(quads: bool = False) -> RDFFormat:
    offered = list(GRAPH_TYPES) if quads else GRAPH_TYPES_FOR_TRIPLES
    media = _choose(offered, {m: f.name for m, f in GRAPH_TYPES.items()})
    return GRAPH_TYPES[media]


def serialize_rows(rows: Rows, media: str) -> bytes:
    name = RESULT_TYPES[media]
    if name == "tsv":  # rdflib has no TSV writer: SPARQL 1.1 TSV is N-Triples terms, tab-separated
        lines = ["\t".join(f"?{v}" for v in rows.variables)]
        lines += ["\t".join(row[v].n3() if v in row else "" for v in rows.variables) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    result = Result("SELECT")
    result.vars = [Variable(v) for v in rows.variables]
    result.bindings = [{Variable(k): v for k, v in row.items()} for row in rows]
    return result.serialize(format=name, encoding="utf-8") or b""


def serialize_boolean(value: bool, media: str) -> bytes:
    name = RESULT_TYPES[media]
    answer = b"true\n" if value else b"false\n"
    if name == "csv":
        return b"_askResult\n" + answer
    if name == "tsv":
        return b"?_askResult\n" + answer
    result = Result("ASK")
    result.askAnswer = value
    return result.serialize(format=name, encoding="utf-8") or b""


def serialize_graph(graph: Graph, fmt: RDFFormat) -> bytes:
    return graph.serialize(format=fmt.name, encoding="utf-8")


def choose(offered: dict[str, str]) -> str:
    """The media type to answer in, of `offered` (media type -> ?format= name, the first the
    default): a browser asking for HTML gets the page, a client asking for nothing in particular
    (*/*) the first, and one asking for nothing offered 406."""
    return _choose(list(offered), offered)
