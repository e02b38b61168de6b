"""docs/rules.md is what scripts/build_rules.py makes of the shapes now, covers every checked shape, and
its examples are Turtle."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import pytest
from rdflib import Graph, URIRef

from service import validation
from service.namespaces import AIMS, SHAPES_IRI

from .conftest import ROOT

RULES = ROOT / "docs" / "rules.md"
TURTLE = re.compile(r"^```turtle\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def build_rules() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_rules", ROOT / "scripts" / "build_rules.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def checked_shapes() -> list[str]:
    g = validation.shapes_graph()
    shapes = {s for s in g.subjects(AIMS.checksRequirement, None) if isinstance(s, URIRef)}
    return sorted(str(s).removeprefix(SHAPES_IRI) for s in shapes)


def test_rules_reference_is_regenerated() -> None:
    assert RULES.read_text(encoding="utf-8") == build_rules().build(), "run `make docs`"


def test_vocabulary_reference_is_regenerated() -> None:
    """docs/vocabulary.md had gone stale (terms of two issues missing) with no test to say so."""
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8") == module.build(), "run `make docs`"


def test_crosswalk_tables_are_regenerated() -> None:
    """docs/crosswalks.md is the mappings as tables: it must say what the TSV files say now."""
    spec = importlib.util.spec_from_file_location(
        "build_crosswalk_docs", ROOT / "scripts" / "build_crosswalk_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.build()
    assert (ROOT / "docs" / "crosswalks.md").read_text(encoding="utf-8") == text, "run `make docs`"
    # every mapping row of the sources is a row of the tables (hand count: the TSVs' data rows)
    rows = sum(
        1
        for path in (ROOT / "ontology" / "mappings").glob("*.sssom.tsv")
        for line in path.read_text(encoding="utf-8").splitlines()[1:]
        if line and not line.startswith("#") and not line.startswith("subject_id")
    )
    assert text.count("\n| ") - text.count("\n| ISO/IEC 42001 |") - text.count("\n| item |") == rows


@pytest.mark.parametrize("name", checked_shapes())
def test_every_checked_shape_has_a_section(name: str) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert f'<a id="{name}"></a>\n\n### aimsh:{name}\n' in text, (
        f"no section for aimsh:{name}: run `make docs`"
    )
    assert f"[aimsh:{name}](#{name})" in text, f"aimsh:{name} is not in the summary table"


def test_examples_parse_with_the_declared_prefixes() -> None:
    prefixes, *examples = TURTLE.findall(RULES.read_text(encoding="utf-8"))
    assert examples
    for example in examples:
        try:
            Graph().parse(data=prefixes + example, format="turtle")
        except Exception as error:
            raise AssertionError(f"{error}\n{example}") from error


README_PREFIXES = """@prefix ex: <https://example.org/readme/> .
@prefix aims: <https://w3id.org/aims#> . @prefix iso42001: <https://w3id.org/aims/iso42001#> .
@prefix prov: <http://www.w3.org/ns/prov#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


def test_modelling_guide_examples_use_real_terms(ontology: Graph) -> None:
    """Every Turtle example in the README parses, and every aims: term in it is declared."""
    examples = TURTLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(examples) >= 6
    declared = {s for s in ontology.subjects() if isinstance(s, URIRef) and str(s).startswith(str(AIMS))}
    for text in examples:
        g = Graph().parse(data=README_PREFIXES + text, format="turtle")
        used = {t for triple in g for t in triple if isinstance(t, URIRef) and str(t).startswith(str(AIMS))}
        assert used <= declared, sorted(used - declared)
