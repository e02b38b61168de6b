"""Incremental validation (service/validation/incremental.py) held to a full run: after each of
many random writes, the results worked out from the kept ones and the write's changes are the
results of validating the store from nothing (the specification of what incremental must give)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD

from bench.generate import generate
from service import history, validation
from service.store.formats import FORMATS
from service.store.terms import source_graph
from service.validation import incremental

from .conftest import EXAMPLE_FILES, load_example, parse_all

DAY = dt.date(2026, 3, 1)
GENERATED = URIRef("urn:aims-graph:test:generated")
AIMS = "https://w3id.org/aims#"


def _pools() -> tuple[list[tuple[Any, Any, Any]], list[tuple[Any, Any, Any]], list[URIRef], list[URIRef]]:
    """Triples a write may remove or add back (no blank nodes: a write names what it changes),
    those holding a date, the subjects, and the classes in use."""
    data = parse_all(EXAMPLE_FILES)
    data.parse(data=generate(3), format="turtle")
    named = sorted((t for t in data if not any(isinstance(x, BNode) for x in t)), key=str)
    dated = [t for t in named if isinstance(t[2], Literal) and t[2].datatype == XSD.date]
    subjects = sorted({t[0] for t in named if isinstance(t[0], URIRef)}, key=str)
    classes = sorted({t[2] for t in named if t[1] == RDF.type and isinstance(t[2], URIRef)}, key=str)
    return named, dated, subjects, classes


TRIPLES, DATED, SUBJECTS, CLASSES = _pools()


def _fresh(store: Any) -> Any:
    load_example(store)
    store.load(generate(3).encode(), FORMATS["turtle"], GENERATED, replace=True)
    return store


def _data(triples: list[tuple[Any, Any, Any]]) -> str:
    return " ".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)


def _delete(pattern: str, insert: str = "") -> str:
    """Remove what matches `pattern` from whatever graph holds it (each file has its own), and
    put `insert` in its place."""
    also = f"INSERT {{ GRAPH ?g {{ {insert} }} }}" if insert else ""
    return f"DELETE {{ GRAPH ?g {{ {pattern} }} }} {also} WHERE {{ GRAPH ?g {{ {pattern} }} }}"


def _insert(triples: list[tuple[Any, Any, Any]]) -> str:
    return f"INSERT DATA {{ GRAPH {GENERATED.n3()} {{ {_data(triples)} }} }}"


def _moved(t: tuple[Any, Any, Any], days: int) -> tuple[Any, Any, Any]:
    return (t[0], t[1], Literal(t[2].toPython() + dt.timedelta(days=days), datatype=XSD.date))


# a write: (what it runs, the subjects it touches), drawn from the example's and the generated
# organisation's own triples: remove one (an owner, a date ...), change a date, delete a resource,
# add a type, add a triple of one resource to another
writes = st.one_of(
    st.sampled_from(TRIPLES).map(lambda t: (_delete(_data([t])), {t[0]})),
    st.sampled_from(TRIPLES).map(lambda t: (_insert([t]), {t[0]})),
    st.tuples(st.sampled_from(DATED), st.integers(-800, 800)).map(
        lambda d: (_delete(_data([d[0]]), _data([_moved(*d)])), {d[0][0]})
    ),
    st.sampled_from(SUBJECTS).map(lambda s: (_delete(f"{s.n3()} ?p ?o"), {s})),
    st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(CLASSES)).map(
        lambda t: (_insert([(t[0], RDF.type, t[1])]), {t[0]})
    ),
    st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(TRIPLES)).map(
        lambda t: (_insert([(t[0], t[1][1], t[1][2])]), {t[0]})
    ),
)
steps = st.lists(st.tuples(writes, st.sampled_from([0, 0, 0, 1, 400])), min_size=1, max_size=3)


def _write(store: Any, update: str, touched: set[URIRef]) -> list[history.Change]:
    """Apply a write as the service does and return its changes as audit.record gets them."""
    before = history.snapshot(store, touched)
    store.update(update)
    return history.diff(before, history.snapshot(store, touched))


def _same(incremental_report: validation.Report, full: validation.Report) -> None:
    def keys(report: validation.Report) -> list[tuple[str, str]]:
        return sorted((r.key, r.severity) for r in report.results)

    assert keys(incremental_report) == keys(full)
    # what each result says (labels, requirements, controls) as well, in the same order
    assert incremental_report.results == full.results
    assert incremental_report.conforms == full.conforms
    # and the requirements the rules evaluated (what may be "met"): kept per rule when no write
    # reached the query that found them; asked here, so the next write's run starts from them
    assert incremental_report.assessed == full.assessed


def _differential(store: Any, program: list[tuple[tuple[str, set[URIRef]], int]], stage: int | None) -> None:
    day = DAY
    kept = incremental.validate(store, day, stage)
    for (update, touched), days in program:
        changes = _write(store, update, touched)
        day += dt.timedelta(days=days)  # sometimes a later day as well: its date rules judged again
        kept = incremental.revalidate(store, kept, day, changes, stage)
        _same(kept.report, validation.validate(store, as_of=day, stage=stage))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=steps, stage=st.sampled_from([None, 1, 2]))
def test_incremental_equals_full_embedded(program: list[Any], stage: int | None) -> None:
    from service.store.embedded import EmbeddedStore

    _differential(_fresh(EmbeddedStore()), program, stage)


def test_first_run_equals_validate() -> None:
    """With nothing kept, the incremental module's full run is validation.validate's."""
    from service.store.embedded import EmbeddedStore

    store = _fresh(EmbeddedStore())
    _same(incremental.validate(store, DAY).report, validation.validate(store, as_of=DAY))


def test_one_owner_removed_runs_few_checks() -> None:
    """Removing one risk's owner asks again only the checks that read aims:owner (or read any
    predicate), and the local ones among them only for that risk."""
    from service.store.embedded import EmbeddedStore

    store = _fresh(EmbeddedStore())
    kept = incremental.validate(store, DAY)
    risk = URIRef("https://bench.example/org/risk-1-1")
    owner = next(o for s, p, o in TRIPLES if s == risk and p == URIRef(AIMS + "owner"))
    changes = _write(store, _delete(_data([(risk, URIRef(AIMS + "owner"), owner)])), {risk})
    assert [(c.subject, c.predicate, c.added) for c in changes] == [(risk, URIRef(AIMS + "owner"), False)]
    after = incremental.revalidate(store, kept, DAY, changes)
    # the rules read aims:owner in a handful of places, out of 169 checks (see the module's reads)
    assert 0 < after.rerun < len(kept.checks) / 4
    _same(after.report, validation.validate(store, as_of=DAY))


def test_what_the_rules_assessed_follows_each_write() -> None:
    """The requirements some rule evaluated (only these can be "met") are kept per rule and asked
    again only for the rules whose query a write reaches. Each write here takes away every
    instance of one more class, which leaves rules with nothing to look at: after each, what the
    incremental run says was assessed equals a full run's, and some of them moved it."""
    from service.store.embedded import EmbeddedStore

    store = _fresh(EmbeddedStore())
    classes = [
        r["c"]
        for r in store.select(
            f'SELECT DISTINCT ?c WHERE {{ ?x a ?c FILTER (STRSTARTS(STR(?c), "{AIMS}")) }} ORDER BY ?c'
        )
    ]
    kept = incremental.validate(store, DAY)
    assert kept.report.assessed  # asked, so each next run starts from the rules' parts
    moved = 0
    for kind in [c for c in classes if c != URIRef(AIMS + "AIManagementSystem")][:15]:  # without one, none is
        members = {r["x"] for r in store.select(f"SELECT ?x WHERE {{ ?x a {kind.n3()} }}")}
        changes = _write(store, _delete(f"?x a {kind.n3()}"), members)
        again = incremental.revalidate(store, kept, DAY, changes)
        assert again.report.assessed == validation.validate(store, as_of=DAY).assessed, kind
        moved += again.report.assessed != kept.report.assessed
        kept = again
    assert moved, "no write changed what was assessed: the test shows nothing"


