"""The store contract: select, ask and construct answer their own query form with its own type
(Rows, bool, rdflib Graph) on every store, and refuse any other form with StoreError before the
query runs. Expected answers are read off the example organisation (examples/risks.ttl line 30-32:
the systems' aims:hasRisk lists; examples/systems.ttl: which resources are AI systems)."""

from __future__ import annotations

import pytest
from rdflib import Graph, Namespace, URIRef

from service.namespaces import AIMS
from service.store.base import Rows, StoreError
from service.store.embedded import EmbeddedStore

from .conftest import load_example

EX = Namespace("https://aurora-lending.example/aims/")
PREFIX = "PREFIX aims: <https://w3id.org/aims#>\n"

SELECT = PREFIX + "SELECT ?risk WHERE { ?system aims:hasRisk ?risk }"
ASK = PREFIX + "ASK WHERE { ?thing a aims:AISystem }"
CONSTRUCT = PREFIX + "CONSTRUCT { ?system aims:hasRisk ?risk } WHERE { ?system aims:hasRisk ?risk }"
DESCRIBE = "DESCRIBE ?system WHERE { ?system ?p ?o }"
UPDATE = "INSERT DATA { GRAPH <urn:x:contract> { <urn:x:a> <urn:x:p> <urn:x:b> } }"


def test_select_answers_rows(example_store) -> None:  # type: ignore[no-untyped-def]
    # risks.ttl line 30: ex:credit-scorer aims:hasRisk ex:risk-01 ... ex:risk-06
    rows = example_store.select(SELECT, {"system": EX["credit-scorer"]})
    assert isinstance(rows, Rows) and rows.variables == ["risk"]
    assert sorted(str(r["risk"]) for r in rows) == [str(EX[f"risk-0{n}"]) for n in range(1, 7)]


def test_ask_answers_a_boolean(example_store) -> None:  # type: ignore[no-untyped-def]
    # systems.ttl line 28: ex:fraud-detector a aims:AISystem; risks.ttl line 34: ex:risk-01 is a Risk
    assert example_store.ask(ASK, {"thing": EX["fraud-detector"]}) is True
    assert example_store.ask(ASK, {"thing": EX["risk-01"]}) is False


def test_construct_answers_a_graph(example_store) -> None:  # type: ignore[no-untyped-def]
    # risks.ttl line 32: ex:fraud-detector aims:hasRisk ex:risk-12, ex:risk-13, ex:risk-14
    graph = example_store.construct(CONSTRUCT, {"system": EX["fraud-detector"]})
    assert isinstance(graph, Graph)
    assert set(graph) == {(EX["fraud-detector"], AIMS.hasRisk, EX[f"risk-{n}"]) for n in (12, 13, 14)}


def test_construct_answers_describe_too(example_store) -> None:  # type: ignore[no-untyped-def]
    """DESCRIBE answers a graph as CONSTRUCT does; what else a server puts in a description
    differs, but the resource's own statements are in it on every store."""
    graph = example_store.construct(DESCRIBE, {"system": EX["fraud-detector"]})
    assert (EX["fraud-detector"], AIMS.hasRisk, EX["risk-12"]) in graph


TEXTS = {"SELECT": SELECT, "ASK": ASK, "CONSTRUCT": CONSTRUCT}
OTHERS = [
    (m, f)
    for m, own in (("select", "SELECT"), ("ask", "ASK"), ("construct", "CONSTRUCT"))
    for f in TEXTS
    if f != own
]


@pytest.mark.parametrize(("method", "form"), OTHERS, ids=[f"{m}-given-{f}" for m, f in OTHERS])
def test_each_refuses_another_form(example_store, method: str, form: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError, match=f"expected an? [A-Za-z ]+ query, not {form}$"):
        getattr(example_store, method)(TEXTS[form])


@pytest.mark.parametrize("method", ["select", "ask", "construct"])
def test_an_update_is_no_query(example_store, method: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError, match="not a SPARQL query"):
        getattr(example_store, method)(UPDATE)
    assert URIRef("urn:x:contract") not in example_store.graphs()


def test_the_form_is_read_past_comments_strings_and_names(example_store) -> None:  # type: ignore[no-untyped-def]
    """The form is the first keyword outside comments, strings and IRIs, and not the same
    letters in a prefixed name or a variable: each of these is a SELECT."""
    text = (
        "# ask whether to construct\n"
        "PREFIX ask: <https://w3id.org/aims#>\n"
        "SELECT ?construct WHERE { ?system ask:hasRisk ?construct "
        'FILTER (STR(?construct) != "DESCRIBE") }'
    )
    rows = example_store.select(text, {"system": EX["fraud-detector"]})
    assert sorted(str(r["construct"]) for r in rows) == [str(EX[f"risk-{n}"]) for n in (12, 13, 14)]


class CountingStore(EmbeddedStore):
    """An embedded store that counts the queries it runs."""

    runs = 0

    def query(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.runs += 1
        return super().query(*args, **kwargs)


def test_a_refused_form_never_runs() -> None:
    store = load_example(CountingStore())
    store.runs = 0
    with pytest.raises(StoreError):
        store.select(CONSTRUCT)
    assert store.runs == 0
    assert len(store.select(SELECT, {"system": EX["fraud-detector"]})) == 3
    assert store.runs == 1


def test_thousands_of_nodes_are_asked_in_values_blocks_every_server_takes(example_store) -> None:  # type: ignore[no-untyped-def]
    """What a result says of its focus nodes (validation.Facts) and their labels are asked with
    the nodes in VALUES blocks: Virtuoso 7 refuses one block of 8,000 IRIs (SP030, "Too many
    arguments"; a whole validation at 1,000 systems failed so), so they go in blocks of
    VALUES_SIZE. 8,000 nodes no store holds plus one the example has: its type is found."""
    from service import browse, validation

    known = URIRef("https://aurora-lending.example/aims/risk-01")
    nodes = {URIRef(f"urn:aims:test:node-{i}") for i in range(8000)} | {known}
    facts = validation.Facts(example_store, nodes)  # type: ignore[arg-type]
    assert AIMS.Risk in facts.objects(known, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"))
    assert len(browse.labels(example_store, {str(n) for n in nodes})) == 8001


def test_each_store_names_its_engine(example_store, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    """Validation compiles some EXISTS filters as joins only for Oxigraph (Virtuoso 7 overflows
    its cost model on them): the embedded store and `oxigraph serve` are Oxigraph, and a remote
    store tells by its Server header."""
    kind = request.node.callspec.params["example_store"]
    assert example_store.engine == ("virtuoso" if kind == "virtuoso" else "oxigraph")
