"""What an update may change, found before it runs (query_process.UpdatePlan, count_update), for
the history of writes: hand-worked on a three-triple store. The resources are the subjects the
update names, and the values its templates' subject variables take over its WHERE."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from service.http import query_process
from service.namespaces import DEFAULT_GRAPH
from service.store.embedded import EmbeddedStore

A, B, C, D, E, G = (URIRef(f"urn:x:{n}") for n in "abcdeg")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("plan") / "store")
    store.update("INSERT DATA { <urn:x:a> <urn:x:p> 1 . <urn:x:b> <urn:x:p> 2 . <urn:x:c> <urn:x:q> 3 }")
    return store


def changed(store: EmbeddedStore, update: str) -> tuple[frozenset[URIRef] | None, frozenset[URIRef]]:
    _, plan = query_process.check_update(f"BASE <urn:x:>\n{update}", 10)
    return query_process.count_update(store, plan, 10), plan.graphs


@pytest.mark.parametrize(
    ("update", "subjects", "graphs"),
    [
        # ?s takes a and b over the WHERE (both have urn:x:p); c has only urn:x:q
        ("DELETE { ?s <urn:x:p> ?o } INSERT { ?s <urn:x:p> 5 } WHERE { ?s <urn:x:p> ?o }", {A, B}, set()),
        # named in the data, in the default graph and in a named graph
        ("INSERT DATA { <urn:x:d> <urn:x:p> 1 . GRAPH <urn:x:g> { <urn:x:e> <urn:x:p> 2 } }", {D, E}, set()),
        ("DELETE DATA { <urn:x:a> <urn:x:p> 1 }", {A}, set()),
        # DELETE WHERE: the pattern is the template; ?x takes c only
        ("DELETE WHERE { ?x <urn:x:q> ?y }", {C}, set()),
        # a named subject in a template, and none matching in the WHERE: still the named one
        ("INSERT { <urn:x:d> <urn:x:r> ?o } WHERE { ?s <urn:x:nothing> ?o }", {D}, set()),
        # graph operations change graphs whole
        ("DROP GRAPH <urn:x:g>", set(), {G}),
        ("COPY DEFAULT TO <urn:x:g>", set(), {DEFAULT_GRAPH, G}),
    ],
)
def test_what_an_update_may_change(store: EmbeddedStore, update: str, subjects: set, graphs: set) -> None:  # type: ignore[type-arg]
    assert changed(store, update) == (frozenset(subjects), frozenset(graphs))


def test_every_graph(store: EmbeddedStore) -> None:
    # CLEAR ALL and DROP NAMED name no resource and no graph: the plan says every graph
    for update in ("CLEAR ALL", "DROP NAMED"):
        _, plan = query_process.check_update(update, 10)
        assert (
            plan.every_graph
            and not plan.graphs
            and query_process.count_update(store, plan, 10) == frozenset()
        )


def test_past_the_cap_is_a_summary(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # with room for one resource, the two that ?s takes are too many: None (the query process
    # reads the cap when the plan is made, in the service, so the cap is set here)
    monkeypatch.setattr(query_process, "MAX_RECORDED_SUBJECTS", 1)
    result = query_process.count_here(store, query_process.check_update(
        "DELETE { ?s <urn:x:p> ?o } WHERE { ?s <urn:x:p> ?o }", 10)[1], 10)  # fmt: skip
    assert result is None


def test_drop_graph_through_the_endpoint(tmp_path: Path) -> None:
    """`DROP GRAPH <g>` (no SILENT) of a graph the store holds: 204 and the graph gone. It failed
    before: Oxigraph's check of the text ran it on an empty store, where the graph does not
    exist, and that failure (SPARQL 1.1 Update 3.2.2) was taken for the request's."""
    from service.http import create_app

    store = EmbeddedStore(tmp_path / "store")
    app = create_app({"tokens": "ed=editor"}, store=store)
    client = app.test_client()
    editor = {"Authorization": "Bearer ed"}
    insert = "INSERT DATA { GRAPH <urn:x:g> { <urn:x:a> <urn:x:p> 1 } }"
    assert client.post("/sparql", data={"update": insert}, headers=editor).status_code == 204
    assert client.post("/sparql", data={"update": "DROP GRAPH <urn:x:g>"}, headers=editor).status_code == 204
    assert store.count(URIRef("urn:x:g")) == 0
    # a graph that does not exist: DROP without SILENT is the engine's error, a 4xx, not a 5xx
    missing = client.post("/sparql", data={"update": "DROP GRAPH <urn:x:none>"}, headers=editor)
    assert 400 <= missing.status_code < 500


def test_a_sparql_update_is_in_the_history_of_what_it_changed(tmp_path: Path) -> None:
    """Hand-worked: a holds p 1; the update sets every p to 5 (?s takes a). The history of a says
    p went from 1 to 5, by the editor's token; b, untouched, has no write. CLEAR ALL is recorded
    by what it removed: every graph is read before and after (small here), so a's p 5 is gone."""
    from service.http import create_app

    store = EmbeddedStore(tmp_path / "store")
    client = create_app({"tokens": "ed=editor"}, store=store).test_client()
    editor = {"Authorization": "Bearer ed"}

    def post(update: str) -> None:
        assert client.post("/sparql", data={"update": update}, headers=editor).status_code == 204

    def writes(iri: str) -> list[dict]:  # type: ignore[type-arg]
        answer = client.get("/history", query_string={"iri": iri}, headers={"Accept": "application/json"})
        assert answer.status_code == 200
        return answer.get_json()["writes"]  # type: ignore[no-any-return]

    post("INSERT DATA { <urn:x:a> <urn:x:p> 1 . <urn:x:b> <urn:x:q> 2 }")
    post("DELETE { ?s <urn:x:p> ?o } INSERT { ?s <urn:x:p> 5 } WHERE { ?s <urn:x:p> ?o }")
    latest = writes("urn:x:a")[0]
    assert latest["action"] == "sparql update" and "editor" in latest["who"]
    assert latest["changes"] == [{"property": "urn:x:p", "label": latest["changes"][0]["label"],
                                  "before": [1], "after": [5]}]  # fmt: skip
    assert len(writes("urn:x:b")) == 1  # only the INSERT DATA that made it
    post("CLEAR ALL")
    cleared = writes("urn:x:a")[0]
    assert (
        cleared["summary"] is None
        and cleared["changes"][0]["before"] == [5]
        and not cleared["changes"][0]["after"]
    )
