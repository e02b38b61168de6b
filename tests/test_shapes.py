"""Every shape: a conforming snippet passes it, a non-conforming one fails it with the severity the
rule is meant to have (tests/data/valid and tests/data/invalid, named after the shape); rules on an
Annex A control stay silent when the SoA excludes the control with a justification; date rules
hold at their boundaries; and the shapes graph passes SHACL-SHACL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, SKOS

from service import validation
from service.namespaces import AIMS, ISO, SHAPES

from .conftest import DATA

AS_OF = dt.date(2026, 11, 20)
CHECKED_SHAPES = validation.checked_shapes()

# The severity each rule is meant to report (DESIGN.md): Violation would be a nonconformity; these
# are the exceptions. Written down here, not read from the shapes, so a shape whose severity does
# not reach its results (a property shape does not inherit its node shape's) fails.
MEANT = {
    "AIPolicyCommunicated": "Warning",  # the policy exists and is approved; only its record of reach is missing
    "RoleResponsibilities": "Warning",  # roles exist and are held; only the wording of duties is missing
    "ControlFullyImplemented": "Warning",  # partly in place: the requirement is partly met
    "MinorNonconformityOpen": "Warning",  # a minor finding with its action under way
    "AuditCoverageOnTrack": "Warning",  # the cycle still runs: the clause can still be audited in time
    # 6.2: an objective short of its target with nothing raised for it; measuring it (9.1) was done
    "ObjectiveOnTarget": "Warning",
    "ResidualRisk": "Info",  # stating the residual level is good practice
    # a system not yet deployed: its impact assessment is due before it goes into service (6.1.4)
    "ImpactAssessedBeforeDeployment": "Warning",
    # the report is reached from the risk but tells about another system: it does not count, and
    # the risk is a Violation only when nothing else evidences it (RiskEvidenced)
    "EvidenceAboutAnotherSystem": "Warning",
}


def names() -> list[str]:
    return [str(s)[len(str(SHAPES)) :] for s in CHECKED_SHAPES]


def results_of(data: Graph, name: str, as_of: dt.date = AS_OF) -> list[validation.Result]:
    report = validation.validate(data, as_of=as_of)
    return [r for r in report.results if r.shape == str(SHAPES[name])]


def snippet(name: str, kind: str) -> Graph:
    return Graph().parse(DATA / kind / f"{name}.ttl")


def test_every_checked_shape_has_snippets() -> None:
    files = {p.stem for p in (DATA / "valid").glob("*.ttl")} & {
        p.stem for p in (DATA / "invalid").glob("*.ttl")
    }
    assert set(names()) <= files, sorted(set(names()) - files)
    assert len(names()) >= 60


@pytest.mark.parametrize("name", names())
def test_shape_passes_valid_snippet(name: str) -> None:
    assert results_of(snippet(name, "valid"), name) == []


@pytest.mark.parametrize("name", names())
def test_shape_fails_invalid_snippet_with_its_severity(name: str) -> None:
    results = results_of(snippet(name, "invalid"), name)
    assert results, f"aimsh:{name} reported nothing on its invalid snippet"
    for r in results:
        assert r.requirement and r.requirement_id and r.stage in (1, 2) and r.message
        assert r.severity == MEANT.get(name, "Violation"), (name, r.severity, r.message)


def test_every_constraint_states_its_severity_and_message() -> None:
    """sh:severity on every shape that carries a constraint: node shapes and their property shapes."""
    g = validation.shapes_graph()
    for shape in CHECKED_SHAPES:
        severity = g.value(shape, SH.severity)
        assert severity in (SH.Violation, SH.Warning, SH.Info), shape
        assert (shape, AIMS.auditStage, None) in g, shape
        for prop in g.objects(shape, SH.property):
            assert g.value(prop, SH.severity) == severity, (shape, prop)
        for constraint in list(g.objects(shape, SH.property)) + list(g.objects(shape, SH.sparql)):
            assert g.value(constraint, SH.message) is not None, (shape, constraint)


def test_shapes_pass_shacl_shacl() -> None:
    from pyshacl.entrypoints import meta_validate

    conforms, _, text = meta_validate(validation.shapes_graph())
    assert conforms, text


def control_rules() -> list[tuple[str, str]]:
    """(shape, control id) for the rules that check an Annex A control."""
    g = validation.shapes_graph()
    return [
        (name, str(req)[len(str(ISO)) :])
        for name, shape in zip(names(), CHECKED_SHAPES, strict=True)
        if str(req := g.value(shape, AIMS.checksRequirement)).startswith(str(ISO) + "A.")
    ]


@pytest.mark.parametrize("name,control", control_rules())
def test_rule_on_an_excluded_control_is_at_most_a_warning(name: str, control: str) -> None:
    """The invalid snippet plus an SoA entry excluding the control with a justification."""
    data = snippet(name, "invalid")
    entry = URIRef("https://example.org/t/excluded")
    data.add((entry, RDF.type, AIMS.SoAEntry))
    data.add((entry, AIMS.forControl, ISO[control]))
    data.add((entry, AIMS.isApplicable, Literal(False)))
    data.add((entry, AIMS.justification, Literal("We do not do this.")))
    assert all(r.severity != "Violation" for r in results_of(data, name)), name


def test_control_rules_are_found() -> None:
    assert {c for _, c in control_rules()} >= {
        "A.2.4",
        "A.3.2",
        "A.5.4",
        "A.5.5",
        "A.7.4",
        "A.7.5",
        "A.8.4",
    }


TTL = """@prefix ex: <https://example.org/t/> . @prefix aims: <https://w3id.org/aims#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix iso42001: <https://w3id.org/aims/iso42001#> .
"""


@pytest.mark.parametrize(
    "name,data",
    [
        ("AIPolicyReviewDate", 'ex:p a aims:AIPolicy ; aims:reviewDue "{day}"^^xsd:date .'),
        ("DocumentReviewed", 'ex:p a aims:Procedure ; aims:reviewDue "{day}"^^xsd:date .'),
        ("CorrectiveActionOnTime", 'ex:c a aims:CorrectiveAction ; aims:dueDate "{day}"^^xsd:date .'),
    ],
)
def test_due_dates_at_the_boundary(name: str, data: str) -> None:
    """Due on the as-of day is in time; as of the day after, it is overdue."""
    graph = Graph().parse(data=TTL + data.format(day="2026-11-20"), format="turtle")
    assert results_of(graph, name, dt.date(2026, 11, 20)) == []
    (late,) = results_of(graph, name, dt.date(2026, 11, 21))
    assert late.value == "2026-11-20" and late.severity == "Violation"


# Rules that ask for something held in the twelve months before the as-of day, with a record of it.
LOOKBACK = [
    ("ManagementReviewHeld", "ex:r a aims:ManagementReview ; aims:performedOn"),
    ("InternalAuditHeld", "ex:r a aims:InternalAudit ; aims:performedOn"),
    ("RiskAssessmentHeld", "ex:r a aims:RiskAssessment ; aims:performedOn"),
    ("MonitoringHeld", "ex:m a aims:Measurement ; aims:measures ex:o ; aims:performedOn"),
]


def held_on(record: str, day: str) -> Graph:
    return Graph().parse(
        data=TTL + f'ex:a a aims:AIManagementSystem . {record} "{day}"^^xsd:date .', format="turtle"
    )


@pytest.mark.parametrize("name,record", LOOKBACK)
def test_twelve_month_lookback_at_the_boundary(name: str, record: str) -> None:
    """Held on 2025-11-20 counts as of 2026-11-20 (the look-back starts 365 days before) and no
    longer as of 2026-11-21."""
    graph = held_on(record, "2025-11-20")
    assert results_of(graph, name, dt.date(2026, 11, 20)) == []
    assert len(results_of(graph, name, dt.date(2026, 11, 21))) == 1


@pytest.mark.parametrize("name,record", LOOKBACK)
def test_records_dated_after_the_as_of_day_do_not_count(name: str, record: str) -> None:
    """A report for the audit day reads the data as it was that day: a review dated the day after
    has not happened yet."""
    graph = held_on(record, "2026-11-21")
    assert len(results_of(graph, name, dt.date(2026, 11, 20))) == 1
    assert results_of(graph, name, dt.date(2026, 11, 21)) == []


def test_deadlines_must_be_dates() -> None:
    """A review date or an expiry given as text cannot be judged: it is reported; a month or a year
    is a deadline at its end and is accepted."""
    data = Graph().parse(
        data=TTL
        + 'ex:p a aims:Procedure ; aims:reviewDue "soon" .\n'
        + 'ex:q a aims:Procedure ; aims:reviewDue "2026-09"^^xsd:gYearMonth .\n'
        + 'ex:e a aims:Evidence ; aims:validUntil "2026-06-30" .\n'
        + 'ex:f a aims:Evidence ; aims:validUntil "2027"^^xsd:gYear .',
        format="turtle",
    )
    flagged = {
        r.focus.rsplit("/", 1)[-1]
        for r in results_of(data, "DocumentControlled")
        if r.path == str(AIMS.reviewDue)
    }
    assert flagged == {"p"}
    assert [r.focus.rsplit("/", 1)[-1] for r in results_of(data, "EvidenceDated")] == ["e"]


def test_month_precision_counts_as_the_first_day() -> None:
    """A review dated only "2025-11" may have been before the look-back start 2025-11-20: not shown."""
    month = 'ex:a a aims:AIManagementSystem . ex:r a aims:ManagementReview ; aims:performedOn "{m}"^^xsd:gYearMonth .'
    early = Graph().parse(data=TTL + month.format(m="2025-11"), format="turtle")
    late = Graph().parse(data=TTL + month.format(m="2025-12"), format="turtle")
    assert len(results_of(early, "ManagementReviewHeld")) == 1
    assert results_of(late, "ManagementReviewHeld") == []


def test_evidence_valid_then_expired() -> None:
    """The same evidence is valid as of one day and expired as of a later one."""
    data = snippet("ImplementationEvidenceValid", "valid")  # valid until 2027-01-01
    assert results_of(data, "ImplementationEvidenceValid", dt.date(2027, 1, 1)) == []
    (late,) = results_of(data, "ImplementationEvidenceValid", dt.date(2027, 1, 2))
    assert (late.value, late.requirement_id, late.control_id, late.stage) == (
        "2027-01-01",
        "8.3",
        "A.6.2.4",
        2,
    )


@pytest.mark.parametrize(
    "how",
    [
        "ex:p aims:documentStatus aims:Superseded .",
        "ex:p2 a aims:AIPolicy ; aims:documentStatus aims:Approved ; aims:supersedes ex:p .",
    ],
)
def test_superseded_policy_is_not_checked(how: str) -> None:
    """Either way of superseding exempts the old policy from the policy rules."""
    base = 'ex:p a aims:AIPolicy ; aims:reviewDue "2020-01-01"^^xsd:date .\n'
    data = Graph().parse(data=TTL + base + how, format="turtle")
    old = "https://example.org/t/p"
    for name in ("AIPolicyApproved", "AIPolicyCommunicated", "AIPolicyReviewDate", "DocumentReviewed"):
        assert all(r.focus != old for r in results_of(data, name)), name


def test_a_draft_successor_does_not_supersede() -> None:
    """A draft that names the old policy does not retire it: the old one is still in force."""
    data = Graph().parse(
        data=TTL
        + 'ex:p a aims:AIPolicy ; aims:reviewDue "2020-01-01"^^xsd:date .\n'
        + "ex:p2 a aims:AIPolicy ; aims:documentStatus aims:Draft ; aims:supersedes ex:p .",
        format="turtle",
    )
    assert "https://example.org/t/p" in {r.focus for r in results_of(data, "AIPolicyReviewDate")}


def test_stage_filter_keeps_referenced_helper_shapes() -> None:
    """Regression: pySHACL's use_shapes also limits sh:node references, so a stage 1 run once
    skipped the top-management check of the AI policy's approver."""
    data = snippet("AIPolicyApproved", "invalid")
    report = validation.validate(data, as_of=AS_OF, stage=1)
    assert any(r.shape == str(SHAPES.AIPolicyApproved) for r in report.results)