def test_new_day_reruns_only_dated_rules() -> None:
    """A later day with no write re-runs the checks whose text holds a date, and no other."""
    from service.store.embedded import EmbeddedStore

    store = _fresh(EmbeddedStore())
    kept = incremental.validate(store, DAY)
    later = DAY + dt.timedelta(days=200)
    after = incremental.revalidate(store, kept, later, [])
    dated = [k for k, c in after.checks.items() if kept.checks[k].query != c.query]
    assert after.rerun == len(dated) > 0
    _same(after.report, validation.validate(store, as_of=later))


def test_unlisted_changes_fall_back_to_a_full_run(caplog: pytest.LogCaptureFixture) -> None:
    """A write too large to list (history.TooMany) is validated in full, and the log says so."""
    from service.store.embedded import EmbeddedStore

    store = _fresh(EmbeddedStore())
    kept = incremental.validate(store, DAY)
    store.update(f"DELETE WHERE {{ GRAPH {GENERATED.n3()} {{ ?s ?p ?o }} }}")
    with caplog.at_level(logging.INFO, logger="service.validation.incremental"):
        after = incremental.revalidate(store, kept, DAY, history.TooMany(5000))
    assert "full validation" in caplog.text
    assert after.rerun == len(after.checks)
    _same(after.report, validation.validate(store, as_of=DAY))


