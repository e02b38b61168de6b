"""The spreadsheet route: an XLSX workbook a governance architect fills in, read into RDF in the
vocabulary, and written back from a store.

One table, SHEETS, says what each sheet holds: its kinds of row (classes), its columns and the
property each becomes. `template`, `read` and `export` all follow it, so a column added there is
written, read and documented in the "Read me" sheet alike. Rows link to each other by ID; a
reading is all or nothing, and every problem is named by sheet, row and column.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from io import BytesIO
from typing import Any
from xml.parsers import expat
from zipfile import ZIP_DEFLATED, ZIP_STORED, BadZipFile, ZipFile, ZipInfo

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from .namespaces import AIMS_IRI, PREFIXES
from .store.base import Rows, Store, StoreError, catalogue_graph, check_iri

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

# ---------------------------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocab:
    """What the workbook takes from the shipped ontology and catalogue."""

    labels: dict[URIRef, str]  # of classes and concepts
    options: dict[str, dict[str, URIRef]]  # scheme CURIE -> label -> concept
    definitions: dict[URIRef, str]
    controls: list[tuple[str, str]]  # Annex A in the standard's order (aims:ordinal): number, title
    requirements: dict[str, URIRef]  # clause and control numbers
    numbers: dict[URIRef, str]  # and back


@cache
def vocab() -> Vocab:
    g = catalogue_graph()
    aims = URIRef(AIMS_IRI)
    labels = {s: str(o) for s, o in g.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    options: dict[str, dict[str, URIRef]] = {}
    for col in (c for s in SHEETS for c in s.columns if c.scheme):
        in_scheme = g.subjects(SKOS.inScheme, _expand(col.scheme))
        concepts = sorted((labels[c], c) for c in in_scheme if isinstance(c, URIRef))
        options[col.scheme] = dict(concepts)
        assert len(options[col.scheme]) == len(concepts), f"two concepts of {col.scheme} share a label"
    numbers = {
        r: str(g.value(r, SKOS.notation))
        for kind in ("ReferenceControl", "ClauseRequirement")
        for r in g.subjects(RDF.type, aims + kind)
        if isinstance(r, URIRef)
    }
    ordered = sorted(
        (int(str(g.value(c, aims + "ordinal"))), numbers[c], str(g.value(c, SKOS.prefLabel)))
        for c in g.subjects(RDF.type, aims + "ReferenceControl")
        if isinstance(c, URIRef)
    )
    return Vocab(
        labels=labels,
        options=options,
        definitions={s: str(o) for s, o in g.subject_objects(SKOS.definition) if isinstance(s, URIRef)},
        # the title without its number: "A.2.2 Documented AI policy" -> "Documented AI policy"
        controls=[(n, t.removeprefix(n).strip()) for _, n, t in ordered],
        requirements={n: r for r, n in numbers.items()},
        numbers=numbers,
    )


def kind_label(kind: Kind) -> str:
    return kind.label or vocab().labels[_expand(kind.classes[0])]


def kind_options(sheet: Sheet) -> dict[str, Kind]:
    return {kind_label(k): k for k in sheet.kinds}


def _a(label: str) -> str:
    return ("an " if label[0] in "aeiouAEIOU" else "a ") + label


# ---------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a workbook: where (sheet, row, column heading and letter), the value
    found, and what was expected."""

    sheet: str
    row: int | None
    column: str
    letter: str
    value: Any
    expected: str

    def __str__(self) -> str:
        where = [f"sheet {self.sheet!r}"] if self.sheet else []
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(
                f"column {self.letter} ({self.column})" if self.letter else f"column {self.column!r}"
            )
        value = "" if self.value is None else f" {self.value!r}:"
        return f"{', '.join(where)}:{value} expected {self.expected}"


