"""The workbook's table: SHEETS says what each sheet holds (its kinds of row, its columns and the
property each becomes); `template`, `read` and `export` all follow it."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

from ..namespaces import PREFIXES

# ---------------------------------------------------------------------------------------------- table

# Column types. KEY, KIND, IRI and PART_IRI are the row's own columns; the others hold values.
KEY, KIND, IRI, PART_IRI = "key", "kind", "iri", "part-iri"
TEXT, INTEGER, DECIMAL, DATE, MONTH, DATETIME, YESNO, ENUM, REF = (
    "text", "integer", "decimal", "date", "month", "datetime", "yesno", "enum", "ref",
)  # fmt: skip
# Reference targets that are not rows: the catalogue's clauses and controls.
REQUIREMENT, CONTROL, ANY = "requirement", "control", "*"


@dataclass(frozen=True)
class Kind:
    """A kind of row: an ID slug (unique in the workbook, used in default IRIs) and the classes a
    row of it gets; shown by the first class's label in the ontology unless `label` is given."""

    slug: str
    classes: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True)
class Col:
    heading: str
    prop: str | dict[str, str] | None = None  # a CURIE, or kind slug -> CURIE; None: shown, not read
    type: str = TEXT
    to: tuple[str, ...] = ()  # REF: the kinds of row it may name (or REQUIREMENT, CONTROL, ANY)
    scheme: str = ""  # ENUM: the concept scheme its values come from
    many: bool = False  # several values, separated by ";"
    inverse: bool = False  # the row is the object: (value, prop, row)
    on: tuple[str, ...] = ()  # the kinds it is used for; () all
    part: bool = False  # a value of the row's part (a risk's treatment), not of the row
    note: str = ""  # what to enter, when the ontology's definition of the property does not say

    def used_for(self, kind: str) -> bool:
        if isinstance(self.prop, dict):
            return kind in self.prop
        return not self.on or kind in self.on

    def predicate(self, kind: str) -> URIRef:
        prop = self.prop[kind] if isinstance(self.prop, dict) else self.prop
        assert prop is not None
        return _expand(prop)

    def curies(self) -> list[str]:
        props = self.prop.values() if isinstance(self.prop, dict) else [self.prop] if self.prop else []
        return list(dict.fromkeys(props))


@dataclass(frozen=True)
class Part:
    """A node each row may have one of, filled from the columns marked `part`."""

    link: str
    kind: Kind
    heading: str  # of its IRI column


@dataclass(frozen=True)
class Sheet:
    title: str
    about: str
    kinds: tuple[Kind, ...]
    columns: tuple[Col, ...]
    part: Part | None = None
    key: str = "ID"  # the column whose text keys the row; rows of other sheets name it (if "ID")

    @property
    def linkable(self) -> bool:
        return self.key == "ID"


def _k(slug: str, *classes: str, label: str = "") -> Kind:
    return Kind(slug, classes, label)


PARTIES = ("party", "customer", "supplier", "certification-body")
PEOPLE = ("person",)
DOCUMENTS = (
    "document", "aims-manual", "scope-statement", "ai-policy", "risk-procedure", "treatment-plan",
    "soa-document", "ia-report", "procedure", "record",
)  # fmt: skip
AUDITS = ("internal-audit", "stage-1-audit", "stage-2-audit", "surveillance-audit")
NAME = Col("Name", "rdfs:label", note="The name or title, as your registers give it.")
IDENTIFIER = Col(
    "Identifier", "dcterms:identifier", note="The identifier your registers use (R01, NC1), if any."
)
DESCRIPTION = Col("Description", "rdfs:comment", note="A longer description.")


def _documented_by(*on: str) -> Col:
    return Col("Documented by", "aims:documentedBy", REF, to=DOCUMENTS, many=True, on=on)


