"""The trend across milestones: for each snapshot (oldest first) and today, the readiness of both
stages (percent of applicable requirements met), the Violations of stage 2 by clause group, and
evidence coverage (percent of control implementations with evidence current on the day); and the
geometry of the dashboard's chart of them (drawn on the server as SVG: no script, and it prints).

A snapshot's figures are worked out with the same functions as the dashboard's (reports.summarise
and gap_analysis on the snapshot's read-only view, judged on its day, each stage drawn from its kept
report) and never change: the service keeps them per snapshot (http/dashboard.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from . import queries, reports, validation
from .store.base import Store

SERIES = (  # (key, what the chart calls it)
    ("stage1", "Stage 1 readiness"),
    ("stage2", "Stage 2 readiness"),
    ("coverage", "Evidence coverage"),
)


@dataclass(frozen=True)
class Point:
    name: str  # the snapshot's name, or "now"
    day: dt.date  # the day it is judged on
    stage1: float | None  # percent of the applicable requirements met, stage 1 rules
    stage2: float | None
    coverage: float | None  # percent of control implementations with current evidence
    violations: dict[str, int] = field(default_factory=dict)  # clause group -> stage 2 Violations

    def value(self, key: str) -> float | None:
        return getattr(self, key)  # type: ignore[no-any-return]


def percent_met(readiness: reports.Readiness) -> float | None:
    """The share met of what applies, over every clause group (reports.summarise's rule for one
    group, for all of them)."""
    met = applicable = 0
    for counts in readiness.groups.values():
        met += int(counts[reports.MET])  # type: ignore[call-overload]
        applicable += sum(
            int(counts[k])  # type: ignore[call-overload]
            for k in (reports.MET, reports.PARTLY, reports.NOT_MET, reports.NOT_ASSESSED)
        )
    return round(100.0 * met / applicable, 1) if applicable else None


def violations(readiness: reports.Readiness) -> dict[str, int]:
    """The Violations blocking certification, by the clause group of the requirement each checks
    (each counted once: the groups add up to the dashboard's count of blocking Violations)."""
    found: Counter[str] = Counter()
    for result in readiness.blocking:
        number = str(result.get("requirement_id") or "")
        found[reports.group_of(number, not (number[:1].isdigit() or number.startswith("A.")))] += 1
    return dict(found)


def coverage(store: Store, day: dt.date) -> float | None:
    """Percent of control implementations with at least one evidence item current on `day` (the
    register of implementations counts them by the one definition of current evidence)."""
    rows = queries.run(store, "register-implementations", {"asOf": day.isoformat()})
    covered: dict[str, bool] = {}
    for r in rows:
        iri = str(r["implementation"])
        covered[iri] = covered.get(iri, False) or int(r["validEvidenceItems"]) > 0  # type: ignore[call-overload]
    return round(100.0 * sum(covered.values()) / len(covered), 1) if covered else None


def point(
    name: str, day: dt.date, stage1: reports.Readiness, stage2: reports.Readiness, evidence: float | None
) -> Point:
    return Point(name, day, percent_met(stage1), percent_met(stage2), evidence, violations(stage2))


def figures(store: Store, name: str, day: dt.date, report: validation.Report) -> Point:
    """One state's point (a snapshot's view, judged on its day), each stage drawn from `report`
    (every rule on that day: a snapshot's kept report)."""
    stage1, stage2 = (
        reports.summarise(stage, day, r, reports.gap_analysis(store, day, r))
        for stage in (1, 2)
        for r in (validation.of_stage(report, stage, store),)
    )
    return point(name, day, stage1, stage2, coverage(store, day))


# ------------------------------------------------------------------------------ the chart

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 16, 44  # margins: the axis labels sit in them
BAR_WIDTH, ROW = 160, 18  # the Violations chart: widest bar, height of a group's row


@dataclass(frozen=True)
class Mark:
    series: str
    point: str  # the point's name
    value: float
    x: float
    y: float


@dataclass
class Chart:
    """Where everything goes: readiness and coverage as lines over the points (0-100 %), and the
    Violations as one bar per point for each clause group (longest = the most Violations)."""

    points: list[Point]
    series: tuple[tuple[str, str], ...] = SERIES
    marks: list[Mark] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    most: int = 0

    def y(self, percent: float) -> float:
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - percent / 100.0), 1)

    def line(self, series: str) -> str:
        """The SVG polyline's points for a series (a gap where a value is missing is joined over)."""
        return " ".join(f"{m.x},{m.y}" for m in self.marks if m.series == series)

    def bar(self, count: int) -> float:
        return round(BAR_WIDTH * count / self.most, 1) if self.most else 0.0


def chart(points: list[Point], group_key: object = None) -> Chart:
    """The chart of `points` (oldest first); groups in `group_key`'s order (else by name)."""
    drawn = Chart(points)
    span = WIDTH - LEFT - RIGHT
    step = span / (len(points) - 1) if len(points) > 1 else 0
    drawn.xs = [round(LEFT + (i * step if len(points) > 1 else span / 2), 1) for i in range(len(points))]
    for key, _ in SERIES:
        for x, p in zip(drawn.xs, points, strict=True):
            value = p.value(key)
            if value is not None:
                drawn.marks.append(Mark(key, p.name, value, x, drawn.y(value)))
    groups = {g for p in points for g in p.violations}
    drawn.groups = sorted(groups, key=group_key) if callable(group_key) else sorted(groups)
    drawn.most = max((n for p in points for n in p.violations.values()), default=0)
    return drawn
