"""Forms built from the form shapes (shapes/forms/forms.ttl), through the Flask app on the example
organisation and once through a real `aims serve`. Expected values are read off forms.ttl, the
ontology and the example files, with the line that gives each written beside it."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from service import forms, resources, validation
from service.http import create_app
from service.namespaces import AIMS, declared_terms
from service.store.base import QueryDataset, Rows
from service.store.embedded import EmbeddedStore

from .conftest import EXAMPLE_FILES, ROOT, load_example
from .servers import aims_server

EX = "https://aurora-lending.example/aims/"
AS_OF = "2026-11-20"
EDITOR = {"Authorization": "Bearer form-editor", "Accept": "text/html"}
READER = {"Authorization": "Bearer form-reader", "Accept": "text/html"}
ADMIN = {"Authorization": "Bearer form-admin"}
TOKENS = "form-editor=editor,form-reader=reader,form-admin=admin"
# shapes/risk.ttl, aimsh:RiskDescribed: [ sh:path aims:owner ; sh:minCount 1 ; sh:severity sh:Violation ;
OWNER_RULE = "Name who owns this risk (sheet 'Risks and treatments', column 'Owner')."


@pytest.fixture()
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh example store for each test (they write), with a trail file to read back."""
    return create_app(
        {"tokens": TOKENS, "audit_log": tmp_path / "audit.jsonl"}, store=load_example(EmbeddedStore())
    )