@pytest.mark.parametrize(
    ("text", "predicates", "any_class"),
    [
        # hand-read: the predicates and classes each pattern names
        (
            "SELECT ?this WHERE { ?this a <urn:C> ; <urn:p> ?v }",
            {RDF.type, URIRef("urn:C"), URIRef("urn:p")},
            False,
        ),
        (
            "PREFIX x: <urn:x#> SELECT ?this WHERE { ?this x:p/x:q* ?v }",
            {URIRef("urn:x#p"), URIRef("urn:x#q")},
            False,
        ),
        (
            "SELECT ?this WHERE { ?this a ?kind . VALUES ?kind { <urn:C> } }",
            {RDF.type, URIRef("urn:C")},
            True,
        ),
        ("SELECT ?this WHERE { ?this <urn:p> ?v FILTER (!BOUND(?v) && ?v != 1) }", {URIRef("urn:p")}, False),
    ],
)
def test_reads(text: str, predicates: set[URIRef], any_class: bool) -> None:
    found = incremental.reads(text)
    assert found is not None
    assert found.predicates == predicates
    assert (found.classes is None) == any_class


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?this WHERE { ?this ?p ?o }",  # a variable predicate reads anything
        "SELECT ?this WHERE { ?this <urn:p> ?o ; ?q ?r }",
        "SELECT ?this WHERE { [ ?p ?o ] <urn:p> ?this }",
        "SELECT ?this WHERE { ?this !<urn:p> ?o }",  # every predicate but one
        "SELECT ?this WHERE { ?this !(<urn:p>|^<urn:q>) ?o }",
        "SELECT ?this WHERE { SERVICE <urn:s> { ?this <urn:p> ?o } }",
        "SELECT ?this WHERE { ?this y:p ?o }",  # an unknown prefix
    ],
)
def test_reads_anything(text: str) -> None:
    assert incremental.reads(text) is None


def test_blank_node_written_as_text_is_read() -> None:
    """A blank node the history wrote into its triple as a text reaches the checks reading what
    is inside it; nested past the history's depth, nothing can be said: a full run."""
    inner = Literal('[ aims:start "2026-01-01"^^xsd:date ]')
    touched = incremental.touches([history.Change(GENERATED, URIRef("urn:s"), URIRef("urn:p"), inner, True)])
    assert URIRef(AIMS + "start") in touched[0].inner
    reads = incremental.Reads(frozenset({URIRef(AIMS + "start")}), None)
    assert incremental.reach(reads, touched) is None  # at a node without a name: every focus node
    with pytest.raises(incremental.Unreadable):
        incremental.touches(
            [history.Change(GENERATED, URIRef("urn:s"), URIRef("urn:p"), Literal("[ aims:x [ … ] ]"), True)]
        )


@pytest.mark.slow
def test_incremental_equals_full_on_oxigraph_server(oxigraph_remote: Any) -> None:
    """The same on `oxigraph serve` (the session's server: the example is put back at the end)."""
    store = oxigraph_remote

    @settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(program=steps)
    def check(program: list[Any]) -> None:
        _differential(_fresh(store), program, None)

    try:
        check()
    finally:
        store.drop(GENERATED)
        load_example(store)


