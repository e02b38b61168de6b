"""query_delta: a named query's rows after a write, from its rows before and the write's changes,
are what the query gives when run whole after it (the expected rows: the query run whole)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from rdflib import URIRef

from service import queries, query_delta
from service.store.base import Rows
from service.validation import incremental

from .conftest import EXAMPLE_FILES, load_example
from .test_incremental import AIMS, DAY, _fresh, _write, steps

# the named queries a page runs without being told a value, that the delta can answer
NAMES = [
    n
    for n, q in queries.catalogue().items()
    if all(p.default is not None for p in q.parameters) and query_delta._plan(q.text) is not None
]


def _run(store: Any, name: str) -> tuple[str, dict[str, Any], Rows]:
    query = queries.get(name)
    bindings = query.bindings({}, DAY)
    return query.text, bindings, store.select(query.text, bindings)


def _same(delta: Rows, whole: Rows, item: str) -> None:
    """The same rows, the items in the same order (the rows of one item may come in another
    order: the query orders by the item, and the engine orders what ties as it likes)."""
    assert [r[item] for r in delta] == [r[item] for r in whole]

    def rows(found: Rows) -> list[list[tuple[str, str]]]:
        return sorted(sorted((k, v.n3()) for k, v in r.items()) for r in found)

    assert rows(delta) == rows(whole)


def test_the_registers_that_a_delta_answers() -> None:
    """The registers the pages show after most writes: risks, implementations, documents (each
    ordered by its item, its items' own properties asked again)."""
    assert {"register-risks", "register-implementations", "register-documents"} <= set(NAMES)
    # a query whose rows are not ordered by their item, or that reads through a subquery, is
    # run whole: the SoA (ordered by control, its item an entry) and the summary (subqueries)
    assert query_delta._plan(queries.get("statement-of-applicability").text) is None
    assert query_delta._plan(queries.get("summary").text) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=steps)
def test_delta_equals_the_query_run_whole(program: list[Any]) -> None:
    from service.store.embedded import EmbeddedStore

    store = _fresh(EmbeddedStore())
    before = {name: _run(store, name)[2] for name in NAMES}
    for (update, touched_subjects), _ in program:
        touched = incremental.touches(_write(store, update, touched_subjects))
        for name in NAMES:
            text, bindings, whole = _run(store, name)
            delta = query_delta.updated(store, text, bindings, before[name], touched)
            if delta is not None:
                _same(delta, whole, query_delta._plan(text).item)  # type: ignore[union-attr]
            before[name] = whole


def test_a_risks_new_owner_asks_one_risk_again() -> None:
    """One risk's owner changes: its rows are asked again (one query for one item) and every
    other row is the one kept; the risk keeps its place, with its new owner."""
    from service.store.embedded import EmbeddedStore

    store = load_example(EmbeddedStore())
    text, bindings, before = _run(store, "register-risks")
    risk = URIRef("https://aurora-lending.example/aims/risk-02")
    owner = URIRef("https://aurora-lending.example/aims/tom-reyes")  # li-wei before
    graph = next(f for f in EXAMPLE_FILES if f.name == "risks.ttl")
    from service.store.terms import source_graph

    g = source_graph(graph).n3()
    update = (
        f"DELETE {{ GRAPH {g} {{ {risk.n3()} <{AIMS}owner> ?o }} }} "
        f"INSERT {{ GRAPH {g} {{ {risk.n3()} <{AIMS}owner> {owner.n3()} }} }} "
        f"WHERE {{ GRAPH {g} {{ {risk.n3()} <{AIMS}owner> ?o }} }}"
    )
    touched = incremental.touches(_write(store, update, {risk}))
    assert {(t.subject, t.predicate) for t in touched} == {(risk, URIRef(AIMS + "owner"))}
    asked: list[dict[str, Any]] = []
    select = store.select

    def counted(query: str, given: Any = None, *rest: Any, **options: Any) -> Rows:
        asked.append(dict(given or {}))
        return select(query, given, *rest, **options)

    store.select = counted  # type: ignore[method-assign]
    delta = query_delta.updated(store, text, bindings, before, touched)
    store.select = select  # type: ignore[method-assign]
    assert delta is not None
    assert [a["risk"] for a in asked] == [risk]
    _same(delta, _run(store, "register-risks")[2], "risk")
    assert {r["owner"] for r in delta if r["risk"] == risk} == {owner}
    kept = [r for r in delta if r["risk"] != risk]
    assert all(any(r is old for old in before) for r in kept)


def test_a_risk_level_change_runs_the_register_whole() -> None:
    """The register is ordered by level: a risk whose level changes may move, and only the
    query run whole can say where to."""
    from service.store.embedded import EmbeddedStore

    store = load_example(EmbeddedStore())
    text, bindings, before = _run(store, "register-risks")
    risk = URIRef("https://aurora-lending.example/aims/risk-02")
    update = f"DELETE WHERE {{ GRAPH ?g {{ {risk.n3()} <{AIMS}riskLevel> ?l }} }}"
    touched = incremental.touches(_write(store, update, {risk}))
    assert touched
    assert query_delta.updated(store, text, bindings, before, touched) is None


def test_the_risk_register_page_after_writes_shows_what_a_fresh_service_shows() -> None:
    """Through the service: a risk's new owner (its rows asked again), then that owner's new
    name (a label kept from before is asked again for the node the write changed): the page and
    the JSON show both, as the query run whole does."""
    from service.http import create_app
    from service.store.embedded import EmbeddedStore
    from service.store.terms import source_graph

    store = load_example(EmbeddedStore())
    client = create_app({"tokens": "qd-editor=editor"}, store=store).test_client()
    editor = {"Authorization": "Bearer qd-editor"}
    risk, owner = (
        "https://aurora-lending.example/aims/risk-02",
        "https://aurora-lending.example/aims/tom-reyes",
    )
    risks = source_graph(next(f for f in EXAMPLE_FILES if f.name == "risks.ttl"))
    day = {"as_of": DAY.isoformat()}
    assert (
        client.get("/risks", query_string=day, headers={"Accept": "text/html", **editor}).status_code == 200
    )

    def post(update: str) -> None:
        answer = client.post("/sparql", data={"update": update}, headers=editor)
        assert answer.status_code in (200, 204), answer.get_data(as_text=True)

    post(
        f"DELETE {{ GRAPH <{risks}> {{ <{risk}> <{AIMS}owner> ?o }} }} "
        f"INSERT {{ GRAPH <{risks}> {{ <{risk}> <{AIMS}owner> <{owner}> }} }} "
        f"WHERE {{ GRAPH <{risks}> {{ <{risk}> <{AIMS}owner> ?o }} }}"
    )
    people = source_graph(next(f for f in EXAMPLE_FILES if f.name == "organisation.ttl"))
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    post(
        f"DELETE {{ GRAPH <{people}> {{ <{owner}> {label} ?l }} }} "
        f'INSERT {{ GRAPH <{people}> {{ <{owner}> {label} "Tomás Reyes-Ortiz" }} }} '
        f"WHERE {{ GRAPH <{people}> {{ <{owner}> {label} ?l }} }}"
    )
    shown = client.get(
        "/risks", query_string=day, headers={"Accept": "application/json", **editor}
    ).get_json()
    whole = queries.run(store, "register-risks", {})
    assert [r["risk"] for r in shown] == [str(r["risk"]) for r in whole]
    assert {r["owner"] for r in shown if r["risk"] == risk} == {owner}
    page = client.get("/risks", query_string=day, headers={"Accept": "text/html", **editor})
    assert "Tomás Reyes-Ortiz" in page.get_data(as_text=True)