# Mandatory documented information no rule can judge from the data, and why.
# (7.5.3 has a rule on evidence dates; its D13, documents of external origin, has no mark in the
# data that says a document is external, so nothing checks D13 itself.)
UNCHECKABLE_DOCUMENTATION = {
    "7.5.1": "D12 is whatever the organisation deems necessary: nothing to compare with",
}


def test_every_mandatory_documented_information_item_is_checked(ontology: Graph) -> None:
    """Each clause that asks for mandatory documented information (the catalogue's D01-D24) has at
    least one rule, so a missing item cannot pass in silence."""
    asks = {
        str(ontology.value(clause, SKOS.notation))
        for clause, item in ontology.subject_objects(AIMS.asksFor)
        if (item, AIMS.mandatory, Literal(True)) in ontology
    }
    g = validation.shapes_graph()
    checked = {str(ontology.value(r, SKOS.notation)) for r in g.objects(None, AIMS.checksRequirement)}
    assert len(asks) >= 17
    assert asks - checked == set(UNCHECKABLE_DOCUMENTATION), sorted(asks - checked)


# ---------------------------------------------------------------- life-cycle stages (docs/rules.md)

LIFECYCLE = (
    TTL
    + """@prefix org: <http://www.w3.org/ns/org#> .
ex:aims a aims:AIManagementSystem ; aims:usesCriteria ex:crit .
ex:crit a aims:RiskCriteria ; aims:acceptanceThreshold 8 .
ex:s a aims:AISystem ; aims:hasRisk ex:r1, ex:r2 {stage} .
ex:other a aims:AISystem .
ex:d a aims:ScopeDecision ; aims:scopeSubject ex:s ; aims:inScope true .
ex:r1 a aims:Risk ; aims:riskLevel 12 ; aims:hasTreatment ex:t1 .
ex:t1 a aims:RiskTreatment ; aims:treatmentOption aims:Mitigate ; aims:appliesControl ex:planned .
ex:planned a aims:ControlImplementation ; aims:implementationStatus aims:Planned .
ex:r2 a aims:Risk ; aims:riskLevel 12 ; aims:hasTreatment ex:t2 .
ex:t2 a aims:RiskTreatment ; aims:treatmentOption aims:Mitigate ; aims:appliesControl ex:done .
ex:done a aims:ControlImplementation ; aims:implementationStatus aims:Implemented .
ex:e a aims:Evidence ; aims:supports ex:done ; aims:about ex:other ; aims:validUntil "2027-01-01"^^xsd:date .
"""
)
STAGED = [
    "CurrentRiskAssessment",
    "ImpactAssessed",
    "ImpactAssessedBeforeDeployment",
    "RiskEvidenced",
    "TreatmentInPlace",
]


