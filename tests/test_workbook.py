"""The spreadsheet route (service/workbook/): the template, the round trip of the example
organisation through a workbook, and the refusal of a workbook with planted errors."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from service import queries, traces, validation
from service.namespaces import PREFIXES
from service.store import FORMATS
from service.store.catalogue import catalogue_graph
from service.store.embedded import EmbeddedStore
from service.workbook import WorkbookError, export, read, template

from .conftest import load_example

EX = Namespace("https://aurora-lending.example/aims/")
AIMS = Namespace(PREFIXES["aims"])
ISO = Namespace(PREFIXES["iso42001"])
XSD = Namespace(PREFIXES["xsd"])  # rdflib's own warns when pytest looks into this module
AS_OF = dt.date(2026, 11, 20)
SHEETS = [
    "Read me", "Organisation and scope", "AI systems", "Interested parties", "People and roles",
    "Risks and treatments", "SoA", "Own controls", "Implementations", "Evidence", "Documents",
    "Objectives and measurements", "Audits", "Findings", "Corrective actions", "Incidents",
]  # fmt: skip


def curies(text: str) -> set[URIRef]:
    return {URIRef(PREFIXES[p] + local) for p, _, local in (c.partition(":") for c in text.split())}


# ---------------------------------------------------------------- what the workbook covers
#
# Stated here apart from the workbook's own table: for each class a row of the workbook can be,
# the properties it writes from such a row (inverse columns included: a risk's "AI system" is the
# system's aims:hasRisk). Everything else is NOT covered, and is left out of a workbook:
#   - resources of any other class (and their triples), blank-node or not;
#   - a property a row's class does not list here (rdfs:comment on an AI system, say);
#   - rdf:type triples naming classes not listed here.
# Not covered either, though it cannot be shown as "left out": a literal's language tag (the
# workbook writes plain text) and the lexical form of numbers (2.0 comes back as 2, as Oxigraph
# writes it). The example organisation uses none of these: the workbook covers all of it.
NAMED = "dcterms:identifier rdfs:label "
DOCUMENT = (
    NAMED + "dcat:version aims:documentStatus aims:owner aims:approvedBy aims:approvalDate aims:reviewDue "
    "aims:addresses aims:supersedes aims:communicatedTo aims:checksumSHA256"
)
PARTY = NAMED + "aims:hasNeed rdfs:comment"
AUDIT = (
    NAMED + "aims:performedOn aims:dueDate aims:auditCriteria aims:auditor aims:auditorIndependent "
    "aims:coversRequirement aims:auditOutcome aims:documentedBy"
)
FINDING = NAMED + "aims:raisedIn aims:against aims:concerns"
EVIDENCE = NAMED + "aims:supports prov:wasAttributedTo prov:generatedAtTime aims:validUntil"
MEASUREMENT = NAMED + "aims:unit aims:measures aims:measuredValue aims:performedOn"
IMPACT_ASSESSMENT = (
    NAMED + "aims:assesses aims:performedOn aims:coversImpactOn aims:documentedBy aims:identifiedImpact"
)
COVERED: dict[str, str] = {
    "org:FormalOrganization": NAMED + "aims:providesPublicService", "dpv:Organisation": "", "org:Organization": "",
    "aims:AIManagementSystem": NAMED + "aims:ofOrganisation aims:usesCriteria aims:documentedBy "
        "aims:hasScopeDecision aims:hasContextIssue aims:hasInterestedParty",
    "org:Site": NAMED, "org:OrganizationalUnit": NAMED + "org:unitOf",
    "aims:ScopeDecision": NAMED + "aims:scopeSubject aims:inScope aims:rationale",
    "aims:ExternalIssue": NAMED, "aims:InternalIssue": NAMED,
    "aims:RiskCriteria": NAMED + "aims:acceptanceThreshold aims:approvedBy aims:approvalDate "
        "aims:likelihoodScaleMax aims:severityScaleMax aims:acceptanceAuthority aims:riskMatrixCell",
    "aims:AcceptanceAuthority": NAMED + "aims:authorisedRole aims:maxAcceptableLevel",
    "aims:RiskMatrixCell": NAMED + "aims:cellLikelihood aims:cellSeverity aims:cellLevel",
    "aims:AISystem": NAMED + "aims:intendedPurpose aims:lifecycleStage aims:organisationRole aims:inAIMS "
        "aims:hasComponent aims:usesDataSet aims:suppliedBy aims:integratedInto aims:hasRisk "
        "aims:aiActClass aims:annexIIIArea aims:aiActRole aims:automaticLogging aims:logRetentionMonths "
        "aims:humanOversightMeasure aims:disclosesAIInteraction aims:euDatabaseId",
    "aims:AIComponent": NAMED + "aims:suppliedBy",
    "aims:DataSet": NAMED + "aims:suppliedBy aims:provenance aims:qualityRequirement aims:qualityCheckedOn",
    "prov:Entity": NAMED,
    "aims:InterestedParty": PARTY, "aims:Customer": PARTY, "aims:Supplier": PARTY,
    "aims:CertificationBody": PARTY, "aims:Need": NAMED,
    "aims:Person": NAMED + "org:memberOf",
    "aims:Role": NAMED + "aims:responsibility", "aims:TopManagementRole": NAMED + "aims:responsibility",
    "aims:RoleAssignment": NAMED + "org:member org:role org:organization",
    "aims:Risk": NAMED + "aims:hasRiskSource aims:hasConsequence aims:likelihood aims:severity "
        "aims:riskLevel aims:owner aims:hasTreatment",
    "aims:RiskTreatment": "aims:treatmentOption aims:residualRiskLevel aims:appliesControl aims:approvedBy "
        "aims:approvalDate aims:rationale",
    "aims:RiskSource": NAMED, "aims:Consequence": NAMED, "aims:Impact": NAMED + "aims:affects",
    "aims:RiskAssessment": NAMED + "aims:assesses aims:usesCriteria aims:performedOn aims:documentedBy "
        "aims:identifiedRisk",
    "aims:AISystemImpactAssessment": IMPACT_ASSESSMENT, "eu-aiact:FRIA": IMPACT_ASSESSMENT,
    "eu-aiact:ConformityAssessment": NAMED + "aims:assesses aims:performedOn aims:documentedBy",
    "aims:GapAnalysis": NAMED + "aims:performedOn prov:wasAssociatedWith",
    "aims:ManagementReview": NAMED + "aims:performedOn prov:wasAssociatedWith aims:reviewInput "
        "aims:consideredInput aims:hasDecision aims:documentedBy",
    "aims:Decision": NAMED,
    "aims:SoAEntry": "aims:forControl aims:isApplicable aims:justification aims:implementationStatus",
    "aims:OrganisationControl": NAMED + "rdfs:comment",
    "aims:ControlImplementation": NAMED + "aims:implements aims:owner aims:implementationStatus aims:appliesTo",
    "aims:Evidence": EVIDENCE + " aims:about",
    "aims:CompetenceRecord": EVIDENCE + " aims:competenceOf aims:competenceArea",
    "aims:TrainingRecord": EVIDENCE + " aims:competenceOf aims:competenceArea",
    "aims:Document": DOCUMENT + " aims:forSystem", "aims:AIMSManual": DOCUMENT,
    "eu-aiact:TechnicalDocumentation": DOCUMENT + " aims:forSystem aims:coversAnnexIVPoint",
    "eu-aiact:EUDeclarationOfConformity": DOCUMENT + " aims:forSystem", "aims:ScopeStatement": DOCUMENT,
    "aims:AIPolicy": DOCUMENT, "aims:RiskAssessmentProcedure": DOCUMENT, "aims:RiskTreatmentPlan": DOCUMENT,
    "aims:StatementOfApplicability": DOCUMENT + " aims:hasEntry", "aims:ImpactAssessmentReport": DOCUMENT,
    "aims:Procedure": DOCUMENT, "aims:Record": DOCUMENT,
    "aims:AIObjective": NAMED + "aims:targetValue aims:targetComparator aims:unit aims:owner "
        "aims:measurementFrequency aims:breakdown aims:documentedBy",
    "aims:Measurement": MEASUREMENT, "aims:MonitoringResult": MEASUREMENT,
    "aims:AuditProgramme": NAMED + "aims:cycleStart aims:cycleEnd aims:plansToCover aims:documentedBy",
    "aims:InternalAudit": AUDIT + " aims:inProgramme", "aims:Stage1Audit": AUDIT, "aims:Stage2Audit": AUDIT,
    "aims:SurveillanceAudit": AUDIT,
    "aims:Certificate": NAMED + "aims:certifies aims:issuedBy aims:grantedAfter aims:issuedOn aims:validUntil "
        "aims:certificateScope",
    "aims:MajorNonconformity": FINDING, "aims:MinorNonconformity": FINDING, "aims:Nonconformity": FINDING,
    "aims:Observation": FINDING, "aims:OpportunityForImprovement": FINDING,
    "aims:CorrectiveAction": NAMED + "aims:corrects aims:forObjective aims:owner aims:dueDate aims:rootCause aims:actionStatus "
        "aims:performedOn aims:effectivenessEvidence",
    "aims:Incident": NAMED + "aims:involves aims:occurredOn aims:realisesRisk aims:seriousIncident "
        "aims:seriousIncidentKind aims:awareOn aims:reportedToAuthorityOn",
    "aims:IncidentCommunication": NAMED + "aims:communicates aims:communicatedTo aims:performedOn",
}  # fmt: skip
COVERED_BY_CLASS = {next(iter(curies(c))): curies(p) for c, p in COVERED.items()}


def covered(graph: Graph) -> Graph:
    """The triples of `graph` the workbook covers, by the classes and properties above."""
    part = Graph()
    for s, p, o in graph:
        kinds = set(graph.objects(s, RDF.type)) & COVERED_BY_CLASS.keys()
        if (p == RDF.type and o in COVERED_BY_CLASS) or any(p in COVERED_BY_CLASS[k] for k in kinds):
            part.add((s, p, o))
    return part


def assert_same(got: Graph, want: Graph) -> None:
    if not isomorphic(got, want):
        _, only_got, only_want = graph_diff(to_isomorphic(got), to_isomorphic(want))
        pytest.fail(
            f"read but not expected: {sorted(only_got)[:10]}\nexpected but not read: {sorted(only_want)[:10]}"
        )


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def original() -> EmbeddedStore:
    return load_example(EmbeddedStore())


@pytest.fixture(scope="module")
def exported(original: EmbeddedStore) -> bytes:
    return export(original)


@pytest.fixture(scope="module")
def reread(exported: bytes) -> Graph:
    return read(exported, str(EX))


@pytest.fixture(scope="module")
def reloaded(reread: Graph) -> EmbeddedStore:
    """The workbook's graph in an empty store with the catalogue."""
    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load(reread.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], EX["graph/workbook"])
    return store