def test_pages_bring_the_kept_report_up_to_date_after_a_write() -> None:
    """The service keeps the report and, after a write recorded with its changes, works out the
    next one from it (few checks run again), giving what a full validation gives."""
    from service.http import create_app, pages
    from service.http.state import state
    from service.store.embedded import EmbeddedStore

    store = load_example(EmbeddedStore())
    app = create_app({"tokens": "inc-editor=editor"}, store=store)
    client = app.test_client()
    json = {"Accept": "application/json"}

    def shown() -> list[str]:
        answer = client.get("/validation", query_string={"as_of": DAY.isoformat()}, headers=json)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return sorted(r["key"] for r in answer.get_json()["results"])

    before = shown()
    risk = "https://aurora-lending.example/aims/risk-01"
    graph = source_graph(next(f for f in EXAMPLE_FILES if f.name == "risks.ttl"))
    update = f"DELETE WHERE {{ GRAPH <{graph}> {{ <{risk}> <{AIMS}owner> ?o }} }}"
    answer = client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer inc-editor"})
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)
    after = shown()
    # a risk without an owner is a finding (shapes: RiskOwned): the page shows one result more
    assert after != before
    assert after == sorted(r.key for r in validation.validate(store, as_of=DAY).results)
    with app.app_context():
        memory = pages._memory(state())
    # stage 2 runs every rule: its report is the one kept (the others are drawn from it), and
    # stage 1's verdicts drawn from it are a stage 1 run's
    import json as json_module

    from service import reports

    for stage in (1, 2):
        query = {"stage": stage, "as_of": DAY.isoformat()}
        readiness = client.get("/readiness", query_string=query, headers=json).get_json()
        expected = json_module.loads(json_module.dumps(reports.readiness(store, stage, DAY).to_json()))
        assert readiness == expected, stage
    assert {stage for stage, _ in memory.kept} == {2}
    kept = next(k for (stage, day), (_, _, k) in memory.kept.items() if stage == 2 and day == DAY)
    assert 0 < kept.rerun < len(kept.checks) / 4


def test_a_second_application_on_the_same_store_keeps_its_own_reports() -> None:
    """Write numbers are an application's own: a report another application over the same store
    kept after its first write is no start for this one's first write (it was taken for it, and a
    finding the second write made was missing: tests/test_diff.py failed now and then on a shared
    Virtuoso)."""
    from service.http import create_app
    from service.store.embedded import EmbeddedStore

    store = load_example(EmbeddedStore())
    graph = source_graph(next(f for f in EXAMPLE_FILES if f.name == "risks.ttl"))
    query = {"as_of": DAY.isoformat()}

    def write_then_read(app: Any, risk: str) -> list[str]:
        client = app.test_client()
        update = f"DELETE WHERE {{ GRAPH <{graph}> {{ <{risk}> <{AIMS}owner> ?o }} }}"
        answer = client.post(
            "/sparql", data={"update": update}, headers={"Authorization": "Bearer inc-editor"}
        )
        assert answer.status_code in (200, 204), answer.get_data(as_text=True)
        answer = client.get("/validation", query_string=query, headers={"Accept": "application/json"})
        return sorted(r["key"] for r in answer.get_json()["results"])

    first = create_app({"tokens": "inc-editor=editor"}, store=store)
    first.test_client().get("/validation", query_string=query, headers={"Accept": "application/json"})
    write_then_read(first, "https://aurora-lending.example/aims/risk-01")
    second = create_app({"tokens": "inc-editor=editor"}, store=store)
    shown = write_then_read(second, "https://aurora-lending.example/aims/risk-02")
    # each risk without an owner is a finding (shapes: RiskOwned), the second one's too
    assert shown == sorted(r.key for r in validation.validate(store, as_of=DAY).results)


