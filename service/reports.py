"""Reports an auditor reads: the gap analysis (a status for every leaf clause and Annex A control)
and certification readiness for stage 1 or 2 (counts and percentages per clause group, and the
nonconformities that block certification)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from rdflib import Literal

from . import queries, validation
from .namespaces import AIMS_IRI
from .store.base import Rows, Store

MET, PARTLY, NOT_MET, NOT_APPLICABLE, NOT_ASSESSED = (
    "met",
    "partly met",
    "not met",
    "not applicable",
    "not assessed",
)
STATUSES = (MET, PARTLY, NOT_MET, NOT_APPLICABLE, NOT_ASSESSED)


@dataclass
class RequirementStatus:
    requirement: str
    id: str
    kind: str  # "clause" or "control"
    group: str  # clause 4-10 or Annex A group A.2-A.10
    status: str
    findings: list[dict[str, object]] = field(default_factory=list)  # validation results and audit findings
    resources: dict[str, list[str]] = field(default_factory=dict)  # kind -> IRIs answering the requirement


def _rows(store: Store, name: str, **params: str) -> Rows:
    query = queries.get(name)
    result = store.query(query.text, query.bindings(params))
    assert isinstance(result, Rows)
    return result


def _sort_key(notation: str) -> tuple:  # type: ignore[type-arg]
    """Numeric order for ids like 4.1, 10.2, A.6.2.4."""
    annex = notation.startswith("A.")
    parts = notation[2:].split(".") if annex else notation.split(".")
    return (annex, [int(p) for p in parts])


def gap_analysis(
    store: Store, as_of: dt.date | None = None, report: validation.Report | None = None
) -> list[RequirementStatus]:
    """A status for every leaf clause and Annex A control, with findings and resources behind it."""
    as_of = as_of or dt.date.today()
    report = report or validation.validate(store.rdflib_graph(), as_of=as_of)
    by_requirement: dict[str, list[validation.Result]] = defaultdict(list)
    for r in report.results:
        if r.requirement:
            by_requirement[r.requirement].append(r)

    statuses: dict[str, RequirementStatus] = {}
    for row in _rows(store, "requirement-coverage"):
        iri, notation = str(row["requirement"]), str(row["notation"])
        if iri not in statuses:
            annex = notation.startswith("A.")
            group = ".".join(notation.split(".")[:2]) if annex else notation.split(".")[0]
            statuses[iri] = RequirementStatus(
                iri, notation, "control" if annex else "clause", group, NOT_ASSESSED
            )
        if "resource" in row:
            statuses[iri].resources.setdefault(str(row["kind"]), []).append(str(row["resource"]))

    applicability = {
        str(r["control"]): r.get("applicable") for r in _rows(store, "statement-of-applicability")
    }
    open_ncs = _rows(store, "open-nonconformities", asOf=as_of.isoformat())
    nc_by_requirement: dict[str, list[dict[str, object]]] = defaultdict(list)
    for nc in open_ncs:
        if "requirement" in nc:
            grade = str(nc["grade"])[len(AIMS_IRI) :]
            nc_by_requirement[str(nc["requirement"])].append(
                {
                    "finding": str(nc["nonconformity"]),
                    "type": grade,
                    "overdue": nc.get("overdue") == Literal(True),
                }
            )
    checked = {str(o) for o in validation.shapes_graph().objects(None, validation.AIMS.checksRequirement)}
    complete = _implementations_complete(store)

    for iri, status in statuses.items():
        results = by_requirement.get(iri, [])
        ncs = nc_by_requirement.get(iri, [])
        status.findings = [asdict(r) for r in results] + ncs
        severities = {r.severity for r in results}
        if status.kind == "control" and iri in applicability and applicability[iri] == Literal(False):
            status.status = NOT_APPLICABLE
        elif "Violation" in severities or any(nc["type"] == "MajorNonconformity" for nc in ncs):
            status.status = NOT_MET
        elif status.kind == "control":
            status.status = _control_status(
                status, iri in applicability, complete.get(iri, False), severities, ncs
            )
        elif severities or ncs:
            status.status = PARTLY
        elif iri in checked or status.resources:
            status.status = MET
    return sorted(statuses.values(), key=lambda s: _sort_key(s.id))


def _control_status(
    status: RequirementStatus,
    in_soa: bool,
    complete: bool,
    severities: set[str],
    ncs: list[dict[str, object]],
) -> str:
    """An applicable control: met when implemented throughout with evidence and nothing found."""
    if not in_soa:
        return NOT_ASSESSED
    if not status.resources.get("implementation"):
        return NOT_MET
    if severities or ncs or not complete or not status.resources.get("evidence"):
        return PARTLY
    return MET


def _implementations_complete(store: Store) -> dict[str, bool]:
    """Control IRI -> whether every implementation of it is marked implemented."""
    rows = store.query("""
        PREFIX aims: <https://w3id.org/aims#>
        SELECT ?control (MIN(IF(?status = aims:Implemented, 1, 0)) AS ?complete)
        WHERE { ?implementation aims:implements ?control ; aims:implementationStatus ?status }
        GROUP BY ?control""")
    assert isinstance(rows, Rows)
    return {str(r["control"]): int(r["complete"]) == 1 for r in rows}


@dataclass
class Readiness:
    stage: int
    as_of: dt.date
    groups: dict[str, dict[str, object]]
    blocking: list[dict[str, object]]
    ready: bool

    def to_json(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "as_of": self.as_of.isoformat(),
            "ready": self.ready,
            "groups": self.groups,
            "blocking": self.blocking,
        }


def readiness(store: Store, stage: int, as_of: dt.date | None = None) -> Readiness:
    """Per clause group: counts of each status and the percentage met of what applies; and the
    Violations of this stage, plus open major nonconformities, that block certification."""
    if stage not in (1, 2):
        raise validation.ValidationError(f"stage must be 1 or 2, not {stage!r}")
    as_of = as_of or dt.date.today()
    data = store.rdflib_graph()
    report = validation.validate(data, as_of=as_of, stage=stage)
    statuses = gap_analysis(store, as_of, report)
    groups: dict[str, dict[str, object]] = {}
    for s in statuses:
        counts = groups.setdefault(s.group, {status: 0 for status in STATUSES})
        counts[s.status] = int(counts[s.status]) + 1  # type: ignore[call-overload]
    for counts in groups.values():
        applicable = sum(int(counts[k]) for k in (MET, PARTLY, NOT_MET, NOT_ASSESSED))  # type: ignore[call-overload]
        counts["percent_met"] = round(100.0 * int(counts[MET]) / applicable, 1) if applicable else 100.0  # type: ignore[call-overload]
    blocking: list[dict[str, object]] = [asdict(r) for r in report.results if r.severity == "Violation"]
    for nc in _rows(store, "open-nonconformities", asOf=as_of.isoformat()):
        if str(nc["grade"]).endswith("MajorNonconformity"):
            blocking.append(
                {
                    "focus": str(nc["nonconformity"]),
                    "requirement": str(nc.get("requirement", "")),
                    "requirement_id": str(nc.get("notation", "")),
                    "severity": "Violation",
                    "message": "Open major nonconformity: certification cannot be granted until it is closed.",
                    "stage": stage,
                }
            )
    return Readiness(
        stage, as_of, dict(sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))), blocking, not blocking
    )