def column(ws: Any, heading: str) -> int:
    return next(c.column for c in ws[1] if c.value == heading)


def row_of(ws: Any, key: str, heading: str = "ID") -> int:
    col = column(ws, heading)
    return next(r for r in range(3, ws.max_row + 1) if ws.cell(r, col).value == key)


def edited(data: bytes, edits: list[tuple[str, str | None, int | None, str, Any]]) -> tuple[bytes, list[int]]:
    """`data` with cells set, and the rows set: (sheet, row key or None, row number, heading,
    value); with neither key nor number, a new row."""
    wb = load_workbook(BytesIO(data))
    rows = []
    for sheet, key, number, heading, value in edits:
        ws = wb[sheet]
        r = row_of(ws, key, "Control" if sheet == "SoA" else "ID") if key else number or ws.max_row + 1
        ws.cell(r, column(ws, heading), value)
        rows.append(r)
    out = BytesIO()
    wb.save(out)
    return out.getvalue(), rows


def problems(data: bytes) -> list[tuple[str, int | None, str, str]]:
    with pytest.raises(WorkbookError) as caught:
        read(data, str(EX))
    return [(e.sheet, e.row, e.column, e.letter) for e in caught.value.errors]


# ---------------------------------------------------------------- round trip


def test_the_example_uses_only_what_the_workbook_covers(original: EmbeddedStore) -> None:
    data = original.rdflib_graph()
    assert len(data) > 1800
    assert_same(covered(data), data)