# ------------------------------------------------------------------ cached pages carried over writes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=steps)
def test_a_named_query_no_write_can_read_answers_as_before(program: list[Any]) -> None:
    """What lets the service keep a named query's rows across writes (pages.cached with `reads`):
    when no change of the writes reaches what the query's text reads, its rows are the same
    after the writes as before, for every named query the catalogue holds."""
    from service import queries
    from service.store.embedded import EmbeddedStore
    from service.store.sparql_text import query_form

    store = _fresh(EmbeddedStore())
    names = [  # those a page runs without being told a value (my-work needs a person)
        n
        for n, q in queries.catalogue().items()
        if query_form(q.text) == "SELECT" and all(p.default is not None for p in q.parameters)
    ]

    def answers() -> dict[str, list[dict[str, Any]]]:
        return {n: [dict(r) for r in queries.run(store, n, today=DAY)] for n in names}

    before = answers()
    changes = [c for (update, touched), _ in program for c in _write(store, update, touched)]
    touched = incremental.touches(changes)
    after = answers()
    for name in names:
        if incremental.reach(incremental.reads(queries.get(name).text), touched) == set():
            assert after[name] == before[name], name


def test_the_service_keeps_the_soa_across_a_write_it_cannot_read_and_not_one_it_can() -> None:
    """A risk's new owner leaves the SoA's query as it was: the rows kept before the write are
    the rows after it (the same object, not asked again); a control's applicability changes it,
    and the page shows the change."""
    from service.http import create_app, pages
    from service.store.embedded import EmbeddedStore

    store = load_example(EmbeddedStore())
    app = create_app({"tokens": "inc-editor=editor"}, store=store)
    client = app.test_client()
    editor = {"Authorization": "Bearer inc-editor"}
    risks = source_graph(next(f for f in EXAMPLE_FILES if f.name == "risks.ttl"))

    def soa() -> Any:
        with app.test_request_context():
            return pages.query_rows("statement-of-applicability")

    def post(update: str) -> None:
        answer = client.post("/sparql", data={"update": update}, headers=editor)
        assert answer.status_code in (200, 204), answer.get_data(as_text=True)

    first = soa()
    risk = "https://aurora-lending.example/aims/risk-01"
    post(f"DELETE WHERE {{ GRAPH <{risks}> {{ <{risk}> <{AIMS}owner> ?o }} }}")
    assert soa() is first  # carried over: aims:owner is nothing the SoA's query reads
    entry = next(r for r in first if "justification" in r)
    controls = source_graph(next(f for f in EXAMPLE_FILES if f.name == "controls.ttl"))
    post(f"DELETE WHERE {{ GRAPH <{controls}> {{ <{entry['entry']}> <{AIMS}justification> ?j }} }}")
    changed = soa()
    assert changed is not first
    from service import queries

    assert [dict(r) for r in changed] == [dict(r) for r in queries.run(store, "statement-of-applicability")]
    assert [dict(r) for r in changed] != [dict(r) for r in first]


def test_a_write_whose_changes_were_too_many_to_list_is_validated_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SPARQL update that reaches more resources than the service lists (MAX_RECORDED_SUBJECTS)
    is recorded as TooMany: the kept report cannot be brought up to date from it, so the next page
    validates in full and shows what the update did (here: a risk without an owner, a finding of
    shapes' RiskOwned, which a report kept from before the write does not have)."""
    from service.http import create_app, query_process
    from service.store.embedded import EmbeddedStore

    store = load_example(EmbeddedStore())
    client = create_app({"tokens": "inc-editor=editor"}, store=store).test_client()
    query = {"as_of": DAY.isoformat()}
    json = {"Accept": "application/json"}
    before = client.get("/validation", query_string=query, headers=json).get_json()["results"]
    monkeypatch.setattr(query_process, "MAX_RECORDED_SUBJECTS", 0)  # every update: too many to list
    risk = "https://aurora-lending.example/aims/risk-01"
    graph = source_graph(next(f for f in EXAMPLE_FILES if f.name == "risks.ttl"))
    update = f"DELETE WHERE {{ GRAPH <{graph}> {{ <{risk}> <{AIMS}owner> ?o }} }}"
    answer = client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer inc-editor"})
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)
    after = client.get("/validation", query_string=query, headers=json).get_json()["results"]
    assert sorted(r["key"] for r in after) == sorted(
        r.key for r in validation.validate(store, as_of=DAY).results
    )
    assert len(after) == len(before) + 1