class WorkbookError(ValueError):
    """A workbook that cannot be read, or a store that cannot be written as one: every problem."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the workbook:\n" + "\n".join(f"- {e}" for e in errors))


# ---------------------------------------------------------------------------------------------- writing

# Text a spreadsheet program runs as a formula when it begins with one of these (OWASP, "CSV
# Injection"): in files meant for people such text is neutralised, in XLSX and CSV alike.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def spreadsheet_cell(value: Any) -> str:
    """A value for a CSV cell meant for people (registers, the SoA, the gap analysis; not SPARQL
    results, which are data): text a spreadsheet would run as a formula gets a leading ' (OWASP's
    advice; spreadsheets show the text without it). A number, or a literal the data types as a
    number, is left as written: -5 stays a number."""
    number = value.value if isinstance(value, Literal) else value
    if isinstance(number, int | float | Decimal) and not isinstance(number, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if formula_like(text) else text


_HEAD = Font(bold=True, color="FFFFFF")
_HEAD_FILL = PatternFill("solid", fgColor="1F4E79")
_PROP = Font(italic=True, size=8, color="808080")


def template() -> bytes:
    """An empty workbook to fill in; the SoA sheet lists every Annex A control."""
    return _workbook({})


def _workbook(rows: dict[str, list[dict[str, Any]]]) -> bytes:
    """The workbook with `rows` (sheet title -> rows of heading -> cell value)."""
    wb = Workbook()
    readme = wb.active
    readme.title = "Read me"
    _write_readme(readme)
    lists = wb.create_sheet("Lists")
    lists.sheet_state = "hidden"  # the drop-downs' values, where list validations point
    formulas: dict[str, str] = {}

    def listed(name: str, values: list[str]) -> str:
        if name not in formulas:
            column = get_column_letter(len(formulas) + 1)
            lists[f"{column}1"] = name
            for i, value in enumerate(values, 2):
                lists[f"{column}{i}"].value = value
                lists[f"{column}{i}"].data_type = "s"
            formulas[name] = f"Lists!${column}$2:${column}${len(values) + 1}"
        return formulas[name]

    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.title)
        cols = columns(sheet)
        data = rows.get(sheet.title) or (_soa_rows({}) if sheet.title == "SoA" else [])
        last = max(1000, FIRST_ROW + len(data) + 500)
        for i, col in enumerate(cols, 1):
            letter = get_column_letter(i)
            cell = ws.cell(1, i, col.heading)
            cell.font, cell.fill = _HEAD, _HEAD_FILL
            cell.comment = Comment(describe(sheet, col), "aims-graph", width=320, height=160)
            ws.cell(2, i, _property_text(col)).font = _PROP
            ws.column_dimensions[letter].width = 14 if col.type in (KIND, YESNO, INTEGER, DECIMAL) else 28
            if col.type in (TEXT, MONTH, DATETIME, REF, KEY, IRI, PART_IRI):
                ws.column_dimensions[letter].number_format = "@"  # so 1.0 and 2026-01 stay as typed
            choices = None
            if col.type == KIND:
                choices = listed(f"{sheet.title}: kind", list(kind_options(sheet)))
            elif col.type == ENUM:
                choices = listed(col.scheme, list(vocab().options[col.scheme]))
            elif col.type == YESNO:
                choices = '"Yes,No"'
            if choices is not None:
                # Excel cannot check a list of several values: there the drop-down only helps
                dv = DataValidation(
                    type="list", formula1=choices, allow_blank=True, showErrorMessage=not col.many
                )
                dv.add(f"{letter}{FIRST_ROW}:{letter}{last}")
                ws.add_data_validation(dv)
        for r, row in enumerate(data, FIRST_ROW):
            for i, col in enumerate(cols, 1):
                value = row.get(col.heading)
                if value is None:
                    continue
                cell = ws.cell(r, i, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text stays text, never a formula whatever it starts with
                    if formula_like(value):  # and stays so when edited: Excel's ' prefix, as a style
                        cell.quotePrefix = True  # (the text itself is unchanged, and reads back as it was)
                elif isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = f"A{FIRST_ROW}"
    wb.move_sheet("Lists", offset=len(wb.sheetnames))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _soa_rows(entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every Annex A control in the standard's order, with its entry's cells where it has one."""
    return [{"Control": n, "Title": t, **entries.get(n, {})} for n, t in vocab().controls]


def _property_text(col: Col) -> str:
    """Row 2: the property a column becomes, as a SPARQL path from the row."""
    if col.prop is None:
        return {KEY: "(row key)", KIND: "rdf:type", IRI: "(row IRI)", PART_IRI: "(treatment IRI)"}.get(
            col.type, "(not read)"
        )
    text = " / ".join(("^" if col.inverse else "") + p for p in col.curies())
    return f"aims:hasTreatment/{text}" if col.part else text


def describe(sheet: Sheet, col: Col) -> str:
    """What to enter in a column: what it means (the ontology's definition) and in what form."""
    meaning = col.note or (vocab().definitions.get(_expand(col.curies()[0]), "") if col.curies() else "")
    text = f"{meaning} {_form(sheet, col)}".strip()
    if col.on or isinstance(col.prop, dict):
        text += " For: " + ", ".join(kind_label(k) for k in sheet.kinds if col.used_for(k.slug)) + "."
    return text


def _form(sheet: Sheet, col: Col) -> str:
    if col.type == ENUM:
        values = ", ".join(vocab().options[col.scheme])
        return f"One of: {values}" + ("; several separated by ;." if col.many else ".")
    if col.type == REF:
        return _expects(col)[0].upper() + _expects(col)[1:] + "."
    return {
        INTEGER: "A whole number.",
        DECIMAL: "A number.",
        DATE: "A date (YYYY-MM-DD).",
        MONTH: "A date (YYYY-MM-DD), or a month (YYYY-MM) when the day is not known.",
        DATETIME: "A date and time (YYYY-MM-DDThh:mm:ssZ), or a date.",
        YESNO: "Yes or No.",
        KIND: "One of: " + ", ".join(kind_options(sheet)) + ".",
    }.get(col.type, "")


def _expects(col: Col) -> str:
    """What a reference column takes, in words."""
    wanted: dict[str, list[str]] = {}
    for target in col.to:
        if target in KINDS:
            sheet, kind = KINDS[target]
            wanted.setdefault(sheet.title, []).append(kind_label(kind))
    parts = []
    if ANY in col.to:
        parts.append("the ID of any row")
    elif wanted:
        where = [
            t if len(ls) == len(SHEET[t].kinds) else f"{t} ({', '.join(ls)})" for t, ls in wanted.items()
        ]
        parts.append("the ID of a row in " + " or ".join(where))
    if REQUIREMENT in col.to:
        parts.append("a clause or Annex A control number (6.1.2, A.6.2.4)")
    if CONTROL in col.to:
        parts.append("an Annex A control number (A.2.2 to A.10.4)")
    return " or ".join(parts) + ("; several separated by ;" if col.many else "")