@pytest.mark.parametrize(
    "stage",
    [None, "Inception", "DesignAndDevelopment", "VerificationAndValidation", "Deployment",
     "LimitedDeployment", "OperationAndMonitoring", "Retirement"],
)  # fmt: skip
def test_life_cycle_rules_do_what_the_table_says(stage: str | None) -> None:
    """An in-scope system with no risk or impact assessment, a risk (12 > 8) treated by a planned
    control only and one whose only evidence is about another system: each staged rule reports on it
    exactly when the rule names the stage's phase (a system with no stage is in service)."""
    data = Graph().parse(
        data=LIFECYCLE.replace("{stage}", f"; aims:lifecycleStage aims:{stage}" if stage else ""),
        format="turtle",
    )
    g, catalogue = validation.shapes_graph(), validation.catalogue_graph()
    phase = catalogue.value(AIMS[stage], AIMS.lifecyclePhase) if stage else AIMS.InServicePhase
    report = validation.validate(data, as_of=AS_OF)
    for name in STAGED:
        fired = {r.focus for r in report.results if r.shape == str(SHAPES[name])}
        assert bool(fired) == ((SHAPES[name], AIMS.appliesInPhase, phase) in g), (name, stage, fired)
    # the phases in the table: design is not deployed, pilots are in service, retirement is retired
    assert phase == {
        None: AIMS.InServicePhase, "Inception": AIMS.PreDeploymentPhase, "DesignAndDevelopment": AIMS.PreDeploymentPhase,
        "VerificationAndValidation": AIMS.PreDeploymentPhase, "Deployment": AIMS.InServicePhase,
        "LimitedDeployment": AIMS.InServicePhase, "OperationAndMonitoring": AIMS.InServicePhase,
        "Retirement": AIMS.RetiredPhase,
    }[stage]  # fmt: skip


