"""Generate a synthetic organisation of N AI systems (about 240 triples each) as Turtle.

Deterministic for a given N. Every 10th system carries planted gaps (an unowned risk, a risk
above the threshold with no treatment, an implementation without evidence, expired evidence), so
validation has real work and real results at every scale.

    python bench/generate.py 1000 > org-1000.ttl
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

PREFIXES = """@prefix ex: <https://bench.example/org/> .
@prefix aims: <https://w3id.org/aims#> .
@prefix iso42001: <https://w3id.org/aims/iso42001#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
CONTROLS = (
    "A.2.2 A.2.3 A.2.4 A.3.2 A.3.3 A.4.2 A.4.3 A.4.4 A.4.5 A.4.6 A.5.2 A.5.3 A.5.4 A.5.5 A.6.1.2 "
    "A.6.1.3 A.6.2.2 A.6.2.3 A.6.2.4 A.6.2.5 A.6.2.6 A.6.2.7 A.6.2.8 A.7.2 A.7.3 A.7.4 A.7.5 A.7.6 "
    "A.8.2 A.8.3 A.8.4 A.8.5 A.9.2 A.9.3 A.9.4 A.10.2 A.10.3 A.10.4"
).split()
RISKS_PER_SYSTEM = 5
IMPLEMENTATIONS_PER_SYSTEM = 3


def d(text: str) -> str:
    return f'"{text}"^^xsd:date'


def organisation() -> Iterator[str]:
    yield PREFIXES
    yield (
        "ex:aims a aims:AIManagementSystem ; aims:usesCriteria ex:criteria ; "
        "aims:documentedBy ex:manual, ex:scope-doc ."
    )
    yield "ex:criteria a aims:RiskCriteria ; aims:acceptanceThreshold 8 ."
    yield 'ex:ceo a aims:Person . ex:ceo-role a aims:TopManagementRole ; aims:responsibility "Leads" .'
    yield "ex:ceo-m a aims:RoleAssignment ; org:member ex:ceo ; org:role ex:ceo-role ."
    yield "ex:ceo-c a aims:CompetenceRecord ; aims:competenceOf ex:ceo ."
    for doc, cls in (
        ("manual", "AIMSManual"),
        ("scope-doc", "ScopeStatement"),
        ("policy", "AIPolicy"),
        ("plan", "RiskTreatmentPlan"),
        ("soa", "StatementOfApplicability"),
    ):
        yield (
            f'ex:{doc} a aims:{cls} ; dcat:version "1.0" ; aims:approvedBy ex:ceo ; '
            f"aims:approvalDate {d('2026-01-10')} ; aims:reviewDue {d('2027-01-10')} ; "
            "aims:communicatedTo ex:staff ."
        )
    for i, control in enumerate(CONTROLS):
        yield (
            f"ex:soa aims:hasEntry ex:soa-{i} . ex:soa-{i} a aims:SoAEntry ; aims:forControl iso42001:{control} ; "
            'aims:isApplicable true ; aims:justification "Treats risks" ; aims:implementationStatus aims:Implemented .'
        )
        yield (
            f"ex:impl-org-{i} a aims:ControlImplementation ; aims:implements iso42001:{control} ; "
            "aims:owner ex:ceo ; aims:implementationStatus aims:Implemented ."
        )
        yield (
            f"ex:ev-org-{i} a aims:Evidence ; aims:supports ex:impl-org-{i} ; prov:wasAttributedTo ex:ceo ; "
            f'prov:generatedAtTime "2026-02-01T00:00:00Z"^^xsd:dateTime ; aims:validUntil {d("2027-02-01")} .'
        )
    yield (
        f"ex:programme a aims:AuditProgramme ; aims:cycleStart {d('2026-01-01')} ; aims:cycleEnd {d('2026-12-31')} ."
    )
    yield (
        "ex:audit a aims:InternalAudit ; aims:inProgramme ex:programme ; aims:auditor ex:ceo ; "
        f'aims:auditCriteria "ISO/IEC 42001" ; aims:performedOn {d("2026-06-01")} ; aims:coversRequirement '
        + ", ".join(f"iso42001:clause-{c}" for c in range(4, 11))
        + " ."
    )
    yield (
        f"ex:review a aims:ManagementReview ; aims:performedOn {d('2026-10-01')} ; "
        "aims:reviewInput ex:audit ; aims:hasDecision ex:decision ."
    )


