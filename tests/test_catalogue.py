"""The ISO/IEC 42001 catalogue matches the reference tables id by id."""

from __future__ import annotations

import csv

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from service.namespaces import AIMS, ISO

from .conftest import VENDOR


def table(name: str) -> list[dict[str, str]]:
    with open(VENDOR / "iso42001" / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def notations(g: Graph, cls: URIRef) -> set[str]:
    return {str(g.value(s, SKOS.notation)) for s in g.subjects(RDF.type, cls)}


def by_notation(g: Graph, cls: URIRef, notation: str) -> URIRef:
    matches = [s for s in g.subjects(SKOS.notation, Literal(notation)) if (s, RDF.type, cls) in g]
    assert len(matches) == 1, f"{notation}: {matches}"
    return matches[0]


def test_clauses_match_reference(ontology: Graph) -> None:
    rows = table("clauses.csv")
    assert notations(ontology, AIMS.ClauseRequirement) == {r["id"] for r in rows}
    leaves = {r["id"] for r in rows if r["is_leaf"] == "yes"}
    assert len(leaves) == 32
    assert notations(ontology, AIMS.LeafClause) == leaves
    phases = {"Plan": AIMS.Plan, "Do": AIMS.Do, "Check": AIMS.Check, "Act": AIMS.Act}
    for r in rows:
        clause = by_notation(ontology, AIMS.ClauseRequirement, r["id"])
        assert clause == ISO[f"clause-{r['id']}"]
        parent = ontology.value(clause, SKOS.broader)
        assert parent == (ISO[f"clause-{r['parent_id']}"] if r["parent_id"] else None), r["id"]
        assert ontology.value(clause, AIMS.pdcaPhase) == phases[r["pdca_phase_conventional"]], r["id"]


def test_annex_a_matches_reference(ontology: Graph) -> None:
    rows = table("annex_a.csv")
    controls = [r for r in rows if r["type"] == "control"]
    objectives = [r for r in rows if r["type"] == "objective"]
    assert len(controls) == 38 and len(objectives) == 10
    assert notations(ontology, AIMS.ReferenceControl) == {r["id"] for r in controls}
    assert notations(ontology, AIMS.ControlObjective) == {r["id"] for r in objectives}
    assert notations(ontology, AIMS.ControlGroup) == {r["group_id"] for r in rows}
    assert len(notations(ontology, AIMS.ControlGroup)) == 9
    for r in controls:
        control = ISO[r["id"]]
        assert (control, RDF.type, AIMS.ReferenceControl) in ontology, r["id"]
        assert ontology.value(control, SKOS.broader) == ISO[r["group_id"]], r["id"]
        objective = ontology.value(control, AIMS.hasObjective)
        assert str(ontology.value(objective, SKOS.notation)) == r["objective_id"], r["id"]
        assert str(ontology.value(control, AIMS.documentationExpected)) == r["documentation_expected"]


def test_documented_information_matches_reference(ontology: Graph) -> None:
    rows = table("documented_information.csv")
    assert notations(ontology, AIMS.DocumentationRequirement) == {r["id"] for r in rows}
    for r in rows:
        item = ISO[r["id"]]
        askers = set(ontology.subjects(AIMS.asksFor, item))
        source = r["source"]
        if source.startswith("A."):
            assert askers == {ISO[source]}, r["id"]
        elif " " not in source:
            assert askers == {ISO[f"clause-{source}"]}, r["id"]
        else:
            assert askers == set(), r["id"]  # D24: a note in clause 3, outside the catalogue


def test_every_clause_asking_for_documents_links_them(ontology: Graph) -> None:
    for r in table("clauses.csv"):
        clause = ISO[f"clause-{r['id']}"]
        asks = list(ontology.objects(clause, AIMS.asksFor))
        if r["documented_information_required"] == "yes":
            assert asks, f"clause {r['id']} asks for documented information but links none"


def test_catalogue_is_regenerated_from_the_tables(tmp_path) -> None:
    """ontology/iso42001.ttl is what scripts/build_catalogue.py makes of the tables."""
    import importlib.util

    from rdflib.compare import graph_diff, isomorphic, to_isomorphic

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location("build_catalogue", ROOT / "scripts" / "build_catalogue.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    built = module.build()
    committed = Graph().parse(ROOT / "ontology" / "iso42001.ttl")
    if not isomorphic(built, committed):
        _, only_built, only_committed = graph_diff(to_isomorphic(built), to_isomorphic(committed))
        raise AssertionError(
            "run `make catalogue`:\n+ "
            + only_built.serialize(format="nt")
            + "\n- "
            + only_committed.serialize(format="nt")
        )
