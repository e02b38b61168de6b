"""The catalogue graph: the ontology modules and the ISO/IEC 42001 catalogue, as shipped, and
whether a store's copy of it is intact."""

from __future__ import annotations

from functools import cache

from rdflib import BNode, Graph
from rdflib.compare import isomorphic
from rdflib.term import Identifier

from .. import resources

_catalogue: Graph | None = None


def catalogue_graph() -> Graph:
    """The ontology modules and the ISO catalogue as one rdflib Graph (parsed once)."""
    global _catalogue
    if _catalogue is None:
        g = Graph()
        for path in resources.ontology_files():
            g.parse(path)
        _catalogue = g
    return _catalogue


def is_shipped(held: Graph) -> bool:
    """Whether `held` (a store's catalogue graph) is exactly the shipped catalogue: ground triples
    compared as sets, the few with blank nodes up to isomorphism (fast)."""
    ground, blank = _split_blank(held)
    expected_ground, expected_blank = _shipped_catalogue_parts()
    return ground == expected_ground and isomorphic(blank, expected_blank)


@cache
def _shipped_catalogue_parts() -> tuple[set[tuple[Identifier, ...]], Graph]:
    return _split_blank(catalogue_graph())


def _split_blank(graph: Graph) -> tuple[set[tuple[Identifier, ...]], Graph]:
    ground: set[tuple[Identifier, ...]] = set()
    blank = Graph()
    for triple in graph:
        if any(isinstance(t, BNode) for t in triple):
            blank.add(triple)
        else:
            ground.add(triple)  # type: ignore[arg-type]
    return ground, blank
