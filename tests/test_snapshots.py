"""Issue 20, items 1 and 2: snapshots freeze the organisation's graphs, answer every read as it was
when they were taken, and refuse every write. The three changes made after the snapshot come from
examples/*.ttl: R01 loses its owner (risks.ttl, `aims:owner ex:li-wei`), the governance calendar
evidence expires (controls.ttl, validUntil 2027-01-10 set to 2026-11-01, before the snapshot's day
2026-11-20), and the AI objectives register is deleted (documents.ttl, ex:doc-objectives)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import URIRef

from service import reports, snapshots, traces, validation
from service.cli import main
from service.http import create_app
from service.namespaces import CATALOGUE_GRAPH, DEFAULT_GRAPH
from service.store import Store
from service.store.base import QueryDataset
from service.store.embedded import EmbeddedStore
from service.store.terms import FROZEN_GRAPH_PREFIX, source_graph

from .conftest import EXAMPLE_FILES, load_example

ADMIN = {"Authorization": "Bearer snap-admin"}
EDITOR = {"Authorization": "Bearer snap-editor"}
JSON = {"Accept": "application/json"}
EDITOR_PAGE = {**EDITOR, "Accept": "text/html"}
EX = "https://aurora-lending.example/aims/"
DAY = "2026-11-20"
EXAMPLES = Path(__file__).parent.parent / "examples"


def graph_of(name: str) -> str:
    return str(source_graph(EXAMPLES / name))


# The answers compared before and after the changes: the SoA, the gap analysis, the validation of
# both stages, and the traces of the three risks the changes touch or leave alone.
ANSWERS = (
    "/soa",
    "/gap-analysis",
    "/validate?stage=2",
    "/readiness?stage=2",
    f"/trace/risk?iri={EX}risk-01",
    f"/trace/risk?iri={EX}risk-02",
    f"/trace/evidence?iri={EX}ev-policy-calendar",
    "/documents",
    "/queries/open-nonconformities",
)

PREFIXES = "PREFIX aims: <https://w3id.org/aims#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
CHANGES = [
    PREFIXES
    + f"DELETE DATA {{ GRAPH <{graph_of('risks.ttl')}> {{ <{EX}risk-01> aims:owner <{EX}li-wei> }} }}",
    PREFIXES
    + f"""DELETE DATA {{ GRAPH <{graph_of("controls.ttl")}> {{
      <{EX}ev-policy-calendar> aims:validUntil "2027-01-10"^^xsd:date }} }} ;
    INSERT DATA {{ GRAPH <{graph_of("controls.ttl")}> {{
      <{EX}ev-policy-calendar> aims:validUntil "2026-11-01"^^xsd:date }} }}""",
    f"DELETE WHERE {{ GRAPH <{graph_of('documents.ttl')}> {{ <{EX}doc-objectives> ?p ?o }} }}",
]


def _store(kind: str, request: pytest.FixtureRequest) -> Store:
    if kind == "embedded":
        return load_example(EmbeddedStore())
    return load_example(request.getfixturevalue(f"{kind}_remote"))


@pytest.fixture(params=["embedded", "oxigraph", "virtuoso"])
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    store = _store(request.param, request)
    yield create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store)
    for s in snapshots.listed(store):  # a shared server is left as the other tests expect it
        snapshots.delete(store, s.name)
    load_example(store)


def answers(client: FlaskClient, snapshot: str | None = None) -> dict[str, bytes]:
    found = {}
    for path in ANSWERS:
        target = path + (("&" if "?" in path else "?") + f"snapshot={snapshot}" if snapshot else "")
        if not snapshot and not path.startswith("/queries/"):  # a named query has no day
            target += ("&" if "?" in target else "?") + f"as_of={DAY}"
        response = client.get(target, headers=JSON)
        assert response.status_code == 200, (target, response.get_data(as_text=True)[:300])
        found[path] = response.data
    return found


def take(client: FlaskClient, name: str = "stage-1", **extra: str) -> dict[str, object]:
    response = client.post("/snapshots", json={"name": name, "as_of": DAY, **extra}, headers=ADMIN)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_snapshot_answers_as_before_the_changes(app: Flask) -> None:
    client = app.test_client()
    before = answers(client)
    taken = take(client, note="Stage 1 audit")
    assert taken["as_of"] == DAY and taken["note"] == "Stage 1 audit"
    assert taken["by"].startswith("admin token ")  # type: ignore[union-attr]
    # every organisation graph of the store, and no other (a shared server may hold other tests' graphs)
    assert sorted(taken["graphs"]) == sorted(
        str(g) for g in app.extensions["aims"].store.graphs() if g != CATALOGUE_GRAPH
    )  # type: ignore[arg-type]
    # the snapshot as taken answers what today's data answered, byte for byte
    assert answers(client, "stage-1") == before

    for change in CHANGES:
        response = client.post("/sparql", data={"update": change}, headers=EDITOR)
        assert response.status_code == 204, response.get_data(as_text=True)
    after = answers(client)
    # the changes moved today's answers (else the comparison below would prove nothing) ...
    moved = {path for path in ANSWERS if after[path] != before[path]}
    assert {"/gap-analysis", "/validate?stage=2", f"/trace/risk?iri={EX}risk-01"} <= moved
    assert b"doc-objectives" in before["/documents"]
    assert b"doc-objectives" not in after["/documents"]
    # ... and not the snapshot's
    assert answers(client, "stage-1") == before


def test_pages_of_a_snapshot_say_so_keep_it_in_links_and_offer_no_form() -> None:
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=load_example(EmbeddedStore()))
    client = app.test_client()
    take(client, note="Stage 1 audit")
    html = client.get(f"/resource?iri={EX}risk-01&snapshot=stage-1", headers=EDITOR_PAGE).get_data(
        as_text=True
    )
    assert "Snapshot <strong>stage-1</strong>" in html and "read-only" in html
    assert 'href="/risks?snapshot=stage-1"' in html  # the nav stays in the snapshot
    assert "/edit?" not in html and "/delete?" not in html  # an editor gets no form there
    today = client.get(f"/resource?iri={EX}risk-01", headers=EDITOR_PAGE).get_data(as_text=True)
    assert "/edit?" in today  # (and does on today's page)
    # judged on the snapshot's day, not on a day chosen for today's pages (the as-of cookie)
    client.set_cookie("aims_as_of", "2030-01-01")
    page = client.get("/soa?snapshot=stage-1", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "20 Nov 2026" in page or "2026-11-20" in page


def test_every_write_to_a_snapshot_is_refused_and_changes_nothing() -> None:
    store = load_example(EmbeddedStore())
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store)
    client = app.test_client()
    taken = snapshots.get(store, str(take(client)["name"]))
    frozen = {copy: store.count(copy) for copy in taken.graphs}
    turtle = f"<{EX}x> <{EX}p> <{EX}y> ."
    refused = [
        client.post("/sparql?snapshot=stage-1", data={"update": f"INSERT DATA {{ {turtle} }}"}, headers=EDITOR),
        client.put("/graph-store?graph=urn:x&snapshot=stage-1", data=turtle, content_type="text/turtle", headers=EDITOR),
        client.post("/import?snapshot=stage-1", data=b"PK", headers=EDITOR),
        client.post("/new/risk?snapshot=stage-1", data={"label": "x"}, headers=EDITOR),
        # and the snapshot's graphs by their own names, as any reserved graph
        client.put(f"/graph-store?graph={next(iter(taken.graphs))}", data=turtle, content_type="text/turtle", headers=EDITOR),
        client.post("/sparql", data={"update": f"INSERT DATA {{ GRAPH <{next(iter(taken.graphs))}> {{ {turtle} }} }}"}, headers=EDITOR),
        client.post("/sparql", data={"update": "DROP ALL"}, headers=EDITOR),
        client.post("/sparql", data={"update": "CLEAR NAMED"}, headers=EDITOR),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [403] * len(refused), [
        r.get_data(as_text=True)[:200] for r in refused
    ]
    assert {copy: store.count(copy) for copy in taken.graphs} == frozen
    assert snapshots.get(store, "stage-1") == taken


def test_today_s_queries_do_not_see_the_frozen_copies() -> None:
    """A snapshot's copies are the same triples in other graphs: today's answers must not count
    them twice (Oxigraph's union of every graph would), nor list the copies as graphs."""
    store = load_example(EmbeddedStore())
    app = create_app({"tokens": "snap-admin=admin"}, store=store)
    client = app.test_client()
    query = {"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}
    sparql_json = {"Accept": "application/sparql-results+json"}
    risks, triples = (
        client.get("/risks", headers=JSON).data,
        client.get("/sparql", query_string=query, headers=sparql_json).data,
    )
    graphs = store.graphs()
    take(client)
    take(client, "stage-2")
    assert client.get("/risks", headers=JSON).data == risks
    assert client.get("/sparql", query_string=query, headers=sparql_json).data == triples
    assert store.graphs() == graphs


def test_snapshot_names_are_checked_and_unique() -> None:
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=load_example(EmbeddedStore()))
    client = app.test_client()
    take(client)
    assert client.post("/snapshots", json={"name": "stage-1"}, headers=ADMIN).status_code == 409
    assert client.post("/snapshots", json={"name": "a b"}, headers=ADMIN).status_code == 400
    assert client.post("/snapshots", json={"name": "> } DROP ALL"}, headers=ADMIN).status_code == 400
    assert client.post("/snapshots", json={"name": "x"}, headers=EDITOR).status_code == 403  # admin only
    assert client.get("/soa?snapshot=nope").status_code == 404
    assert client.delete("/snapshots/stage-1", headers=EDITOR).status_code == 403
    assert client.delete("/snapshots/stage-1", headers=ADMIN).status_code == 204
    assert client.get("/snapshots", headers=JSON).get_json() == []


def test_the_command_line_takes_lists_reads_and_deletes_snapshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(tmp_path / "d")]
    assert main(["load", *data, *map(str, EXAMPLE_FILES)]) == 0
    assert main(["snapshot", "create", *data, "gap", "--note", "Gap analysis", "--as-of", DAY]) == 0
    assert main(["gap", *data, "--as-of", DAY, "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["gap", *data, "--as-of", DAY, "--format", "json"]) == 0
    live = capsys.readouterr().out
    with EmbeddedStore(tmp_path / "d") as store:
        for change in CHANGES:
            store.update(change)
    assert main(["gap", *data, "--snapshot", "gap", "--format", "json"]) == 0
    assert capsys.readouterr().out == live  # judged on the snapshot's day, as today's was before
    assert main(["gap", *data, "--as-of", DAY, "--format", "json"]) == 0
    assert capsys.readouterr().out != live
    assert main(["snapshot", "list", *data]) == 0
    assert "Gap analysis" in capsys.readouterr().out
    assert main(["snapshot", "create", *data, "gap"]) == 2  # taken
    assert main(["gap", *data, "--snapshot", "nope"]) == 2
    assert "no snapshot named 'nope'" in capsys.readouterr().err
    assert main(["snapshot", "delete", *data, "gap"]) == 0
    with EmbeddedStore(tmp_path / "d") as store:  # nothing of it is left, in any graph
        every = QueryDataset(every_named=True)
        assert (
            store.query(
                f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER STRSTARTS(STR(?g), '{FROZEN_GRAPH_PREFIX}') }}",
                dataset=every,
            )
            is False
        )