def test_impact_assessment_before_deployment_is_at_most_a_warning() -> None:
    """The issue's robotics maker: a system in design with no impact assessment blocks nothing."""
    data = Graph().parse(data=LIFECYCLE.replace("{stage}", "; aims:lifecycleStage aims:DesignAndDevelopment"))
    report = validation.validate(data, as_of=AS_OF, stage=1)
    on_system = {(r.requirement_id, r.severity) for r in report.results if r.focus.endswith("/s")}
    assert {(i, sev) for i, sev in on_system if i in ("6.1.4", "8.2")} == {
        ("6.1.4", "Warning"),
        ("8.2", "Violation"),  # a risk assessment is due at every stage but retirement
    }


@pytest.mark.parametrize(
    "text,fires", [("N/A.", True), ("  tbd ", True), ("none!", True), ("Not used here.", False)]
)
def test_placeholder_justification_is_no_justification(text: str, fires: bool) -> None:
    data = Graph().parse(
        data=TTL
        + f'ex:e a aims:SoAEntry ; aims:forControl iso42001:A.7.6 ; aims:isApplicable false ; aims:justification "{text}" .',
        format="turtle",
    )
    assert bool(results_of(data, "SoAEntry")) == fires


@pytest.mark.parametrize(
    "on,held",
    [
        ('"2025"^^xsd:gYear', False),  # read as 2025-01-01: before the look-back start (2025-11-20)
        ('"2026"^^xsd:gYear', True),
        ('"2025-11"^^xsd:gYearMonth', False),  # read as 2025-11-01: more than twelve months ago
        ('"2025-12"^^xsd:gYearMonth', True),
        ('"2026-11-20T10:00:00Z"^^xsd:dateTime', True),  # the as-of day itself
        ('"2026-12"^^xsd:gYearMonth', False),  # has not begun by the as-of day
    ],
)
def test_risk_assessment_held_reads_months_and_years_as_their_first_day(on: str, held: bool) -> None:
    data = Graph().parse(
        data=TTL
        + f"ex:aims a aims:AIManagementSystem . ex:ra a aims:RiskAssessment ; aims:performedOn {on} .",
        format="turtle",
    )
    assert (results_of(data, "RiskAssessmentHeld") == []) == held
    assert results_of(data, "RiskAssessmentDated") == []  # all four datatypes are accepted


