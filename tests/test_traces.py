"""Traces answer the auditor's question, on every store kind: each trace kind's nesting and
verdicts against expectations written by hand from the example's files (examples/*.ttl, judged as
of 2026-11-20, the example's audit day), with the reason beside each.

A trace's verdict comes from the validation results on its chain (the same results as the gap
analysis); each link's verdict from the facts the rules read (current evidence as
queries.DEFINITIONS defines it, what evidence is about). Expected values are not what the code
printed: each one names the triples it follows from."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from service import queries, traces, validation
from service.store.base import Rows, Store

from .query_rows import EX, ISO

AS_OF = dt.date(2026, 11, 20)
AIMS = "https://w3id.org/aims#"


@pytest.fixture(scope="module")
def report(example_store: Store) -> validation.Report:
    return validation.validate(example_store, as_of=AS_OF)


def shape(trace: traces.Trace, key: str) -> dict[str, Any]:
    """A level of the trace as {item: (verdict, {child level: ...})}, only the keys that nest."""

    def one(node: dict[str, Any]) -> Any:
        children = {k: {n["iri"]: one(n) for n in v} for k, v in node.items() if isinstance(v, list)}
        children = {k: v for k, v in children.items() if k not in ("supports", "approverRoles")}
        return (node.get("verdict"), children) if children else node.get("verdict")

    return {n["iri"]: one(n) for n in trace.items[key]}


def test_r01_is_not_covered_and_says_why(example_store: Store, report: validation.Report) -> None:
    # risks.ttl: R01 (CreditLens, in scope, level 15) is mitigated by treat-01, which applies
    # impl-A6-2-4 and impl-A7-4. controls.ttl: impl-A6-2-4 has the fairness test report (about
    # CreditLens, valid until 2027-03-05) and the adversarial test report (about FraudGuard, valid
    # until 2027-05-20); impl-A7-4 is marked implemented with no evidence at all (planted gap G4).
    found = traces.trace(example_store, "risk", traces.resolve(example_store, "risk", "R01"), AS_OF, report)
    assert found.verdict == traces.NOT_COVERED  # a Violation sits on the chain (G4)
    assert [(s["iri"], s["inScope"] in (True, 1)) for s in found.items["systems"]] == [
        (EX + "credit-scorer", True)
    ]
    assert shape(found, "treatments") == {
        EX + "treat-01": (
            None,
            {
                "implementations": {
                    EX + "impl-A6-2-4": (
                        traces.EVIDENCED,  # the fairness report is valid and about CreditLens itself
                        {
                            "evidence": {
                                EX + "ev-fairness-tests": traces.VALID,
                                EX + "ev-adversarial-tests": traces.ABOUT_ANOTHER_SYSTEM,
                            }
                        },
                    ),
                    EX + "impl-A7-4": (traces.NO_EVIDENCE, {"evidence": {}}),
                }
            },
        )
    }
    gaps = {(g.about, g.requirement, g.severity) for g in found.gaps}
    assert (EX + "impl-A7-4", "8.3", "Violation") in gaps  # G4, named where it sits
    about_fraudguard = [g for g in found.gaps if g.value == EX + "ev-adversarial-tests"]
    assert about_fraudguard and about_fraudguard[0].about == EX + "risk-01"
    assert "FraudGuard" in about_fraudguard[0].message and "CreditLens" in about_fraudguard[0].message
    assert not [g for g in found.gaps if g.about == EX + "risk-13"]  # FraudGuard's own risk is not R01's


def test_control_trace_carries_findings_and_corrective_actions(
    example_store: Store, report: validation.Report
) -> None:
    # controls.ttl: impl-A6-2-6's only evidence expired on 2026-06-30 (G3); audit.ttl: NC1, a major
    # nonconformity against A.6.2.6, open, with corrective action ca-1 in progress, due 2026-09-30.
    iri = traces.resolve(example_store, "control", "A.6.2.6")
    assert iri == URIRef(ISO + "A.6.2.6")
    found = traces.trace(example_store, "control", iri, AS_OF, report)
    assert found.verdict == "not met"  # the gap analysis's status: G3 and G17 are Violations
    assert shape(found, "implementations") == {
        EX + "impl-A6-2-6": (
            traces.EXPIRED,
            {
                "risks": {EX + "risk-02": None},  # risks.ttl: only treat-02 applies impl-A6-2-6
                "evidence": {EX + "ev-monitoring-export": traces.EXPIRED},
            },
        )
    }
    findings = found.items["findings"]
    assert [f["iri"] for f in findings] == [EX + "finding-1"]
    assert findings[0]["findingType"] == AIMS + "MajorNonconformity"
    assert [(a["iri"], a["actionStatus"], a["dueDate"]) for a in findings[0]["actions"]] == [
        (EX + "ca-1", AIMS + "InProgress", "2026-09-30")
    ]


def test_a_clause_number_traces_the_requirement(example_store: Store, report: validation.Report) -> None:
    # 9.1 is a leaf clause of the catalogue; the example plants no gap against it (examples/README.md),
    # so it is met. documents.ttl: the monitoring SOP addresses 9.1 and was due for review on
    # 2026-09-01 (G10, against 7.5.2): that gap sits on a node of this chain and is shown, but it
    # counts against 7.5.2, not 9.1.
    iri = traces.resolve(example_store, "requirement", "9.1")
    assert iri == URIRef(ISO + "clause-9.1")
    found = traces.trace(example_store, "requirement", iri, AS_OF, report)
    assert found.verdict == "met"
    assert [(g.about, g.requirement, g.severity) for g in found.gaps if g.severity == "Violation"] == [
        (EX + "doc-sop-monitoring", "7.5.2", "Violation")
    ]


def test_an_out_of_scope_system_is_not_applicable(example_store: Store, report: validation.Report) -> None:
    # systems.ttl / organisation.ttl: CopyPilot (ex:marketing-copy) is out of scope with a reason, and
    # nothing hangs off it: no risk, assessment, implementation, data set, incident or finding.
    found = traces.trace(
        example_store, "system", traces.resolve(example_store, "system", "CopyPilot (pilot)"), AS_OF, report
    )
    assert found.verdict == "not applicable"
    assert found.top["inScope"] in (False, 0) and found.top["rationale"]
    assert all(nodes == [] for nodes in found.items.values())


def test_the_system_trace_is_grouped_and_sorted(example_store: Store, report: validation.Report) -> None:
    # risks.ttl: the support assistant has R07, R08, R09, R10, R11 and R18; its risk assessment and
    # impact assessment; audit.ttl: the incident INC-2026-01 involved it; systems.ttl: one data set.
    found = traces.trace(example_store, "system", URIRef(EX + "support-assistant"), AS_OF, report)
    ids = [found.names[n["iri"]].id for n in found.items["risks"]]
    assert ids == ["R07", "R08", "R09", "R10", "R11", "R18"]
    assert {n["iri"] for n in found.items["assessments"]} == {EX + "ra-support-2026", EX + "ia-support-2026"}
    assert [n["iri"] for n in found.items["incidents"]] == [EX + "incident-1"]
    assert [n["iri"] for n in found.items["dataSets"]] == [EX + "data-help-articles"]
    assert found.verdict == "not met"  # R07 above the threshold with no treatment (G2), on this system


def test_evidence_trace_says_its_own_validity(example_store: Store, report: validation.Report) -> None:
    # controls.ttl: the monitoring export was valid until 2026-06-30: expired by 2026-11-20, valid on
    # 2026-06-30 itself.
    iri = URIRef(EX + "ev-monitoring-export")
    assert traces.trace(example_store, "evidence", iri, AS_OF, report).verdict == traces.EXPIRED
    assert traces.trace(example_store, "evidence", iri, dt.date(2026, 6, 30)).verdict == traces.VALID
    # made on 2025-12-31: on the day before it was not yet valid
    assert traces.trace(example_store, "evidence", iri, dt.date(2025, 12, 30)).verdict == traces.NOT_YET_VALID


def test_an_unknown_identifier_is_not_found(example_store: Store) -> None:
    with pytest.raises(traces.TraceNotFound, match="nothing has"):
        traces.resolve(example_store, "risk", "R99")
    with pytest.raises(traces.TraceNotFound, match="is not a risk"):
        traces.resolve(example_store, "risk", "9.1")


# The one definition of current evidence, by hand, for each precision of date (judged 2026-11-20):
CURRENT_CASES = [
    # (valid until, made, current?, why)
    (None, None, True, "no dates: nothing to expire"),
    (Literal("2026-11-20", datatype=XSD.date), None, True, "valid until the day itself"),
    (Literal("2026-11-19", datatype=XSD.date), None, False, "expired the day before"),
    (Literal("2026-11", datatype=XSD.gYearMonth), None, True, "until November lasts to its end"),
    (Literal("2026-10", datatype=XSD.gYearMonth), None, False, "until October ended on 31 October"),
    (Literal("2026", datatype=XSD.gYear), None, True, "until 2026 lasts to 31 December"),
    (Literal("2025", datatype=XSD.gYear), None, False, "until 2025 ended last year"),
    (None, Literal("2026-11-20T23:00:00Z", datatype=XSD.dateTime), True, "made on the day"),
    (None, Literal("2026-11-21", datatype=XSD.date), False, "made the day after"),
    (None, Literal("2026-11", datatype=XSD.gYearMonth), True, "made in November: from its first day"),
    (None, Literal("2026-12", datatype=XSD.gYearMonth), False, "made in December: not yet"),
]


@pytest.mark.parametrize(
    ("until", "made", "current", "why"), CURRENT_CASES, ids=[c[3] for c in CURRENT_CASES]
)
def test_current_evidence_at_every_precision(
    example_store: Store, until: Literal | None, made: Literal | None, current: bool, why: str
) -> None:
    bindings: dict[str, Any] = {"asOf": Literal(AS_OF.isoformat(), datatype=XSD.date)}
    if until is not None:
        bindings["until"] = until
    if made is not None:
        bindings["made"] = made
    text = queries.expand(
        "SELECT ?current WHERE { BIND (%current(?until, ?made) AS ?current) }"
    )  # the variables left unbound stand for a date the evidence does not give
    rows = example_store.query(text, bindings)
    assert isinstance(rows, Rows)
    assert str(rows.rows[0]["current"]).lower() in (("true", "1") if current else ("false", "0")), why


def test_r01_answers_the_same_as_json_and_as_a_page(example_store: Store) -> None:
    # the same verdicts through HTTP: /trace/risk?id=R01 as JSON, and the page a person reads
    from service.http import create_app

    client = create_app({}, store=example_store).test_client()
    answer = client.get(
        "/trace/risk", query_string={"id": "R01", "as_of": AS_OF.isoformat(), "format": "json"}
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["verdict"] == traces.NOT_COVERED
    (treatment,) = body["treatments"]
    verdicts = {i["iri"]: i["verdict"] for i in treatment["implementations"]}
    assert verdicts == {EX + "impl-A6-2-4": traces.EVIDENCED, EX + "impl-A7-4": traces.NO_EVIDENCE}
    evidence = {e["iri"]: e["verdict"] for i in treatment["implementations"] for e in i["evidence"]}
    assert evidence[EX + "ev-adversarial-tests"] == traces.ABOUT_ANOTHER_SYSTEM
    assert any(g["about"] == EX + "impl-A7-4" and g["severity"] == "Violation" for g in body["gaps"])
    page = client.get("/trace/risk", query_string={"id": "R01", "as_of": AS_OF.isoformat(), "format": "html"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="answer bad"' in text and "Not covered" in text
    assert "about another system" in text and "no evidence" in text
    assert f"/validation#{next(g['key'] for g in body['gaps'] if g['about'] == EX + 'impl-A7-4')}" in text


# tests/data/traces/verdicts.ttl, added to the minimal conforming organisation: one risk for each
# verdict, each expectation written in that file's header from the README's table before the code ran
VERDICTS_EX = "https://example.org/conformance/minimal-conforming/"
EXPECTED_RISK_VERDICTS = {
    "risk-01": (traces.COVERED, {"impl-A6-2-6": traces.EVIDENCED}),
    "risk-low": (traces.ACCEPTED, {}),
    "risk-accepted": (traces.ACCEPTED, {}),
    "risk-out": (traces.NOT_APPLICABLE, {}),
    "risk-partly": (traces.PARTLY_COVERED, {"impl-partly": traces.PARTLY_IMPLEMENTED}),
    "risk-shared": (traces.COVERED, {"impl-shared": traces.EVIDENCED}),
    "risk-future": (traces.NOT_COVERED, {"impl-future": traces.NO_EVIDENCE}),
    "risk-pilot": (traces.PARTLY_COVERED, {"impl-pilot": traces.PLANNED}),
}


@pytest.fixture(scope="module")
def verdicts_store() -> Store:
    from service.store.embedded import EmbeddedStore

    from .conftest import DATA

    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load_files(
        [DATA / "conformance" / "minimal-conforming.ttl", DATA / "traces" / "verdicts.ttl"], replace=True
    )
    return store


@pytest.mark.parametrize("risk", sorted(EXPECTED_RISK_VERDICTS))
def test_each_risk_verdict(verdicts_store: Store, risk: str) -> None:
    report = validation.validate(verdicts_store, as_of=AS_OF)
    found = traces.trace(verdicts_store, "risk", URIRef(VERDICTS_EX + risk), AS_OF, report)
    verdict, implementations = EXPECTED_RISK_VERDICTS[risk]
    got = {
        i["iri"].removeprefix(VERDICTS_EX): i["verdict"]
        for t in found.items["treatments"]
        for i in t.get("implementations", [])
    }
    assert (found.verdict, got) == (verdict, implementations)


def test_evidence_about_one_of_the_risks_own_systems_counts(verdicts_store: Store) -> None:
    # risk-shared is carried by the help bot and the pilot; its evidence is about the pilot
    found = traces.trace(verdicts_store, "risk", URIRef(VERDICTS_EX + "risk-shared"), AS_OF)
    assert {s["iri"] for s in found.items["systems"]} == {VERDICTS_EX + "chatbot", VERDICTS_EX + "pilot"}
    (evidence,) = found.items["treatments"][0]["implementations"][0]["evidence"]
    assert evidence["verdict"] == traces.VALID  # valid until 2027-01: to the end of January
    # and evidence made on 2026-12-01 was not yet valid on 2026-11-20
    future = traces.trace(verdicts_store, "evidence", URIRef(VERDICTS_EX + "ev-future"), AS_OF)
    assert future.verdict == traces.NOT_YET_VALID


@pytest.mark.parametrize("kind", ["risk", "system", "evidence"])
def test_a_trace_validated_for_its_own_nodes_says_what_the_whole_run_says(
    example_store: Store, report: validation.Report, kind: str
) -> None:
    """Traces of risks, systems and evidence run the rules for their chain's nodes only (no wait
    for a whole validation after a write). A rule's result for a focus node does not depend on
    which other focus nodes are checked, so every trace of the example must give the same
    verdict, link verdicts and gaps as one drawn from the whole run."""
    classes = {"risk": "Risk", "system": "AISystem", "evidence": "Evidence"}
    rows = example_store.query(f"SELECT DISTINCT ?x WHERE {{ ?x a <{AIMS}{classes[kind]}> }}")
    assert isinstance(rows, Rows) and len(rows.rows) >= 3
    for row in rows.rows:
        whole = traces.trace(example_store, kind, row["x"], AS_OF, report)
        scoped = traces.trace(example_store, kind, row["x"], AS_OF)
        assert scoped.verdict == whole.verdict, row["x"]
        assert scoped.items == whole.items, row["x"]
        assert sorted(g.key for g in scoped.gaps) == sorted(g.key for g in whole.gaps), row["x"]


@pytest.mark.parametrize("kind", ["risk", "system", "evidence"])
@pytest.mark.parametrize("which", ["example", "verdicts"])
def test_every_trace_at_once_is_each_trace(
    example_store: Store, verdicts_store: Store, report: validation.Report, kind: str, which: str
) -> None:
    """traces.every (one query for every chain: the audit pack's 5,000 risks) must answer, for
    each thing, exactly what tracing it alone answers: the same JSON, verdicts and gaps in order."""
    store = example_store if which == "example" else verdicts_store
    judged = report if which == "example" else validation.validate(store, as_of=AS_OF)
    together = traces.every(store, kind, AS_OF, judged)
    kinds = " ".join(f"<{AIMS}{c}>" for c in traces.KINDS[kind].classes)  # what a trace starts from
    rows = store.query(f"SELECT DISTINCT ?x WHERE {{ VALUES ?c {{ {kinds} }} ?x a ?c }}")
    assert isinstance(rows, Rows) and len(rows.rows) >= 3
    assert sorted(t.top["iri"] for t in together) == sorted(str(r["x"]) for r in rows.rows)
    for t in together:
        alone = traces.trace(store, kind, URIRef(t.top["iri"]), AS_OF, judged)
        assert t.to_json() == alone.to_json(), t.top["iri"]