def test_round_trip_gives_the_same_graph(original: EmbeddedStore, reread: Graph) -> None:
    assert_same(reread, covered(original.rdflib_graph()))


def test_export_fills_every_iri_and_keys_rows_by_identifier(exported: bytes) -> None:
    wb = load_workbook(BytesIO(exported))
    risks = wb["Risks and treatments"]
    r = row_of(risks, "R01")
    assert risks.cell(r, column(risks, "IRI")).value == str(EX["risk-01"])
    assert risks.cell(r, column(risks, "Treatment IRI")).value == str(EX["treat-01"])
    assert risks.cell(r, column(risks, "AI system")).value == "credit-scorer"
    assert risks.cell(r, column(risks, "Likelihood")).value == 3
    soa = wb["SoA"]
    assert soa.cell(row_of(soa, "OC-01", "Control"), column(soa, "Title")).value == (
        "Human hand-over for the support assistant"
    )
    for ws in wb.worksheets[1:-1]:  # not the Read me, not the hidden lists
        iri = column(ws, "IRI")
        assert all(ws.cell(r, iri).value for r in range(3, ws.max_row + 1) if ws.cell(r, 1).value), ws.title


def test_what_is_not_covered_is_left_out_and_nothing_else(original: EmbeddedStore) -> None:
    store = load_example(EmbeddedStore())
    extra = """
        @prefix ex: <https://aurora-lending.example/aims/> .
        @prefix other: <https://example.org/other#> .
        @prefix aims: <https://w3id.org/aims#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:credit-scorer other:riskTier "high" ; a other:Product ; rdfs:comment "No comment column here." .
        other:widget a other:Widget ; rdfs:label "A widget" ; aims:owner ex:li-wei .
        ex:risk-01 other:reviewedBy [ rdfs:label "a blank node" ] .
    """
    store.load(extra.encode(), FORMATS["turtle"], EX["graph/extra"])
    data = store.rdflib_graph()
    assert len(data) == len(original.rdflib_graph()) + 8
    got = read(export(store), str(EX))
    assert_same(got, covered(data))
    assert_same(got, original.rdflib_graph())  # exactly the eight extra triples were left out


def test_round_trip_after_certification() -> None:
    store = load_example(EmbeddedStore())
    store.load_file(Path(__file__).parent.parent / "examples" / "after-certification" / "certification.ttl")
    data = store.rdflib_graph()
    assert data.value(EX["certificate-2027"], AIMS.grantedAfter) == EX["cert-audit-stage2"]
    assert_same(read(export(store), str(EX)), covered(data))


def test_round_trip_after_the_ai_act_registration() -> None:
    """examples/after-certification/ai-act-registration.ttl: CreditLens's EU database number and a
    serious incident with Art. 73's dates come back from a workbook."""
    store = load_example(EmbeddedStore())
    store.load_file(
        Path(__file__).parent.parent / "examples" / "after-certification" / "ai-act-registration.ttl"
    )
    data = store.rdflib_graph()
    # the file's incident: serious, widespread (Art. 73(3)'s 2 days), reported the day after awareness
    assert data.value(EX["incident-2"], AIMS.seriousIncidentKind) == AIMS.IncidentWidespread
    got = read(export(store), str(EX))
    assert_same(got, covered(data))
    assert got.value(EX["incident-2"], AIMS.reportedToAuthorityOn) == Literal("2027-01-16", datatype=XSD.date)
    assert got.value(EX["credit-scorer"], AIMS.euDatabaseId) == Literal("EU-HR-2026-004217")


def test_export_writes_the_ai_act_columns_and_kinds(exported: bytes) -> None:
    """examples/systems.ttl (its AI Act section)'s statements, as the workbook shows them: a cell per column, the AI Act's
    documents and assessments as kinds of their own."""
    wb = load_workbook(BytesIO(exported))
    systems = wb["AI systems"]

    def cell(ws: Any, key: str, heading: str) -> Any:
        return ws.cell(row_of(ws, key), column(ws, heading)).value

    # CreditLens: high-risk under Annex III point 5 (its label, ontology/eu-ai-act.ttl), Aurora its
    # provider and deployer (labels from forms.ttl, in the cell's order: sorted), logs kept 12 months
    assert cell(systems, "credit-scorer", "AI Act classification") == "high-risk (Annex III)"
    assert cell(systems, "credit-scorer", "Annex III area") == (
        "Access to and enjoyment of essential private services and essential public services and benefits"
    )
    assert cell(systems, "credit-scorer", "AI Act role") == "deployer; provider"
    assert cell(systems, "credit-scorer", "Automatic logging") == "Yes"
    assert cell(systems, "credit-scorer", "Log retention (months)") == 12
    assert cell(systems, "credit-scorer", "Human oversight").startswith(
        "An underwriter reviews every decline"
    )
    # the chatbot: transparency obligations, and people are told (Art. 50(1))
    assert cell(systems, "support-assistant", "AI Act classification") == "transparency obligations"
    assert cell(systems, "support-assistant", "Discloses AI interaction") == "Yes"
    # the technical documentation: a kind of its own, for CreditLens, Annex IV points 1 to 7 (not 8, 9)
    docs = wb["Documents"]
    assert cell(docs, "doc-credit-techdoc", "Kind") == "technical documentation (AI Act)"
    assert cell(docs, "doc-credit-techdoc", "AI system") == "credit-scorer"
    points = cell(docs, "doc-credit-techdoc", "Annex IV points").split("; ")
    assert len(points) == 7 and "Monitoring, functioning and control" in points
    assert "Copy of the EU declaration of conformity" not in points
    # the impact assessment that is also the FRIA (Art. 27), and the conformity assessment (Art. 43)
    assessments = wb["Assessments and reviews"]
    assert cell(assessments, "ia-credit-2026", "Kind") == "fundamental rights impact assessment (AI Act)"
    assert cell(assessments, "ca-credit-2026", "Kind") == "conformity assessment (AI Act)"
    assert cell(assessments, "ca-credit-2026", "AI system") == "credit-scorer"