_README = [
    "How to fill it in",
    "- One row per thing, from row 3. Row 1 holds the headings (hover over one for what to enter); row 2 "
    "the RDF property each column becomes (^ marks an inverse: the row is its object).",
    "- ID: a short key, unique in the whole workbook. Other rows name a row by its ID: a risk's 'AI system' "
    "is the system's ID. Several values in one cell are separated by ;.",
    "- Identifier: the identifier your registers use (R01, NC1), if any; a row with no ID is keyed by it.",
    "- Kind, and the columns with a drop-down, take one of the listed values (from the vocabulary). A column "
    "used only for some kinds says so in its note; leave it empty for the others.",
    "- Dates as dates or YYYY-MM-DD; a month alone as the text YYYY-MM (where the note allows it). "
    "Yes/No columns take Yes or No.",
    "- Clauses and controls by number: 6.1.2, A.6.2.4. Something outside the workbook by its IRI in angle "
    "brackets: <https://example.org/thing>.",
    "- IRI: optional. When empty, a row's IRI is the base it is read with, its kind and its ID "
    "(https://example.org/aims/risk-r01). An exported workbook fills it, so a re-import keeps the IRIs.",
    "- SoA: every Annex A control is listed; fill in applicability, justification, status and the SoA "
    "document. Add one row per own control. A row with only its control makes no entry.",
    "- The workbook is read whole or not at all: every problem is listed with its sheet, row and column.",
]


def _write_readme(ws: Any) -> None:
    ws["A1"] = "aims-graph workbook: an ISO/IEC 42001 AI management system in registers"
    ws["A1"].font = Font(bold=True, size=14)
    for r, text in enumerate(_README, 3):
        ws.cell(r, 1, text).font = Font(bold=r == 3)
    r = len(_README) + 4
    for c, heading in enumerate(("Sheet", "Column", "What to enter", "Property"), 1):
        ws.cell(r, c, heading).font = Font(bold=True)
    for sheet in SHEETS:
        r += 1
        ws.cell(r, 1, sheet.title).font = Font(bold=True)
        ws.cell(r, 3, sheet.about)
        for col in columns(sheet):
            r += 1
            for c, text in enumerate((col.heading, describe(sheet, col), _property_text(col)), 2):
                ws.cell(r, c, text).alignment = Alignment(wrap_text=c == 3, vertical="top")
    for letter, width in zip("ABCD", (26, 24, 90, 40), strict=True):
        ws.column_dimensions[letter].width = width


# ---------------------------------------------------------------------------------------------- reading


@dataclass
class _Row:
    sheet: Sheet
    number: int
    kind: Kind | None  # None: its Kind cell was not understood (already a problem)
    key: str
    node: Node
    part: Node | None
    cells: dict[str, tuple[Any, str]]  # heading -> (value, column letter)


class _Bad(Exception):
    """A value is not what its column takes; the message says what was expected."""


_TOKENS = re.compile(r"<[^>]*>|[^;,\n<]+")
_KEY_CHARS = re.compile(r"[;,<>\n]")
_MONTH = re.compile(r"\d{4}-(\d\d)")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


# What a workbook may hold, checked on its zip before openpyxl reads any of it: openpyxl trusts
# what the parts say (a sheet's size, its last cell) and keeps what it reads in memory. The bench's
# organisation of 1,000 AI systems exports to 16.6 MB of XML in all, its largest sheet 4.3 MB with
# 5,002 rows: these leave three to ten times that, and refuse a bomb (a 13 MB file of a 167 MB
# sheet, one cell at XFD1048576) before anything is unpacked.
MAX_PARTS = 1_000  # files in the zip; the template has about 40
MAX_PART_BYTES = 20 * 1024 * 1024  # one part unpacked, as the zip declares it (zipfile stops there)
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # all parts unpacked
MAX_ROWS = 50_000  # the last row a sheet may name (its claimed dimension is not read)
MAX_COLUMNS = 256  # the last column (IV, the old .xls width); the template has under 40
_CHUNK = 1 << 20
_CELL = re.compile(r"\$?([A-Za-z]+)\$?(\d+)")
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships id"


def read(data: bytes, base: str) -> Graph:
    """The RDF a filled workbook holds, or WorkbookError listing every problem found (and no
    graph). A row's IRI is its IRI cell, else `base` + its kind + its ID."""
    try:
        check_iri(base)
    except StoreError:
        raise WorkbookError([Problem("", None, "", "", base, "an absolute IRI as the base")]) from None
    _check_archive(data)
    try:
        # read-only: rows are streamed, not kept, and nothing a sheet claims is expanded
        wb = _openpyxl(lambda: load_workbook(BytesIO(data), read_only=True, data_only=True))
        try:
            return _read(wb, base)
        finally:
            wb.close()
    except (BadZipFile, OSError) as e:
        raise WorkbookError([Problem("", None, "", "", None, f"an XLSX workbook ({e})")]) from None


