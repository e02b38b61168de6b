"""Reports an auditor reads: the gap analysis (a status for every leaf clause, Annex A control and
own control) and certification readiness for stage 1 or 2 (counts and percentages per clause
group, and the Violations that block certification). Both are verdicts drawn from one validation
report: validation results are the single source of truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from rdflib import Literal

from . import queries, validation
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
    group: str  # clause 4-10, Annex A group A.2-A.10, or "own"
    status: str
    findings: list[dict[str, object]] = field(
        default_factory=list
    )  # the validation results behind the status
    resources: dict[str, list[str]] = field(default_factory=dict)  # kind -> IRIs answering the requirement


def group_of(notation: str, own: bool) -> str:
    """Clause 4-10, Annex A group A.2-A.10, or "own" for organisation-defined controls."""
    if own:
        return "own"
    return ".".join(notation.split(".")[:2]) if notation.startswith("A.") else notation.split(".")[0]


def verdict(results: list[validation.Result], assessed: bool, excluded: bool) -> str:
    """One requirement's status from the validation results that count against it.

    Any Violation: not met (an unjustified exclusion is a Violation, so it is not met). Any
    Warning: partly met. A control the SoA excludes with a justification: not applicable. Otherwise met,
    but only when a rule evaluated it: what no rule looked at is "not assessed", never "met".
    Info results (opportunities for improvement) leave a requirement met."""
    severities = {r.severity for r in results}
    if "Violation" in severities:
        return NOT_MET
    if "Warning" in severities:
        return PARTLY
    if excluded:
        return NOT_APPLICABLE
    return MET if assessed else NOT_ASSESSED


@dataclass(frozen=True)
class Coverage:
    """What a gap analysis takes from the data besides the validation results, the same on every
    day and stage: the controls the SoA excludes, and each requirement with what answers it."""

    excluded: frozenset[str]
    rows: Rows


COVERAGE_QUERIES = ("statement-of-applicability", "requirement-coverage")  # what `coverage` asks


def coverage(store: Store) -> Coverage:
    soa, requirements = COVERAGE_QUERIES
    excluded = {
        str(r["control"])
        for r in queries.run(store, soa)
        if "justification" in r and _false(r.get("applicable"))
    }
    return Coverage(frozenset(excluded), queries.run(store, requirements))


def gap_analysis(
    store: Store,
    as_of: dt.date | None = None,
    report: validation.Report | None = None,
    stage: int | None = None,
    covered: Coverage | None = None,
) -> list[RequirementStatus]:
    """A status for every leaf clause, Annex A control and own control, computed from the
    validation results of the given stage (all rules by default), with the resources behind it
    (`covered`: the store's coverage, asked when not given; the service keeps it per state)."""
    as_of = as_of or dt.date.today()
    report = report or validation.validate(store, as_of=as_of, stage=stage)
    against: dict[str, list[validation.Result]] = defaultdict(list)
    for r in report.results:
        for requirement in r.counts_against():
            against[requirement].append(r)
    covered = covered or coverage(store)
    excluded = covered.excluded
    statuses: dict[str, RequirementStatus] = {}
    for row in covered.rows:
        iri, notation, own = str(row["requirement"]), str(row["notation"]), _true(row.get("own"))
        if iri not in statuses:
            kind = "control" if own or notation.startswith("A.") else "clause"
            results = against.get(iri, [])
            statuses[iri] = RequirementStatus(
                iri,
                notation,
                kind,
                group_of(notation, own),
                verdict(results, iri in report.assessed, iri in excluded),
                [r.as_dict() for r in results],
            )
        if "resource" in row:
            statuses[iri].resources.setdefault(str(row["kind"]), []).append(str(row["resource"]))
    return list(statuses.values())  # the query gives the standard's order


def _true(term: object) -> bool:
    """SPARQL true, also as Virtuoso's 1."""
    return isinstance(term, Literal) and str(term).lower() in ("true", "1")


def _false(term: object) -> bool:
    return isinstance(term, Literal) and str(term).lower() in ("false", "0")


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
    Violations that block certification. Built from the same results as the gap analysis of that
    stage, so the two cannot disagree; stage 2 includes every stage 1 rule."""
    if stage not in validation.STAGES:
        raise validation.ValidationError(f"stage must be 1 or 2, not {stage!r}")
    as_of = as_of or dt.date.today()
    report = validation.validate(store, as_of=as_of, stage=stage)
    return summarise(stage, as_of, report, gap_analysis(store, as_of, report))


def summarise(
    stage: int, as_of: dt.date, report: validation.Report, statuses: list[RequirementStatus]
) -> Readiness:
    """Readiness from a stage's validation report and the gap analysis drawn from it."""
    groups: dict[str, dict[str, object]] = {}
    for s in statuses:
        counts = groups.setdefault(s.group, {status: 0 for status in STATUSES})
        counts[s.status] = int(counts[s.status]) + 1  # type: ignore[call-overload]
    for counts in groups.values():
        applicable = sum(int(counts[k]) for k in (MET, PARTLY, NOT_MET, NOT_ASSESSED))  # type: ignore[call-overload]
        counts["percent_met"] = round(100.0 * int(counts[MET]) / applicable, 1) if applicable else None  # type: ignore[call-overload]
    blocking = [r.as_dict() for r in report.results if r.severity == "Violation"]
    return Readiness(stage, as_of, groups, blocking, not blocking)