VOCABULARY_TERM = re.compile(r"\b(aims|org|prov|dcterms|skos|dcat|dpv|airo|iso42001):\w")
IRI_TEXT = re.compile(r"https?://|<[^>]*>|\burn:")
SHEET_OR_COLUMN = re.compile(r"\b(sheet|column) '(.+?)'(?![A-Za-z])")


def test_messages_speak_to_people() -> None:
    """Every sh:message of every built-in shape is for a governance architect: no vocabulary term, no
    IRI, and every sheet it names is a sheet of the workbook (service/workbook/sheets.py SHEETS) and every
    column a heading of the sheet named last before it."""
    from service.workbook import SHEET, columns

    shapes = validation.shapes_graph()
    problems = []
    for message in sorted({str(m) for m in shapes.objects(None, SH.message)}):
        if VOCABULARY_TERM.search(message) or IRI_TEXT.search(message):
            problems.append(f"vocabulary term or IRI: {message}")
        sheet = None
        for kind, name in SHEET_OR_COLUMN.findall(message):
            if kind == "sheet":
                sheet = SHEET.get(name)
                if sheet is None:
                    problems.append(f"no sheet {name!r}: {message}")
            elif sheet is None or name not in {c.heading for c in columns(sheet)}:
                problems.append(f"no column {name!r} on the sheet named before it: {message}")
    assert not problems, "\n".join(problems)
