"""Every shape: a conforming snippet passes it, a non-conforming one fails it (tests/data/valid and
tests/data/invalid, named after the shape), and the shapes graph passes SHACL-SHACL."""

from __future__ import annotations

import datetime as dt

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from service import validation
from service.namespaces import AIMS, SHAPES

from .conftest import DATA

AS_OF = dt.date(2026, 11, 20)
CHECKED_SHAPES = sorted(
    s
    for s in validation.shapes_graph().subjects(RDF.type, SH.NodeShape)
    if isinstance(s, URIRef) and (s, AIMS.checksRequirement, None) in validation.shapes_graph()
)


def names() -> list[str]:
    return [str(s)[len(str(SHAPES)) :] for s in CHECKED_SHAPES]


def shape_results(name: str, kind: str) -> list[validation.Result]:
    data = Graph().parse(DATA / kind / f"{name}.ttl")
    report = validation.validate(data, as_of=AS_OF)
    return [r for r in report.results if r.shape == str(SHAPES[name])]


def test_every_checked_shape_has_snippets() -> None:
    files = {p.stem for p in (DATA / "valid").glob("*.ttl")} & {
        p.stem for p in (DATA / "invalid").glob("*.ttl")
    }
    assert set(names()) <= files, sorted(set(names()) - files)
    assert len(names()) >= 30


@pytest.mark.parametrize("name", names())
def test_shape_passes_valid_snippet(name: str) -> None:
    assert shape_results(name, "valid") == []


@pytest.mark.parametrize("name", names())
def test_shape_fails_invalid_snippet(name: str) -> None:
    results = shape_results(name, "invalid")
    assert results, f"aimsh:{name} reported nothing on its invalid snippet"
    for r in results:
        assert r.requirement and r.requirement_id and r.stage in (1, 2) and r.message


def test_every_shape_is_annotated() -> None:
    g = validation.shapes_graph()
    for shape in CHECKED_SHAPES:
        assert (shape, AIMS.auditStage, None) in g, shape
        assert g.value(shape, SH.severity) in (SH.Violation, SH.Warning, SH.Info), shape
        messages = list(g.objects(None, SH.message))
        assert messages
    # every constraint (property shape or SPARQL) carries a message telling how to fix the data
    for owner, constraint in list(g.subject_objects(SH.property)) + list(g.subject_objects(SH.sparql)):
        if owner in CHECKED_SHAPES:
            assert g.value(constraint, SH.message) is not None, (owner, constraint)


def test_shapes_pass_shacl_shacl() -> None:
    conforms, _, text = pyshacl.validate(
        validation.shapes_graph(), shacl_graph=validation.shapes_graph(), meta_shacl=True, advanced=True
    )
    assert conforms, text


def test_evidence_valid_then_expired() -> None:
    """The same evidence is valid as of one day and expired as of a later one."""
    data = Graph().parse(DATA / "valid" / "ImplementationEvidenceValid.ttl")  # valid until 2027-01-01

    def expired(day: dt.date) -> list[validation.Result]:
        report = validation.validate(data, as_of=day)
        return [r for r in report.results if r.shape == str(SHAPES.ImplementationEvidenceValid)]

    assert expired(dt.date(2026, 12, 31)) == []
    (late,) = expired(dt.date(2027, 1, 2))
    assert late.value == "2027-01-01" and late.requirement_id == "A.6.2.4" and late.stage == 2
