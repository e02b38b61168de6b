"""The reference engine: pySHACL over an rdflib copy of the data (with the catalogue mixed in, as
pySHACL needs one graph). Slower and memory-hungry, kept to hold the store engine to its results."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyshacl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Identifier

from .store_engine import Violation


@contextmanager
def _prepared_queries() -> Iterator[None]:
    """Parse each SPARQL text once while pySHACL runs, then put rdflib back as it was.

    pySHACL runs a SHACL-SPARQL constraint once per focus node by handing rdflib the query text,
    which rdflib parses every time; caching the translated query is what rdflib's own prepareQuery
    does, and evaluation is unchanged (tests/test_validation.py compares both ways)."""
    from rdflib.plugins.sparql import processor
    from rdflib.plugins.sparql.evaluate import evalQuery
    from rdflib.plugins.sparql.parser import parseQuery

    original = processor.SPARQLProcessor.query
    cache: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], object] = {}

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):  # type: ignore[no-untyped-def]
        if not isinstance(strOrQuery, str):
            return original(self, strOrQuery, initBindings, initNs, base, DEBUG)
        key = (strOrQuery, base, tuple(sorted((k, str(v)) for k, v in (initNs or {}).items())))
        prepared = cache.get(key)
        if prepared is None:
            prepared = cache[key] = processor.translateQuery(parseQuery(strOrQuery), base, initNs)
        return evalQuery(self.graph, prepared, initBindings, base)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original  # type: ignore[method-assign]


def run(
    data: Graph, shapes: Graph, use_shapes: list[URIRef], inference: str | None
) -> tuple[list[Violation], Graph]:
    with _prepared_queries():
        _, report, _ = pyshacl.validate(
            data,
            shacl_graph=shapes,
            inference=inference,
            advanced=True,
            allow_warnings=True,
            use_shapes=use_shapes,  # type: ignore[arg-type]
        )
    assert isinstance(report, Graph)
    found = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        value = report.value(result, SH.value)
        found.append(
            Violation(
                focus=report.value(result, SH.focusNode),  # type: ignore[arg-type]
                shape=report.value(result, SH.sourceShape),  # type: ignore[arg-type]
                component=report.value(result, SH.sourceConstraintComponent),  # type: ignore[arg-type]
                severity=report.value(result, SH.resultSeverity),  # type: ignore[arg-type]
                path=report.value(result, SH.resultPath),
                value=value if isinstance(value, Identifier) else None,
                messages=tuple(m for m in report.objects(result, SH.resultMessage) if isinstance(m, Literal)),
                constraint=report.value(result, SH.sourceConstraint),
            )
        )
    return found, report
