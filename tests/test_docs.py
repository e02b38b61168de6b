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