def _openpyxl(call: Any) -> Any:
    """`call()` of openpyxl on a checked archive; whatever it raises on a part it cannot make sense
    of (KeyError, TypeError, ValueError... there is no one class) is a WorkbookError."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001 - openpyxl's errors on malformed parts have no common class
        detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise WorkbookError(
            [Problem("", None, "", "", None, f"an XLSX workbook openpyxl can read ({detail})")]
        ) from None


def _check_archive(data: bytes) -> None:
    """Refuse, before openpyxl reads it, a workbook it could not read safely or at all: too many
    or too large parts, a compression method other than stored or deflate (what spreadsheet
    programs write), encryption, a corrupt or truncated stream, XML that is not well formed or has
    a DTD (entities could expand without bound, as for RDF/XML), a sheet naming a row or column
    beyond MAX_ROWS or MAX_COLUMNS. WorkbookError names the part, or the sheet."""

    def refuse(found: str | None, expected: str, sheet: str = "") -> None:
        raise WorkbookError([Problem(sheet, None, "", "", found, expected)])

    if data.count(b"PK\x01\x02") > MAX_PARTS:  # central directory entries, counted before zipfile lists them
        refuse(f"more than {MAX_PARTS:,} parts", f"at most {MAX_PARTS:,} parts")
    try:
        with ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
            for m in members:
                if m.compress_type not in (ZIP_STORED, ZIP_DEFLATED):
                    refuse(f"{m.filename}: compression method {m.compress_type}", "stored or deflated parts")
                if m.flag_bits & 0x1:
                    refuse(f"{m.filename}: encrypted", "parts that are not encrypted")
                if m.file_size > MAX_PART_BYTES:
                    refuse(
                        f"{m.filename}: {m.file_size:,} bytes unpacked",
                        f"at most {MAX_PART_BYTES:,} bytes in one part",
                    )
            total = sum(m.file_size for m in members)
            if total > MAX_UNPACKED_BYTES:
                refuse(f"{total:,} bytes unpacked", f"at most {MAX_UNPACKED_BYTES:,} bytes in all parts")
            sheets: dict[str, str] = {}  # relationship id -> sheet title, from the workbook part
            targets: dict[str, dict[str, str]] = {}  # rels part -> relationship id -> part
            beyond: dict[str, tuple[str, str]] = {}  # sheet part -> what it names beyond the limits
            for m in members:
                if not m.filename.lower().endswith(".vml"):  # openpyxl never parses VML, which may be loose
                    _check_part(archive, m, sheets, targets, beyond)
    except WorkbookError:
        raise
    except (BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError, zlib.error) as e:
        refuse(None, f"an XLSX workbook ({e or type(e).__name__})")
    if beyond:
        titles = {
            part: sheets[rid] for rels in targets.values() for rid, part in rels.items() if rid in sheets
        }
        part, (found, expected) = next(iter(beyond.items()))
        refuse(found, expected, titles.get(part, part))


def _check_part(
    archive: ZipFile, member: ZipInfo, sheets: dict[str, str], targets: dict[str, dict[str, str]],
    beyond: dict[str, tuple[str, str]],
) -> None:  # fmt: skip
    """One part of the zip read through expat, unpacked a chunk at a time (so a corrupt stream
    and a wrong checksum are found here too); what the workbook and rels parts say is gathered."""
    name = member.filename
    folder, _, file = name.rpartition("/")
    owner = f"{folder.removesuffix('_rels').rstrip('/')}/{file.removesuffix('.rels')}".lstrip("/")
    parser = expat.ParserCreate(namespace_separator=" ")
    state: dict[str, Any] = {"root": "", "row": 0, "column": 0, "stop": False}

    def dtd(*_: Any) -> None:
        raise WorkbookError([Problem("", None, "", "", f"{name}: a DTD (<!DOCTYPE>) or entity declaration",
                                     "XML without a DTD: entities could expand without bound")])  # fmt: skip

    def too_far(row: int, column: int, what: str) -> None:
        if row > MAX_ROWS or column > MAX_COLUMNS:
            last = get_column_letter(MAX_COLUMNS)
            beyond.setdefault(
                name, (what, f"nothing beyond row {MAX_ROWS:,} or column {last} ({last}{MAX_ROWS})")
            )
            state["stop"] = True

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(" ")[2]
        if not state["root"]:
            state["root"] = local
        root = state["root"]
        if root == "workbook" and local == "sheet" and _RELS in attrs:
            sheets[attrs[_RELS]] = attrs.get("name", "")
        elif root == "Relationships" and local == "Relationship" and "Id" in attrs and "Target" in attrs:
            target = attrs["Target"]
            base = owner.rpartition("/")[0]
            part = target.lstrip("/") if target.startswith("/") else f"{base}/{target}".lstrip("/")
            targets.setdefault(name, {})[attrs["Id"]] = _normal(part)
        elif root != "worksheet":
            return
        elif local == "mergeCell":  # openpyxl makes a cell for each cell merged (the dimension it ignores)
            for ref in attrs.get("ref", "").split(":"):
                if cell := _CELL.fullmatch(ref):
                    too_far(int(cell[2]), _column(cell[1]), f"cells merged over {attrs['ref']}")
        elif local == "row":
            state["row"] = int(attrs["r"]) if attrs.get("r", "").isdigit() else state["row"] + 1
            state["column"] = 0
            too_far(state["row"], 0, f"row {state['row']:,}")
        elif local == "c":
            cell = _CELL.fullmatch(attrs.get("r", ""))
            state["column"] = _column(cell[1]) if cell else state["column"] + 1
            too_far(
                int(cell[2]) if cell else state["row"],
                state["column"],
                f"a cell at {attrs.get('r') or 'column ' + str(state['column'])}",
            )

    parser.StartDoctypeDeclHandler = dtd
    parser.EntityDeclHandler = dtd
    parser.StartElementHandler = start
    try:
        with archive.open(member) as stream:
            chunk = stream.read(_CHUNK)
            # what is not XML (an image, printer settings) is only unpacked, which checks its stream
            utf16 = chunk.startswith((b"\xff\xfe", b"\xfe\xff"))
            xml = utf16 or chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
            while chunk and not state["stop"]:
                if xml:
                    parser.Parse(chunk, False)
                chunk = stream.read(_CHUNK)
            if xml and not state["stop"]:
                parser.Parse(b"", True)
    except expat.ExpatError as e:
        raise WorkbookError([Problem("", None, "", "", f"{name}, line {e.lineno}", f"well-formed XML ({expat.ErrorString(e.code)})")]) from None  # fmt: skip


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _normal(part: str) -> str:
    """A part's name with ./ and ../ resolved, as the zip lists it."""
    out: list[str] = []
    for piece in part.split("/"):
        if piece == "..":
            out = out[:-1]
        elif piece not in ("", "."):
            out.append(piece)
    return "/".join(out)


