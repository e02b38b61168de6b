"""IRIs and terms as they reach SPARQL text: the IRI check every IRI from a user passes, terms
written for a query, and the graph names the service keeps for itself."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.term import Identifier

from .base import StoreError

# Absolute IRIs with no character SPARQL or Turtle forbids inside <...>: controls and the ASCII
# space, not Unicode spaces (U+00A0, U+2028, U+3000 are legal in an IRI, and data holds them).
_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|\\^`]*$')


def check_iri(value: str) -> URIRef:
    """`value` as an IRI term, or StoreError: the only way an IRI from a user reaches a query."""
    if not _IRI.match(value):
        raise StoreError(f"{value!r} is not an absolute IRI")
    try:
        ox.NamedNode(value)  # and one the store accepts (RFC 3987 code points, as Oxigraph reads them)
    except ValueError as e:
        raise StoreError(f"{value!r} is not an IRI: {e}") from None
    return URIRef(value)


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def sparql_term(term: Identifier) -> str:
    """An IRI or literal written for a query, on one line, every quote and break escaped."""
    if isinstance(term, URIRef):
        return f"<{check_iri(str(term))}>"
    if isinstance(term, Literal):
        text = '"' + str(term).translate(_ESCAPES) + '"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype:
            return f"{text}^^<{check_iri(str(term.datatype))}>"
        return text
    raise StoreError(f"cannot bind {term!r}: only IRIs and literals")


# Graph names the service keeps for itself: the catalogue, the embedded store's staging graphs,
# the remote store's registry. No client request may write them or create one.
RESERVED_GRAPH_PREFIXES = (
    "urn:aims:",
    "https://w3id.org/aims/graph/catalogue",
    "https://w3id.org/aims/graph/registry",
)


def reserved_graph(iri: str) -> bool:
    return str(iri).startswith(RESERVED_GRAPH_PREFIXES)


# Snapshots (service/snapshots.py) freeze the organisation's graphs into graphs of this prefix, with
# their description in SNAPSHOTS_GRAPH. They are reserved (no client write reaches them) and kept
# out of the dataset every query sees: `graphs()` leaves them out, and the union is of the others.
FROZEN_GRAPH_PREFIX = "urn:aims:snapshot"


def frozen_graph(iri: str) -> bool:
    return str(iri).startswith(FROZEN_GRAPH_PREFIX)


def source_graph(path: Path) -> URIRef:
    """The default named graph for a loaded file: one graph per source, named after its file."""
    return URIRef(f"https://w3id.org/aims/graph/source/{Path(path).name}")