def test_export_cells_hold_the_text_numbers_and_dates_as_stored() -> None:
    """The rows below the headings are written as sheet XML by the export itself: text that XML
    must escape (&, <, >), a CR (XML reads a bare CR as LF), a tab and spaces at both ends
    (xml:space) come back from openpyxl exactly; a negative integer stays a number and a date (a
    "Valid until" column) a date in the yyyy-mm-dd format."""
    store = EmbeddedStore()
    store.ensure_catalogue()
    turtle = r"""
        @prefix aims: <https://w3id.org/aims#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        <https://example.org/t/risk-t> a aims:Risk ; rdfs:label "  a & b <c> \"d\"\r\nline\ttwo  " ;
            aims:likelihood -3 .
        <https://example.org/t/ev-t> a aims:Evidence ; rdfs:label "E" ; aims:validUntil "2027-03-01"^^xsd:date .
    """
    store.load(turtle.encode(), FORMATS["turtle"], URIRef("urn:x:t"))
    text = '  a & b <c> "d"\r\nline\ttwo  '  # the label's Turtle escapes, as Python reads them
    wb = load_workbook(BytesIO(export(store)))
    risks = wb["Risks and treatments"]
    r = row_of(risks, "risk-t")
    name, likelihood = risks.cell(r, column(risks, "Name")), risks.cell(r, column(risks, "Likelihood"))
    assert (name.value, name.data_type) == (text, "s")
    assert (likelihood.value, likelihood.data_type) == (-3, "n")
    evidence = wb["Evidence"]
    dates = [c for c in evidence[row_of(evidence, "ev-t")] if isinstance(c.value, dt.datetime)]
    assert [(c.value, c.number_format) for c in dates] == [(dt.datetime(2027, 3, 1), "yyyy-mm-dd")]


def test_a_filled_template_reads_the_ai_act_columns() -> None:
    """New rows typed by hand: labels holding commas (Annex IV point 3's) are one choice each, as
    several choices are separated by ; only."""
    base = Namespace("https://acme.example/aims/")
    data, _ = edited(template(), [
        ("AI systems", None, 3, "ID", "hr"),
        ("AI systems", None, 3, "Name", "CV screening"),
        ("AI systems", None, 3, "AI Act classification", "high-risk (Annex III)"),
        ("AI systems", None, 3, "Annex III area", "Employment, workers' management and access to self-employment"),
        ("AI systems", None, 3, "AI Act role", "Deployer"),
        ("AI systems", None, 3, "Log retention (months)", 6),
        ("Documents", None, 3, "ID", "td"),
        ("Documents", None, 3, "Kind", "technical documentation (AI Act)"),
        ("Documents", None, 3, "Name", "CV screening technical documentation"),
        ("Documents", None, 3, "AI system", "hr"),
        ("Documents", None, 3, "Annex IV points", "Monitoring, functioning and control; Risk management system"),
        ("Assessments and reviews", None, 3, "ID", "fria"),
        ("Assessments and reviews", None, 3, "Kind", "fundamental rights impact assessment (AI Act)"),
        ("Assessments and reviews", None, 3, "Name", "CV screening FRIA"),
        ("Assessments and reviews", None, 3, "AI system", "hr"),
        ("Incidents", None, 3, "ID", "inc"),
        ("Incidents", None, 3, "Kind", "AI incident"),
        ("Incidents", None, 3, "Name", "A candidate group rejected wholesale"),
        ("Incidents", None, 3, "Serious incident", "Yes"),
        ("Incidents", None, 3, "Serious incident kind", "widespread infringement or critical infrastructure"),
        ("Incidents", None, 3, "Aware on", dt.date(2027, 2, 1)),
    ])  # fmt: skip
    g = read(data, str(base))
    system, doc, fria, incident = (
        base["ai-system-hr"],
        base["technical-documentation-td"],
        base["fria-fria"],
        base["incident-inc"],
    )
    euaia, act = Namespace(PREFIXES["euaia"]), Namespace(PREFIXES["eu-aiact"])
    expected = {
        (system, AIMS.aiActClass, AIMS.HighRiskAnnexIII),
        (system, AIMS.annexIIIArea, euaia["annex-III-4"]),
        (system, AIMS.aiActRole, act.AIDeployer),
        (system, AIMS.logRetentionMonths, Literal(6)),
        # a kind's classes: its target and its aimsf:alsoType
        (doc, RDF.type, act.TechnicalDocumentation),
        (doc, RDF.type, AIMS.Document),
        (doc, AIMS.forSystem, system),
        (doc, AIMS.coversAnnexIVPoint, euaia["annex-IV-3"]),
        (doc, AIMS.coversAnnexIVPoint, euaia["annex-IV-5"]),
        (fria, RDF.type, act.FRIA),
        (fria, RDF.type, AIMS.AISystemImpactAssessment),
        (fria, AIMS.assesses, system),
        (incident, AIMS.seriousIncident, Literal(True)),
        (incident, AIMS.seriousIncidentKind, AIMS.IncidentWidespread),
        (incident, AIMS.awareOn, Literal("2027-02-01", datatype=XSD.date)),
    }
    assert expected <= set(g), expected - set(g)
    assert len(set(g.objects(doc, AIMS.coversAnnexIVPoint))) == 2


def test_reloaded_statement_of_applicability_is_the_same(
    original: EmbeddedStore, reloaded: EmbeddedStore
) -> None:
    want = queries.run(original, "statement-of-applicability").rows
    assert len(want) == 39
    assert queries.run(reloaded, "statement-of-applicability").rows == want


@pytest.mark.parametrize("risk", ["risk-01", "risk-08", "risk-14"])
def test_reloaded_risk_trace_is_the_same(original: EmbeddedStore, reloaded: EmbeddedStore, risk: str) -> None:
    want = traces.trace(original, "risk", EX[risk], AS_OF).to_json()
    assert want["treatments"][0]["implementations"]  # a chain to compare, down to the evidence
    assert traces.trace(reloaded, "risk", EX[risk], AS_OF).to_json() == want