# fmt: off
SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Organisation and scope",
        "The organisation, its AI management system and risk criteria, its sites and units, the "
        "scope decisions that draw the AIMS boundary, and the context issues.",
        (
            _k("organisation", "org:FormalOrganization", "dpv:Organisation", label="organisation"),
            _k("aims", "aims:AIManagementSystem"),
            _k("site", "org:Site", label="site"),
            _k("unit", "org:OrganizationalUnit", label="organisational unit"),
            _k("scope", "aims:ScopeDecision"),
            _k("external-issue", "aims:ExternalIssue"),
            _k("internal-issue", "aims:InternalIssue"),
            _k("risk-criteria", "aims:RiskCriteria"),
            _k("acceptance-authority", "aims:AcceptanceAuthority"),
            _k("matrix-cell", "aims:RiskMatrixCell"),
        ),
        (
            Col("Organisation", {"aims": "aims:ofOrganisation", "unit": "org:unitOf"}, REF,
                to=("organisation", "unit"), note="The organisation an AIMS belongs to, or a unit is part of."),
            Col("Risk criteria", "aims:usesCriteria", REF, to=("risk-criteria",), many=True, on=("aims",)),
            _documented_by("aims"),
            Col("AIMS", {"scope": "aims:hasScopeDecision", "external-issue": "aims:hasContextIssue",
                         "internal-issue": "aims:hasContextIssue"}, REF, to=("aims",), inverse=True,
                note="The AI management system a scope decision or context issue belongs to."),
            Col("Scope subject", "aims:scopeSubject", REF, to=(ANY,), on=("scope",)),
            Col("In scope", "aims:inScope", YESNO, on=("scope",)),
            Col("Rationale", "aims:rationale", on=("scope",)),
            Col("Acceptance threshold", "aims:acceptanceThreshold", INTEGER, on=("risk-criteria",)),
            Col("Approved by", "aims:approvedBy", REF, to=PEOPLE, on=("risk-criteria",)),
            Col("Approval date", "aims:approvalDate", MONTH, on=("risk-criteria",)),
            Col("Likelihood scale (highest)", "aims:likelihoodScaleMax", INTEGER, on=("risk-criteria",),
                note="The highest likelihood on your scale (likelihoods run from 1 to it; 5 if empty)."),
            Col("Severity scale (highest)", "aims:severityScaleMax", INTEGER, on=("risk-criteria",),
                note="The highest severity on your scale (severities run from 1 to it; 5 if empty)."),
            Col("Of risk criteria", {"acceptance-authority": "aims:acceptanceAuthority",
                                     "matrix-cell": "aims:riskMatrixCell"}, REF, to=("risk-criteria",),
                inverse=True, note="The risk criteria an acceptance authority or a risk matrix cell belongs to."),
            Col("Authorised roles", "aims:authorisedRole", REF, to=("role", "top-role"), many=True,
                on=("acceptance-authority",), note="The roles whose holders may accept risks."),
            Col("Highest level it may accept", "aims:maxAcceptableLevel", INTEGER, on=("acceptance-authority",),
                note="The highest risk level these roles may accept; empty for any level."),
            Col("Cell likelihood", "aims:cellLikelihood", INTEGER, on=("matrix-cell",)),
            Col("Cell severity", "aims:cellSeverity", INTEGER, on=("matrix-cell",)),
            Col("Cell level", "aims:cellLevel", INTEGER, on=("matrix-cell",),
                note="The risk level your matrix gives this likelihood and severity."),
        ),
    ),
    Sheet(
        "AI systems",
        "The AI systems the organisation develops, provides or uses.",
        (_k("ai-system", "aims:AISystem"),),
        (
            Col("Intended purpose", "aims:intendedPurpose"),
            Col("Life-cycle stage", "aims:lifecycleStage", ENUM, scheme="aims:LifecycleStages"),
            Col("Organisation's roles", "aims:organisationRole", ENUM, scheme="aims:AIRoles", many=True),
            Col("AIMS", "aims:inAIMS", REF, to=("aims",)),
            Col("Components", "aims:hasComponent", REF, to=("component",), many=True),
            Col("Data sets", "aims:usesDataSet", REF, to=("dataset",), many=True),
            Col("Supplied by", "aims:suppliedBy", REF, to=PARTIES, many=True),
            Col("Integrated into", "aims:integratedInto", REF, to=("product", "ai-system"), many=True),
        ),
    ),
    Sheet(
        "Components and data",
        "The components and data sets of the AI systems, and the products they are built into.",
        (
            _k("component", "aims:AIComponent"),
            _k("dataset", "aims:DataSet"),
            _k("product", "prov:Entity", label="product"),
        ),
        (
            Col("Supplied by", "aims:suppliedBy", REF, to=PARTIES, many=True, on=("component", "dataset")),
            Col("Provenance", "aims:provenance", on=("dataset",)),
            Col("Quality requirement", "aims:qualityRequirement", on=("dataset",)),
            Col("Quality checked on", "aims:qualityCheckedOn", MONTH, on=("dataset",)),
        ),
    ),
    Sheet(
        "Interested parties",
        "Interested parties (customers, suppliers, the certification body) and their needs.",
        (
            _k("party", "aims:InterestedParty"),
            _k("customer", "aims:Customer"),
            _k("supplier", "aims:Supplier"),
            _k("certification-body", "aims:CertificationBody", "org:Organization"),
            _k("need", "aims:Need"),
        ),
        (
            Col("AIMS", "aims:hasInterestedParty", REF, to=("aims",), inverse=True, on=PARTIES,
                note="The AI management system the party is relevant to."),
            Col("Needs", "aims:hasNeed", REF, to=("need",), many=True, on=PARTIES),
            DESCRIPTION,
        ),
    ),
    Sheet(
        "People and roles",
        "People, the roles of the AIMS, and who holds which role (one role assignment per row).",
        (
            _k("person", "aims:Person"),
            _k("role", "aims:Role"),
            _k("top-role", "aims:TopManagementRole"),
            _k("assignment", "aims:RoleAssignment"),
        ),
        (
            Col("Member of", "org:memberOf", REF, to=("organisation", "unit", *PARTIES), many=True,
                on=PEOPLE, note="The organisation a person belongs to, when it is not yours."),
            Col("Responsibility", "aims:responsibility", on=("role", "top-role")),
            Col("Person", "org:member", REF, to=PEOPLE, on=("assignment",), note="Who holds the role."),
            Col("Role", "org:role", REF, to=("role", "top-role"), on=("assignment",), note="The role held."),
            Col("In organisation", "org:organization", REF, to=("organisation", "unit"),
                on=("assignment",), note="The organisation the role is held in."),
        ),
    ),
    Sheet(
        "Risks and treatments",
        "The AI risk register: one risk per row, with its treatment in the columns after it.",
        (_k("risk", "aims:Risk"),),
        (
            Col("AI system", "aims:hasRisk", REF, to=("ai-system",), inverse=True,
                note="The AI system that carries the risk (empty for an organisation-wide risk)."),
            Col("Risk assessment", "aims:identifiedRisk", REF, to=("risk-assessment",), many=True,
                inverse=True, note="The risk assessment that identified the risk."),
            Col("Risk sources", "aims:hasRiskSource", REF, to=("source",), many=True),
            Col("Consequences", "aims:hasConsequence", REF, to=("consequence", "impact"), many=True),
            Col("Likelihood", "aims:likelihood", INTEGER),
            Col("Severity", "aims:severity", INTEGER),
            Col("Risk level", "aims:riskLevel", INTEGER),
            Col("Owner", "aims:owner", REF, to=PEOPLE),
            Col("Treatment option", "aims:treatmentOption", ENUM, scheme="aims:TreatmentOptions", part=True),
            Col("Residual risk level", "aims:residualRiskLevel", INTEGER, part=True),
            Col("Controls applied", "aims:appliesControl", REF, to=("implementation",), many=True, part=True),
            Col("Treatment approved by", "aims:approvedBy", REF, to=PEOPLE, part=True),
            Col("Treatment approval date", "aims:approvalDate", MONTH, part=True),
            Col("Treatment rationale", "aims:rationale", part=True),
        ),
        part=Part("aims:hasTreatment", _k("treatment", "aims:RiskTreatment"), "Treatment IRI"),
    ),
    Sheet(
        "Sources and impacts",
        "What gives rise to risks, and the consequences and impacts (on people) they would have.",
        (
            _k("source", "aims:RiskSource"),
            _k("consequence", "aims:Consequence"),
            _k("impact", "aims:Impact"),
        ),
        (
            Col("Affects", "aims:affects", REF, to=PARTIES, many=True, on=("impact",)),
            Col("Identified in", "aims:identifiedImpact", REF, to=("impact-assessment",), many=True,
                inverse=True, on=("impact",), note="The impact assessments that found the impact."),
        ),
    ),
    Sheet(
        "Assessments and reviews",
        "Risk and impact assessments, the gap analysis, management reviews and their decisions.",
        (
            _k("risk-assessment", "aims:RiskAssessment"),
            _k("impact-assessment", "aims:AISystemImpactAssessment"),
            _k("gap-analysis", "aims:GapAnalysis"),
            _k("review", "aims:ManagementReview"),
            _k("decision", "aims:Decision"),
        ),
        (
            Col("AI system", "aims:assesses", REF, to=("ai-system",), on=("risk-assessment", "impact-assessment")),
            Col("Risk criteria", "aims:usesCriteria", REF, to=("risk-criteria",), many=True,
                on=("risk-assessment",)),
            Col("Performed on", "aims:performedOn", MONTH,
                on=("risk-assessment", "impact-assessment", "gap-analysis", "review")),
            Col("Covers impact on", "aims:coversImpactOn", ENUM, scheme="aims:ImpactScopes", many=True,
                on=("impact-assessment",)),
            Col("Carried out by", "prov:wasAssociatedWith", REF, to=PEOPLE, many=True,
                on=("gap-analysis", "review"), note="The people who carried it out or took part."),
            Col("Review inputs", "aims:reviewInput", REF, to=(ANY,), many=True, on=("review",)),
            Col("Inputs considered", "aims:consideredInput", ENUM, scheme="aims:ReviewInputKinds", many=True,
                on=("review",), note="Each kind of input clause 9.3.2 lists that the review considered."),
            Col("Decisions", "aims:hasDecision", REF, to=("decision",), many=True, on=("review",)),
            _documented_by("risk-assessment", "impact-assessment", "review"),
        ),
    ),
    Sheet(
        "SoA",
        "The Statement of Applicability: one row per Annex A control (listed already) and per own "
        "control (add a row with its ID). A row with only its control filled makes no entry.",
        (_k("soa", "aims:SoAEntry"),),
        (
            Col("Control", "aims:forControl", REF, to=(CONTROL, "own-control")),
            Col("Title", note="The control's title (shown only; not read)."),
            Col("Applicable", "aims:isApplicable", YESNO),
            Col("Justification", "aims:justification"),
            Col("Implementation status", "aims:implementationStatus", ENUM, scheme="aims:ImplementationStatuses"),
            Col("SoA document", "aims:hasEntry", REF, to=("soa-document",), inverse=True,
                note="The Statement of Applicability document (Documents) the entry belongs to."),
        ),
        key="Control",
    ),
    Sheet(
        "Own controls",
        "Controls the organisation defines beyond Annex A; give each an entry on the SoA sheet.",
        (_k("own-control", "aims:OrganisationControl"),),
        (DESCRIPTION,),
    ),
    Sheet(
        "Implementations",
        "How each control is carried out: the measure, its owner, status and the AI systems it covers.",
        (_k("implementation", "aims:ControlImplementation"),),
        (
            Col("Control", "aims:implements", REF, to=(CONTROL, "own-control")),
            Col("Owner", "aims:owner", REF, to=PEOPLE),
            Col("Implementation status", "aims:implementationStatus", ENUM, scheme="aims:ImplementationStatuses"),
            Col("Applies to", "aims:appliesTo", REF, to=("ai-system",), many=True),
        ),
    ),
    Sheet(
        "Evidence",
        "Evidence, including competence and training records, and what it supports.",
        (
            _k("evidence", "aims:Evidence"),
            _k("competence-record", "aims:CompetenceRecord"),
            _k("training-record", "aims:TrainingRecord"),
        ),
        (
            Col("Supports", "aims:supports", REF, to=(ANY, REQUIREMENT), many=True),
            Col("Produced by", "prov:wasAttributedTo", REF, to=(*PEOPLE, *PARTIES),
                note="Who produced the evidence."),
            Col("Produced at", "prov:generatedAtTime", DATETIME, note="When it was produced."),
            Col("Valid until", "aims:validUntil", MONTH,
                note="The last day it can be relied on; a month (YYYY-MM) lasts to the month's end."),
            Col("About", "aims:about", REF, to=("ai-system", "aims"), on=("evidence",),
                note="The AI system it was produced for; the AIMS, or nothing, when it is about the "
                     "whole organisation. Evidence about one system does not show a control works "
                     "for another."),
            Col("Competence of", "aims:competenceOf", REF, to=PEOPLE, on=("competence-record", "training-record")),
            Col("Competence area", "aims:competenceArea", on=("competence-record", "training-record")),
        ),
    ),
    Sheet(
        "Documents",
        "Documented information: policies, procedures, plans and records, with version and approval.",
        (
            _k("document", "aims:Document"),
            _k("aims-manual", "aims:AIMSManual"),
            _k("scope-statement", "aims:ScopeStatement"),
            _k("ai-policy", "aims:AIPolicy"),
            _k("risk-procedure", "aims:RiskAssessmentProcedure"),
            _k("treatment-plan", "aims:RiskTreatmentPlan"),
            _k("soa-document", "aims:StatementOfApplicability"),
            _k("ia-report", "aims:ImpactAssessmentReport"),
            _k("procedure", "aims:Procedure"),
            _k("record", "aims:Record"),
        ),
        (
            Col("Version", "dcat:version", note="The version, as text (1.0, 2026.4)."),
            Col("Status", "aims:documentStatus", ENUM, scheme="aims:DocumentStatuses"),
            Col("Owner", "aims:owner", REF, to=PEOPLE),
            Col("Approved by", "aims:approvedBy", REF, to=PEOPLE),
            Col("Approval date", "aims:approvalDate", MONTH),
            Col("Review due", "aims:reviewDue", DATE),
            Col("Addresses", "aims:addresses", REF, to=(REQUIREMENT,), many=True),
            Col("Supersedes", "aims:supersedes", REF, to=DOCUMENTS, many=True),
            Col("Communicated to", "aims:communicatedTo", REF, to=(*PARTIES, *PEOPLE, "role", "top-role"),
                many=True),
            Col("SHA-256", "aims:checksumSHA256"),
        ),
    ),
    Sheet(
        "Objectives and measurements",
        "AI objectives, the measurements taken against them, and monitoring results of AI systems.",
        (
            _k("objective", "aims:AIObjective"),
            _k("measurement", "aims:Measurement"),
            _k("monitoring-result", "aims:MonitoringResult"),
        ),
        (
            Col("Target value", "aims:targetValue", DECIMAL, on=("objective",)),
            Col("Comparator", "aims:targetComparator", ENUM, scheme="aims:Comparators", on=("objective",)),
            Col("Unit", "aims:unit"),
            Col("Owner", "aims:owner", REF, to=PEOPLE, on=("objective",)),
            Col("Measurement frequency", "aims:measurementFrequency", on=("objective",)),
            Col("Breakdown", "aims:breakdown", on=("objective",)),
            _documented_by("objective"),
            Col("Measures", "aims:measures", REF, to=("objective", "ai-system"),
                on=("measurement", "monitoring-result")),
            Col("Measured value", "aims:measuredValue", DECIMAL, on=("measurement", "monitoring-result")),
            Col("Performed on", "aims:performedOn", MONTH, on=("measurement", "monitoring-result")),
        ),
    ),
    Sheet(
        "Audits",
        "The internal audit programmes and audits, certification audits and certificates.",
        (
            _k("programme", "aims:AuditProgramme"),
            _k("internal-audit", "aims:InternalAudit"),
            _k("stage-1-audit", "aims:Stage1Audit"),
            _k("stage-2-audit", "aims:Stage2Audit"),
            _k("surveillance-audit", "aims:SurveillanceAudit"),
            _k("certificate", "aims:Certificate"),
        ),
        (
            Col("Programme", "aims:inProgramme", REF, to=("programme",), on=("internal-audit",)),
            Col("Cycle start", "aims:cycleStart", DATE, on=("programme",)),
            Col("Cycle end", "aims:cycleEnd", DATE, on=("programme",)),
            Col("Plans to cover", "aims:plansToCover", REF, to=(REQUIREMENT,), many=True, on=("programme",)),
            Col("Performed on", "aims:performedOn", MONTH, on=AUDITS),
            Col("Due date", "aims:dueDate", DATE, on=AUDITS),
            Col("Audit criteria", "aims:auditCriteria", on=AUDITS),
            Col("Auditors", "aims:auditor", REF, to=(*PEOPLE, *PARTIES, "organisation"), many=True, on=AUDITS),
            Col("Auditors independent", "aims:auditorIndependent", YESNO, on=AUDITS),
            Col("Covers", "aims:coversRequirement", REF, to=(REQUIREMENT,), many=True, on=AUDITS),
            Col("Outcome", "aims:auditOutcome", ENUM, scheme="aims:AuditOutcomes", on=AUDITS),
            _documented_by("programme", *AUDITS),
            Col("Certifies", "aims:certifies", REF, to=("aims",), on=("certificate",)),
            Col("Issued by", "aims:issuedBy", REF, to=("certification-body",), on=("certificate",)),
            Col("Granted after", "aims:grantedAfter", REF, to=AUDITS[1:], on=("certificate",)),
            Col("Issued on", "aims:issuedOn", MONTH, on=("certificate",)),
            Col("Valid until", "aims:validUntil", DATE, on=("certificate",)),
            Col("Certificate scope", "aims:certificateScope", on=("certificate",)),
        ),
    ),
    Sheet(
        "Findings",
        "Findings of audits and reviews: nonconformities, observations, opportunities for improvement.",
        (
            _k("major-nc", "aims:MajorNonconformity"),
            _k("minor-nc", "aims:MinorNonconformity"),
            _k("nonconformity", "aims:Nonconformity"),
            _k("observation", "aims:Observation"),
            _k("ofi", "aims:OpportunityForImprovement"),
        ),
        (
            Col("Raised in", "aims:raisedIn", REF, to=("gap-analysis", "review", "incident", *AUDITS)),
            Col("Against", "aims:against", REF, to=(REQUIREMENT,), many=True),
            Col("Concerns", "aims:concerns", REF, to=(ANY,), many=True),
        ),
    ),
    Sheet(
        "Corrective actions",
        "Corrective actions for nonconformities, with root cause, status and proof of effectiveness.",
        (_k("corrective-action", "aims:CorrectiveAction"),),
        (
            Col("Corrects", "aims:corrects", REF, to=("major-nc", "minor-nc", "nonconformity"), many=True),
            Col("For objective", "aims:forObjective", REF, to=("objective",),
                note="The AI objective the action was raised for, when a measurement fell short of its target."),
            Col("Owner", "aims:owner", REF, to=PEOPLE),
            Col("Due date", "aims:dueDate", DATE),
            Col("Root cause", "aims:rootCause"),
            Col("Status", "aims:actionStatus", ENUM, scheme="aims:ActionStatuses"),
            Col("Performed on", "aims:performedOn", MONTH, note="The day the action was completed."),
            Col("Effectiveness evidence", "aims:effectivenessEvidence", REF,
                to=("evidence", "competence-record", "training-record"), many=True),
        ),
    ),
    Sheet(
        "Incidents",
        "AI incidents, the risks they realised, and how they were communicated.",
        (_k("incident", "aims:Incident"), _k("communication", "aims:IncidentCommunication")),
        (
            Col("AI system", "aims:involves", REF, to=("ai-system",), many=True, on=("incident",)),
            Col("Occurred on", "aims:occurredOn", MONTH, on=("incident",)),
            Col("Risks realised", "aims:realisesRisk", REF, to=("risk",), many=True, on=("incident",)),
            Col("Communicates", "aims:communicates", REF, to=("incident",), on=("communication",)),
            Col("Communicated to", "aims:communicatedTo", REF, to=(*PARTIES, *PEOPLE), many=True,
                on=("communication",)),
            Col("Performed on", "aims:performedOn", MONTH, on=("communication",)),
        ),
    ),
)
# fmt: on
FIRST_ROW = 3  # row 1: headings, row 2: the property each column becomes


