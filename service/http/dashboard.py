"""The dashboard: a page of the figures that matter on a day, worked out once per state of the store
(pages.warm works it out ahead after a write)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import Response, g
from rdflib import URIRef

from .. import browse, snapshots, trend
from ..store.base import Store
from . import pages
from .api import OVER_BUDGET, AsOf, operation
from .pages import (
    _day,
    _group_key,
    _int,
    _page,
    _recent_days,
    _threshold,
    as_of,
    bp,
    cached,
    labels,
    query_rows,
)
from .state import current_snapshot, get_store

LISTED = 10  # items per list on the dashboard; the rest are counted and linked


@bp.route("/")
@operation(
    "get",
    "The dashboard (a page)",
    "pages",
    params=AsOf,
    media=("text/html",),
    others=OVER_BUDGET,
    role="reader",
)
def dashboard() -> Response:
    day = as_of()
    if day not in _recent_days and current_snapshot() is None:  # the warm-up works out today's data
        _recent_days[:] = [*_recent_days[-2:], day]
    figures = cached(lambda: _dashboard(get_store(), day), "dashboard", day)
    if figures is None:
        return _page("empty.html")
    g.names = figures["names"]
    shown = {k: v for k, v in figures.items() if k != "names"}
    return _page("dashboard.html", **shown, trend=_trend(day, figures["stages"]))


def _trend(day: dt.date, stages: dict[int, Any]) -> trend.Chart | None:
    """The trend across the snapshots (oldest first) and today, on today's dashboard once a
    snapshot exists (with none: one cached lookup, no other work)."""
    store = get_store()
    if current_snapshot() is not None:
        return None
    taken = cached(lambda: snapshots.listed(store), "snapshots")
    if not taken:
        return None
    now = trend.point(
        "now", day, stages[1], stages[2], cached(lambda: trend.coverage(store, day), "coverage", day)
    )
    return trend.chart([*(_frozen(store, s) for s in taken), now], _group_key)


def _frozen(store: Store, taken: snapshots.Snapshot) -> trend.Point:
    """A snapshot's point, worked out once: read as the snapshot's own pages read it (its view in
    the request), so pages.cached keeps it under the snapshot's name and when it was taken, which
    no write changes. Without the budget of a reader's validations: snapshots are few, and
    taken by an administrator."""
    view = snapshots.SnapshotView(store, taken)
    g.aims_snapshot = view
    try:
        return cached(lambda: trend.figures(view, taken.name, taken.as_of, snapshots.report(view)), "trend")
    finally:
        g.pop("aims_snapshot", None)


def _dashboard(store: Store, day: dt.date) -> dict[str, Any] | None:
    """Everything the dashboard shows, for one day; None for a store with no organisation."""
    counts = {str(r["label"]): int(r["count"]) for r in query_rows("summary")}
    organisation = query_rows("organisation")
    if not organisation.rows and not any(counts.values()):
        return None
    stages = {stage: pages.readiness(stage, day) for stage in (1, 2)}
    horizon = day + dt.timedelta(days=90)
    expiring = query_rows("evidence-expiring", {"until": horizon.isoformat()}).rows
    reviews = query_rows("documents-due-for-review", {"asOf": horizon.isoformat()}).rows
    actions = [
        r
        for r in query_rows("register-findings", {"asOf": day.isoformat()})
        if r.get("action") is not None
        and r.get("dueDate") is not None
        and str(r.get("actionStatus", "")) != "https://w3id.org/aims#Closed"
        and (_day(r["dueDate"]) or dt.date.max) <= horizon
    ]
    threshold = _threshold(store)
    levels: Counter[str] = Counter()
    for r in query_rows("risk-levels"):
        level = _int(r["riskLevel"])
        if level is not None:
            levels["above" if threshold is not None and level > threshold else "within"] += int(r["risks"])
    soa = query_rows("statement-of-applicability")
    by_status = Counter(str(r["status"]) if r.get("status") is not None else "" for r in soa)
    scope = [r for r in organisation.rows if r.get("subject") is not None]
    lists = {"expiring": expiring, "reviews": reviews, "actions": actions, "scope": scope}
    shown = {name: rows[:LISTED] for name, rows in lists.items()}
    iris = {
        str(v)
        for rows in (organisation.rows[:1], *shown.values())
        for r in rows
        for v in r.values()
        if isinstance(v, URIRef)
    }
    return {
        "counts": counts,
        "organisation": organisation.rows[:1],
        "in_scope": sum(1 for r in scope if browse.plain(r.get("inScope")) is True),
        "stages": stages,
        "horizon": horizon,
        **shown,
        "more": {name: len(rows) - len(shown[name]) for name, rows in lists.items()},
        "levels": levels,
        "threshold": threshold,
        "by_status": by_status,
        "groups": _group_order(stages[2].groups),
        "day": day,
        "names": labels(iris | {s for s in by_status if s}),
    }


def _group_order(groups: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(groups.items(), key=lambda item: _group_key(item[0]))
