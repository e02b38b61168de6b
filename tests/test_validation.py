"""Validation of the example organisation: every planted gap is found against the right clause or
control, nothing else is a Violation, and the report matches the golden one."""

from __future__ import annotations

import datetime as dt
import re

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import RDF, SH

from service import validation

from .conftest import DATA, ROOT

AS_OF = dt.date(2026, 11, 20)
EX = "https://aurora-lending.example/aims/"


def planted_gaps() -> list[tuple[str, str, list[str]]]:
    """(gap id, resource IRI, the requirement ids it breaks) from the table in examples/README.md."""
    rows = []
    for line in (ROOT / "examples" / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| (G\d+) \|.*\| `ex:([\w-]+)` \| (.+) \|$", line)
        if m:
            rows.append((m[1], EX + m[2], re.findall(r"(?:A\.)?\d+(?:\.\d+)*", m[3])))
    return rows


@pytest.fixture(scope="module")
def report(example: Graph) -> validation.Report:
    return validation.validate(example, as_of=AS_OF)


def test_readme_lists_at_least_eight_gaps() -> None:
    assert len(planted_gaps()) >= 8


@pytest.mark.parametrize("gap,resource,requirements", planted_gaps())
def test_planted_gap_is_reported(
    report: validation.Report, gap: str, resource: str, requirements: list[str]
) -> None:
    found = [r for r in report.results if r.focus == resource and r.severity == "Violation"]
    ids = {r.requirement_id for r in found} | {r.control_id for r in found}
    assert requirements and set(requirements) <= ids, f"{gap}: {resource} reported against {ids}"


def test_nothing_else_is_a_violation(report: validation.Report) -> None:
    gap_resources = {resource for _, resource, _ in planted_gaps()}
    others = [r for r in report.results if r.severity == "Violation" and r.focus not in gap_resources]
    assert not others, others
    assert not report.conforms


def test_golden_report(report: validation.Report) -> None:
    golden = Graph().parse(DATA / "golden" / "example-report-2026-11-20.ttl")
    if not isomorphic(report.graph, golden):
        _, only_now, only_golden = graph_diff(to_isomorphic(report.graph), to_isomorphic(golden))
        pytest.fail(
            "report differs from golden:\n+ "
            + only_now.serialize(format="nt")
            + "\n- "
            + only_golden.serialize(format="nt")
        )


def test_cached_queries_give_plain_pyshacl_results(example: Graph) -> None:
    """The prepared-query cache changes speed only: plain rdflib parsing gives the same report."""
    from rdflib.plugins.sparql import processor

    data = validation._with_context(example, AS_OF)
    cached = processor.SPARQLProcessor.query
    processor.SPARQLProcessor.query = cached.aims_original  # type: ignore[attr-defined]
    try:
        _, plain, _ = pyshacl.validate(
            data, shacl_graph=validation.shapes_graph(), advanced=True, allow_warnings=True
        )
    finally:
        processor.SPARQLProcessor.query = cached  # type: ignore[method-assign]
    _, fast, _ = pyshacl.validate(
        data, shacl_graph=validation.shapes_graph(), advanced=True, allow_warnings=True
    )
    assert isomorphic(plain, fast)


def test_stage_filter(example: Graph) -> None:
    stage1 = validation.validate(example, as_of=AS_OF, stage=1)
    stage2 = validation.validate(example, as_of=AS_OF, stage=2)
    everything = validation.validate(example, as_of=AS_OF)
    assert {r.stage for r in stage1.results} == {1}
    # stage 2 is what a stage 2 audit looks at: every rule, stage 1 included
    assert {r.stage for r in stage2.results} == {1, 2}
    assert stage2.results == everything.results
    assert set(stage1.results) == {r for r in everything.results if r.stage == 1}


def test_system_filter(example: Graph) -> None:
    fraud = validation.validate(example, as_of=AS_OF, system=URIRef(EX + "fraud-detector"))
    # the system, its unowned risk, its risk treated only by a planned control, the open major
    # nonconformity about it and its overdue action, and two implementations that apply to it (one
    # with expired, one with no evidence)
    assert {r.focus for r in fraud.results} == {
        EX + x
        for x in ("fraud-detector", "risk-12", "risk-14", "finding-1", "ca-1", "impl-A6-2-6", "impl-A7-4")
    }
    in_graph = set(fraud.graph.subjects(RDF.type, SH.ValidationResult))
    assert len(in_graph) == len(fraud.results)
    with pytest.raises(validation.ValidationError):
        validation.validate(example, system=URIRef(EX + "no-such-system"))


def test_focus_nodes_filter(example: Graph) -> None:
    report = validation.validate(example, as_of=AS_OF, focus_nodes=[URIRef(EX + "risk-07")])
    assert [(r.focus, r.requirement_id) for r in report.results] == [(EX + "risk-07", "6.1.3")]


@pytest.mark.parametrize("inference", ["rdfs", "owlrl"])
def test_inference_keeps_the_gaps(example: Graph, inference: str) -> None:
    report = validation.validate(example, as_of=AS_OF, inference=inference, stage=1)
    assert (EX + "risk-07", "6.1.3") in {(r.focus, r.requirement_id) for r in report.results}


def test_bad_options(example: Graph) -> None:
    with pytest.raises(validation.ValidationError):
        validation.validate(example, stage=3)
    with pytest.raises(validation.ValidationError):
        validation.validate(example, inference="magic")