def system(n: int) -> Iterator[str]:
    s = f"ex:sys-{n}"
    gaps = n % 10 == 0
    yield (
        f'{s} a aims:AISystem ; rdfs:label "System {n}" ; aims:intendedPurpose "Purpose {n}" ; '
        f"aims:lifecycleStage aims:OperationAndMonitoring ; aims:organisationRole aims:AIProducerRole ; "
        f"aims:inAIMS ex:aims ; aims:hasComponent ex:model-{n} ; aims:usesDataSet ex:data-{n} ."
    )
    yield (
        f'ex:model-{n} a aims:AIComponent ; rdfs:label "Model {n}" . ex:data-{n} a aims:DataSet ; '
        f'rdfs:label "Data set {n}" .'
    )
    yield (
        f'ex:card-{n} a aims:Procedure ; rdfs:label "Operating procedure {n}" ; dcat:version "1.{n % 7}" ; '
        f"aims:documentStatus aims:Approved ; aims:owner ex:owner-{n} ; aims:approvedBy ex:ceo ; "
        f"aims:approvalDate {d('2026-02-01')} ; aims:reviewDue {d('2027-02-01')} ; aims:addresses iso42001:A.6.2.6 ."
    )
    yield (
        f"ex:aims aims:hasScopeDecision ex:scope-{n} . ex:scope-{n} a aims:ScopeDecision ; "
        f'aims:scopeSubject {s} ; aims:inScope true ; aims:rationale "Production system" .'
    )
    owner = f"ex:owner-{n}"
    yield (
        f"{owner} a aims:Person . ex:owner-m-{n} a aims:RoleAssignment ; org:member {owner} ; org:role ex:ml-role-{n} . "
        f'ex:ml-role-{n} a aims:Role ; aims:responsibility "Owns system {n}" . '
        f'ex:comp-{n} a aims:TrainingRecord ; aims:competenceOf {owner} ; aims:competenceArea "ML" .'
    )
    yield (
        f'ex:ra-{n} rdfs:label "Risk assessment {n}" ; aims:documentedBy ex:card-{n} . '
        f'ex:ia-{n} rdfs:label "Impact assessment {n}" ; aims:identifiedImpact ex:impact-{n}-0, ex:impact-{n}-1 .'
    )
    yield (
        f"ex:ra-{n} a aims:RiskAssessment ; aims:assesses {s} ; aims:usesCriteria ex:criteria ; "
        f"aims:performedOn {d('2026-03-01')} ."
    )
    yield (
        f"ex:ia-{n} a aims:AISystemImpactAssessment ; aims:assesses {s} ; aims:performedOn {d('2026-03-02')} ; "
        "aims:coversImpactOn aims:Individuals, aims:Groups, aims:Society ."
    )
    for k in range(IMPLEMENTATIONS_PER_SYSTEM):
        impl = f"ex:impl-{n}-{k}"
        control = CONTROLS[(n + k * 7) % len(CONTROLS)]
        yield (f'{impl} rdfs:label "Implementation {n}.{k}" ; aims:documentedBy ex:card-{n} .')
        yield (
            f"{impl} a aims:ControlImplementation ; aims:implements iso42001:{control} ; aims:owner {owner} ; "
            f"aims:implementationStatus aims:Implemented ; aims:appliesTo {s} ."
        )
        if gaps and k == 0:
            continue  # implemented, no evidence
        until = "2026-06-30" if gaps and k == 1 else "2027-06-30"
        yield (
            f'ex:ev-{n}-{k} a aims:Evidence ; rdfs:label "Evidence {n}.{k}" ; aims:supports {impl} ; prov:wasAttributedTo {owner} ; '
            f'prov:generatedAtTime "2026-03-03T00:00:00Z"^^xsd:dateTime ; aims:validUntil {d(until)} .'
        )
    for k in range(RISKS_PER_SYSTEM):
        risk = f"ex:risk-{n}-{k}"
        level = (3, 6, 9, 12, 16)[k]
        owned = "" if gaps and k == 0 else f" ; aims:owner {owner}"
        yield (
            f'{s} aims:hasRisk {risk} . ex:ra-{n} aims:identifiedRisk {risk} . {risk} a aims:Risk ; rdfs:label "Risk {n}.{k}" ; '
            f"aims:hasRiskSource ex:source-{k} ; aims:hasConsequence ex:impact-{n}-{k} ; aims:likelihood {min(level, 5)} ; "
            f"aims:severity {max(1, level // 5)} ; aims:riskLevel {level}{owned} ."
        )
        yield (
            f'ex:impact-{n}-{k} a aims:Impact ; rdfs:label "Impact {n}.{k}" ; aims:affects ex:party-{k % 3} . '
            f'ex:source-{n}-{k} a aims:RiskSource ; rdfs:label "Source {n}.{k}" . {risk} aims:hasRiskSource ex:source-{n}-{k} .'
        )
        if gaps and k == 4:
            continue  # level 16, untreated
        yield (
            f"{risk} aims:hasTreatment ex:treat-{n}-{k} . ex:treat-{n}-{k} a aims:RiskTreatment ; "
            f'rdfs:label "Treatment {n}.{k}" ; aims:treatmentOption aims:Mitigate ; aims:residualRiskLevel 2 ; '
            f"aims:appliesControl ex:impl-{n}-{k % IMPLEMENTATIONS_PER_SYSTEM} ."
        )
    for month in (8, 9, 10):
        yield (
            f'ex:mon-{n}-{month} a aims:MonitoringResult ; rdfs:label "Accuracy {n}/{month}" ; aims:measures {s} ; '
            f'aims:measuredValue 0.9 ; aims:unit "accuracy" ; aims:performedOn {d(f"2026-{month:02d}-28")} .'
        )
    if n % 5 == 0:
        yield (
            f'ex:finding-{n} a aims:MinorNonconformity ; rdfs:label "Finding {n}" ; aims:raisedIn ex:audit ; '
            f"aims:against iso42001:A.6.2.6 ; aims:concerns {s} . ex:ca-{n} a aims:CorrectiveAction ; "
            f'aims:corrects ex:finding-{n} ; aims:rootCause "Cause {n}" ; aims:owner {owner} ; '
            f"aims:dueDate {d('2026-12-15')} ; aims:actionStatus aims:InProgress ."
        )


def generate(systems: int) -> str:
    parts = list(organisation())
    for n in range(systems):
        parts.extend(system(n))
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