def test_a_snapshot_s_report_is_worked_out_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot never changes: its report on its own day is kept beside it, and what a diff or a
    trend draws from the kept report equals what a fresh validation gives."""
    store = load_example(EmbeddedStore())
    view = snapshots.SnapshotView(
        store, snapshots.create(store, "kept", "test", as_of=dt.date.fromisoformat(DAY))
    )
    fresh = validation.validate(view, as_of=view.snapshot.as_of)
    assert snapshots.report(view).to_json() == fresh.to_json()
    monkeypatch.setattr(validation, "validate", lambda *a, **k: pytest.fail("validated again"))
    kept = snapshots.report(view)
    assert kept.to_json() == fresh.to_json() and kept.assessed == fresh.assessed
    day = view.snapshot.as_of
    assert reports.gap_analysis(view, day, kept) == reports.gap_analysis(view, day, fresh)
    snapshots.delete(store, "kept")  # and with it what was kept
    every = QueryDataset(every_named=True)
    assert store.query("ASK { GRAPH <urn:aims:snapshot:kept:report> { ?s ?p ?o } }", dataset=every) is False


def test_a_snapshot_s_risk_verdicts_are_worked_out_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a diff compares: every risk's verdict in a snapshot, kept beside it, is what tracing
    that risk alone in the snapshot gives (traces.trace, the trace page's answer); read again, it
    is not traced again. The example has covered and uncovered risks, so a verdict mixed up
    between risks would show."""
    store = load_example(EmbeddedStore())
    view = snapshots.SnapshotView(
        store, snapshots.create(store, "verdicts", "test", as_of=dt.date.fromisoformat(DAY))
    )
    kept = snapshots.keep_judgement(view)
    risks = [
        str(r["r"]) for r in view.select("PREFIX aims: <https://w3id.org/aims#> SELECT ?r { ?r a aims:Risk }")
    ]
    one_by_one = {r: traces.trace(view, "risk", URIRef(r), view.snapshot.as_of, kept).verdict for r in risks}
    assert len(set(one_by_one.values())) > 1, one_by_one
    monkeypatch.setattr(traces, "every", lambda *a, **k: pytest.fail("traced again"))
    assert snapshots.risk_verdicts(view) == one_by_one