def columns(sheet: Sheet) -> list[Col]:
    """A sheet's columns in order: ID, Kind (when it has several), Identifier and Name, its own,
    then the IRIs (the SoA keys rows by control and has no ID, kind or name)."""
    head: list[Col] = []
    if sheet.linkable:
        head.append(Col("ID", None, KEY, note="A short key you choose, unique in the workbook; other rows "
                        "name this row by it. Empty: the Identifier is used."))  # fmt: skip
        if len(sheet.kinds) > 1:
            head.append(Col("Kind", None, KIND, note="What the row is."))
        head += [IDENTIFIER, NAME]
    tail = (
        [Col(sheet.part.heading, None, PART_IRI, note="The treatment's IRI (optional).")]
        if sheet.part
        else []
    )
    tail.append(Col("IRI", None, IRI, note="The row's IRI (optional; empty: made from the base and the ID)."))
    return [*head, *sheet.columns, *tail]


def _expand(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(PREFIXES[prefix] + local)


SHEET: dict[str, Sheet] = {s.title: s for s in SHEETS}
KINDS: dict[str, tuple[Sheet, Kind]] = {k.slug: (s, k) for s in SHEETS for k in s.kinds}
assert len(KINDS) == sum(len(s.kinds) for s in SHEETS), "kind slugs must be unique"
