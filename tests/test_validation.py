"""Validation of the example organisation: every planted gap is found against the right clause or
control, nothing else is a Violation, and the store engine gives the results pySHACL gives."""

from __future__ import annotations

import datetime as dt
import re

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SH

from service import validation

from .conftest import DATA, ROOT, load_example

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


def w3c_results(report: Graph) -> set[tuple[object, ...]]:
    """A W3C report's results as (focus, path, value, severity, component, source shape); blank
    source shapes (property shapes) by their path and the named shape that holds them."""
    shapes = validation.dated_shapes(AS_OF)

    def shape_key(shape: object) -> object:
        if isinstance(shape, URIRef):
            return shape
        return ("property of", shapes.value(None, SH.property, shape), shapes.value(shape, SH.path))  # type: ignore[arg-type]

    return {
        (
            report.value(r, SH.focusNode),
            report.value(r, SH.resultPath) if isinstance(report.value(r, SH.resultPath), URIRef) else None,
            report.value(r, SH.value),
            report.value(r, SH.resultSeverity),
            report.value(r, SH.sourceConstraintComponent),
            shape_key(report.value(r, SH.sourceShape)),
        )
        for r in report.subjects(RDF.type, SH.ValidationResult)
    }


def test_store_engine_gives_pyshacl_results(report: validation.Report, example: Graph) -> None:
    """The store engine (the default) and pySHACL, the reference, report the same results on the
    example, and the same verdict bookkeeping."""
    reference = validation.validate(example, as_of=AS_OF, engine="pyshacl")
    assert w3c_results(report.graph) == w3c_results(reference.graph)
    assert report.results == reference.results and report.assessed == reference.assessed


def test_cached_queries_give_plain_pyshacl_results(example: Graph) -> None:
    """The prepared-query cache changes speed only, and only while pySHACL runs: plain rdflib
    parsing gives the same report, and rdflib's query processor is left as it was."""
    from rdflib.plugins.sparql import processor

    from service.store.catalogue import catalogue_graph
    from service.validation import pyshacl_engine

    before = processor.SPARQLProcessor.query
    data, shapes = example + catalogue_graph(), validation.dated_shapes(AS_OF)
    _, plain, _ = pyshacl.validate(data, shacl_graph=shapes, advanced=True, allow_warnings=True)
    _, fast = pyshacl_engine.run(data, shapes, validation.checked_shapes(None, shapes), None)
    assert processor.SPARQLProcessor.query is before
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
    # with expired, one with no evidence), and its risk R13 whose A.6.2.4 implementation carries a
    # test report about CreditLens (a Warning: evidence about another system)
    assert {r.focus for r in fraud.results} == {
        EX + x
        for x in (
            "fraud-detector",
            "risk-12",
            "risk-13",
            "risk-14",
            "finding-1",
            "ca-1",
            "impl-A6-2-6",
            "impl-A7-4",
        )
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


def test_engines_agree_on_every_snippet() -> None:
    """Every shape's valid and invalid snippets, all in one graph: the two engines agree."""
    data = Graph()
    for path in sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl")):
        data.parse(path)
    store = validation.validate(data, as_of=AS_OF)
    reference = validation.validate(data, as_of=AS_OF, engine="pyshacl")
    assert len(store.results) > 50  # merged, the snippets break many rules
    assert w3c_results(store.graph) == w3c_results(reference.graph)
    assert store.results == reference.results


@pytest.mark.servers
def test_store_engine_on_every_store(example_store, report: validation.Report) -> None:  # type: ignore[no-untyped-def]
    """The same rules run by `oxigraph serve` and Virtuoso give the embedded store's results."""
    remote = validation.validate(example_store, as_of=AS_OF)
    assert [(r.focus, r.shape, r.path, r.value, r.severity) for r in remote.results] == [
        (r.focus, r.shape, r.path, r.value, r.severity) for r in report.results
    ]
    assert remote.assessed == report.assessed


@pytest.fixture(scope="module")
def generated() -> Graph:
    """A synthetic organisation of 100 AI systems (bench/generate.py, about 22,000 triples)."""
    from bench.generate import generate

    return Graph().parse(data=generate(100), format="turtle")


def test_engines_agree_on_a_generated_organisation(generated: Graph) -> None:
    store = validation.validate(generated, as_of=AS_OF)
    reference = validation.validate(generated, as_of=AS_OF, engine="pyshacl")
    assert len(store.results) > 100
    assert w3c_results(store.graph) == w3c_results(reference.graph)
    assert store.results == reference.results


@pytest.mark.servers
def test_generated_organisation_on_every_store(example_store, generated: Graph) -> None:  # type: ignore[no-untyped-def]
    """`oxigraph serve` and Virtuoso, holding the generated organisation, give the embedded results."""
    from service.store.formats import FORMATS

    graph = URIRef("https://w3id.org/aims/graph/source/generated-100")
    example_store.load(generated.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], graph, replace=True)
    try:
        embedded = validation.validate(
            generated + Graph().parse(data=_example_nt(), format="nt"), as_of=AS_OF
        )
        remote = validation.validate(example_store, as_of=AS_OF)
        assert remote.results == embedded.results
    finally:
        example_store.drop(graph)