@pytest.fixture()
def client(app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return app.test_client()


def store_of(client: FlaskClient) -> EmbeddedStore:
    return client.application.extensions["aims"].store  # type: ignore[no-any-return]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found[1]


def form_page(client: FlaskClient, target: str, headers: dict[str, str] = EDITOR) -> str:
    r = client.get(target, headers=headers)
    assert r.status_code == 200, (target, r.status_code, r.get_data(as_text=True)[:300])
    return r.get_data(as_text=True)


def post(client: FlaskClient, target: str, data: dict[str, object], headers: dict[str, str] = EDITOR):  # type: ignore[no-untyped-def]
    """POST a form as a browser would: with the CSRF token of the page it came from."""
    page = form_page(client, target, EDITOR)
    return client.post(target, data={"csrf_token": token(page), **data}, headers=headers)


def values(store: EmbeddedStore, s: URIRef, p: URIRef) -> set[object]:
    rows = store.query("SELECT ?o WHERE { ?s ?p ?o }", {"s": s, "p": p})
    assert isinstance(rows, Rows)
    return {r["o"] for r in rows}


def filled(html: str) -> dict[str, list[str]]:
    """What a browser sends for a form as shown: each input's value, each select's chosen options,
    each text area's text (HTML entities of the values here are only &amp; and &#39;)."""
    sent: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input id="in-[^"]*" name="([^"]+)" value="([^"]*)"', html):
        sent.setdefault(name, []).append(value)
    for name, options in re.findall(r'<select id="in-[^"]*" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        sent.setdefault(name, []).extend(re.findall(r'<option value="([^"]*)" selected>', options))
    for name, value in re.findall(
        r'<textarea id="in-[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        sent.setdefault(name, []).append(value)
    return {k: [v.replace("&#39;", "'").replace("&amp;", "&") for v in vs] for k, vs in sent.items()}


def field_problems(html: str, key: str) -> list[str]:
    """The problems shown inside a field's box (id field-KEY)."""
    box = re.search(
        rf'<div class="field" id="field-{key}">(.*?)</div>\s*(?=<div class="field"|</fieldset>)', html, re.S
    )
    assert box is not None, key
    return [text(p).strip() for p in re.findall(r'<p class="bad" role="alert">(.*?)</p>', box[1], re.S)]


# ---------------------------------------------------------------------- the description


def test_the_risk_form_shows_the_fields_order_groups_help_and_choices_of_its_shape(
    client: FlaskClient,
) -> None:
    html = form_page(client, "/new/risk")
    shown = text(html)
    # forms.ttl aimsf:risk: groups by sh:order (aimsf:Naming 0, aimsf:Details 1, aimsf:Links 2), fields
    # by sh:order within them: Identifier 1, Name 2 | Likelihood 7, Severity 8, Risk level 9 |
    # AI system 3, Risk assessment 4, Risk sources 5, Consequences 6, Owner 10
    order = ["Name and identifier", "Identifier", "Name (required)", "Details", "Likelihood", "Severity",
             "Risk level", "Links", "AI system", "Risk assessment", "Risk sources", "Consequences", "Owner"]  # fmt: skip
    at = [shown.find(f" {label} ") for label in order]
    assert -1 not in at and at == sorted(at), list(zip(order, at, strict=True))
    # help: aims:likelihood's skos:definition (ontology/aims-risk.ttl line 67), and the shape's datatype
    assert (
        "How likely the risk is, on the organisation's scale (1 rare to 5 almost certain by default). "
        "Give a whole number." in shown
    )
    # the AI system's note (workbook, now aimsf:risk.hasRisk sh:description)
    assert "The AI system that carries the risk (empty for an organisation-wide risk)." in shown
    # choices: sh:class aims:Person (aimsf:risk.owner), by label: the example's nine people
    # (organisation.ttl), e.g. Li Wei who owns R01 (risks.ttl line 36); a single choice
    owner = re.search(r'<select id="in-owner" name="owner">(.*?)</select>', html, re.S)
    assert owner is not None
    people = re.findall(r'<option value="([^"]*)"', owner[1])
    assert people[0] == "" and len(people) == 1 + 9 and EX + "li-wei" in people
    assert ">Li Wei</option>" in owner[1]
    # sh:or of two classes (aimsf:risk.hasConsequence): consequences and impacts, several at once
    consequences = re.search(
        r'<select id="in-hasConsequence" name="hasConsequence" multiple[^>]*>(.*?)</select>', html, re.S
    )
    assert consequences is not None
    assert EX + "impact-unfair-decline" in consequences[1] and EX + "cons-bad-loans" in consequences[1]
    # what the form offers is what forms.ttl says, not a list kept by hand
    risk = forms.forms()["risk"]
    assert [f.name for f in risk.fields] == ["Identifier", "Name", "AI system", "Risk assessment", "Risk sources",
                                             "Consequences", "Likelihood", "Severity", "Risk level", "Owner"]  # fmt: skip
    assert {f.key: f.classes for f in risk.fields}["owner"] == (AIMS.Person,)


def test_sh_in_gives_the_choices_of_a_concept_scheme(client: FlaskClient) -> None:
    html = form_page(client, "/new/implementation")
    status = re.search(
        r'<select id="in-implementationStatus" name="implementationStatus">(.*?)</select>', html, re.S
    )
    assert status is not None
    # forms.ttl aimsf:implementation.implementationStatus sh:in (aims:Implemented aims:NotImplemented
    # aims:PartiallyImplemented aims:Planned), labelled from the ontology
    assert re.findall(r'<option value="([^"]+)"', status[1]) == [
        str(AIMS.Implemented),
        str(AIMS.NotImplemented),
        str(AIMS.PartiallyImplemented),
        str(AIMS.Planned),
    ]


def test_every_kind_the_issue_names_has_a_form() -> None:
    kinds = forms.forms()
    # issue 19 item 2, by the form's kind (the workbook's slug)
    for kind in ("organisation", "aims", "scope", "ai-system", "dataset", "person", "role", "party", "risk",
                 "treatment", "soa", "own-control", "implementation", "evidence", "document", "objective",
                 "measurement", "risk-assessment", "impact-assessment", "review", "internal-audit",
                 "nonconformity", "observation", "corrective-action", "incident"):  # fmt: skip
        assert kind in kinds, kind
    assert kinds["treatment"].target == AIMS.RiskTreatment


def test_the_form_shapes_use_only_declared_terms() -> None:
    """Every aims: term the form shapes name is declared by the ontology (as tests/test_ontology.py
    holds the rules to)."""
    used = set(
        re.findall(
            r"(?<![\w:])aims:([A-Za-z][A-Za-z0-9_]*)",
            resources.form_shapes_file().read_text(encoding="utf-8"),
        )
    )
    assert used and not used - declared_terms()


def test_the_form_shapes_are_not_conformance_rules() -> None:
    """shapes/forms/forms.ttl is outside shapes/*.ttl: no rule comes from it, the rules reference
    does not list it, and the example's validation is what examples/README.md says (G1-G17)."""
    assert resources.form_shapes_file() not in resources.shape_files()
    rules = validation.shapes_graph()
    assert not [s for s in rules.subjects() if str(s).startswith(forms.FORMS)]
    assert not [s for s in validation.checked_shapes() if str(s).startswith(forms.FORMS)]
    assert "aimsf:" not in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    store = load_example(EmbeddedStore())
    import datetime as dt

    report = validation.validate(store, as_of=dt.date.fromisoformat(AS_OF))
    foci = sorted(re.split(r"[/#]", r.focus)[-1] for r in report.results if r.severity == "Violation")
    # examples/README.md "Planted gaps", G1 to G17, by resource
    assert foci == sorted([
        "aims", "risk-07", "impl-A6-2-6", "impl-A7-4", "ca-1", "fraud-detector", "risk-12", "soa-A7-6",
        "priya-nair", "doc-sop-monitoring", "ia-support-2026", "ca-3", "audit-programme-2025", "risk-14",
        "treat-18", "data-help-articles", "finding-1",
    ])  # fmt: skip


# ---------------------------------------------------------------------- saving


def test_creating_a_system_and_a_risk_on_it(client: FlaskClient) -> None:
    store = store_of(client)
    r = post(client, "/new/ai-system", {"identifier": "S9", "label": "Loan chatbot", "intendedPurpose": "Answers loan questions",
                                         "lifecycleStage": str(AIMS.OperationAndMonitoring), "inAIMS": EX + "aims"})  # fmt: skip
    assert r.status_code == 303
    # minted under the organisation's base (ex:aurora, organisation.ttl line 13), kind and identifier
    system = URIRef(EX + "ai-system-s9")
    assert r.headers["Location"] == f"/resource?iri={system}"
    assert values(store, system, RDF.type) == {AIMS.AISystem}
    assert values(store, system, RDFS.label) == {Literal("Loan chatbot")}
    assert values(store, system, AIMS.inAIMS) == {URIRef(EX + "aims")}
    r = post(client, "/new/risk", {"label": "Chatbot gives wrong loan terms", "hasRisk": str(system), "likelihood": "2",
                                    "severity": "3", "riskLevel": "6", "hasRiskSource": [EX + "src-hallucination"]})  # fmt: skip
    assert r.status_code == 303
    risk = URIRef(EX + "risk-chatbot-gives-wrong-loan-terms")
    assert values(store, system, AIMS.hasRisk) == {risk}  # the inverse path: the system has the risk
    assert values(store, risk, AIMS.likelihood) == {Literal(2)}
    # a form's new resources live in the forms graph
    assert URIRef("https://w3id.org/aims/graph/forms") in store.graphs()


def test_after_a_save_the_page_shows_the_resource_s_validation_results(client: FlaskClient) -> None:
    """Hand-worked: a risk with a source, likelihood 2, severity 3 and level 6 (within the threshold
    8 of organisation.ttl's criteria: no treatment needed) but no owner breaks exactly one rule,
    aimsh:RiskDescribed's owner property shape (shapes/risk.ttl), against clause 6.1.2."""
    r = post(client, "/new/risk", {"label": "Unowned risk", "likelihood": "2", "severity": "3", "riskLevel": "6",
                                    "hasRiskSource": EX + "src-data-drift"})  # fmt: skip
    page = client.get(r.headers["Location"] + f"&as_of={AS_OF}", headers=EDITOR)
    shown = text(page.get_data(as_text=True))
    assert "What the rules say about it" in shown
    assert f"Violation 6.1.2 {OWNER_RULE}" in shown
    assert shown.count("Violation") == 1
    # editing in an owner (Li Wei) leaves nothing for the rules to raise
    iri = EX + "risk-unowned-risk"
    current = form_page(client, "/edit?" + urllib.parse.urlencode({"iri": iri}))
    sent = filled(current) | {"owner": [EX + "li-wei"], "csrf_token": [token(current)]}
    r = client.post("/edit?" + urllib.parse.urlencode({"iri": iri}), headers=EDITOR, data=sent)
    assert r.status_code == 303
    shown = text(client.get(r.headers["Location"] + f"&as_of={AS_OF}", headers=EDITOR).get_data(as_text=True))
    assert OWNER_RULE not in shown and "No rule finds anything to raise about it" in shown


@pytest.mark.parametrize(
    "kind,data,key,message",
    [
        # aimsf:document.reviewDue sh:datatype xsd:date: 31 April does not exist
        (
            "document",
            {"label": "Policy", "reviewDue": "2026-04-31"},
            "reviewDue",
            "'2026-04-31' is not a date (YYYY-MM-DD).",
        ),
        # aimsf:document.approvalDate sh:or (xsd:date xsd:gYearMonth): month 13 is neither
        (
            "document",
            {"label": "Policy", "approvalDate": "2026-13"},
            "approvalDate",
            "'2026-13' is not a date (YYYY-MM-DD) or a month (YYYY-MM).",
        ),
        # aimsf:risk.owner sh:class aims:Person: CreditLens is an AI system (systems.ttl), not a person
        (
            "risk",
            {"label": "R", "owner": EX + "credit-scorer"},
            "owner",
            f"{EX}credit-scorer is not a person in the graph.",
        ),
        # ... and an IRI nothing in the graph has
        (
            "risk",
            {"label": "R", "owner": EX + "nobody"},
            "owner",
            f"{EX}nobody is not a person in the graph.",
        ),
        # aimsf:risk.label sh:minCount 1
        ("risk", {"label": " ", "likelihood": "3"}, "label", "Name is required: give one."),
        # aimsf:risk.likelihood sh:datatype xsd:integer, sh:maxCount 1
        ("risk", {"label": "R", "likelihood": "3.5"}, "likelihood", "'3.5' is not a whole number."),
        ("risk", {"label": "R", "likelihood": ["3", "4"]}, "likelihood", "One value only (2 given)."),
        # aimsf:implementation.implementationStatus sh:in (...): a concept of another scheme
        (
            "implementation",
            {"label": "I", "implementationStatus": str(AIMS.Mitigate)},
            "implementationStatus",
            f"{AIMS.Mitigate} is not one of the choices.",
        ),
    ],
)
def test_a_bad_value_answers_the_form_again_with_the_problem_by_its_field_and_writes_nothing(
    client: FlaskClient, kind: str, data: dict[str, object], key: str, message: str
) -> None:
    store = store_of(client)
    before = store.count()
    r = post(client, f"/new/{kind}", data)
    assert r.status_code == 400 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert message in field_problems(html, key)
    assert "Nothing was saved" in text(html)
    assert store.count() == before
    # what was sent is shown again, to be corrected
    if key == "reviewDue":
        assert 'value="2026-04-31"' in html


def test_two_saves_naming_the_same_new_iri_do_not_merge(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # review of issue 19: whether a new IRI given in the form was free was checked only before the
    # write lock, so two saves at once could both pass and merge into one resource. Here the
    # first save is made (in another thread, as a parallel request) just after the second's check.
    iri = EX + "ai-system-race"
    first = {"iri": iri, "identifier": "S-first", "label": "First system", "intendedPurpose": "One",
             "lifecycleStage": str(AIMS.OperationAndMonitoring), "inAIMS": EX + "aims"}  # fmt: skip
    second = {**first, "identifier": "S-second", "label": "Second system", "intendedPurpose": "Two"}
    check, answers = forms.check, []

    def check_then_let_the_first_save_in(*args: object, **kwargs: object) -> forms.Checked:
        checked = check(*args, **kwargs)  # type: ignore[arg-type]
        if not answers:  # only the second save's check: the first's runs the real one
            answers.append(None)
            parallel = client.application.test_client()
            other = threading.Thread(target=lambda: answers.append(post(parallel, "/new/ai-system", first)))
            other.start()
            other.join()
        return checked

    monkeypatch.setattr(forms, "check", check_then_let_the_first_save_in)
    r = post(client, "/new/ai-system", second)
    assert answers[1].status_code == 303  # the first save
    assert r.status_code == 409 and r.mimetype == "text/html"
    assert field_problems(r.get_data(as_text=True), "iri") == [
        f"{iri} is in the graph already: edit it instead."
    ]
    store = store_of(client)
    # the first save's data, and nothing of the second's (before the fix: both labels, both ids)
    assert values(store, URIRef(iri), RDFS.label) == {Literal("First system")}
    assert values(store, URIRef(iri), AIMS.intendedPurpose) == {Literal("One")}


def test_editing_keeps_the_resource_s_other_triples(client: FlaskClient) -> None:
    store = store_of(client)
    risk = URIRef(EX + "risk-01")
    store.update(
        f"INSERT DATA {{ GRAPH <urn:test:extra> {{ <{risk}> <{RDFS.seeAlso}> <https://example.org/x> }} }}"
    )
    form = form_page(client, "/edit?" + urllib.parse.urlencode({"iri": str(risk)}))
    # filled with the current values (risks.ttl line 34-37): R01, its label, likelihood 3, owner Li Wei
    assert 'value="R01"' in form and 'value="3"' in form
    assert f'<option value="{EX}li-wei" selected>' in form
    # what the form shows, sent back as a browser sends it, with a likelihood of 4 and a level of 20
    sent = filled(form) | {"likelihood": ["4"], "riskLevel": ["20"]}
    assert sent["hasRisk"] == [EX + "credit-scorer"]  # risks.ttl line 30, an inverse field
    r = client.post("/edit?" + urllib.parse.urlencode({"iri": str(risk)}), data={**sent, "csrf_token": token(form)},
                    headers=EDITOR)  # fmt: skip
    assert r.status_code == 303
    assert values(store, risk, AIMS.likelihood) == {Literal(4)}  # replaced, not added
    assert values(store, risk, AIMS.riskLevel) == {Literal(20)}
    # not the form's: the treatment (risks.ttl line 37) and the triple in another graph stay
    assert values(store, risk, AIMS.hasTreatment) == {URIRef(EX + "treat-01")}
    assert values(store, risk, RDFS.seeAlso) == {URIRef("https://example.org/x")}
    # the risk assessment that identified it (an inverse field left as it was) still links it
    rows = store.query("SELECT ?a WHERE { ?a ?p ?r }", {"p": AIMS.identifiedRisk, "r": risk})
    assert isinstance(rows, Rows) and len(rows) == 1
    # written back in the graph it lives in (the example's risks.ttl)
    rows = store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", {"s": risk, "p": AIMS.likelihood})
    assert isinstance(rows, Rows) and [str(r["g"]) for r in rows] == [
        "https://w3id.org/aims/graph/source/risks.ttl"
    ]


def test_the_system_form_has_the_ai_act_fields_filled_and_saved(client: FlaskClient) -> None:
    """Issue 21 item 5: the AI Act's classification and role are form fields (forms.ttl
    aimsf:ai-system, group aimsf:EUAIAct) as they are workbook columns."""
    system = URIRef(EX + "credit-scorer")
    target = "/edit?" + urllib.parse.urlencode({"iri": str(system)})
    form = form_page(client, target)
    shown = text(form)
    # the group after Links (sh:order 3), its fields by sh:order 11 to 18
    order = ["Links", "EU AI Act", "AI Act classification", "Annex III area", "AI Act role", "Automatic logging",
             "Log retention (months)", "Human oversight", "Discloses AI interaction", "EU database registration"]  # fmt: skip
    at = [shown.find(f" {label} ") for label in order]
    assert -1 not in at and at == sorted(at), list(zip(order, at, strict=True))
    # examples/systems.ttl (its AI Act section): high-risk under Annex III point 5, provider and deployer, logs kept 12 months
    roles = re.search(r'<select id="in-aiActRole" name="aiActRole" multiple[^>]*>(.*?)</select>', form, re.S)
    assert roles is not None
    act = "https://w3id.org/dpv/legal/eu/aiact#"
    # sh:in's order, labelled by forms.ttl (the catalogue does not load DPV)
    assert re.findall(r'<option value="([^"]+)"', roles[1]) == [
        act + r
        for r in ("AIProvider", "AIDeployer", "AIImporter", "AIDistributor", "AuthorisedRepresentative")
    ]
    assert f'<option value="{act}AIProvider" selected>provider</option>' in roles[1]
    assert f'<option value="{act}AIDeployer" selected>deployer</option>' in roles[1]
    assert f'<option value="{AIMS.HighRiskAnnexIII}" selected>' in form
    assert '<option value="https://w3id.org/aims/eu-ai-act#annex-III-5" selected>' in form
    sent = filled(form)
    assert sent["automaticLogging"] == ["true"] and sent["logRetentionMonths"] == ["12"]
    # not a whole number: the form again, the problem by its field, nothing written
    r = client.post(
        target, data={**sent, "logRetentionMonths": ["twelve"], "csrf_token": token(form)}, headers=EDITOR
    )
    assert r.status_code == 400 and field_problems(r.get_data(as_text=True), "logRetentionMonths")
    assert values(store_of(client), system, AIMS.logRetentionMonths) == {Literal(12)}
    # sent back with six months and the EU database number: those change, the rest stays
    sent |= {"logRetentionMonths": ["6"], "euDatabaseId": ["EU-HR-2026-000001"]}
    r = client.post(target, data={**sent, "csrf_token": token(form)}, headers=EDITOR)
    assert r.status_code == 303
    store = store_of(client)
    assert values(store, system, AIMS.logRetentionMonths) == {Literal(6)}
    assert values(store, system, AIMS.euDatabaseId) == {Literal("EU-HR-2026-000001")}
    assert values(store, system, AIMS.aiActRole) == {URIRef(act + "AIProvider"), URIRef(act + "AIDeployer")}
    assert values(store, system, AIMS.automaticLogging) == {Literal(True)}


def test_the_ai_act_s_documents_and_assessments_have_forms_of_their_own(client: FlaskClient) -> None:
    """A resource of two kinds' classes is edited with the kind it has most classes of: the
    technical documentation (aims:Document and eu-aiact:TechnicalDocumentation, systems.ttl) with
    its Annex IV points; the impact assessment that is also the FRIA with the FRIA's form."""
    techdoc = form_page(client, "/edit?" + urllib.parse.urlencode({"iri": EX + "doc-credit-techdoc"}))
    assert "aimsf:technical-documentation" in techdoc
    points = re.search(
        r'<select id="in-coversAnnexIVPoint" name="coversAnnexIVPoint" multiple[^>]*>(.*?)</select>',
        techdoc,
        re.S,
    )
    assert points is not None and len(re.findall(r"<option [^>]*selected>", points[1])) == 7  # points 1 to 7
    assert f'<option value="{EX}credit-scorer" selected>' in techdoc  # aims:forSystem
    fria = form_page(client, "/edit?" + urllib.parse.urlencode({"iri": EX + "ia-credit-2026"}))
    assert "aimsf:fria" in fria
    assert "aimsf:impact-assessment" in form_page(
        client, "/edit?" + urllib.parse.urlencode({"iri": EX + "ia-support-2026"})
    )
    # a new one gets both classes (its target and aimsf:alsoType)
    r = post(
        client,
        "/new/conformity-assessment",
        {"label": "Ask Aurora check", "assesses": EX + "support-assistant"},
    )
    assert r.status_code == 303
    made = URIRef(r.headers["Location"].split("iri=", 1)[1])
    assert values(store_of(client), made, RDF.type) == {
        URIRef("https://w3id.org/dpv/legal/eu/aiact#ConformityAssessment")
    }
    r = post(client, "/new/fria", {"label": "Ask Aurora FRIA", "assesses": EX + "support-assistant"})
    made = URIRef(r.headers["Location"].split("iri=", 1)[1])
    assert values(store_of(client), made, RDF.type) == {
        URIRef("https://w3id.org/dpv/legal/eu/aiact#FRIA"),
        AIMS.AISystemImpactAssessment,
    }


def test_a_prefill_fills_fields_by_key_or_name(client: FlaskClient) -> None:
    html = form_page(client, "/new/risk?" + urllib.parse.urlencode({"owner": EX + "li-wei", "ai-system": EX + "fraud-detector",
                                                                     "nonsense": "x"}))  # fmt: skip
    assert f'<option value="{EX}li-wei" selected>' in html
    assert f'<option value="{EX}fraud-detector" selected>' in html


def test_a_finding_raised_with_what_is_known_filled_in(client: FlaskClient) -> None:
    """The findings flow links /new/finding?concerns=&against=&raisedIn= (service/http/history.py);
    forms.ttl aimsf:finding chooses its kind (rdf:type, sh:in the five kinds of finding)."""
    store = store_of(client)
    target = "/new/finding?" + urllib.parse.urlencode(
        {"concerns": EX + "risk-12", "against": "https://w3id.org/aims/iso42001#clause-6.1.2",
         "raisedIn": EX + "audit-2026-1"}
    )  # fmt: skip
    html = form_page(client, target)
    sent = filled(html)
    assert sent["concerns"] == [EX + "risk-12"] and sent["raisedIn"] == [EX + "audit-2026-1"]
    assert sent["against"] == ["https://w3id.org/aims/iso42001#clause-6.1.2"]
    # who works it and by when (forms.ttl aimsf:finding.owner, .dueDate): Li Wei, the example's
    # risk owner (risks.ttl), by the end of January 2027 (a month: its end, as the rules read it)
    assert "Owner" in html and "Due date" in html
    sent |= {"type": [str(AIMS.Observation)], "label": ["Risk R12 has no owner"], "csrf_token": [token(html)],
             "owner": [EX + "li-wei"], "dueDate": ["2027-01"]}  # fmt: skip
    r = client.post(target, data=sent, headers=EDITOR)
    assert r.status_code == 303
    finding = URIRef(EX + "finding-risk-r12-has-no-owner")
    assert values(store, finding, RDF.type) == {AIMS.Finding, AIMS.Observation}
    assert values(store, finding, AIMS.concerns) == {URIRef(EX + "risk-12")}
    assert values(store, finding, AIMS.owner) == {URIRef(EX + "li-wei")}
    assert values(store, finding, AIMS.dueDate) == {Literal("2027-01", datatype=XSD.gYearMonth)}
    # edited as a finding, its kind changes and its other classes stay
    edit = "/edit?" + urllib.parse.urlencode({"iri": str(finding), "kind": "finding"})
    html = form_page(client, edit)
    sent = filled(html) | {"type": [str(AIMS.MinorNonconformity)], "csrf_token": [token(html)]}
    assert client.post(edit, data=sent, headers=EDITOR).status_code == 303
    assert values(store, finding, RDF.type) == {AIMS.Finding, AIMS.MinorNonconformity}


def test_deleting_lists_what_links_to_it_then_deletes(client: FlaskClient) -> None:
    store = store_of(client)
    source = URIRef(EX + "src-biased-history")
    target = "/delete?" + urllib.parse.urlencode({"iri": str(source)})
    page = text(form_page(client, target))
    # risks.ttl line 34-35: risk-01 "Scores disadvantage a protected group" has this risk source
    assert "What links here" in page and "Scores disadvantage a protected group" in page
    before = store.count()
    r = post(client, target, {})
    assert r.status_code == 303
    assert values(store, source, RDF.type) == set() and values(store, source, RDFS.label) == set()
    assert values(store, URIRef(EX + "risk-01"), AIMS.hasRiskSource) == {source}  # links kept unless asked
    assert store.count() < before
    # with the links: the statements it is the object of go too
    impact = URIRef(EX + "impact-unfair-decline")
    r = post(client, "/delete?" + urllib.parse.urlencode({"iri": str(impact)}), {"links": "yes"})
    assert r.status_code == 303
    rows = store.query("ASK WHERE { { ?s ?p ?o } UNION { ?o ?p ?s } }", {"s": impact})
    assert rows is False


def test_a_delete_leaves_every_reserved_graph_alone(client: FlaskClient) -> None:
    # review of issue 19: a delete's update spared only the catalogue graph, not the other graphs
    # the service keeps for itself (service/store/base.py RESERVED_GRAPH_PREFIXES: urn:aims:... for
    # the embedded store's staging, the remote store's registry). A triple about the resource in
    # each stays; the same triple in an ordinary graph goes.
    store = store_of(client)
    source = URIRef(EX + "src-biased-history")
    kept = [URIRef("urn:aims:staging-test"), URIRef("https://w3id.org/aims/graph/registry-test")]
    ordinary = URIRef("https://example.org/graph/notes")
    note = f"<{source}> <{RDFS.comment}> 'kept by the service' ; <{RDFS.seeAlso}> <{EX}risk-01>"
    store.update(" ".join(f"INSERT DATA {{ GRAPH <{g}> {{ {note} }} }} ;" for g in kept)
                 + f" INSERT DATA {{ GRAPH <{ordinary}> {{ {note} }} }}")  # fmt: skip
    r = post(client, "/delete?" + urllib.parse.urlencode({"iri": str(source)}), {"links": "yes"})
    assert r.status_code == 303
    left = store.query("SELECT ?g ?p WHERE { GRAPH ?g { ?s ?p ?o } }", {"s": source},
                       dataset=QueryDataset(every_named=True))  # fmt: skip
    assert isinstance(left, Rows)
    assert {(r["g"], r["p"]) for r in left} == {(g, p) for g in kept for p in (RDFS.comment, RDFS.seeAlso)}


def test_readers_and_anonymous_callers_cannot_use_the_forms(client: FlaskClient) -> None:
    store = store_of(client)
    before = store.count()
    csrf = token(form_page(client, "/new/risk"))
    assert client.get("/new/risk", headers=READER).status_code == 403
    assert (
        client.post("/new/risk", data={"csrf_token": csrf, "label": "R"}, headers=READER).status_code == 403
    )
    anonymous = client.post(
        "/new/risk", data={"csrf_token": csrf, "label": "R"}, headers={"Accept": "application/json"}
    )
    assert anonymous.status_code == 401
    target = "/delete?" + urllib.parse.urlencode({"iri": EX + "risk-01"})
    assert client.post(target, data={"csrf_token": csrf}, headers=READER).status_code == 403
    assert store.count() == before
    # a reader's resource page offers no edit
    page = client.get("/resource", query_string={"iri": EX + "risk-01"}, headers=READER).get_data(
        as_text=True
    )
    assert "/edit?" not in page and "/delete?" not in page
    page = client.get("/resource", query_string={"iri": EX + "risk-01"}, headers=EDITOR).get_data(
        as_text=True
    )
    assert "/edit?iri=" in page and "/delete?iri=" in page and "/new/risk" in page


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    store = store_of(client)
    before = store.count()
    form_page(client, "/new/risk")  # the session has a token; the POST does not carry it
    r = client.post("/new/risk", data={"label": "Forged"}, headers=EDITOR)
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert store.count() == before


def test_a_save_is_one_entry_in_the_audit_trail(client: FlaskClient) -> None:
    before = len(client.get("/audit-log", headers=ADMIN).get_json())
    post(client, "/new/person", {"label": "Nina Park"})
    entries = client.get("/audit-log", headers=ADMIN).get_json()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (
        entry["action"] == "form new"
        and entry["iri"] == EX + "person-nina-park"
        and entry["kind"] == "person"
    )
    assert entry["who"].startswith("editor token ")
    assert entry["graph"] == "https://w3id.org/aims/graph/forms"
    assert entry["triples_after"] - entry["triples_before"] == 2  # its type and its name


def test_the_catalogue_cannot_be_edited_or_deleted(client: FlaskClient) -> None:
    control = "https://w3id.org/aims/iso42001#A.6.2.4"
    for target in ("/edit", "/delete"):
        assert client.get(target, query_string={"iri": control}, headers=EDITOR).status_code == 403
    page = client.get("/resource", query_string={"iri": control}, headers=EDITOR).get_data(as_text=True)
    assert "/delete?" not in page and "/edit?" not in page


# ---------------------------------------------------------------------- through aims serve


def test_a_risk_made_through_a_real_server(tmp_path: Path) -> None:
    env = {"AIMS_TOKENS": "serve-editor=editor"}
    with aims_server(tmp_path, EXAMPLE_FILES, env) as port:
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        headers = {"Authorization": "Bearer serve-editor", "Accept": "text/html"}
        with opener.open(urllib.request.Request(base + "/new/risk", headers=headers)) as page:
            csrf = token(page.read().decode())
        body = urllib.parse.urlencode(
            {"csrf_token": csrf, "label": "Served risk", "owner": EX + "li-wei"}
        ).encode()
        request = urllib.request.Request(base + "/new/risk", data=body, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as answer:  # the 303, not followed
            opener.open(request)
        assert answer.value.code == 303
        location = answer.value.headers["Location"]
        assert location.endswith(f"/resource?iri={EX}risk-served-risk")
        with opener.open(urllib.request.Request(base + "/resource?" + urllib.parse.urlencode(
                {"iri": EX + "risk-served-risk"}), headers={"Accept": "application/json"})) as found:  # fmt: skip
            resource = json.loads(found.read())
        assert resource["label"] == "Served risk"
        assert [EX + "li-wei"] == [v for p, v in resource["properties"] if p == str(AIMS.owner)]
