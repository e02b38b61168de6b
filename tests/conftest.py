"""Shared fixtures. Test data lives in tests/data/ (valid/ and invalid/ snippets per shape) and the
vendored reference tables and vocabularies in vendor/."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from service import resources

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vendor"
DATA = Path(__file__).resolve().parent / "data"
EXAMPLE_FILES = resources.example_files()


def parse_all(paths: list[Path]) -> Graph:
    g = Graph()
    for p in paths:
        g.parse(p)
    return g


@pytest.fixture(scope="session")
def ontology() -> Graph:
    """The vocabulary modules and the ISO catalogue."""
    return parse_all(resources.ontology_files())


@pytest.fixture(scope="session")
def example() -> Graph:
    """The example organisation's data, without the ontology."""
    return parse_all(EXAMPLE_FILES)


@pytest.fixture(scope="session")
def vocab() -> Graph:
    """The offline copies of AIRO and DPV (vendor/vocab), loaded together as their README asks."""
    return parse_all(sorted((VENDOR / "vocab").glob("*/*.ttl")))
