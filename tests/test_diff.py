"""Issue 20, item 3: `aims diff A B` and /diff?from=A&to=B list what changed between a snapshot and
another, or now, and the verdicts that moved.

The three changes are tests/test_snapshots.py's CHANGES. What the rules make of them, judged on the
snapshot's day 2026-11-20 on both sides (so only the data moves, not the day):
- R01 loses its owner (risks.ttl): shapes/risk.ttl RiskDescribed asks every risk for an owner
  (sh:minCount 1, a Violation against clause 6.1.2). Clause 6.1.2 was already not met (R12 has no
  owner, a deliberate gap), so its status stays; R01's trace was already "not covered" (its
  implementation marked implemented has no evidence, a Violation on its chain), so it stays too.
- ev-policy-calendar's validUntil moves from 2027-01-10 to 2026-11-01, before the day: it expires.
  It is the only evidence of ex:impl-A2-4, an implemented control, and the rule that an implemented
  control has current evidence (a Violation, counted against its control) makes A.2.4 not met (it
  was met). No risk's treatment applies impl-A2-4: no risk verdict moves.
- doc-objectives (documents.ttl) is deleted: no rule asks for that document (clause 6.2's rule asks
  for objectives, which remain), and a document that is gone has no findings: no status moves.
So: exactly three resources, one requirement (A.2.4: met -> not met), no risk, one expiry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import diff, snapshots
from service.cli import main
from service.http import create_app
from service.store import Store
from service.store.embedded import EmbeddedStore
from service.store.formats import FORMATS

from .conftest import EXAMPLE_FILES, load_example
from .test_snapshots import CHANGES, DAY, EDITOR, EX, take

JSON = {"Accept": "application/json"}
AIMS = "https://w3id.org/aims#"


def _store(kind: str, request: pytest.FixtureRequest) -> Store:
    if kind == "embedded":
        return load_example(EmbeddedStore())
    return load_example(request.getfixturevalue(f"{kind}_remote"))


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("oxigraph", marks=pytest.mark.slow),
        pytest.param("virtuoso", marks=pytest.mark.slow),
    ]
)
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    store = _store(request.param, request)
    yield create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store)
    for s in snapshots.listed(store):  # a shared server is left as the other tests expect it
        snapshots.delete(store, s.name)
    load_example(store)


def change(client: FlaskClient) -> None:
    for update in CHANGES:
        response = client.post("/sparql", data={"update": update}, headers=EDITOR)
        assert response.status_code == 204, response.get_data(as_text=True)


def items(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource listed, by IRI, with the kind it is listed under."""
    return {i["iri"]: {**i, "kind": group["kind"]} for group in answer["resources"] for i in group["items"]}


def properties(item: dict[str, Any]) -> dict[str, tuple[list[Any], list[Any]]]:
    return {p["property"]: (p["before"], p["after"]) for p in item["properties"]}