def _example_nt() -> str:
    g = Graph()
    for path in sorted((ROOT / "examples").glob("*.ttl")):
        g.parse(path)
    return g.serialize(format="nt")


def test_scoped_runs_give_the_whole_run_results(generated: Graph) -> None:
    """Validating one system evaluates only its resources, with queries of another form (no
    EXISTS-to-join rewrite, shapes without a focus node in scope skipped): for every tenth system
    of the generated organisation, the results are those of the whole run on that system's
    resources."""
    from service.store.embedded import EmbeddedStore
    from service.store.formats import FORMATS

    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load(generated.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], URIRef("urn:g"))
    whole = validation.validate(store, as_of=AS_OF)
    checked = 0
    for n in range(0, 100, 10):
        system = URIRef(f"https://bench.example/org/sys-{n}")
        within = validation.system_resources(store, system)
        scoped = validation.validate(store, as_of=AS_OF, system=system)
        assert scoped.results == [r for r in whole.results if URIRef(r.focus) in within]
        checked += len(scoped.results)
    assert checked > 10  # the systems do have findings


def _datasets() -> list[tuple[str, Graph]]:
    """The merged snippets of every shape and each conformance organisation. Each snippet's
    resources get IRIs of their own: merged as written, `ex:ev` would hold both "2027-01-01" as a
    date and "2027-01" as a month, which Virtuoso stores as one value."""
    snippets = Graph()
    for path in sorted((DATA / "valid").glob("*.ttl")) + sorted((DATA / "invalid").glob("*.ttl")):
        own = f"https://example.org/t/{path.parent.name}-{path.stem}/"
        for triple in Graph().parse(path):
            snippets.add(
                tuple(  # type: ignore[arg-type]
                    URIRef(own + t[len("https://example.org/t/") :])
                    if isinstance(t, URIRef) and t.startswith("https://example.org/t/")
                    else t
                    for t in triple
                )
            )
    found = [("snippets", snippets)]
    for path in sorted((DATA / "conformance").glob("*.ttl")):
        found.append((path.stem, Graph().parse(path)))
    return found


@pytest.mark.servers
@pytest.mark.parametrize("kind", ["oxigraph", "virtuoso"])
def test_snippets_and_conformance_on_remote_stores(request, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Each shape's snippets and each conformance organisation, loaded into `oxigraph serve` and
    into Virtuoso beside the example: the same results as the embedded store on the same data."""
    from service.store.formats import FORMATS

    remote = load_example(request.getfixturevalue(f"{kind}_remote"))
    example = Graph().parse(data=_example_nt(), format="nt")
    graph = URIRef("https://w3id.org/aims/graph/source/differential")
    for name, data in _datasets():
        remote.load(data.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], graph, replace=True)
        try:
            embedded = validation.validate(data + example, as_of=AS_OF)
            there = validation.validate(remote, as_of=AS_OF)
            assert there.results == embedded.results, name
            assert there.assessed == embedded.assessed, name
        finally:
            remote.drop(graph)


def test_a_result_as_a_dict_is_its_fields(report: validation.Report) -> None:
    """Result.as_dict copies the instance's dict for speed: it must stay every field, in order,
    and nothing else (dataclasses.asdict is the reference; a cached property would break it)."""
    import dataclasses

    assert report.results
    for r in report.results:
        assert r.as_dict() == dataclasses.asdict(r)
        assert list(r.as_dict()) == [f.name for f in dataclasses.fields(r)]