def _read(wb: Any, base: str) -> Graph:
    problems: list[Problem] = []
    links: dict[str, _Row] = {}  # rows other rows can name, by ID
    soa: dict[str, _Row] = {}  # SoA rows, by control
    nodes: dict[Node, _Row] = {}
    kept: list[_Row] = []
    for row in _rows(wb, base, problems):
        keyed = links if row.sheet.linkable else soa
        value, letter = row.cells[row.sheet.key]
        if row.key in keyed:
            first = keyed[row.key]
            problems.append(Problem(row.sheet.title, row.number, row.sheet.key, letter, value or row.key,
                                    f"a key no other row has (row {first.number} of {first.sheet.title} has it)"))  # fmt: skip
            continue  # the first row keeps the key, so references to it still resolve
        keyed[row.key] = row
        for node, heading in (
            (row.node, "IRI"),
            (row.part, row.sheet.part.heading if row.sheet.part else ""),
        ):
            first = nodes.setdefault(node, row) if node is not None else row
            if first is not row:
                problems.append(Problem(row.sheet.title, row.number, heading, row.cells[heading][1], str(node),
                                        f"an IRI no other row has (row {first.number} of {first.sheet.title} has it)"))  # fmt: skip
        kept.append(row)
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    for row in kept:
        _triples(row, links, graph, problems)
    if problems:
        order = {title: i for i, title in enumerate(SHEET)}  # as the workbook reads: by sheet, then row
        problems.sort(key=lambda p: (order.get(p.sheet, -1), p.row or 0, len(p.letter), p.letter))
        raise WorkbookError(problems)
    return graph


def _rows(wb: Any, base: str, problems: list[Problem]) -> Iterator[_Row]:
    """Every filled row of every sheet with its kind, key and IRIs; its cells not yet read."""
    for sheet in SHEETS:
        if sheet.title not in wb.sheetnames:
            problems.append(Problem(sheet.title, None, "", "", None, "a sheet with this name"))
            continue
        ws = wb[sheet.title]
        ws.reset_dimensions()  # the rows the sheet holds, not the range it claims
        head = next(_values(ws, 1, MAX_COLUMNS), ())
        found = {_text(v).lower(): i for i, v in enumerate(head, 1) if v is not None}
        place = {col.heading: found.get(col.heading.lower()) for col in columns(sheet)}
        for heading in (h for h, i in place.items() if i is None):
            problems.append(Problem(sheet.title, 1, heading, "", None, f"a column headed {heading!r}"))
        if any(place[h] is None for h in (sheet.key, "Kind") if h in place):
            continue  # rows cannot be told apart; without another column they still can (for their links)
        last = max((i for i in place.values() if i), default=1)  # only the columns read are unpacked
        for number, values in enumerate(_values(ws, FIRST_ROW, last), FIRST_ROW):
            cells = {
                h: (
                    _clean(values[i - 1]) if i and i <= len(values) else None,
                    get_column_letter(i) if i else "",
                )
                for h, i in place.items()
            }
            filled = {h for h, (v, _) in cells.items() if v is not None}
            if not filled or (not sheet.linkable and filled <= {sheet.key, "Title"}):
                continue  # an empty row, or an SoA row with only its control
            row = _row(sheet, number, cells, base, problems)
            if row is not None:
                yield row


