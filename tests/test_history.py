"""Issue 19, items 4 and 5: the history of writes (what each Graph Store write changed, triple by
triple, and a resource's history read with labels), /my-work, and the "Raise a finding" links.
Expected changes are worked by hand from the small graphs written here; expected work items from
examples/*.ttl as of 2026-11-20, with the line that gives each written beside it."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Literal, URIRef

from service import history
from service.http import auth, create_app
from service.store.embedded import EmbeddedStore

from .conftest import EXAMPLE_FILES, load_example

EDITOR = {"Authorization": "Bearer history-editor"}
BROWSER = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
EX = "https://aurora-lending.example/aims/"
AIMS = "https://w3id.org/aims#"
ISO = "https://w3id.org/aims/iso42001#"
AS_OF = "2026-11-20"
T = "https://example.org/t/"
PREFIX = f"@prefix t: <{T}> .\n".encode()


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app({"tokens": "history-editor=editor"}, store=load_example(EmbeddedStore()))


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def kept(app: Flask) -> history.History:
    return app.extensions["aims"].history  # type: ignore[no-any-return]


def send(client: FlaskClient, method: str, graph: str, turtle: bytes = b"") -> int:
    response = client.open(
        "/graph-store", method=method, query_string={"graph": graph}, data=PREFIX + turtle if turtle else b"",
        content_type="text/turtle", headers=EDITOR,
    )  # fmt: skip
    assert response.status_code in (201, 204), response.get_data(as_text=True)
    return response.status_code


def changes(app: Flask) -> set[tuple[str, str, str, str, bool]]:
    """The last write's changes, short: (subject, predicate, object, added) with t: names."""
    write = kept(app).last()
    assert write is not None
    return {(str(c.subject), str(c.predicate), str(c.object), c.added) for c in write.changes}  # type: ignore[misc]


def t(name: str) -> str:
    return T + name


def test_a_put_that_changes_one_triple_records_exactly_that_change(app: Flask, client: FlaskClient) -> None:
    g = t("g-put")
    send(client, "PUT", g, b"t:a t:owner t:ana ; t:name 'A' . t:b t:uses t:a .")
    # a new graph: all three triples are added
    assert changes(app) == {
        (t("a"), t("owner"), t("ana"), True), (t("a"), t("name"), "A", True), (t("b"), t("uses"), t("a"), True),
    }  # fmt: skip
    send(client, "PUT", g, b"t:a t:owner t:ben ; t:name 'A' . t:b t:uses t:a .")
    # only the owner differs: ana removed, ben added; the name and the link were there before and after
    assert changes(app) == {(t("a"), t("owner"), t("ana"), False), (t("a"), t("owner"), t("ben"), True)}
    write = kept(app).last()
    assert write is not None and write.action == "graph-store PUT" and write.graph == g
    assert write.who.startswith("editor token ")  # the trail's name for a token: its role and fingerprint


def test_a_put_of_the_same_graph_records_no_change(app: Flask, client: FlaskClient) -> None:
    g = t("g-same")
    data = b"t:c t:owner t:ana ; t:level 3 ."
    send(client, "PUT", g, data)
    send(client, "PUT", g, data)
    write = kept(app).last()
    assert write is not None and write.action == "graph-store PUT" and write.changes == []


def test_a_post_records_only_the_triples_it_added(app: Flask, client: FlaskClient) -> None:
    g = t("g-post")
    send(client, "PUT", g, b"t:d t:owner t:ana . t:d t:level 3 .")
    send(client, "POST", g, b"t:d t:level 3 . t:d t:status t:open .")
    # t:d t:level 3 was held already: a POST of it adds nothing; only the status is new
    assert changes(app) == {(t("d"), t("status"), t("open"), True)}
    write = kept(app).last()
    assert write is not None and write.action == "graph-store POST"
    # the level's literal kept its datatype through the record
    level = next(c for c in kept(app).of(t("d")) if c.action == "graph-store PUT").changes
    assert Literal(3) in {c.object for c in level}


def test_a_delete_records_every_triple_removed(app: Flask, client: FlaskClient) -> None:
    g = t("g-delete")
    send(client, "PUT", g, b"t:e t:owner t:ana ; t:name 'E' .")
    assert client.delete("/graph-store", query_string={"graph": g}, headers=EDITOR).status_code == 204
    assert changes(app) == {(t("e"), t("owner"), t("ana"), False), (t("e"), t("name"), "E", False)}
    assert kept(app).last().action == "graph-store DELETE"  # type: ignore[union-attr]


