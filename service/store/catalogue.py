"""The catalogue graph: the ontology modules and the ISO/IEC 42001 catalogue, as shipped, and
whether a store's copy of it is intact."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pyoxigraph as ox
from rdflib import Graph
from rdflib.compare import isomorphic

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


def is_shipped(held_ntriples: bytes) -> bool:
    """Whether `held_ntriples` (a store's catalogue graph as N-Triples) is exactly the shipped
    catalogue: ground triples compared as sets, the few with blank nodes up to isomorphism. Both
    sides are parsed with pyoxigraph, 50 times faster than rdflib here (the command line checks
    this each time it opens a store)."""
    ground, blank = _split_blank(ox.parse(held_ntriples, format=ox.RdfFormat.N_TRIPLES))
    expected_ground, expected_blank = _shipped_catalogue_parts()
    return ground == expected_ground and isomorphic(blank, expected_blank)


def shipped_size() -> int:
    """How many triples the shipped catalogue has."""
    ground, blank = _shipped_catalogue_parts()
    return len(ground) + len(blank)


@cache
def _shipped_catalogue_parts() -> tuple[frozenset[ox.Triple], Graph]:
    shipped = (q for path in resources.ontology_files() for q in ox.parse(path=str(path)))
    return _split_blank(shipped)


def _split_blank(quads: Iterable[ox.Quad]) -> tuple[frozenset[ox.Triple], Graph]:
    """The triples without blank nodes, and those with one as an rdflib Graph (for isomorphic)."""
    from .embedded import to_rdflib

    ground: set[ox.Triple] = set()
    blank = Graph()
    for quad in quads:
        if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
            blank.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        else:
            ground.add(quad.triple)
    return frozenset(ground), blank