def _values(ws: Any, first: int, last_column: int) -> Iterator[tuple[Any, ...]]:
    """A sheet's rows from `first` on as values, columns A to `last_column`, read by openpyxl."""
    rows = ws.iter_rows(min_row=first, max_col=last_column, values_only=True)
    while (values := _openpyxl(lambda: next(rows, None))) is not None:
        yield values


def _row(
    sheet: Sheet, number: int, cells: dict[str, tuple[Any, str]], base: str, problems: list[Problem]
) -> _Row | None:
    def problem(heading: str, expected: str) -> None:
        problems.append(Problem(sheet.title, number, heading, cells[heading][1], cells[heading][0], expected))

    kind: Kind | None = sheet.kinds[0]
    if len(sheet.kinds) > 1:
        value = cells["Kind"][0]
        kind = {label.lower(): k for label, k in kind_options(sheet).items()}.get(_text(value).lower())
        if kind is None:
            problem("Kind", "one of: " + ", ".join(kind_options(sheet)))
    raw = (
        cells[sheet.key][0]
        if cells[sheet.key][0] is not None or not sheet.linkable
        else cells["Identifier"][0]
    )
    if raw is None:
        problem(sheet.key, "an ID for the row" if sheet.linkable else "a control number or own control ID")
        return None
    key = _text(raw)
    if sheet.linkable and _KEY_CHARS.search(key):  # an SoA row may name its control by <IRI>
        problem(sheet.key, "a key without ; , < > or line breaks")
        return None
    node = _node(
        cells["IRI"][0], f"{base}{kind.slug if kind else 'row'}-{_slug(key)}", lambda e: problem("IRI", e)
    )
    part = None
    if sheet.part is not None:
        heading = sheet.part.heading
        if cells[heading][0] is not None or any(
            cells[c.heading][0] is not None for c in sheet.columns if c.part
        ):
            default = f"{base}{sheet.part.kind.slug}-{_slug(key)}"
            part = _node(cells[heading][0], default, lambda e: problem(heading, e))
    return _Row(sheet, number, kind, key, node, part, cells)


def _node(value: Any, default: str, problem: Any) -> Node:
    """The IRI in an IRI cell, or the default; "_:x" is a blank node (so is an IRI in error)."""
    if value is None:
        return URIRef(default)  # made of the checked base and a slug: an IRI
    text = _text(value)
    if text.startswith("_:"):
        return BNode(text[2:])
    try:
        return check_iri(text.removeprefix("<").removesuffix(">"))
    except StoreError:
        problem("an absolute IRI (https://...), or empty")
        return BNode()


def _triples(row: _Row, links: dict[str, _Row], graph: Graph, problems: list[Problem]) -> None:
    sheet, kind = row.sheet, row.kind
    if kind is None:
        return  # what the row is was not understood: its cells cannot be judged
    for cls in kind.classes:
        graph.add((row.node, RDF.type, _expand(cls)))
    if row.part is not None and sheet.part is not None:
        graph.add((row.node, _expand(sheet.part.link), row.part))
        graph.add((row.part, RDF.type, _expand(sheet.part.kind.classes[0])))
    for col in (c for c in columns(sheet) if c.prop is not None):
        value, letter = row.cells[col.heading]
        if value is None:
            continue
        if not col.used_for(kind.slug):
            used = ", ".join(kind_label(k) for k in sheet.kinds if col.used_for(k.slug))
            problems.append(Problem(sheet.title, row.number, col.heading, letter, value,
                                    f"nothing in this column for {_a(kind_label(kind))} (it is for: {used})"))  # fmt: skip
            continue
        try:
            terms = _terms(col, value, links)
        except _Bad as e:
            problems.append(Problem(sheet.title, row.number, col.heading, letter, value, str(e)))
            continue
        subject = row.part if col.part else row.node
        for term in terms:
            triple = (
                (term, col.predicate(kind.slug), subject)
                if col.inverse
                else (subject, col.predicate(kind.slug), term)
            )
            graph.add(triple)  # type: ignore[arg-type]


def _terms(col: Col, value: Any, links: dict[str, _Row]) -> list[Node]:
    """The RDF terms a cell holds, or _Bad saying what the column takes."""
    if col.type not in (ENUM, REF):
        return [_literal(col.type, value)]
    tokens = [t.strip() for t in _TOKENS.findall(_text(value)) if t.strip()]
    if len(tokens) > 1 and not col.many:
        raise _Bad("one value only")
    found, bad = [], []
    for token in tokens:
        try:
            found.append(_reference(col, token, links))
        except _Bad as e:
            bad.append(str(e))
    if bad:
        raise _Bad("; ".join(bad))
    return found