def test_past_the_cap_a_replace_is_a_summary(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "MAX_QUADS", 5)
    g = t("g-big")
    ten = b" ".join(b"t:f t:item %d ." % i for i in range(10))
    send(client, "PUT", g, ten)
    # 10 triples after the write: the snapshot stops past 5, so the count is not known
    write = kept(app).last()
    assert (
        write is not None
        and write.changes == []
        and write.summary == f"more than 5 triples changed in graph {g}"
    )
    send(client, "PUT", g, b"t:f t:item 1 , 2 , 30 , 40 .")
    # 10 before (more than 5 again): still a summary
    assert kept(app).last().summary == f"more than 5 triples changed in graph {g}"  # type: ignore[union-attr]
    send(client, "PUT", g, b"t:f t:item 1 , 2 , 50 , 60 .")
    # 4 before and 4 after, both read; 30, 40 removed and 50, 60 added: 4 changes, within the cap
    assert changes(app) == {
        (t("f"), t("item"), "30", False), (t("f"), t("item"), "40", False),
        (t("f"), t("item"), "50", True), (t("f"), t("item"), "60", True),
    }  # fmt: skip
    send(client, "PUT", g, b"t:f t:item 70 , 80 , 90 , 100 .")
    # 4 before and 4 after, no value in common: 8 changes, past the cap of 5, counted
    assert kept(app).last().summary == f"8 triples changed in graph {g}"  # type: ignore[union-attr]
    shown = client.get("/history", query_string={"iri": g}, headers=BROWSER).get_data(as_text=True)
    assert f"8 triples changed in graph {g}: too many to list one by one" in shown


def test_a_history_that_cannot_be_written_does_not_undo_the_write(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The audit trail is the record that must not fail; the history is logged as missing."""

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(kept(app), "record", broken)
    g = t("g-broken")
    # the logger's own level: `aims` run in-process (tests/test_cli.py) sets the root's to CRITICAL
    caplog.set_level(logging.ERROR, logger="aims.history")
    assert send(client, "PUT", g, b"t:h t:owner t:ana .") == 201
    got = client.get("/graph-store", query_string={"graph": g}, headers={"Accept": "application/n-triples"})
    assert got.get_data(as_text=True).strip() == f"<{t('h')}> <{t('owner')}> <{t('ana')}> ."
    assert any("was not recorded" in r.getMessage() for r in caplog.records if r.name == "aims.history")


def test_a_snapshot_that_fails_leaves_the_write_recorded(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot is taken after the write is applied: if reading the store fails then, the write
    must still reach the audit trail (the history keeps a summary instead of the changes). Before,
    the failure skipped audit.record and answered 500 for a write that stood."""

    def broken(*args: object) -> None:
        raise RuntimeError("the store could not be read")

    monkeypatch.setattr(history, "_snapshot", broken)
    writes = app.extensions["aims"].writes
    g = t("g-unreadable")
    assert send(client, "PUT", g, b"t:k t:owner t:ana .") == 201
    assert app.extensions["aims"].writes == writes + 1  # audit.record ran
    assert kept(app).last().summary is not None  # type: ignore[union-attr]


@pytest.fixture()
def fresh() -> FlaskClient:
    """An app of its own: the test edits the example's risks."""
    return create_app({"tokens": "history-editor=editor"}, store=load_example(EmbeddedStore())).test_client()


def test_the_history_of_a_risk_shows_its_old_and_new_owner_by_name(fresh: FlaskClient) -> None:
    risks = next(p for p in EXAMPLE_FILES if p.name == "risks.ttl")
    text = risks.read_text(encoding="utf-8")
    r01 = "aims:likelihood 3 ; aims:severity 5 ; aims:riskLevel 15 ; aims:owner ex:li-wei ;"  # risks.ttl, ex:risk-01
    assert text.count(r01) == 1
    edited = text.replace(r01, r01.replace("ex:li-wei", "ex:priya-nair")).encode()
    graph = "https://w3id.org/aims/graph/source/risks.ttl"  # the graph a file loads into: named after it
    response = fresh.put("/graph-store", query_string={"graph": graph}, data=edited, content_type="text/turtle",
                         headers=EDITOR)  # fmt: skip
    assert response.status_code == 204
    found = fresh.get("/history", query_string={"iri": EX + "risk-01"}, headers=JSON).get_json()
    # one write changed R01: its owner, from Li Wei to Priya Nair (organisation.ttl labels them)
    assert [w["action"] for w in found["writes"]] == ["graph-store PUT"]
    assert found["writes"][0]["changes"] == [
        {
            "property": AIMS + "owner",
            "label": "owner",
            "before": [EX + "li-wei"],
            "after": [EX + "priya-nair"],
        }
    ]
    assert found["labels"][EX + "li-wei"]["label"] == "Li Wei"
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fresh.get(
        "/history", query_string={"iri": EX + "risk-01"}, headers=BROWSER).get_data(as_text=True)))  # fmt: skip
    assert "owner Li Wei → Priya Nair" in page
    # the risk's own page shows the latest changes and links to the whole history
    own = fresh.get("/resource", query_string={"iri": EX + "risk-01"}, headers=BROWSER).get_data(as_text=True)
    assert 'id="history"' in own and "Priya Nair" in own and "/history?iri=" in own