def test_reloaded_validation_is_the_same(original: EmbeddedStore, reloaded: EmbeddedStore) -> None:
    def results(store: EmbeddedStore) -> list[tuple[str, str, str]]:
        report = validation.validate(store, as_of=AS_OF)
        return sorted((r.focus, r.shape, r.message) for r in report.results)

    want = results(original)
    assert any(focus == str(EX["risk-07"]) for focus, _, _ in want)  # the planted gaps are found
    assert results(reloaded) == want


# ---------------------------------------------------------------- planted errors


def test_planted_errors_are_each_named_once_and_nothing_is_read(exported: bytes) -> None:
    wb = load_workbook(BytesIO(exported))
    risks, soa, people = wb["Risks and treatments"], wb["SoA"], wb["People and roles"]
    planted = {
        # text in a number column
        ("Risks and treatments", row_of(risks, "R01"), "Likelihood", "high"),
        # an unknown control id
        ("SoA", row_of(soa, "A.2.2", "Control"), "Control", "A.2.9"),
        # a risk pointing to a system no AI systems row has
        ("Risks and treatments", row_of(risks, "R02"), "AI system", "no-such-system"),
        # an ID used twice (on a new row)
        ("People and roles", people.max_row + 1, "ID", "li-wei"),
    }
    edits = [(sheet, None, r, heading, value) for sheet, r, heading, value in planted]
    edits.append(("People and roles", None, people.max_row + 1, "Kind", "person"))
    data, _ = edited(exported, edits)
    store = EmbeddedStore()
    with pytest.raises(WorkbookError) as caught:
        store.load(read(data, str(EX)).serialize(format="nt", encoding="utf-8"), FORMATS["nt"], EX["g"])
    assert store.count() == 0
    errors = caught.value.errors
    assert len(errors) == 4, "\n".join(map(str, errors))
    for sheet, r, heading, value in planted:
        ws = wb[sheet]
        letter = ws.cell(1, column(ws, heading)).column_letter
        (found,) = [e for e in errors if (e.sheet, e.row, e.column, e.letter) == (sheet, r, heading, letter)]
        assert found.value == value
        assert all(str(x) in str(found) for x in (sheet, f"row {r}", f"column {letter} ({heading})", value))
    message = str(caught.value)
    assert "a whole number" in message
    assert "'A.2.9'" in message and "Annex A control number" in message
    assert "no row has the ID 'no-such-system'" in message and "AI systems" in message
    assert "a key no other row has" in message


@pytest.mark.parametrize(
    "edit, where, expected",
    [
        (
            ("Implementations", "impl-A2-2", None, "Implementation status", "mostly done"),
            ("Implementations", "Implementation status"),
            "one of: implemented, not implemented",
        ),
        (
            ("Evidence", "ev-model-card", None, "Valid until", "2027-02-30"),
            ("Evidence", "Valid until"),
            "a date",
        ),
        (
            ("Objectives and measurements", "obj-fairness", None, "Target value", "two"),
            ("Objectives and measurements", "Target value"),
            "a number",
        ),
        (
            ("Risks and treatments", "R03", None, "Owner", "credit-scorer"),
            ("Risks and treatments", "Owner"),
            "'credit-scorer' is an AI system",
        ),
        (
            ("Organisation and scope", "site-leeds", None, "In scope", "Yes"),
            ("Organisation and scope", "In scope"),
            "nothing in this column for a site",
        ),
        (
            ("Documents", "doc-soa", None, "Kind", "memo"),
            ("Documents", "Kind"),
            "one of: document, AIMS manual",
        ),
        (
            ("AI systems", "credit-scorer", None, "IRI", "not an iri"),
            ("AI systems", "IRI"),
            "an absolute IRI",
        ),
        (("SoA", "A.7.6", None, "Applicable", "maybe"), ("SoA", "Applicable"), "Yes or No"),
        (
            ("Audits", "audit-2026-1", None, "Performed on", "2026-13"),
            ("Audits", "Performed on"),
            "or a month",
        ),
        (("Findings", "NC1", None, "Against", "A.6.2.6; 11.1"), ("Findings", "Against"), "'11.1'"),
    ],
)
def test_each_kind_of_problem_is_named(exported: bytes, edit: tuple, where: tuple, expected: str) -> None:
    data, (row,) = edited(exported, [edit])
    with pytest.raises(WorkbookError) as caught:
        read(data, str(EX))
    (error,) = caught.value.errors
    assert (error.sheet, error.row, error.column) == (where[0], row, where[1])
    assert error.value == edit[4]
    assert expected in error.expected


def test_a_missing_sheet_or_column_is_named() -> None:
    wb = load_workbook(BytesIO(template()))
    del wb["Findings"]
    wb["Incidents"].cell(1, column(wb["Incidents"], "Occurred on"), "When")
    out = BytesIO()
    wb.save(out)
    assert problems(out.getvalue()) == [("Findings", None, "", ""), ("Incidents", 1, "Occurred on", "")]


def test_what_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(WorkbookError) as caught:
        read(b"not a spreadsheet", str(EX))
    assert "an XLSX workbook" in str(caught.value)


# ---------------------------------------------------------------- the template


@pytest.fixture(scope="module")
def blank() -> Any:
    return load_workbook(BytesIO(template()))


def test_template_has_a_sheet_per_area_and_reads_as_nothing(blank: Any) -> None:
    assert blank.sheetnames[0] == "Read me"
    assert set(SHEETS) <= set(blank.sheetnames)
    assert "Statement of Applicability" in " ".join(str(c.value) for c in blank["Read me"]["C"] if c.value)
    assert len(read(template(), "https://example.org/aims/")) == 0


def test_template_soa_lists_annex_a_in_the_catalogue_order(blank: Any) -> None:
    rows = catalogue_graph().query(
        """SELECT ?number ?label WHERE { ?c a aims:ReferenceControl ; skos:notation ?number ;
           skos:prefLabel ?label ; aims:ordinal ?ordinal } ORDER BY ?ordinal""",
        initNs={"aims": AIMS, "skos": SKOS},
    )
    want = [(str(n), str(label)) for n, label in rows]  # type: ignore[misc]
    soa = blank["SoA"]
    got = [(soa.cell(r, 1).value, soa.cell(r, 2).value) for r in range(3, soa.max_row + 1)]
    assert len(got) == 38 and got[0][0] == "A.2.2" and got[-1][0] == "A.10.4"
    assert [(n, f"{n} {title}") for n, title in got] == want


