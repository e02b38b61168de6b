"""Named queries: headers and parameters, exact rows on the example organisation, and the same
rows on the embedded store, `oxigraph serve` and Virtuoso."""

from __future__ import annotations

import json

import pytest
from rdflib import Literal, URIRef

from service import queries
from service.store.embedded import EmbeddedStore
from service.store.sparql_text import inline_values

from .conftest import DATA, load_example
from .query_rows import EX, PARAMS, boolean_columns, run

REQUIRED = {
    "trace-risk",
    "trace-control",
    "trace-requirement",
    "trace-system",
    "trace-evidence",
    "statement-of-applicability",
    "untreated-risks",
    "evidence-expiring",
    "open-nonconformities",
    "audit-coverage",
    "documents-due-for-review",
}


@pytest.fixture(scope="module")
def embedded():  # type: ignore[no-untyped-def]
    return load_example(EmbeddedStore())


def test_every_named_query_is_present_and_tested() -> None:
    names = set(queries.checked())  # every shipped query's SPARQL parses (as the service checks at start)
    assert REQUIRED <= names
    assert names == set(PARAMS), "every named query needs test parameters and expected rows"


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_header(name: str) -> None:
    q = queries.get(name)
    assert q.title and q.description
    for p in q.parameters:
        assert p.type in queries.PARAM_TYPES and p.description


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_expected_rows_on_the_example(embedded, name: str) -> None:  # type: ignore[no-untyped-def]
    expected = json.loads((DATA / "queries" / f"{name}.json").read_text())
    assert expected["params"] == PARAMS[name]
    assert run(embedded, name) == expected["rows"]


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_same_rows_on_every_store(embedded, example_store, name: str) -> None:  # type: ignore[no-untyped-def]
    booleans = boolean_columns(embedded, name)
    assert run(example_store, name, booleans) == run(embedded, name, booleans)


def test_parameters_are_checked_rdf_terms() -> None:
    q = queries.get("trace-risk")
    with pytest.raises(queries.QueryError, match="not an absolute IRI"):
        q.bindings({"risk": "x> } ; DROP ALL ; #"})
    with pytest.raises(queries.QueryError, match="not a date"):
        q.bindings({"risk": "urn:x:r", "asOf": '2026-01-01"^^<urn:x> } #'})
    with pytest.raises(queries.QueryError, match="needs parameter"):
        q.bindings({})
    with pytest.raises(queries.QueryError, match="has no parameter"):
        q.bindings({"risk": "urn:x:r", "color": "red"})
    terms = q.bindings({"risk": "urn:x:r"})
    assert terms["risk"] == URIRef("urn:x:r") and terms["asOf"].datatype is not None  # today by default


def test_string_values_are_escaped_not_pasted() -> None:
    text = inline_values("SELECT ?s WHERE { ?s ?p ?o }", {"o": Literal('a" } ; DROP ALL ; #\n')})
    assert '("a\\" } ; DROP ALL ; #\\n") }' in text  # one escaped literal on one line
    from rdflib.plugins.sparql import prepareQuery

    prepareQuery(text)


def test_unknown_query() -> None:
    with pytest.raises(queries.QueryError, match="no named query"):
        queries.get("nope")


def test_syntax_error_in_a_query_file_fails_at_parse(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.rq"
    bad.write_text("# title: Broken\nSELECT ?x WHERE { ?x ?y }\n")
    with pytest.raises(queries.QueryError, match="syntax"):
        queries.parse(bad)


def test_own_controls_are_traced_and_listed_like_annex_a(embedded) -> None:  # type: ignore[no-untyped-def]
    """OC-01 (examples/controls.ttl) has an identifier instead of an Annex A number."""
    own = queries.get("trace-control")
    rows = embedded.query(own.text, own.bindings({"control": EX + "oc-human-handover"}))
    assert {str(r["controlId"]) for r in rows} == {"OC-01"}
    soa = [r["notation"] for r in run(embedded, "statement-of-applicability")]
    assert "OC-01" in soa