def test_an_unchanged_resource_has_no_history_section(client: FlaskClient) -> None:
    own = client.get("/resource", query_string={"iri": EX + "risk-02"}, headers=BROWSER).get_data(
        as_text=True
    )
    assert 'id="history"' not in own


# ------------------------------------------------------------------------------ my work


def signed_in(monkeypatch: pytest.MonkeyPatch, person: str | None) -> None:
    """As if an account linked to `person` were signed in (accounts are tested in test_accounts)."""
    user = SimpleNamespace(name="someone", role="editor", person=person)
    monkeypatch.setattr(auth, "current_user", lambda: user)


def my_work(client: FlaskClient) -> list[dict[str, object]]:
    response = client.get("/my-work", query_string={"as_of": AS_OF}, headers=JSON)
    assert response.status_code == 200
    return response.get_json()["items"]  # type: ignore[no-any-return]


def test_my_work_lists_an_overdue_corrective_action(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(monkeypatch, EX + "li-wei")
    items = {(i["item"], i["kind"], i["due"], i["overdue"]) for i in my_work(client)}
    # Li Wei's, as of 2026-11-20 and due by 2026-12-20 (30 days):
    # audit.ttl ex:ca-1: owner li-wei, due 2026-09-30, in progress (not closed): overdue;
    # documents.ttl ex:doc-sop-monitoring: owner li-wei, review due 2026-09-01: overdue;
    # controls.ttl ex:ev-monitoring-export: attributed to li-wei, valid until 2026-06-30: expired.
    # Nothing else: her risks were assessed 2026-02-20 and 2026-03-10 (risks.ttl), due again in 2027;
    # her other evidence is valid until 2027-03.
    assert items == {
        (EX + "ca-1", "corrective action", "2026-09-30", True),
        (EX + "doc-sop-monitoring", "document review", "2026-09-01", True),
        (EX + "ev-monitoring-export", "evidence", "2026-06-30", True),
    }
    page = client.get("/my-work", query_string={"as_of": AS_OF}, headers=BROWSER).get_data(as_text=True)
    assert "Restore and alert on FraudGuard monitoring" in page and "overdue" in page


def test_my_work_of_a_person_with_nothing_due_is_empty(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Maria Keller (organisation.ttl) owns no action, finding, risk, document or evidence
    signed_in(monkeypatch, EX + "maria-keller")
    assert my_work(client) == []
    assert "Nothing of yours is due" in client.get("/my-work", headers=BROWSER).get_data(as_text=True)


def test_my_work_without_a_person_says_how_to_link_one(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Sign in" in client.get("/my-work", headers=BROWSER).get_data(as_text=True)  # anonymous
    signed_in(monkeypatch, None)
    page = client.get("/my-work", headers=BROWSER).get_data(as_text=True)
    assert "aims user add" in page and "--person" in page
    assert my_work(client) == []


def test_my_work_looks_ahead_by_days(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    signed_in(monkeypatch, EX + "ana-silva")
    response = client.get("/my-work", query_string={"as_of": AS_OF, "days": "41"}, headers=JSON)
    items = {(i["item"], i["overdue"]) for i in response.get_json()["items"]}
    # audit.ttl ex:ca-4: owner ana-silva, due 2026-12-31, in progress: 41 days after 2026-11-20, due, not overdue
    assert (EX + "ca-4", False) in items
    assert my_work(client) == []  # within 30 days: nothing (ex:ca-2 is closed)


# ------------------------------------------------------------------------------ raise a finding


def finding_links(html: str) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        for href in re.findall(r'<a class="raise" href="(/new/finding\?[^"]*)"', html)
    ]


def test_raise_a_finding_links_carry_the_requirement_and_what_it_is_about(client: FlaskClient) -> None:
    page = client.get("/validation", query_string={"as_of": AS_OF}, headers={**BROWSER, **EDITOR})
    links = finding_links(page.get_data(as_text=True))
    # examples/README.md G7: ex:risk-12 has no owner, against 6.1.2; G5: ex:ca-1 overdue, against 10.2
    assert {"concerns": [EX + "risk-12"], "against": [ISO + "clause-6.1.2"]} in links
    assert {"concerns": [EX + "ca-1"], "against": [ISO + "clause-10.2"]} in links
    gaps = finding_links(client.get("/gap-analysis", query_string={"as_of": AS_OF},
                                    headers={**BROWSER, **EDITOR}).get_data(as_text=True))  # fmt: skip
    assert {"against": [ISO + "clause-10.2"]} in gaps
    # a resource's page: an audit raises a finding; anything else is what it concerns
    audit = client.get("/resource", query_string={"iri": EX + "audit-2026-2"}, headers={**BROWSER, **EDITOR})
    assert finding_links(audit.get_data(as_text=True)) == [{"raisedIn": [EX + "audit-2026-2"]}]
    system = client.get(
        "/resource", query_string={"iri": EX + "fraud-detector"}, headers={**BROWSER, **EDITOR}
    )
    assert finding_links(system.get_data(as_text=True)) == [{"concerns": [EX + "fraud-detector"]}]


def test_a_reader_is_offered_no_finding_link(client: FlaskClient) -> None:
    page = client.get("/resource", query_string={"iri": EX + "fraud-detector"}, headers=BROWSER)
    assert finding_links(page.get_data(as_text=True)) == []


def test_terms_survive_the_record() -> None:
    """IRIs, blank nodes and literals with a datatype or a language come back as they were written."""
    store = history.History(None)
    g, s, p = URIRef(T + "g"), URIRef(T + "s"), URIRef(T + "p")
    objects = [Literal('a "quoted"\nline'), Literal("3", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer")),
               Literal("colour", lang="en-GB"), URIRef(T + "o\u00a0x")]  # fmt: skip
    store.record(
        "2026-11-20T00:00:00+00:00", "me", "test", str(g), [history.Change(g, s, p, o, True) for o in objects]
    )
    assert [c.object for c in store.of(str(s))[0].changes] == objects


def sparql_update(client: FlaskClient, text: str) -> int:
    return client.post("/sparql", data={"update": f"PREFIX t: <{T}>\n{text}"}, headers=EDITOR).status_code


def test_catalogue_triples_an_update_reached_are_not_history() -> None:
    # review of issue 19: DROP ALL reaches the catalogue graph too, which is restored at once
    # (service/http/sparql.py, ensure_catalogue), yet its 3,196 triples were recorded as removed.
    # An empty store (the catalogue only) with one triple written: that triple is the change.
    app = create_app({"tokens": "history-editor=editor"}, store=EmbeddedStore())
    client = app.test_client()
    assert sparql_update(client, "INSERT DATA { GRAPH t:g-all { t:a t:owner t:ana } }") == 204
    catalogue = app.extensions["aims"].store.count() - 1
    assert sparql_update(client, "DROP ALL") == 204
    assert app.extensions["aims"].store.count() == catalogue  # the catalogue is back
    assert changes(app) == {(t("a"), t("owner"), t("ana"), False)}


def test_a_blank_node_under_a_changed_subject_is_in_its_history_as_text(fresh: FlaskClient) -> None:
    # review of issue 19: a snapshot of a subject read its own triples only, so a blank node under
    # it (here a period) was a bare _:name in the history, its content never recorded
    graph = "GRAPH t:g-blank"
    start = '"2026-01-01"^^<http://www.w3.org/2001/XMLSchema#date>'
    insert = f'INSERT DATA {{ {graph} {{ t:contract t:period [ t:start {start} ; t:end "2026-12-31" ] }} }}'
    assert sparql_update(fresh, insert) == 204
    replace = (  # one solution, so one new period
        f"DELETE {{ {graph} {{ t:contract t:period ?b . ?b t:start ?s ; t:end ?e }} }}"
        f' INSERT {{ {graph} {{ t:contract t:period [ t:start {start} ; t:end "2027-06-30" ] }} }}'
        f" WHERE {{ {graph} {{ t:contract t:period ?b . ?b t:start ?s ; t:end ?e }} }}"
    )
    assert sparql_update(fresh, replace) == 204
    found = fresh.get("/history", query_string={"iri": t("contract")}, headers=JSON).get_json()

    # the period as text: its triples sorted, predicates without a prefix as <IRI>, xsd: bound
    def period(end: str) -> str:
        return f'[ <{T}end> "{end}" ; <{T}start> "2026-01-01"^^xsd:date ]'

    assert [w["changes"] for w in found["writes"]] == [
        [
            {
                "property": t("period"),
                "label": "period",
                "before": [period("2026-12-31")],
                "after": [period("2027-06-30")],
            }
        ],
        [{"property": t("period"), "label": "period", "before": [], "after": [period("2026-12-31")]}],
    ]
    # the period's own triples are not listed apart (they are in the text)
    last = kept(fresh.application).last()
    assert last is not None and all(str(c.subject) == t("contract") for c in last.changes)