def _reference(col: Col, token: str, links: dict[str, _Row]) -> Node:
    if token.startswith("<"):
        try:
            return check_iri(token.strip("<>"))
        except StoreError:
            raise _Bad(f"an absolute IRI between < and > (not {token})") from None
    v = vocab()
    if col.type == ENUM:
        options = {label.lower(): c for label, c in v.options[col.scheme].items()}
        if token.lower() not in options:
            raise _Bad("one of: " + ", ".join(v.options[col.scheme]))
        return options[token.lower()]
    row = links.get(token)
    if row is not None:
        if ANY in col.to or row.kind is None or row.kind.slug in col.to:
            return row.node
        raise _Bad(
            f"{_expects(col)} ({token!r} is {_a(kind_label(row.kind))}, row {row.number} of {row.sheet.title})"
        )
    found = v.requirements.get(token)
    if found is not None and (REQUIREMENT in col.to or (CONTROL in col.to and token.startswith("A."))):
        return found
    catalogue = REQUIREMENT in col.to or CONTROL in col.to
    raise _Bad(
        f"{_expects(col)} (no row has the ID {token!r}"
        + (", and no clause or control has this number" if catalogue else "")
        + ")"
    )


def _literal(kind: str, value: Any) -> Literal:
    text = _text(value)
    if kind == TEXT:
        return Literal(text)
    if kind == YESNO:
        yes = (
            value
            if isinstance(value, bool)
            else {"yes": True, "no": False, "true": True, "false": False}.get(text.lower())
        )
        if yes is None:
            raise _Bad("Yes or No")
        return Literal(yes)
    if kind == INTEGER:
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
            raise _Bad("a whole number")
        return Literal(int(text))
    if kind == DECIMAL:
        try:
            number = Decimal(repr(value) if isinstance(value, float) else text)
        except InvalidOperation:
            number = Decimal("NaN")
        if isinstance(value, bool) or not number.is_finite():
            raise _Bad("a number")
        return Literal(_canonical(number), datatype=XSD.decimal)
    if kind == DATETIME:
        if isinstance(value, dt.datetime):
            return Literal(value.strftime("%Y-%m-%dT%H:%M:%S"), datatype=XSD.dateTime)
        if _DATETIME.fullmatch(text) and _parses(dt.datetime.fromisoformat, text[:19]):
            return Literal(text, datatype=XSD.dateTime)  # as written: its zone and fraction kept
        if len(text) == 10 and _parses(dt.date.fromisoformat, text):
            return Literal(f"{text}T00:00:00", datatype=XSD.dateTime)
        raise _Bad("a date and time (YYYY-MM-DDThh:mm:ssZ) or a date (YYYY-MM-DD)")
    # DATE, MONTH: a spreadsheet date comes as a datetime at midnight
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return Literal(value.date())
    if len(text) == 10 and _parses(dt.date.fromisoformat, text):
        return Literal(dt.date.fromisoformat(text))
    month = _MONTH.fullmatch(text)
    if kind == MONTH and month and 1 <= int(month.group(1)) <= 12:
        return Literal(text, datatype=XSD.gYearMonth)
    raise _Bad("a date (YYYY-MM-DD)" + (" or a month (YYYY-MM)" if kind == MONTH else ""))


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _canonical(number: Decimal) -> str:
    """A decimal written as the store writes it (2, 0.81): a spreadsheet keeps no trailing zeros."""
    whole, _, fraction = format(number + 0, "f").partition(".")  # + 0: -0 is 0
    return f"{whole}.{fraction.rstrip('0')}".rstrip(".")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _text(value: Any) -> str:
    """A cell's value as text (2026 typed into a text column is "2026", not "2026.0")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "row"


# ---------------------------------------------------------------------------------------------- export

_OUT = "SELECT ?s ?p ?o WHERE { ?s a ?class ; ?p ?o }"
_IN = "SELECT ?s ?p ?o WHERE { ?s a ?class . ?o ?p ?s }"
_PART = "SELECT ?s ?part ?p ?o WHERE { ?s a ?class ; ?link ?part . ?part a ?partClass ; ?p ?o }"
Facts = dict[Node, dict[URIRef, list[Node]]]  # resource -> property -> values


def export(store: Store) -> bytes:
    """The workbook of the organisation in `store`, every row's IRI filled so that reading it back
    gives the same IRIs. WorkbookError when a value does not fit its column (two where it takes
    one, a blank node where only a row or an IRI can be named)."""
    owner: dict[Node, tuple[Sheet, Kind]] = {}  # each resource is a row of its first kind in SHEETS
    out: Facts = {}
    back: Facts = {}
    parts: dict[Node, Facts] = {}  # row -> its part nodes -> their facts
    for sheet in SHEETS:
        for kind in sheet.kinds:
            bindings = {"class": _expand(kind.classes[0])}
            for s in _select(store, _OUT, bindings, out):
                owner.setdefault(s, (sheet, kind))
            if any(c.inverse for c in sheet.columns):
                _select(store, _IN, bindings, back)
            if sheet.part is not None:
                link, part = _expand(sheet.part.link), _expand(sheet.part.kind.classes[0])
                rows = store.query(_PART, {**bindings, "link": link, "partClass": part})
                assert isinstance(rows, Rows)
                for r in rows:
                    parts.setdefault(r["s"], {}).setdefault(r["part"], {}).setdefault(r["p"], []).append(
                        r["o"]
                    )  # type: ignore[arg-type]
    keys = _keys(owner, out)
    problems: list[Problem] = []
    sheets: dict[str, list[dict[str, Any]]] = {s.title: [] for s in SHEETS}
    soa: dict[str, dict[str, Any]] = {}
    for node, (sheet, kind) in owner.items():
        cells: dict[str, Any] = {"ID": keys[node], "Kind": kind_label(kind), "IRI": _iri_text(node)}
        part_facts: dict[URIRef, list[Node]] = {}
        if sheet.part is not None and node in parts:
            (part_node, part_facts), *more = parts[node].items()
            cells[sheet.part.heading] = _iri_text(part_node)
            if more:
                problems.append(
                    Problem(sheet.title, None, sheet.part.heading, "", _iri_text(node), "one treatment")
                )
        for col in (c for c in columns(sheet) if c.prop is not None and c.used_for(kind.slug)):
            facts = part_facts if col.part else (back if col.inverse else out).get(node, {})
            terms = list(dict.fromkeys(facts.get(col.predicate(kind.slug), [])))
            try:
                cells[col.heading] = _cell(col, terms, owner, keys) if terms else None
            except _Bad as e:
                problems.append(Problem(sheet.title, None, col.heading, "", _iri_text(node), str(e)))
        if sheet.linkable:
            sheets[sheet.title].append(cells)
        elif cells.get("Control") in dict(vocab().controls) and cells["Control"] not in soa:
            soa[cells["Control"]] = cells
        else:  # own controls' entries, after Annex A, titled by their label (shown, not read)
            control = out.get(node, {}).get(_expand("aims:forControl"), [None])[0]
            cells["Title"] = next(iter(out.get(control, {}).get(RDFS.label, [])), None)  # type: ignore[arg-type]
            sheets[sheet.title].append(cells)
    if problems:
        raise WorkbookError(problems)
    for title, sheet_rows in sheets.items():
        order = {kind_label(k): i for i, k in enumerate(SHEET[title].kinds)}
        sheet_rows.sort(key=lambda c: (order[c["Kind"]], _natural(c.get("Control") or c["ID"])))
    sheets["SoA"] = _soa_rows(soa) + sheets["SoA"]
    return _workbook(sheets)


def _select(store: Store, query: str, bindings: dict[str, URIRef], into: Facts) -> set[Node]:
    """Run a query of ?s ?p ?o (the classes bound as terms); its facts added to `into`."""
    rows = store.query(query, bindings)  # type: ignore[arg-type]
    assert isinstance(rows, Rows)
    for r in rows:
        into.setdefault(r["s"], {}).setdefault(r["p"], []).append(r["o"])  # type: ignore[arg-type]
    return {r["s"] for r in rows}


def _keys(owner: dict[Node, tuple[Sheet, Kind]], out: Facts) -> dict[Node, str]:
    """A readable key per row: its identifier, else the end of its IRI, else its kind and a number;
    never a clause or control number, which a reference would take for the catalogue's."""
    taken = set(vocab().requirements)
    identifier = _expand("dcterms:identifier")
    keys: dict[Node, str] = {}
    for node, (sheet, kind) in sorted(owner.items(), key=lambda item: str(item[0])):
        ids = out.get(node, {}).get(identifier, [])
        candidates = [str(ids[0])] if len(ids) == 1 and sheet.linkable else []
        if isinstance(node, URIRef):
            candidates.append(re.split(r"[/#]", str(node).rstrip("/#"))[-1])
        key = next(
            (c for c in candidates if c and c == c.strip() and not _KEY_CHARS.search(c) and c not in taken),
            "",
        )
        n = 0
        while not key or key in taken:
            n += 1
            key = f"{kind.slug}-{n}"
        taken.add(key)
        keys[node] = key
    return keys