def dropdown(wb: Any, sheet: str, heading: str) -> list[str]:
    """The values a column's drop-down offers on its first data row (empty: none)."""
    ws = wb[sheet]
    letter = ws.cell(1, column(ws, heading)).column_letter
    for dv in ws.data_validations.dataValidation:
        if any(
            r.min_col == r.max_col == ws[f"{letter}1"].column and r.min_row <= 3 <= r.max_row
            for r in dv.sqref.ranges
        ):
            formula = dv.formula1
            if formula.startswith('"'):
                return formula.strip('"').split(",")
            name, cells = formula.split("!")
            return [c.value for (c,) in wb[name][cells.replace("$", "")]]
    return []


def labels(g: Graph, concepts: Any) -> set[str]:
    return {str(g.value(c, RDFS.label)) for c in concepts}


@pytest.mark.parametrize(
    "sheet, heading, scheme",
    [
        ("AI systems", "Life-cycle stage", "LifecycleStages"),
        ("AI systems", "Organisation's roles", "AIRoles"),
        ("Risks and treatments", "Treatment option", "TreatmentOptions"),
        ("SoA", "Implementation status", "ImplementationStatuses"),
        ("Implementations", "Implementation status", "ImplementationStatuses"),
        ("Documents", "Status", "DocumentStatuses"),
        ("Corrective actions", "Status", "ActionStatuses"),
        ("Objectives and measurements", "Comparator", "Comparators"),
        ("Audits", "Outcome", "AuditOutcomes"),
        ("Assessments and reviews", "Covers impact on", "ImpactScopes"),
        ("AI systems", "AI Act classification", "AIActClasses"),
        ("Incidents", "Serious incident kind", "SeriousIncidentKinds"),
    ],
)
def test_template_offers_each_enumeration_as_a_dropdown(
    blank: Any, sheet: str, heading: str, scheme: str
) -> None:
    g = catalogue_graph()
    assert set(dropdown(blank, sheet, heading)) == labels(g, g.subjects(SKOS.inScheme, AIMS[scheme]))


def test_template_offers_kinds_and_yes_no_as_dropdowns(blank: Any) -> None:
    g = catalogue_graph()
    # the AI Act's documents are kinds of their own: DPV's classes, each also an aims:Document
    # (forms.ttl aimsf:technical-documentation, aimsf:declaration-of-conformity), labelled by their form
    act = {"technical documentation (AI Act)", "EU declaration of conformity (AI Act)"}
    for sheet, top, more in (("Documents", AIMS.Document, act), ("Findings", AIMS.Finding, set())):
        kinds = set(g.transitive_subjects(RDFS.subClassOf, top)) - ({top} if top == AIMS.Finding else set())
        assert set(dropdown(blank, sheet, "Kind")) == labels(g, kinds) | more
    for sheet, heading in (
        ("SoA", "Applicable"),
        ("Organisation and scope", "In scope"),
        ("Audits", "Auditors independent"),
    ):
        assert dropdown(blank, sheet, heading) == ["Yes", "No"]
    assert dropdown(blank, "Risks and treatments", "Likelihood") == []


def test_a_filled_template_reads_into_the_vocabulary(blank: Any) -> None:
    base = Namespace("https://acme.example/aims/")
    data, _ = edited(template(), [
        ("Organisation and scope", None, 3, "ID", "acme"),
        ("Organisation and scope", None, 3, "Kind", "organisation"),
        ("Organisation and scope", None, 3, "Name", "Acme"),
        ("Organisation and scope", None, 4, "ID", "main"),
        ("Organisation and scope", None, 4, "Kind", "AI management system"),
        ("Organisation and scope", None, 4, "Organisation", "acme"),
        ("Organisation and scope", None, 5, "ID", "scope-cs"),
        ("Organisation and scope", None, 5, "Kind", "scope decision"),
        ("Organisation and scope", None, 5, "AIMS", "main"),
        ("Organisation and scope", None, 5, "Scope subject", "CS"),
        ("Organisation and scope", None, 5, "In scope", "yes"),
        ("AI systems", None, 3, "ID", "CS"),
        ("AI systems", None, 3, "Life-cycle stage", "operation and monitoring"),
        ("AI systems", None, 3, "Organisation's roles", "AI provider; AI producer"),
        ("People and roles", None, 3, "ID", "ann"),
        ("People and roles", None, 3, "Kind", "person"),
        ("Risks and treatments", None, 3, "Identifier", "R1"),  # no ID: keyed by its identifier
        ("Risks and treatments", None, 3, "AI system", "CS"),
        ("Risks and treatments", None, 3, "Likelihood", 3),
        ("Risks and treatments", None, 3, "Severity", 5.0),
        ("Risks and treatments", None, 3, "Risk level", "15"),
        ("Risks and treatments", None, 3, "Owner", "ann"),
        ("Risks and treatments", None, 3, "Treatment option", "Accept"),
        ("Risks and treatments", None, 3, "Treatment approval date", "2026-01"),
        ("SoA", "A.6.2.4", None, "Applicable", "Yes"),
        ("SoA", "A.6.2.4", None, "Implementation status", "implemented"),
        ("Evidence", None, 3, "ID", "E1"),
        ("Evidence", None, 3, "Kind", "evidence"),
        ("Evidence", None, 3, "Supports", "A.6.2.4, 9.1"),
        ("Evidence", None, 3, "Produced at", dt.datetime(2026, 3, 5, 9, 30)),
        ("Evidence", None, 3, "Valid until", dt.date(2027, 3, 5)),
        ("Objectives and measurements", None, 3, "ID", "obj"),
        ("Objectives and measurements", None, 3, "Kind", "AI objective"),
        ("Objectives and measurements", None, 3, "Target value", 2.0),
        ("Objectives and measurements", None, 3, "Comparator", "at most"),
    ])  # fmt: skip
    g = read(data, str(base))
    risk, system, treatment, entry = (
        base["risk-r1"],
        base["ai-system-cs"],
        base["treatment-r1"],
        base["soa-a-6-2-4"],
    )
    expected = {
        (base["aims-main"], AIMS.ofOrganisation, base["organisation-acme"]),
        (base["aims-main"], AIMS.hasScopeDecision, base["scope-scope-cs"]),
        (base["scope-scope-cs"], AIMS.scopeSubject, system),
        (base["scope-scope-cs"], AIMS.inScope, Literal(True)),
        (system, AIMS.organisationRole, AIMS.AIProviderRole),
        (system, AIMS.organisationRole, AIMS.AIProducerRole),
        (system, AIMS.lifecycleStage, AIMS.OperationAndMonitoring),
        (system, AIMS.hasRisk, risk),
        (risk, RDF.type, AIMS.Risk),
        (risk, DCTERMS.identifier, Literal("R1")),
        (risk, AIMS.likelihood, Literal(3)),
        (risk, AIMS.severity, Literal(5)),
        (risk, AIMS.riskLevel, Literal(15)),
        (risk, AIMS.owner, base["person-ann"]),
        (risk, AIMS.hasTreatment, treatment),
        (treatment, AIMS.treatmentOption, AIMS.Accept),
        (treatment, AIMS.approvalDate, Literal("2026-01", datatype=XSD.gYearMonth)),
        (entry, AIMS.forControl, ISO["A.6.2.4"]),
        (entry, AIMS.isApplicable, Literal(True)),
        (entry, AIMS.implementationStatus, AIMS.Implemented),
        (base["evidence-e1"], AIMS.supports, ISO["A.6.2.4"]),
        (base["evidence-e1"], AIMS.supports, ISO["clause-9.1"]),
        (base["evidence-e1"], URIRef(PREFIXES["prov"] + "generatedAtTime"),
         Literal("2026-03-05T09:30:00", datatype=XSD.dateTime)),
        (base["evidence-e1"], AIMS.validUntil, Literal(dt.date(2027, 3, 5))),
        (base["objective-obj"], AIMS.targetValue, Literal("2", datatype=XSD.decimal)),
        (base["objective-obj"], AIMS.targetComparator, AIMS.AtMost),
    }  # fmt: skip
    assert expected <= set(g), expected - set(g)
    # nothing else: the nine rows filled, the risk's treatment and the one SoA entry
    assert len(set(g.subjects(RDF.type, None))) == 10


