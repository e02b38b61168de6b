"""Issue 22 item 2 (in part): the validation and gap analysis pages filter and page, so that a
large report stays readable. Expected rows come from the JSON of the same report (the filters pick
from it) and from examples/README.md: six Warnings as of 2026-11-20."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from service.http import create_app, verdicts
from service.store.embedded import EmbeddedStore

from .conftest import load_example

PAGE = {"Accept": "text/html"}
DAY = "2026-11-20"


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return create_app({}, store=load_example(EmbeddedStore())).test_client()


def rows(html: str) -> list[str]:
    """The result rows' anchors (validation) or requirement links (gap analysis) on a page."""
    return re.findall(r'<tr class="(?:violation|warning|info)" id="(r-[0-9a-f]+)"', html)


def report(client: FlaskClient) -> list[dict[str, object]]:
    return client.get(f"/validate?stage=2&as_of={DAY}", headers={"Accept": "application/json"}).get_json()[
        "results"
    ]  # type: ignore[no-any-return]


def test_severity_and_requirement_filters_pick_those_results(client: FlaskClient) -> None:
    html = client.get(f"/validation?stage=2&as_of={DAY}&severity=Warning", headers=PAGE).get_data(
        as_text=True
    )
    assert len(rows(html)) == 6  # examples/README.md: "the six Warnings are observations"
    results = report(client)
    owner = [r for r in results if r["requirement_id"] == "6.1.2"]
    html = client.get(f"/validation?stage=2&as_of={DAY}&requirement=6.1.2", headers=PAGE).get_data(
        as_text=True
    )
    assert len(rows(html)) == len(owner) >= 1  # G7: R12 has no owner (6.1.2)
    assert "risk-12" in html


def test_a_long_report_comes_in_pages(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdicts, "RESULTS_PER_PAGE", 5)
    total = len(report(client))
    first = client.get(f"/validation?stage=2&as_of={DAY}", headers=PAGE).get_data(as_text=True)
    second = client.get(f"/validation?stage=2&as_of={DAY}&page=2", headers=PAGE).get_data(as_text=True)
    assert len(rows(first)) == len(rows(second)) == 5 and not set(rows(first)) & set(rows(second))
    assert f"page 1 of {-(-total // 5)}" in first and "page=2" in first


def test_the_gap_page_filters_by_status_and_group(client: FlaskClient) -> None:
    statuses = client.get(
        f"/gap-analysis?stage=2&as_of={DAY}", headers={"Accept": "application/json"}
    ).get_json()
    html = client.get(f"/gap-analysis?stage=2&as_of={DAY}&status=unmet", headers=PAGE).get_data(as_text=True)
    shown = re.findall(r'<tr class="status-([a-z-]+)">', html)
    assert shown and set(shown) <= {"not-met", "partly-met"}
    assert len(shown) == sum(s["status"] in ("not met", "partly met") for s in statuses)
    html = client.get(f"/gap-analysis?stage=2&as_of={DAY}&group=A.7", headers=PAGE).get_data(as_text=True)
    assert (
        len(re.findall(r'<tr class="status-', html)) == sum(s["group"] == "A.7" for s in statuses) == 5
    )  # A.7.2-A.7.6


def test_the_gap_page_shows_a_requirement_s_first_findings_and_links_the_rest(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: at 1,000 systems every finding under its requirement made 2 MB of HTML. Each
    requirement shows FINDINGS_PER_REQUIREMENT (here 1) and counts the rest, linking its results
    on the validation page, which lists them all."""
    monkeypatch.setattr(verdicts, "FINDINGS_PER_REQUIREMENT", 1)
    statuses = client.get(
        f"/gap-analysis?stage=2&as_of={DAY}", headers={"Accept": "application/json"}
    ).get_json()
    many = [s for s in statuses if len(s["findings"]) >= 2]
    assert many, "the example has a requirement with two findings or more"
    html = client.get(f"/gap-analysis?stage=2&as_of={DAY}", headers=PAGE).get_data(as_text=True)
    for s in many:
        link = re.search(
            rf'and {len(s["findings"]) - 1} more: <a href="([^"]+)">every result for {re.escape(s["id"])}</a>',
            html,
        )
        assert link, s["id"]
        listed = client.get(link[1].replace("&amp;", "&") + f"&as_of={DAY}", headers=PAGE).get_data(
            as_text=True
        )
        assert len(rows(listed)) == len(s["findings"]), s["id"]