def _cell(col: Col, terms: list[Node], owner: dict[Node, tuple[Sheet, Kind]], keys: dict[Node, str]) -> Any:
    """A column's values as the cell `read` takes back."""
    if len(terms) > 1 and not col.many:
        raise _Bad("one value (there are " + ", ".join(_iri_text(t) for t in terms) + ")")
    v = vocab()
    if col.type in (REF, ENUM):
        texts = []
        for term in terms:
            row = owner.get(term)
            if col.type == ENUM and term in v.options[col.scheme].values():
                texts.append(v.labels[term])  # type: ignore[index]
            elif col.type == REF and row is not None and (ANY in col.to or row[1].slug in col.to):
                texts.append(keys[term])
            elif col.type == REF and term in v.numbers and (REQUIREMENT in col.to or CONTROL in col.to):
                texts.append(v.numbers[term])  # type: ignore[index]
            elif isinstance(term, URIRef):
                texts.append(f"<{term}>")
            else:
                raise _Bad(f"a row or an IRI (a blank node or literal, {term.n3()}, is named)")
        return "; ".join(sorted(texts, key=_natural))
    term = terms[0]
    value = term.toPython() if isinstance(term, Literal) else None
    if col.type == YESNO and isinstance(value, bool):
        return "Yes" if value else "No"
    if col.type == INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return value
    if col.type == DECIMAL and isinstance(value, Decimal):
        return float(value)
    if col.type in (DATE, MONTH) and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return str(term)  # text, a month, a date and time: as written


def _iri_text(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _natural(text: str) -> list[tuple[int, int, str]]:
    """A sort key that puts R2 before R10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", text)]