# ---------------------------------------------------------------- over HTTP and the command line


def test_import_over_http_is_all_or_nothing(exported: bytes) -> None:
    """POST /import (editor): the example's workbook into an empty store gives its 1,809 triples
    and the validation counts after it; a workbook with an error is refused with every problem
    named, and the store is unchanged."""
    from service.http import create_app
    from service.http.graphs import XLSX

    store = EmbeddedStore()
    client = create_app({"tokens": "ed=editor,rd=reader"}, store=store).test_client()
    editor = {"Authorization": "Bearer ed", "Content-Type": XLSX}
    assert (
        client.post("/import", data=exported, headers={**editor, "Authorization": "Bearer rd"}).status_code
        == 403
    )
    before = store.count()
    wrong, _ = edited(exported, [("Risks and treatments", "R01", None, "Likelihood", "high")])
    refused = client.post("/import", data=wrong, headers=editor)
    body = refused.get_json(force=True)
    assert (
        refused.status_code == 400
        and len(body["errors"]) == 1
        and "Risks and treatments" in body["errors"][0]
    )
    assert store.count() == before
    done = client.post("/import", query_string={"base": str(EX)}, data=exported, headers=editor)
    assert done.status_code == 201, done.get_data(as_text=True)
    answer = done.get_json()
    # every triple the workbook holds is imported, and validation finds the example's gaps
    assert answer["triples"] == len(read(exported, str(EX))) and answer["validation"]["Violation"] > 0
    back = client.get("/export", query_string={"format": "xlsx"})
    assert back.status_code == 200 and back.mimetype == XLSX
    assert isomorphic(read(back.data, str(EX)), read(exported, str(EX)))


