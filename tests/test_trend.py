"""Issue 20, item 4: the dashboard draws readiness, stage 2 Violations by clause group and evidence
coverage across the snapshots and today, as inline SVG (no script) with the figures in a table.

The chart is read back as a person's eye would: each mark's height on the 0-100 % axis (not only
its data attribute), and each bar's length against the longest; the figures it shows must equal
what reports.readiness answers for each snapshot's view, judged on its day."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient

from service import reports, snapshots, trend
from service.http import create_app
from service.store.embedded import EmbeddedStore

from .conftest import load_example
from .test_snapshots import CHANGES, DAY, EDITOR, take

SVG = "{http://www.w3.org/2000/svg}"
PAGE = {"Accept": "text/html"}


def svg(html: str, name: str) -> ET.Element:
    found = re.search(rf'<svg class="{name}".*?</svg>', html, re.S)
    assert found, f"no {name} chart"
    return ET.fromstring(found.group(0))


def from_height(cy: float) -> float:
    """The percentage a mark's height stands for on the chart's axis."""
    plot = trend.HEIGHT - trend.TOP - trend.BOTTOM
    return round(100 * (1 - (cy - trend.TOP) / plot), 1)


def dashboard(client: FlaskClient) -> str:
    response = client.get(f"/?as_of={DAY}", headers=PAGE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_trend_draws_each_snapshot_s_figures() -> None:
    store = load_example(EmbeddedStore())
    client = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store).test_client()
    assert "Trend across snapshots" not in dashboard(client)  # no snapshot: no chart
    take(client, "stage-1")
    for update in CHANGES:  # the second snapshot holds other data: R01 unowned, evidence expired
        assert client.post("/sparql", data={"update": update}, headers=EDITOR).status_code == 204
    take(client, "stage-2")
    html = dashboard(client)

    lines = svg(html, "trend-lines")
    assert lines.find(f"{SVG}title") is not None and lines.find(f"{SVG}desc") is not None
    drawn: dict[tuple[str, str], float] = {}
    for mark in lines.iter(f"{SVG}circle"):
        value = from_height(float(mark.get("cy", "nan")))
        assert value == float(mark.get("data-value", "nan"))
        drawn[(mark.get("data-series", ""), mark.get("data-point", ""))] = value

    expected: dict[tuple[str, str], float | None] = {}
    violations: dict[str, dict[str, int]] = {}
    for s in snapshots.listed(store):
        view = snapshots.SnapshotView(store, s)
        stages = {stage: reports.readiness(view, stage, s.as_of) for stage in (1, 2)}
        expected[("stage1", s.name)] = trend.percent_met(stages[1])
        expected[("stage2", s.name)] = trend.percent_met(stages[2])
        expected[("coverage", s.name)] = trend.coverage(view, s.as_of)
        violations[s.name] = trend.violations(stages[2])
    assert {k: v for k, v in drawn.items() if k[1] != "now"} == expected
    # the second snapshot's data differs, and so does what is drawn for it: two more Violations
    # (R01 has no owner: RiskDescribed; impl-A2-4's only evidence expired: an implemented control
    # needs current evidence) and impl-A2-4 no longer counts as covered by evidence
    assert drawn[("coverage", "stage-2")] < drawn[("coverage", "stage-1")]
    assert sum(violations["stage-2"].values()) == sum(violations["stage-1"].values()) + 2
    # today's data is stage-2's, judged on the same day
    assert {k[0]: v for k, v in drawn.items() if k[1] == "now"} == {
        k[0]: v for k, v in drawn.items() if k[1] == "stage-2"
    }

    bars = svg(html, "trend-violations")
    assert bars.find(f"{SVG}title") is not None and bars.find(f"{SVG}desc") is not None
    most = max(n for counts in violations.values() for n in counts.values())
    for bar in bars.iter(f"{SVG}rect"):
        point, group = bar.get("data-point", ""), bar.get("data-group", "")
        if point == "now":
            continue
        count = violations[point].get(group, 0)
        assert int(bar.get("data-value", "-1")) == count
        assert float(bar.get("width", "nan")) == round(trend.BAR_WIDTH * count / most, 1)
    # the figures again in a table, for a screen reader and on paper
    assert '<table class="results trend-figures">' in html
    assert "<script" not in html


def test_a_snapshot_s_figures_are_worked_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot never changes: its point is kept under its name and when it was taken, so a write
    to today's data does not work it out again."""
    store = load_example(EmbeddedStore())
    app = create_app({"tokens": "snap-admin=admin,snap-editor=editor"}, store=store)
    client = app.test_client()
    take(client, "stage-1")
    calls: list[str] = []
    figures = trend.figures

    def counted(*args: object) -> trend.Point:
        calls.append(str(args[1]))
        return figures(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(trend, "figures", counted)
    dashboard(client)
    assert client.post("/sparql", data={"update": CHANGES[0]}, headers=EDITOR).status_code == 204
    dashboard(client)
    assert calls == ["stage-1"]


@pytest.mark.parametrize("changed", [False, True])
def test_a_point_from_the_kept_report_is_the_point_worked_out_from_scratch(changed: bool) -> None:
    """A snapshot's point is drawn from its kept report (every rule), each stage's part of it
    (validation.of_stage): it must equal validating each stage again, on the example as it is and
    after the three changes (which move both stages' verdicts)."""
    import datetime as dt

    from service import validation

    store = load_example(EmbeddedStore())
    if changed:
        for change in CHANGES:
            store.update(change)
    view = snapshots.SnapshotView(
        store, snapshots.create(store, "p", "test", as_of=dt.date.fromisoformat(DAY))
    )
    every = snapshots.report(view)
    for stage in (1, 2):
        alone = validation.validate(view, as_of=view.snapshot.as_of, stage=stage)
        drawn = validation.of_stage(every, stage, view)
        assert drawn.to_json(assessed=True) == alone.to_json(assessed=True), stage
    day = view.snapshot.as_of
    from_scratch = trend.point(
        "p", day, *(reports.readiness(view, stage, day) for stage in (1, 2)), trend.coverage(view, day)
    )
    assert trend.figures(view, "p", day, every) == from_scratch
