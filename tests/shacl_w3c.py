"""The W3C SHACL test suite (../shared/w3c/shacl, vendored in vendor/w3c/shacl): its cases read from
the manifests, and a report compared the way the suite's README says: the same sh:conforms and the
same top-level results on focus node, path, value, severity, source constraint component and source
shape; a blank source shape matches any blank source shape, other blank nodes (paths, values,
focus nodes) are compared by their structure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD, Namespace
from rdflib.term import Node

NUMERIC = {
    XSD.decimal, XSD.integer, XSD.double, XSD.float, XSD.byte, XSD.short, XSD.int, XSD.long,
    XSD.unsignedByte, XSD.unsignedShort, XSD.unsignedInt, XSD.unsignedLong,
    XSD.nonNegativeInteger, XSD.positiveInteger, XSD.nonPositiveInteger, XSD.negativeInteger,
}  # fmt: skip
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")


@dataclass(frozen=True)
class Case:
    name: str  # e.g. core/node/datatype-002
    file: Path
    data: Path
    shapes: Path
    expect_failure: bool
    graph: Graph  # the parsed test file, holding the expected report


def cases(root: Path) -> list[Case]:
    found: list[Case] = []
    _read_manifest(root / "manifest.ttl", root, found)
    return found


def _read_manifest(manifest: Path, root: Path, found: list[Case]) -> None:
    g = Graph().parse(manifest, format="turtle")
    for include in g.objects(None, MF.include):
        _read_manifest(Path(str(include).removeprefix("file://")), root, found)
    for entries in g.objects(None, MF.entries):
        for entry in Collection(g, entries):
            if (entry, RDF.type, SHT.Validate) not in g:
                continue
            action = g.value(entry, MF.action)
            data = Path(str(g.value(action, SHT.dataGraph)).removeprefix("file://"))
            shapes = Path(str(g.value(action, SHT.shapesGraph)).removeprefix("file://"))
            result = g.value(entry, MF.result)
            name = str(manifest.relative_to(root).with_suffix(""))
            found.append(Case(name, manifest, data, shapes, result == SHT.Failure, g))


def expected_report(case: Case, exact: bool = False) -> tuple[bool, Counter[tuple[object, ...]]]:
    """sh:conforms and the results, as a multiset: a result reached twice is two results."""
    g = case.graph
    entry = next(e for e in g.subjects(RDF.type, SHT.Validate))
    report = g.value(entry, MF.result)
    conforms = g.value(report, SH.conforms) == Literal(True)
    return conforms, Counter(key(g, r, exact=exact) for r in g.objects(report, SH.result))


def key(g: Graph, result: Node, describe: object = None, exact: bool = False) -> tuple[object, ...]:
    """A result as the suite compares it; `describe(node)` gives a blank node's triples when they
    are not in `g` (focus nodes and values from the store under test). `exact`: literals as
    written, numbers too (a report read from the command line must say them as the data does)."""
    shape = g.value(result, SH.sourceShape)
    return (
        shape_key(shape),
        g.value(result, SH.sourceConstraintComponent),
        g.value(result, SH.resultSeverity),
        structure(g, g.value(result, SH.focusNode), describe, exact=exact),
        structure(g, g.value(result, SH.resultPath), describe, exact=exact),
        structure(g, g.value(result, SH.value), describe, exact=exact),
    )


def shape_key(shape: Node | None) -> object:
    return "_:shape" if isinstance(shape, BNode) else shape


def structure(
    g: Graph, node: Node | None, describe: object = None, depth: int = 6, exact: bool = False
) -> object:
    """A blank node as the sorted structure of what it points to; a numeric literal as its value
    unless `exact` (stores keep numbers canonical: "4.0"^^xsd:decimal comes back as "4"); a literal
    as its lexical form, datatype and language; other terms as themselves."""
    if isinstance(node, Literal):
        if not exact and node.datatype in NUMERIC and node.value is not None:
            return ("number", node.value)
        return ("literal", str(node), node.datatype, node.language)
    if not isinstance(node, BNode):
        return node
    if depth == 0:
        return "_:"
    pairs = list(g.predicate_objects(node)) or (describe(node) if callable(describe) else [])
    if not pairs:
        return "_:"
    return tuple(
        sorted(
            (str(p), repr(structure(g, o, describe, depth - 1, exact))) for p, o in pairs if p != SH.message
        )
    )


def uri(path: Path) -> URIRef:
    return URIRef(path.resolve().as_uri())