def test_the_service_keeps_a_snapshot_s_report_when_it_is_taken() -> None:
    """POST /snapshots keeps the snapshot's report beside it: the live report brought up to date
    (incremental validation) when one is kept, else one worked out in the background. Either way
    it must equal a fresh validation of the snapshot (its data is the live data of that moment)."""
    import time

    store = load_example(EmbeddedStore())
    client = create_app({"tokens": "snap-admin=admin"}, store=store).test_client()
    graph = "urn:aims:snapshot:{}:report"
    every = QueryDataset(every_named=True)

    def kept(name: str) -> bool:
        return store.query(f"ASK {{ GRAPH <{graph.format(name)}> {{ ?s ?p ?o }} }}", dataset=every) is True

    take(client, "cold")  # no live report kept yet: worked out in the background
    for _ in range(600):
        if kept("cold"):
            break
        time.sleep(0.1)
    assert client.get(f"/validate?as_of={DAY}", headers=JSON).status_code == 200  # a live report now
    take(client, "warm")
    assert kept("warm")  # at once: the live report, brought up to date
    for name in ("cold", "warm"):
        view = snapshots.SnapshotView(store, snapshots.get(store, name))
        fresh = validation.validate(view, as_of=view.snapshot.as_of)
        assert snapshots.report(view).to_json() == fresh.to_json(), name