def test_the_diff_lists_exactly_the_three_changes_and_the_verdicts_that_moved(app: Flask) -> None:
    client = app.test_client()
    take(client)
    change(client)
    response = client.get(f"/diff?from=stage-1&to=now&as_of={DAY}", headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["from"]["name"] == "stage-1" and answer["to"]["name"] == "now"
    assert answer["from"]["as_of"] == answer["to"]["as_of"] == DAY

    listed = items(answer)
    assert set(listed) == {f"{EX}risk-01", f"{EX}ev-policy-calendar", f"{EX}doc-objectives"}
    risk, evidence, document = (
        listed[f"{EX}{n}"] for n in ("risk-01", "ev-policy-calendar", "doc-objectives")
    )
    # grouped by the most specific aims: class each is
    assert (risk["kind"], evidence["kind"], document["kind"]) == (
        AIMS + "Risk",
        AIMS + "Evidence",
        AIMS + "Document",
    )
    assert (risk["change"], evidence["change"], document["change"]) == ("changed", "changed", "removed")
    # R01: its owner before, none after, labelled as the history pages label it
    assert properties(risk) == {AIMS + "owner": ([f"{EX}li-wei"], [])}
    assert answer["labels"][f"{EX}li-wei"]["label"] == "Li Wei"  # organisation.ttl
    assert properties(evidence) == {AIMS + "validUntil": (["2027-01-10"], ["2026-11-01"])}
    assert document["label"] == "AI objectives register"  # documents.ttl: still named, though gone
    removed = properties(document)
    assert all(after == [] for _, after in removed.values())
    assert removed["http://www.w3.org/2000/01/rdf-schema#label"] == (["AI objectives register"], [])

    # the verdicts that moved (see the module's docstring for why these, and only these)
    assert [(r["id"], r["before"], r["after"]) for r in answer["requirements"]] == [
        ("A.2.4", "met", "not met")
    ]
    assert answer["risks"] == []
    assert [(e["evidence"], e["valid_until_before"], e["valid_until_after"], e["state_before"], e["state_after"])
            for e in answer["expired"]] == [(f"{EX}ev-policy-calendar", "2027-01-10", "2026-11-01", "current", "expired")]  # fmt: skip

    page = client.get(f"/diff?from=stage-1&to=now&as_of={DAY}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "AI objectives register" in html and "Li Wei" in html and "A.2.4" in html

    # a snapshot compared with itself, and with today's data before any change: nothing
    same = client.get("/diff?from=stage-1&to=stage-1", headers=JSON).get_json()
    assert same["resources"] == same["requirements"] == same["risks"] == same["expired"] == []


def test_nothing_changed_is_an_empty_diff() -> None:
    """Today's data, unchanged since the snapshot and judged on its day: the store's comparison of
    the triples finds nothing, and with the same data on the same day no verdict can move (they
    are drawn from the data and the day alone)."""
    store = load_example(EmbeddedStore())
    snapshots.create(store, "stage-1", "test", as_of=dt.date.fromisoformat(DAY))
    found = diff.diff(store, "stage-1", "now", dt.date.fromisoformat(DAY))
    assert found.empty(), found.to_json()


def test_a_later_day_expires_evidence_and_moves_the_verdicts_resting_on_it() -> None:
    """The same data judged on 2027-01-15 instead of 2026-11-20. examples/controls.ttl has two
    evidence items whose validUntil falls between: ev-access-review (2027-01-01, the only evidence
    of impl-A9-4, an implemented A.9.4 control) and ev-policy-calendar (2027-01-10, the only evidence
    of impl-A2-4). The rule that an implemented control has current evidence (a Violation) makes
    A.9.4 and A.2.4 not met, and R06, whose treatment applies impl-A9-4, is no longer covered (a
    Violation on its chain); no resource changed."""
    store = load_example(EmbeddedStore())
    snapshots.create(store, "stage-1", "test", as_of=dt.date.fromisoformat(DAY))
    found = diff.diff(store, "stage-1", "now", dt.date(2027, 1, 15))
    assert found.resources == []
    assert {e.evidence: (e.state_before, e.state_after) for e in found.expired} == {
        f"{EX}ev-access-review": ("current", "expired"),
        f"{EX}ev-policy-calendar": ("current", "expired"),
    }
    assert sorted((r.id, r.before, r.after) for r in found.requirements) == [
        ("A.2.4", "met", "not met"),
        ("A.9.4", "met", "not met"),
    ]
    assert [(r.iri, r.before, r.after) for r in found.risks] == [(f"{EX}risk-06", "covered", "not covered")]


def test_blank_nodes_compare_by_what_they_hold_not_by_their_ids() -> None:
    """A graph loaded again gets new blank nodes: no change. A value changed inside one: the named
    subject that holds it is listed as changed, its blank node shown before and after."""
    store = load_example(EmbeddedStore())
    graph = "urn:test:periods"
    turtle = (
        "@prefix aims: <https://w3id.org/aims#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        f'<{EX}audit-plan> aims:period [ aims:start "2026-01-01"^^xsd:date ; aims:end "%s"^^xsd:date ] .\n'
    )
    from rdflib import URIRef

    store.load((turtle % "2026-12-31").encode(), FORMATS["turtle"], URIRef(graph))
    snapshots.create(store, "before", "test", as_of=dt.date.fromisoformat(DAY))
    store.load((turtle % "2026-12-31").encode(), FORMATS["turtle"], URIRef(graph), replace=True)
    assert diff.diff(store, "before", "now", dt.date.fromisoformat(DAY)).resources == []
    store.load((turtle % "2027-06-30").encode(), FORMATS["turtle"], URIRef(graph), replace=True)
    found = diff.diff(store, "before", "now", dt.date.fromisoformat(DAY))
    assert [(r.iri, r.change) for r in found.resources] == [(f"{EX}audit-plan", "changed")]
    (period,) = found.resources[0].properties
    assert period.predicate == AIMS + "period"
    assert ["2026-12-31" in str(v) for v in period.before] == [True]
    assert ["2027-06-30" in str(v) for v in period.after] == [True]


def test_bad_sides_are_refused_in_one_line() -> None:
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=load_example(EmbeddedStore()))
    client = app.test_client()
    assert client.get("/diff", headers=JSON).status_code == 404  # no snapshot yet
    assert client.get("/diff", headers={"Accept": "text/html"}).status_code == 200  # the page says so
    take(client)
    missing = client.get("/diff?from=nope&to=now", headers=JSON)
    assert missing.status_code == 404 and "no snapshot named 'nope'" in missing.get_json()["detail"]
    bad = client.get("/diff?from=stage-1&to=%3E%20DROP", headers=JSON)
    assert bad.status_code == 400 and "not a snapshot name" in bad.get_json()["detail"]
    assert client.get("/diff?from=stage-1&as_of=tomorrow", headers=JSON).status_code == 400
    # without from: the newest snapshot, to now
    assert client.get("/diff", headers=JSON).get_json()["from"]["name"] == "stage-1"


def test_the_command_line_diff_answers_the_json_of_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(tmp_path / "d")]
    assert main(["load", *data, *map(str, EXAMPLE_FILES)]) == 0
    assert main(["snapshot", "create", *data, "stage-1", "--as-of", DAY]) == 0
    with EmbeddedStore(tmp_path / "d") as store:
        for update in CHANGES:
            store.update(update)
    capsys.readouterr()
    assert main(["diff", *data, "stage-1", "now", "--as-of", DAY, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert main(["diff", *data, "stage-1", "now", "--as-of", DAY]) == 0
    text = capsys.readouterr().out
    assert "A.2.4: met -> not met" in text and "owner: Li Wei -> -" in text
    assert main(["diff", *data, "stage-1", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "aims: there is no snapshot named 'nope'"
    with EmbeddedStore(tmp_path / "d") as store:
        client = create_app({"tokens": "r=reader"}, store=store).test_client()
        answer = client.get(f"/diff?from=stage-1&to=now&as_of={DAY}", headers=JSON)
        assert answer.status_code == 200
        assert answer.get_json() == printed
        assert len(items(printed)) == 3
