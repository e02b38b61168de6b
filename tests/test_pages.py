"""The pages, through the Flask app on the example organisation. Expected values are read off the
example files by hand (examples/*.ttl), with the line that gives each written beside it."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from rdflib import URIRef
from werkzeug.test import TestResponse

from service.http import create_app
from service.store.embedded import EmbeddedStore
from service.store.formats import FORMATS

from .conftest import load_example

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EX = "https://aurora-lending.example/aims/"
AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return create_app({}, store=load_example(EmbeddedStore())).test_client()


def page(client: FlaskClient, target: str, **query: str) -> str:
    response = client.get(target, query_string=query, headers=BROWSER)
    assert response.status_code == 200 and response.mimetype == "text/html", (target, response.status_code)
    return response.get_data(as_text=True)


def choose(client: FlaskClient, day: str, back: str = "/") -> TestResponse:
    """Choose the day as the header's form does: a POST with the CSRF token its page carries."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page(client, "/documents"))
    assert token is not None
    return client.post("/as-of", data={"day": day, "next": back, "csrf_token": token[1]})


def text(html: str) -> str:
    """What a reader sees: tags dropped, spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_empty_store_says_how_to_load_data() -> None:
    empty = create_app({}, store=EmbeddedStore()).test_client()
    shown = text(page(empty, "/"))
    assert "No organisation loaded yet" in shown and "aims serve --load examples/*.ttl" in shown


def test_dashboard(client: FlaskClient) -> None:
    shown = text(page(client, "/", as_of=AS_OF))
    assert "Aurora Lending Ltd" in shown  # organisation.ttl: ex:aims aims:ofOrganisation ex:aurora
    assert "Stage 1 readiness" in shown and "Stage 2 readiness" in shown
    # risks.ttl: 18 risks; threshold 8 (organisation.ttl ex:risk-criteria); levels above 8: 15, 12, 12,
    # and the others read from the file: counted here from the register instead of by hand
    assert re.search(r"\d+ above the acceptance threshold \(8\)", shown)
    # audit.ttl: ca-1 "Restore and alert on FraudGuard monitoring" was due 2026-09-30 and is in progress
    assert "Restore and alert on FraudGuard monitoring" in shown and "(overdue)" in shown
    # documents.ttl line 97: the monitoring SOP was due for review on 2026-09-01
    assert "SOP: model monitoring and alert handling" in shown


def test_risk_register_and_heat_map(client: FlaskClient) -> None:
    html = page(client, "/risks")
    shown = text(html)
    # risks.ttl line 34-36: R01, "Scores disadvantage a protected group", likelihood 3, severity 5, level 15
    assert "Scores disadvantage a protected group" in shown and "CreditLens" in shown
    assert "18 of 18 rows" in shown
    # five risks have likelihood 3 and severity 3 (counted in risks.ttl): the heat map's cell says 5
    cell = re.search(r'href="/risks\?likelihood=3&amp;severity=3">(\d+)</a>', html)
    assert cell and cell.group(1) == "5"
    only = text(page(client, "/risks", likelihood="3", severity="5"))
    assert "1 of 18 rows" in only and "R01" in only
    assert "https://aurora-lending.example" not in shown.replace("http", " http")  # IRIs only in links
    ordered = text(page(client, "/risks", sort="riskLevel", dir="desc"))
    assert ordered.index("R01") < ordered.index("R04")  # level 15 before level 6 (risks.ttl line 57)


def test_residual_levels_next_to_inherent_on_the_register_and_heat_map(client: FlaskClient) -> None:
    html = page(client, "/risks")
    heading = re.findall(r"<th><a [^>]*>([^<]+)</a></th>", html)
    # the register shows the residual level right after the inherent one
    assert heading.index("Residual risk level") == heading.index("Risk level") + 1, heading
    # risks.ttl: residual 6 on treat-01, -02, -04, -08, -09, -12, -13 (seven risks); 9 only on treat-18
    # (R18); R07 has no treatment, so 17 risks have a residual level
    six = re.search(r'href="/risks\?residualRiskLevel=6">(\d+)</a>', html)
    nine = re.search(r'href="/risks\?residualRiskLevel=9">(\d+)</a>', html)
    assert six and six.group(1) == "7" and nine and nine.group(1) == "1"
    # inherent level 9: R09, R10, R11, R15, R18 (risks.ttl)
    inherent = re.search(r'href="/risks\?riskLevel=9">(\d+)</a>', html)
    assert inherent and inherent.group(1) == "5"
    only = text(page(client, "/risks", residualRiskLevel="9"))
    assert "1 of 18 rows" in only and "R18" in only


def test_registers_answer_json_and_csv_on_the_same_url(client: FlaskClient) -> None:
    rows = client.get("/risks", headers={"Accept": "application/json"}).get_json()
    assert len(rows) == 18 and {r["id"] for r in rows} >= {"R01", "R18"}
    csv_text = client.get("/documents", query_string={"format": "csv"}).get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("document,label,kind,version")


def test_overdue_flags_follow_the_chosen_day(client: FlaskClient) -> None:
    """The day is chosen once (/as-of sets a cookie) and kept by every page after it."""
    response = choose(client, AS_OF, "/documents")
    assert response.status_code == 303 and response.headers["Location"].endswith("/documents")
    late = page(client, "/documents", q="monitoring")
    assert "SOP: model monitoring" in late and re.search(r"<td>Yes</td>", late)  # 2026-09-01 < 11-20
    choose(client, "2026-08-01")
    early = page(client, "/documents", q="monitoring")
    assert not re.search(r"<td>Yes</td>", early)  # not yet due on 1 August
    choose(client, "")  # back to today for the other tests
    assert choose(client, "someday").status_code == 400
    assert choose(client, AS_OF, "//evil.example/").headers["Location"].endswith("/")
    choose(client, "")


def test_soa_page_in_the_standards_order(client: FlaskClient) -> None:
    shown = text(page(client, "/soa"))
    # catalogue order: A.2.2 first, A.9.4 before A.10.2 (the first release sorted A.10 before A.2)
    assert shown.index("A.2.2") < shown.index("A.9.4") < shown.index("A.10.2") < shown.index("OC-01")
    # controls.ttl line 70: A.7.6 excluded without a justification
    assert "Aurora Lending Ltd" in shown and "Verification and validation" in shown
    # controls.ttl line 186: A.6.2.6's only evidence expired on 2026-06-30; ev-handover-tests (line
    # 269) is valid until 2027-06-02, and ev-responsibility-split (line 245) has no end at all
    dated = text(page(client, "/soa", as_of=AS_OF))
    assert re.search(r"A\.6\.2\.6 .*? 0 / 1 \(none valid\)", dated)
    assert re.search(r"A\.10\.2 .*? 1 / 1 ", dated)


def test_a_trace_answers_from_the_whole_report_when_one_is_at_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """A risk or system trace validates its chain's own nodes unless the report of every rule
    on that day is already worked out; then it is judged by that report, without validating,
    and answers the same (a chain's results are the same in a whole run: traces.trace)."""
    from service import validation

    fresh = create_app({}, store=load_example(EmbeddedStore())).test_client()
    targets = [f"/trace/risk?iri={EX}risk-01", f"/trace/system?iri={EX}credit-scorer"]
    json = {"Accept": "application/json"}
    scoped = [fresh.get(f"{t}&as_of={AS_OF}", headers=json).get_json() for t in targets]
    assert fresh.get(f"/validate?as_of={AS_OF}", headers=json).status_code == 200  # now at hand
    monkeypatch.setattr(validation, "validate", lambda *a, **k: pytest.fail("validated again"))
    for target, expected in zip(targets, scoped, strict=True):
        assert fresh.get(f"{target}&as_of={AS_OF}", headers=json).get_json() == expected, target


def test_the_dashboard_lists_ten_scope_decisions_and_counts_the_rest() -> None:
    """Issue 22: the dashboard's lists are capped with counts. bench/generate.py gives each of its
    15 systems one scope decision, in scope; the page shows 10 of them and counts the other 5."""
    from bench.generate import generate

    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load(generate(15).encode(), FORMATS["turtle"], URIRef("urn:test:org"))
    shown = page(create_app({}, store=store).test_client(), "/", as_of=AS_OF)
    scope = shown[shown.index("<h2>Scope</h2>") :]
    assert "15 scope decisions: 15 in scope, 0 out." in text(scope)
    assert scope.count("<tr><td>") == 10
    assert "and 5 more" in text(scope) and 'href="/systems"' in scope


def test_risk_trace_page_shows_the_chain_with_labels(client: FlaskClient) -> None:
    shown = text(page(client, "/trace/risk", iri=EX + "risk-01", as_of=AS_OF))
    # risks.ttl line 34-39: R01 is mitigated by impl-A6-2-4 and impl-A7-4; controls.ttl gives their
    # labels and evidence
    for expected in (
        "Scores disadvantage a protected group",
        "Fairness, robustness and adversarial testing before release",
        "A.6.2.4",
        "Data quality",
        "Fairness test report for scoring model v4",
    ):
        assert expected in shown, expected
    assert "Treatment" in shown and "Implementation" in shown and "Evidence" in shown  # the diagram


def test_trace_json_carries_labels(client: FlaskClient) -> None:
    found = client.get(
        "/trace/control", query_string={"iri": "https://w3id.org/aims/iso42001#A.6.2.4"}
    ).get_json()
    implementation = found["implementations"][0]
    assert implementation["evidence"], "a control's trace reaches its evidence"
    assert (
        found["labels"][implementation["iri"]]["label"]
        == "Fairness, robustness and adversarial testing before release"
    )


def test_resource_page(client: FlaskClient) -> None:
    shown = text(page(client, "/resource", iri=EX + "credit-scorer"))
    # systems.ttl line 8-10: CreditLens and its purpose; risks.ttl line 30 links it to its risks
    assert "CreditLens" in shown and "Scores consumer loan applications" in shown
    assert "What links here" in shown and "Trace this system" in shown
    assert (
        client.get("/resource", query_string={"iri": EX + "nothing-here"}, headers=BROWSER).status_code == 404
    )


def test_validation_and_gap_pages_group_by_clause(client: FlaskClient) -> None:
    shown = text(page(client, "/validation", as_of=AS_OF))
    assert "Violation" in shown and "Rule:" in shown and "Clause " in shown
    gaps = text(page(client, "/gap-analysis", as_of=AS_OF))
    assert "not met" in gaps and "A.7.6" in gaps  # controls.ttl line 70: excluded without a reason


PAGES = (
    "/",
    "/systems",
    "/risks",
    "/controls",
    "/documents",
    "/audits",
    "/findings",
    "/parties",
    "/roles",
    "/soa",
    "/validation",
    "/gap-analysis",
    f"/trace/risk?iri={EX}risk-01",
    "/trace/control?iri=https://w3id.org/aims/iso42001%23A.6.2.4",
    "/trace/requirement?iri=https://w3id.org/aims/iso42001%23clause-6.1.3",
    f"/trace/system?iri={EX}credit-scorer",
    f"/trace/evidence?iri={EX}ev-supplier-contract",
    f"/resource?iri={EX}credit-scorer",
)


def test_every_page_on_every_store(example_store) -> None:  # type: ignore[no-untyped-def]
    """The pages read the store only through queries: the same pages, with the same labels, on
    the embedded store, `oxigraph serve` and Virtuoso."""
    client = create_app({}, store=example_store).test_client()
    for target in PAGES:
        response = client.get(target, headers=BROWSER)
        assert response.status_code == 200, (target, response.status_code, response.get_data()[:300])
    shown = text(page(client, "/risks"))
    assert "Scores disadvantage a protected group" in shown and "CreditLens" in shown


def test_found_in_review_redirects_stay_on_the_site(client: FlaskClient) -> None:
    """/as-of goes back only to a page of this site: a tab Werkzeug drops (/\t/evil) made
    //evil.example, and a newline gave 500."""
    for back in ("/\t/evil.example", "//evil.example", "https://evil.example/", "/\\evil.example", "/\n/x"):
        response = choose(client, AS_OF, back)
        assert response.status_code == 303 and response.headers["Location"] in ("/", "http://localhost/"), (
            back
        )


def test_the_day_changes_only_by_a_form_post_with_its_token(client: FlaskClient) -> None:
    """Issue 18: a cross-site GET to /as-of set the day every page is judged on. Now a GET changes
    nothing (405), and a POST needs the CSRF token of this browser's session: none, or another
    session's, is a 400 problem and sets nothing. The JSON API takes POSTs without one."""
    from service.http.pages import AS_OF_COOKIE

    fresh, other = client.application.test_client(), client.application.test_client()
    refused = fresh.get("/as-of", query_string={"day": AS_OF, "next": "/"})
    assert refused.status_code == 405 and refused.mimetype == "application/problem+json"
    forged = fresh.post("/as-of", data={"day": AS_OF, "next": "/"})
    assert forged.status_code == 400 and "CSRF" in forged.get_json()["detail"]
    elsewhere = re.search(r'name="csrf_token" value="([^"]+)"', page(other, "/documents"))
    assert elsewhere is not None
    page(fresh, "/documents")  # a session of its own, with its own token
    stolen = fresh.post("/as-of", data={"day": AS_OF, "next": "/", "csrf_token": elsewhere[1]})
    assert stolen.status_code == 400
    assert fresh.get_cookie(AS_OF_COOKIE) is None
    assert choose(fresh, AS_OF).status_code == 303 and fresh.get_cookie(AS_OF_COOKIE).value == AS_OF  # type: ignore[union-attr]
    api = fresh.post(
        "/sparql", data={"query": "ASK {}"}, headers={"Accept": "application/sparql-results+json"}
    )
    assert api.status_code == 200 and api.get_json()["boolean"] is True


def test_pages_are_private_and_vary_by_accept_and_cookie(client: FlaskClient) -> None:
    """A page depends on Accept (HTML, JSON or CSV) and on cookies (the day, the form's token):
    a shared cache must not keep it (RFC 9111 5.2.2.7 private, RFC 9110 12.5.5 Vary)."""
    for target, accept in (("/", BROWSER["Accept"]), ("/risks", "text/csv"), ("/soa", "application/json"),
                           ("/validation", BROWSER["Accept"])):  # fmt: skip
        response = client.get(target, headers={"Accept": accept})
        assert response.status_code == 200, target
        varies = {v.strip().lower() for v in response.headers["Vary"].split(",")}
        assert {"accept", "cookie"} <= varies, target
        assert "private" in response.headers["Cache-Control"], target


def test_found_in_review_pages_show_bad_data_without_failing() -> None:
    """A likelihood, level or due day that is not what the vocabulary says is for validation to
    report; the pages showing it answered 500."""
    store = load_example(EmbeddedStore())
    store.update(
        "INSERT DATA { GRAPH <urn:x:bad> { <urn:x:r> a <https://w3id.org/aims#Risk> ; "
        '<https://w3id.org/aims#likelihood> "high" ; <https://w3id.org/aims#riskLevel> "severe" . '
        "<urn:x:ca> a <https://w3id.org/aims#CorrectiveAction> ; <https://w3id.org/aims#corrects> "
        '<https://aurora-lending.example/aims/finding-1> ; <https://w3id.org/aims#dueDate> "soon" } }'
    )
    bad = create_app({}, store=store).test_client()
    for target in ("/", "/risks", "/findings", "/soa"):
        assert bad.get(target, headers=BROWSER).status_code == 200, target


def test_found_in_review_evidence_of_an_implementation_counts_for_each_control_it_implements() -> None:
    """An implementation of two controls gave its evidence to the first only."""
    store = load_example(EmbeddedStore())
    # controls.ttl: impl-A2-2 has one valid piece of evidence; it now implements A.8.5 too
    store.update(
        "INSERT DATA { GRAPH <urn:x:more> { <https://aurora-lending.example/aims/impl-A2-2> "
        "<https://w3id.org/aims#implements> <https://w3id.org/aims/iso42001#A.8.5> } }"
    )
    shown = text(page(create_app({}, store=store).test_client(), "/soa", as_of=AS_OF))
    assert re.search(r"A\.2\.2 .*? 1 / 1 ", shown) and re.search(r"A\.8\.5 .*? 1 / 1", shown)


def test_found_in_review_two_apps_do_not_share_cached_pages() -> None:
    """The page cache was one per process, keyed by the store's size: two stores of one size
    answered each other's registers."""
    one, two = load_example(EmbeddedStore()), load_example(EmbeddedStore())
    two.update(
        'DELETE { GRAPH ?g { ?s <http://www.w3.org/2000/01/rdf-schema#label> "CreditLens" } } '
        'INSERT { GRAPH ?g { ?s <http://www.w3.org/2000/01/rdf-schema#label> "CreditLens Two" } } '
        'WHERE { GRAPH ?g { ?s <http://www.w3.org/2000/01/rdf-schema#label> "CreditLens" } }'
    )
    assert one.count() == two.count()
    first = (
        create_app({}, store=one).test_client().get("/systems", query_string={"format": "json"}).get_json()
    )
    second = (
        create_app({}, store=two).test_client().get("/systems", query_string={"format": "json"}).get_json()
    )
    assert "CreditLens" in {r["label"] for r in first} and "CreditLens Two" in {r["label"] for r in second}


def test_found_in_review_evidence_made_after_the_day_is_not_current(client: FlaskClient) -> None:
    """Evidence counted as valid on days before it existed, while validation (shapes/controls.ttl)
    did not count it. controls.ttl: the fairness test report was made on 2026-03-05 and the
    adversarial one on 2026-05-20, so on 2026-04-01 only the first backs A.6.2.4."""
    found = client.get(
        "/trace/control",
        query_string={"iri": "https://w3id.org/aims/iso42001#A.6.2.4", "as_of": "2026-04-01"},
    ).get_json()
    valid = {e["iri"].rsplit("/", 1)[-1]: e["valid"] for e in found["implementations"][0]["evidence"]}
    assert valid == {"ev-fairness-tests": True, "ev-adversarial-tests": False}
    assert re.search(r"A\.6\.2\.4 .*? 1 / 2 ", text(page(client, "/soa", as_of="2026-04-01")))


def test_a_configured_secret_keeps_forms_working_across_processes() -> None:
    # two processes (a restart, or two workers) with the same AIMS_SECRET_KEY accept each other's
    # form tokens; with none set, each makes its own and refuses the other's
    store = load_example(EmbeddedStore())
    first = create_app({"secret_key": "shared"}, store=store).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page(first, "/documents"))
    assert token is not None
    for secret, status in (("shared", 303), (None, 400)):
        second = create_app({"secret_key": secret}, store=store).test_client()
        second.set_cookie("session", first.get_cookie("session").value)  # type: ignore[union-attr]
        answer = second.post("/as-of", data={"day": "2026-11-20", "next": "/", "csrf_token": token[1]})
        assert answer.status_code == status, (secret, answer.get_data(as_text=True)[:200])