def test_import_on_the_command_line(tmp_path: Path, exported: bytes) -> None:
    """`aims import` loads all or nothing and prints the validation summary; a bad workbook exits
    2 with one line per problem and leaves the store as it was."""
    import subprocess
    import sys

    aims = [sys.executable, "-m", "service.cli"]
    good, bad = tmp_path / "org.xlsx", tmp_path / "bad.xlsx"
    good.write_bytes(exported)
    bad.write_bytes(
        edited(exported, [("Risks and treatments", "R02", None, "AI system", "no-such-system")])[0]
    )
    data = ["--data", str(tmp_path / "store")]
    refused = subprocess.run([*aims, "import", *data, str(bad)], capture_output=True, text=True)
    assert (
        refused.returncode == 2
        and "no-such-system" in refused.stderr
        and "nothing was imported" in refused.stderr
    )
    done = subprocess.run(
        [*aims, "import", *data, str(good), "--as-of", "2026-11-20"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # examples/README.md: 17 planted gaps, one Violation each
    assert (
        f"imported {len(read(exported, str(EX)))} triples" in done.stdout and "17 violations" in done.stdout
    )


# ---------------------------------------------------------------- one description with the forms

# A property shape added to the risk's node shape in a copy of shapes/forms/forms.ttl (aims:reviewDue
# is declared by the ontology, a date). sh:order 11: after the risk's Owner (10), the last of the
# risk's own columns; the treatment's columns follow the row's own.
NEXT_REVIEW = """
aimsf:risk sh:property aimsf:risk.reviewDue .
aimsf:risk.reviewDue a sh:PropertyShape ;
    sh:path aims:reviewDue ;
    sh:name "Next review" ;
    sh:description "The day the risk is to be assessed again." ;
    sh:order 11 ; sh:group aimsf:Details ;
    sh:datatype xsd:date ;
    sh:maxCount 1 .
"""
# Run in a fresh interpreter whose form shapes are the copy: the workbook's sheets are read from the
# form shapes when the package is imported, as the forms are.
WITH_COPY = """
import json, sys
from io import BytesIO
from pathlib import Path
from service import resources
resources.form_shapes_file = lambda: Path(sys.argv[1])
from openpyxl import load_workbook
from service import forms
from service.workbook import read, template
field = forms.forms()["risk"].field("reviewDue")
ws = load_workbook(BytesIO(template()))["Risks and treatments"]
headings = [c.value for c in ws[1]]
wb = load_workbook(BytesIO(template()))
risks = wb["Risks and treatments"]
for heading, value in (("ID", "R9"), ("Name", "Wrong loan terms"), ("Next review", "2027-03-31")):
    risks.cell(3, headings.index(heading) + 1, value)
out = BytesIO()
wb.save(out)
graph = read(out.getvalue(), "https://example.org/aims/")
print(json.dumps({
    "field": [field.name, str(field.path), [str(d) for d in field.datatypes], field.many],
    "headings": headings,
    "properties": [c.value for c in ws[2]],
    "read": sorted([str(s), str(o)] for s, o in graph.subject_objects(forms.URIRef(sys.argv[2]))),
}))
"""


def test_a_property_shape_added_to_the_form_shapes_is_a_form_field_and_a_workbook_column(
    tmp_path: Path,
) -> None:
    """Issue 19 item 2: the workbook's sheets come from the description the forms use, so a new term
    reaches forms and workbook together: one property shape added, and the risk form has the field,
    the template the column (between the risk's own and its treatment's), and reading it gives the
    triple."""
    import json
    import subprocess
    import sys

    from service import resources

    copy = tmp_path / "forms.ttl"
    copy.write_text(resources.form_shapes_file().read_text(encoding="utf-8") + NEXT_REVIEW, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-c", WITH_COPY, str(copy), str(AIMS.reviewDue)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["field"] == ["Next review", str(AIMS.reviewDue), [str(XSD.date)], False]
    at = got["headings"].index("Next review")
    # after the risk's Owner (sh:order 10), before the treatment's first column and IRI
    assert got["headings"][at - 1 : at + 2] == ["Owner", "Next review", "Treatment name"]
    assert got["properties"][at] == "aims:reviewDue"
    # the row's default IRI: the base, its kind and its ID (the "Read me" sheet)
    assert got["read"] == [["https://example.org/aims/risk-r9", "2027-03-31"]]
    # and the shipped description is unchanged: no such column without the copy
    assert "Next review" not in [
        c.value for c in load_workbook(BytesIO(template()))["Risks and treatments"][1]
    ]


def test_each_choice_column_offers_one_concept_scheme_of_the_vocabulary() -> None:
    """A column of choices takes its property shape's sh:in; each such list is exactly the members
    of one concept scheme of the ontology (skos:inScheme), so the forms and the workbook offer what
    the vocabulary defines, no more and no fewer. The AI Act's lists are the catalogue's too: the
    parts of one item (dcterms:isPartOf: Annex III's areas, Annex IV's points) and the operator
    roles its obligations apply to (aims:appliesToRole, DPV's roles). Hand-checked cases: a
    treatment's option is one of aims:TreatmentOptions, labelled accept, avoid, mitigate and
    transfer (ontology/aims-risk.ttl); the AI Act's roles are the five of Art. 3(3)-(7)."""
    from service.workbook import ENUM, SHEETS, vocab

    catalogue = catalogue_graph()
    schemes: dict[frozenset[URIRef], URIRef] = {}
    for scheme in set(catalogue.objects(None, SKOS.inScheme)):
        schemes.setdefault(frozenset(catalogue.subjects(SKOS.inScheme, scheme)), scheme)  # type: ignore[arg-type]
    for whole in set(catalogue.objects(None, DCTERMS.isPartOf)):
        schemes.setdefault(frozenset(catalogue.subjects(DCTERMS.isPartOf, whole)), whole)  # type: ignore[arg-type]
    roles = frozenset(catalogue.objects(None, AIMS.appliesToRole))
    schemes[roles] = AIMS.appliesToRole  # type: ignore[index]
    enums = [(s.title, c) for s in SHEETS for c in s.columns if c.type == ENUM]
    assert len(enums) >= 10
    for title, col in enums:
        offered = frozenset(vocab().options[col.scheme].values())
        assert offered in schemes, (title, col.heading)
    option = next(c for t, c in enums if c.heading == "Treatment option")
    assert schemes[frozenset(vocab().options[option.scheme].values())] == AIMS.TreatmentOptions
    assert sorted(vocab().options[option.scheme]) == ["accept", "avoid", "mitigate", "transfer"]
    act_roles = next(c for t, c in enums if c.heading == "AI Act role")
    assert sorted(vocab().options[act_roles.scheme]) == [
        "authorised representative", "deployer", "distributor", "importer", "provider",
    ]  # fmt: skip
    points = next(c for t, c in enums if c.heading == "Annex IV points")
    assert schemes[frozenset(vocab().options[points.scheme].values())] == URIRef(
        PREFIXES["euaia"] + "annex-IV"
    )


def test_a_column_whose_property_shapes_disagree_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Property shapes of one sheet's kinds with the same sh:name are one column, so they must agree:
    here the stage 1 audit's "Documented by" is moved to sh:order 3 while the other audits keep
    theirs (14 in forms.ttl), and reading the sheets says which sheet and column, not a wrong
    template."""
    from service import forms, resources
    from service.workbook import sheets

    text = resources.form_shapes_file().read_text(encoding="utf-8")
    shape = "aimsf:stage-1-audit.documentedBy a sh:PropertyShape ;"
    start = text.index(shape)
    end = text.index(" .\n", start)
    assert "sh:order 14 ;" in text[start:end]
    copy = tmp_path / "forms.ttl"
    copy.write_text(text[:start] + text[start:end].replace("sh:order 14 ;", "sh:order 3 ;") + text[end:])
    monkeypatch.setattr(resources, "form_shapes_file", lambda: copy)
    forms.shapes_graph.cache_clear()
    forms.forms.cache_clear()
    try:
        with pytest.raises(
            ValueError, match="Audits: the property shapes of the column 'Documented by' differ"
        ):
            sheets.sheets.__wrapped__()  # not the cached table the package was imported with
    finally:
        forms.shapes_graph.cache_clear()
        forms.forms.cache_clear()
