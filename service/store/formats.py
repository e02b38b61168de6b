"""RDF formats: the table of the formats the service reads and writes, and the conversions
between them that every store shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph

from .base import LoadError, StoreError


@dataclass(frozen=True)
class RDFFormat:
    name: str  # rdflib's parser/serializer name
    media_type: str
    extensions: tuple[str, ...]
    quads: bool  # can hold named graphs
    ox: ox.RdfFormat  # the same format for pyoxigraph


FORMATS: dict[str, RDFFormat] = {
    f.name: f
    for f in (
        RDFFormat("turtle", "text/turtle", (".ttl",), False, ox.RdfFormat.TURTLE),
        RDFFormat("nt", "application/n-triples", (".nt",), False, ox.RdfFormat.N_TRIPLES),
        RDFFormat("nquads", "application/n-quads", (".nq",), True, ox.RdfFormat.N_QUADS),
        RDFFormat("trig", "application/trig", (".trig",), True, ox.RdfFormat.TRIG),
        RDFFormat("json-ld", "application/ld+json", (".jsonld", ".json"), True, ox.RdfFormat.JSON_LD),
        RDFFormat("xml", "application/rdf+xml", (".rdf", ".owl", ".xml"), False, ox.RdfFormat.RDF_XML),
    )
}
_ALIASES = {
    "ttl": "turtle",
    "ntriples": "nt",
    "n-triples": "nt",
    "nq": "nquads",
    "n-quads": "nquads",
    "jsonld": "json-ld",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "rdf": "xml",
}


def format_for(
    name: str | None = None, path: str | Path | None = None, media_type: str | None = None
) -> RDFFormat:
    """The RDF format named, or implied by a file name or media type; StoreError if none fits."""
    if name:
        key = _ALIASES.get(name.lower(), name.lower())
        if key in FORMATS:
            return FORMATS[key]
        raise StoreError(f"unknown RDF format {name!r}; use one of {', '.join(FORMATS)}")
    if media_type:
        base = media_type.split(";")[0].strip().lower()
        for f in FORMATS.values():
            if f.media_type == base:
                return f
        if base in ("application/x-turtle", "text/n3"):
            return FORMATS["turtle"]
        if base in ("text/plain",):
            return FORMATS["nt"]
        raise StoreError(f"unsupported RDF media type {base!r}")
    if path is not None:
        suffix = Path(path).suffix.lower()
        for f in FORMATS.values():
            if suffix in f.extensions:
                return f
        raise StoreError(f"cannot tell the RDF format of {Path(path).name!r} from its extension; name it")
    raise StoreError("no RDF format given")


def readable(dataset: Dataset, fmt: RDFFormat) -> bytes:
    """A dataset written for people and tools: the project's prefixes, JSON-LD compacted with the
    vocabulary's context (rdflib's serialisers do both). A triple format gets the union."""
    from .. import jsonld
    from ..namespaces import PREFIXES

    target: Graph | Dataset = dataset
    if not fmt.quads:
        target = Graph()
        for quad in dataset.quads((None, None, None, None)):
            target.add(quad[:3])  # type: ignore[arg-type]
    for prefix, namespace in PREFIXES.items():
        target.bind(prefix, namespace, override=True)
    if fmt.name == "json-ld":
        return target.serialize(
            format="json-ld", context=jsonld.context(), auto_compact=True, encoding="utf-8"
        )
    return target.serialize(format=fmt.name, encoding="utf-8")


def to_ntriples(data: bytes, fmt: RDFFormat, source: str | None = None, base_iri: str | None = None) -> bytes:
    """`data` parsed and written again as N-Triples (the graph part of any quads dropped);
    LoadError with the line and column of a syntax error."""
    try:
        triples = [
            ox.Triple(t.subject, t.predicate, t.object)
            for t in ox.parse(data, format=fmt.ox, base_iri=base_iri)
        ]
    except SyntaxError as e:
        raise LoadError(e.msg, source=source, line=e.lineno, column=e.offset) from e
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