def test_what_the_review_found_stays_fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An independent review of issue 20: each of these read or wrote today's data, or the
    snapshot's, where the other was meant."""
    store = load_example(EmbeddedStore())
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store)
    client = app.test_client()
    take(client)
    # an update that reads GRAPH ?g would read the snapshot's copies too (Oxigraph's update has no
    # dataset): refused while snapshots exist; one that names its graphs is not
    reads_every_graph = f"INSERT {{ GRAPH <{graph_of('risks.ttl')}> {{ ?s <{EX}flag> true }} }} WHERE {{ GRAPH ?g {{ ?s a <https://w3id.org/aims#Risk> }} }}"
    assert client.post("/sparql", data={"update": reads_every_graph}, headers=EDITOR).status_code == 403
    named = reads_every_graph.replace("GRAPH ?g", f"GRAPH <{graph_of('risks.ttl')}>")
    assert client.post("/sparql", data={"update": named}, headers=EDITOR).status_code == 204
    # an edit keeps a resource in its own graph, never a snapshot's copy (sorted first by name)
    from service import forms

    assert forms.home_graph(store, URIRef(f"{EX}risk-01")) == URIRef(graph_of("risks.ttl"))
    # signing out from a snapshot's page: the form does not carry ?snapshot= (which refuses writes)
    html = client.get("/?snapshot=stage-1", headers=EDITOR_PAGE).get_data(as_text=True)
    assert 'action="/logout"' in html or "/login?" in html
    # reads that need a token: the snapshot's name is not looked up for an anonymous caller
    closed = create_app({"tokens": "r=reader", "read_requires_token": True}, store=store).test_client()
    assert closed.get("/soa?snapshot=nope").status_code == 401
    # aims export --snapshot writes the snapshot's data, whatever the format
    data = ["--data", str(tmp_path / "d")]
    assert main(["load", *data, *map(str, EXAMPLE_FILES)]) == 0
    assert main(["snapshot", "create", *data, "before"]) == 0
    with EmbeddedStore(tmp_path / "d") as disk:
        disk.update(CHANGES[2])  # doc-objectives deleted today
    out = tmp_path / "before.trig"
    assert main(["export", *data, "--snapshot", "before", "-o", str(out)]) == 0
    assert "AI objectives register" in out.read_text()  # its label (documents.ttl), gone today
    assert main(["export", *data, "-o", str(out)]) == 0
    assert "AI objectives register" not in out.read_text()


@pytest.mark.slow
def test_a_remote_store_s_default_graph_is_frozen_too(oxigraph_remote: Store) -> None:
    """On a remote store `?default` is a graph of that name (every remote write names one): its
    copy holds its triples, so the snapshot answers them."""
    store = load_example(oxigraph_remote)
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store)
    client = app.test_client()
    turtle = f"<{EX}lonely> <http://www.w3.org/2000/01/rdf-schema#label> 'kept in the default graph' ."
    assert client.put(
        "/graph-store?default", data=turtle, content_type="text/turtle", headers=EDITOR
    ).status_code in (201, 204)
    try:
        take(client, "with-default")
        query = {"query": f"ASK {{ <{EX}lonely> ?p ?o }}", "snapshot": "with-default"}
        answer = client.get(
            "/sparql", query_string=query, headers={"Accept": "application/sparql-results+json"}
        )
        assert answer.get_json()["boolean"] is True
    finally:
        for s in snapshots.listed(store):
            snapshots.delete(store, s.name)
        store.drop(DEFAULT_GRAPH)
        load_example(store)
