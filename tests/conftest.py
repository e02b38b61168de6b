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


@pytest.fixture(scope="session")
def oxigraph_remote(tmp_path_factory):  # type: ignore[no-untyped-def]
    from .servers import oxigraph_server

    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as store:
        yield store


@pytest.fixture(scope="session")
def virtuoso_remote(tmp_path_factory):  # type: ignore[no-untyped-def]
    from .servers import virtuoso_server

    with virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as store:
        yield store


def load_example(store):  # type: ignore[no-untyped-def]
    store.ensure_catalogue()
    store.load_files(EXAMPLE_FILES, replace=True)
    return store


@pytest.fixture(scope="session", params=["embedded", "oxigraph", "virtuoso"])
def example_store(request):  # type: ignore[no-untyped-def]
    """The example organisation on each store kind: embedded, `oxigraph serve`, Virtuoso."""
    if request.param == "embedded":
        from service.store.embedded import EmbeddedStore

        return load_example(EmbeddedStore())
    return load_example(request.getfixturevalue(f"{request.param}_remote"))
