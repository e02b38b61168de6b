"""The crosswalks judged on hand-written organisations (tests/data/frameworks/) and on the example
(issue 21, Tests): which AI Act obligations apply to whom, what the Act's own rules
(shapes/frameworks/eu-ai-act.ttl) find, that a status is never "met" through broad, narrow or
related matches alone, that every status shows its chain, the same answers on every store, and the
command line.

The expectations were written from Regulation (EU) 2024/1689 (OJ L, 12.7.2024) before the code was
run; each says why, citing the Article. Where the catalogue applies an obligation by class more
broadly than the text (e.g. Art. 50(3) binds deployers of emotion recognition systems only, the
catalogue every deployer of a system with transparency obligations), only what the text itself
decides is asserted.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from functools import cache

import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from service import frameworks, reports
from service.cli import main
from service.namespaces import CATALOGUE_GRAPH
from service.store.base import Store
from service.store.embedded import EmbeddedStore
from service.store.formats import FORMATS

from .conftest import DATA, EXAMPLE_FILES, ROOT, load_example

AS_OF = dt.date(2026, 11, 20)  # the example's day (examples/README.md)
ORGS = DATA / "frameworks"
A = Namespace("https://w3id.org/aims#")
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
EUAIA = Namespace("https://w3id.org/aims/eu-ai-act#")
NISTRMF = Namespace("https://w3id.org/aims/nist-ai-rmf#")
EUAIACT = Namespace("https://w3id.org/dpv/legal/eu/aiact#")
TALENTIA = Namespace("https://talentia.example/aims/")
NORTHBANK = Namespace("https://northbank.example/aims/")
CHATLY = Namespace("https://chatly.example/aims/")
EX = Namespace("https://aurora-lending.example/aims/")
NA, MET, NOT_MET, PARTLY = reports.NOT_APPLICABLE, reports.MET, reports.NOT_MET, reports.PARTLY

Change = Callable[[Graph], None]


# ---------------------------------------------------------------- building and judging organisations


def store_of(*names: str, change: Change | None = None) -> EmbeddedStore:
    """An embedded store holding the named files of tests/data/frameworks/ (in one graph), changed."""
    g = Graph()
    for name in names:
        g.parse(ORGS / name)
    if change is not None:
        change(g)
    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load(
        g.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], URIRef("urn:test:org"), replace=True
    )
    return store


def without(s: URIRef, p: URIRef) -> Change:
    return lambda g: g.remove((s, p, None))


def replaced(s: URIRef, p: URIRef, o: object) -> Change:
    def change(g: Graph) -> None:
        g.remove((s, p, None))
        g.add((s, p, o if isinstance(o, URIRef) else Literal(o)))  # type: ignore[arg-type]

    return change


@cache
def judged(
    *names: str, change: Change | None = None, key: str = "eu-ai-act"
) -> dict[str, frameworks.ItemStatus]:
    """Every requirement of a framework by its notation ("Art. 49(1)"), on the organisation's files.
    Cached: each organisation is built and judged once per test run."""
    items = frameworks.status(store_of(*names, change=change), key, AS_OF)
    return {i.notation: i for i in items if i.requirement}


@cache
def example(key: str = "eu-ai-act") -> dict[str, frameworks.ItemStatus]:
    return {i.notation: i for i in frameworks.status(example_store(), key, AS_OF) if i.requirement}


@cache
def example_store() -> EmbeddedStore:
    return load_example(EmbeddedStore())


def of_article(items: dict[str, frameworks.ItemStatus], *articles: int) -> list[str]:
    """The notations of the obligation items of these articles ("Art. 26(2)" is of Art. 26)."""
    return [n for n in items if n.startswith("Art. ") and int(n[5:].split("(")[0]) in articles]


def by_rule(item: frameworks.ItemStatus) -> str:
    """What an item reads when its own rules find nothing: met, or partly met where it is broader
    than an ISO/IEC 42001 requirement not met here (README "Crosswalks": a broad match's unmet part)."""
    broader_unmet = [s for s in item.steps if s.predicate == "skos:broadMatch" and s.status == NOT_MET]
    return PARTLY if broader_unmet and not any(s.carries for s in item.steps) else MET


def messages(item: frameworks.ItemStatus) -> list[tuple[str, str, str]]:
    return sorted((str(f["severity"]), str(f["focus"]), str(f["message"])) for f in item.findings)


# the AI Act's own rules and the items they check (a status "met" may come from one of them)
RULED = {str(o) for o in frameworks.rules(frameworks.get("eu-ai-act")).objects(None, A.checksRequirement)}  # type: ignore[union-attr]

# Obligations of providers of high-risk systems (Art. 16), of their systems (Art. 8-15, 17), the
# conformity assessment and declaration (43, 47), registration (49(1)), post-market monitoring (72)
# and serious incidents (73): all bind the provider of an Annex III system, whatever its area.
PROVIDER_HIGH_RISK = [
    "Art. 9(1)", "Art. 9(2)", "Art. 10(1)", "Art. 10(2)(f)", "Art. 11(1)", "Art. 12(1)", "Art. 13(1)",
    "Art. 14(1)", "Art. 15(1)", "Art. 16(a)", "Art. 16(i)", "Art. 17(1)", "Art. 17(1)(d)", "Art. 19(1)",
    "Art. 43(2)", "Art. 47(1)", "Art. 49(1)", "Art. 72(1)", "Art. 73(1)", "Art. 73(2)", "Annex IV(1)",
]  # fmt: skip
# Where the organisation's rules pass for a complete provider (the own rules of issue 21).
PROVIDER_OWN = ["Art. 4", "Art. 6(2)", "Art. 11(1)", "Art. 12(1)", "Art. 14(1)", "Art. 19(1)", "Art. 43(1)",
                "Art. 47(1)", "Art. 49(1)"]  # fmt: skip


# ---------------------------------------------------------------- a. the provider of an Annex III system


def test_provider_of_high_risk_system_has_the_providers_obligations() -> None:
    items = judged("provider-hr.ttl")
    for notation in PROVIDER_HIGH_RISK:
        assert items[notation].status != NA, (notation, items[notation].why)
        assert items[notation].systems == [str(TALENTIA["cv-screener"])]
    # Art. 26 and 27 bind deployers (Art. 3(4)); Talentia does not use the system itself
    for notation in of_article(items, 26, 27) + ["Art. 49(3)"]:
        assert items[notation].status == NA, (notation, items[notation].why)
    # not in Annex I (Art. 6(1), 11(2), 43(3)); not an importer, distributor, authorised
    # representative (Art. 22(3), 23, 24); no transparency class (Art. 50), no model (Art. 53-55),
    # no prohibited practice (Art. 5)
    for notation in ["Art. 6(1)", "Art. 8(2)", "Art. 11(2)", "Art. 43(3)", "Art. 22(3)"] + of_article(
        items, 5, 23, 24, 50, 53, 54, 55
    ):
        assert items[notation].status == NA, (notation, items[notation].why)


def test_complete_provider_passes_the_own_rules() -> None:
    items = judged("provider-hr.ttl")
    # no serious incident is recorded: Art. 73(1)'s rule has nothing to look at, so it does not make
    # the item met (what no rule looked at is never met); its status comes from its mappings alone
    assert not items["Art. 73(1)"].why.startswith("its own rules"), items["Art. 73(1)"].why
    assert items["Art. 73(1)"].status != MET
    for notation in PROVIDER_OWN:
        # every record the rule looks for is there (see the file): no result, the rule says met
        assert items[notation].findings == [], (notation, items[notation].findings)
        # the rule says met; the item is partly met only where it is broader than an ISO/IEC 42001
        # requirement that is not met here (Art. 4 and 7.2 competence: Talentia keeps no
        # competence records), README "Crosswalks"
        assert items[notation].status == by_rule(items[notation]), (notation, items[notation].why)


def test_a_missing_registration_is_exactly_art_49_1_not_met() -> None:
    complete = judged("provider-hr.ttl")
    unregistered = judged("provider-hr.ttl", change=without(TALENTIA["cv-screener"], A.euDatabaseId))
    # Art. 49(1): the provider registers an Annex III system in the EU database before placing it
    # on the market; nothing else of what was recorded changed
    assert unregistered["Art. 49(1)"].status == NOT_MET
    assert messages(unregistered["Art. 49(1)"]) == [
        (
            "Violation",
            str(TALENTIA["cv-screener"]),
            "This high-risk system of Annex III has no EU database registration: register it and give its number (column 'EU database registration').",
        )
    ]
    changed = {n for n in complete if complete[n].status != unregistered[n].status}
    assert changed == {"Art. 49(1)"}


def test_a_provider_that_also_deploys_has_the_deployers_obligations_for_that_system() -> None:
    items = judged("provider-hr.ttl", "also-deploys.ttl")
    planner = str(TALENTIA["shift-planner"])
    # Art. 26 binds it now, for the system it uses (Art. 3(4)), not for the one it provides
    for notation in ["Art. 26(1)", "Art. 26(2)", "Art. 26(6)"]:
        assert items[notation].systems == [planner], notation
    # no oversight assigned for the deployed system: Art. 26(2) not met, about that system
    assert items["Art. 26(2)"].status == NOT_MET
    assert [focus for _, focus, _ in messages(items["Art. 26(2)"])] == [planner]
    assert items["Art. 26(6)"].status == MET  # six months of logs (Art. 26(6))
    # Art. 14(1) asks the provider to design oversight into ScreenRight, which has it: the shift
    # planner's missing measure is the deployer's gap, not the provider's
    assert items["Art. 14(1)"].systems == [str(TALENTIA["cv-screener"])]
    assert items["Art. 14(1)"].status == MET, items["Art. 14(1)"].findings


def test_a_fria_binds_a_private_deployer_only_for_point_5_or_public_services() -> None:
    """Art. 27(1): deployers that are bodies governed by public law or private entities providing
    public services, and deployers of Annex III point 5(b)-(c) systems. Talentia, a private
    employer, deploys a point 4 system: without its FRIA there is no finding; were it providing
    public services, the rule would ask for one."""
    no_fria = without(TALENTIA["fria-shift"], RDF_TYPE)
    items = judged("provider-hr.ttl", "also-deploys.ttl", change=no_fria)
    assert messages(items["Art. 27(1)"]) == []

    def public(g: Graph) -> None:
        no_fria(g)
        g.add((TALENTIA["talentia"], A.providesPublicService, Literal(True)))

    items = judged("provider-hr.ttl", "also-deploys.ttl", change=public)
    assert [focus for _, focus, _ in messages(items["Art. 27(1)"])] == [str(TALENTIA["shift-planner"])]


def test_provider_of_an_annex_i_product_without_conformity_assessment() -> None:
    # the same system as a safety component of a product under Annex I legislation (Art. 6(1)),
    # with no conformity assessment recorded: Art. 43(3) (assessment under the product's
    # legislation) not met; 43(1) and registration (49(1)) name Annex III systems only
    screener = TALENTIA["cv-screener"]

    def annex_i(g: Graph) -> None:
        replaced(screener, A.aiActClass, A.HighRiskAnnexI)(g)
        g.remove((screener, A.annexIIIArea, None))
        g.remove((TALENTIA.conformity, None, None))

    items = judged("provider-hr.ttl", change=annex_i)
    assert items["Art. 43(3)"].status == NOT_MET
    assert [m for _, _, m in messages(items["Art. 43(3)"])] == [
        "No conformity assessment of this high-risk system is recorded (Art. 43): record it, with the system it assessed."
    ]
    for notation in ["Art. 43(1)", "Art. 49(1)", "Art. 6(2)"]:
        assert items[notation].status == NA, notation
    assert items["Art. 6(1)"].status != NA and items["Art. 11(2)"].status != NA
    assert items["Art. 47(1)"].status == MET  # the declaration is still there


# ---------------------------------------------------------------- b. the deployer of an Annex III system


def test_deployer_of_credit_scoring_has_the_deployers_obligations_only() -> None:
    items = judged("deployer-bank.ttl")
    scorer = str(NORTHBANK["credit-scorer"])
    # Art. 26 binds deployers of high-risk systems; Art. 27(1) a deployer of a point 5(b) system
    for notation in of_article(items, 26) + ["Art. 27(1)", "Art. 4"]:
        assert items[notation].status != NA, notation
        assert items[notation].systems == [scorer], notation
    # FRIA (Art. 27(1)), oversight assigned (26(2)), logs kept six months (26(6)), literacy (Art. 4)
    for notation in ["Art. 27(1)", "Art. 26(2)", "Art. 26(6)", "Art. 4"]:
        assert not items[notation].findings, notation
        assert items[notation].status == by_rule(items[notation]), (notation, items[notation].why)
    # provider-only obligations: Art. 16, its system's requirements (Art. 9-15, 17), the
    # conformity assessment and declaration (43, 47), registration by the provider (49(1)),
    # post-market monitoring (72) and incident reporting (73(1)) are the provider's, not the bank's
    for notation in of_article(items, 9, 10, 11, 12, 13, 14, 15, 16, 17, 43, 47, 72, 73) + ["Art. 49(1)"]:
        assert items[notation].status == NA, (notation, items[notation].why)


def test_deployer_without_fria_has_art_27_1_not_met() -> None:
    complete = judged("deployer-bank.ttl")
    items = judged("deployer-bank.ttl", change=lambda g: g.remove((NORTHBANK.fria, None, None)))
    assert items["Art. 27(1)"].status == NOT_MET
    assert messages(items["Art. 27(1)"]) == [
        (
            "Violation",
            str(NORTHBANK["credit-scorer"]),
            "No fundamental rights impact assessment of this high-risk system is recorded (Art. 27): record one that assesses it.",
        )
    ]
    assert {n for n in complete if complete[n].status != items[n].status} == {"Art. 27(1)"}


# ---------------------------------------------------------------- c. a chatbot: transparency only


def test_chatbot_has_transparency_obligations_only() -> None:
    items = judged("chatbot.ttl")
    applicable = {n for n, i in items.items() if i.status != NA}
    # Art. 50(1) binds the provider of a system interacting with people; Art. 4 every provider and
    # deployer; nothing else: no high-risk class (Art. 6), no model (Art. 53-55)
    assert {"Art. 4", "Art. 50(1)"} <= applicable
    assert applicable <= {"Art. 4"} | set(of_article(items, 50)), applicable
    assert items["Art. 50(1)"].status == MET and items["Art. 4"].status == by_rule(items["Art. 4"])


def test_chatbot_that_does_not_disclose_fails_art_50_1() -> None:
    items = judged("chatbot.ttl", change=replaced(CHATLY.chatbot, A.disclosesAIInteraction, False))
    assert items["Art. 50(1)"].status == NOT_MET
    assert messages(items["Art. 50(1)"]) == [
        (
            "Violation",
            str(CHATLY.chatbot),
            "This system has transparency obligations: say that people are told they deal with AI (column 'Discloses AI interaction').",
        )
    ]


def test_an_unclassified_system_is_a_finding_even_without_high_risk_systems() -> None:
    # issue 21 item 4: a system with no classification is itself a finding (the classification
    # rules of Art. 6); nothing here is high-risk, yet the summariser must be reported
    items = judged("chatbot.ttl", "unclassified.ttl")
    summariser = str(CHATLY.summariser)
    assert items["Art. 6(2)"].status == NOT_MET, items["Art. 6(2)"].why
    assert {focus for _, focus, _ in messages(items["Art. 6(2)"])} == {summariser}
    assert summariser in items["Art. 6(2)"].systems
    # it does not make the high-risk obligations apply
    assert items["Art. 9(1)"].status == NA and items["Art. 26(1)"].status == NA


# ---------------------------------------------------------------- d. general-purpose models


def test_integrator_of_a_general_purpose_model_has_no_model_obligations() -> None:
    items = judged("gpai-integrator.ttl")
    # Art. 53-55 bind providers of general-purpose AI models; Weave uses a supplier's model
    for notation in of_article(items, 53, 54, 55):
        assert items[notation].status == NA, (notation, items[notation].why)
    # it provides the assistant built on it: Art. 50(1), and Art. 4
    assert items["Art. 50(1)"].status == MET and items["Art. 4"].status == by_rule(items["Art. 4"])


def test_provider_of_a_model_with_systemic_risk_has_art_53_and_55() -> None:
    items = judged("gpai-provider.ttl")
    model = str(URIRef("https://modelworks.example/aims/model"))
    # Art. 53(1): every provider of a general-purpose model; Art. 55(1): with systemic risk
    for notation in [
        "Art. 53(1)(a)", "Art. 53(1)(b)", "Art. 53(1)(c)", "Art. 53(1)(d)",
        "Art. 55(1)(a)", "Art. 55(1)(b)", "Art. 55(1)(c)", "Art. 55(1)(d)",
    ]:  # fmt: skip
        assert items[notation].status != NA, notation
        assert items[notation].systems == [model]
    # a model is not a high-risk system, and not one with transparency duties by itself
    for notation in of_article(items, 9, 16, 26, 49, 50):
        assert items[notation].status == NA, notation
    # without systemic risk (Art. 51): Art. 53 still, Art. 55 no longer
    plain = judged(
        "gpai-provider.ttl",
        change=replaced(URIRef(model), A.aiActClass, A.GeneralPurposeModel),
    )
    assert all(plain[n].status != NA for n in of_article(plain, 53) if n.startswith("Art. 53(1)"))
    assert all(plain[n].status == NA for n in of_article(plain, 55))


# ---------------------------------------------------------------- e. the example organisation


def test_example_reports_its_planted_ai_act_gaps_and_no_other_violation() -> None:
    items = example()
    own = {
        (n, severity, focus, message)
        for n, i in items.items()
        if i.item in RULED
        for severity, focus, message in messages(i)
    }
    violations = {(n, focus) for n, severity, focus, _ in own if severity == "Violation"}
    credit, copy = str(EX["credit-scorer"]), str(EX["marketing-copy"])
    assert violations == {
        ("Art. 49(1)", credit),  # E1: CreditLens (Annex III(5)(b), provided) is not registered
        ("Art. 47(1)", credit),  # E2: no EU declaration of conformity drawn up
        ("Art. 6(2)", copy),  # E4: CopyPilot has neither a class nor a role (two results)
    }, violations
    assert len([o for o in own if o[0] == "Art. 6(2)"]) == 2
    # E3: the technical documentation covers Annex IV points 1-7; 8 and 9 missing: Warnings
    warnings = sorted((n, focus, m) for n, s, focus, m in own if s == "Warning")
    assert [(n, focus) for n, focus, _ in warnings] == [("Art. 11(1)", credit)] * 2
    assert "does not cover Annex IV point Annex IV(8)" in warnings[0][2]
    assert "does not cover Annex IV point Annex IV(9)" in warnings[1][2]
    expected = {"Art. 49(1)": NOT_MET, "Art. 47(1)": NOT_MET, "Art. 6(2)": NOT_MET, "Art. 11(1)": PARTLY}
    # the rest of the own rules pass: the assessment (Art. 43), logs (12, 19, 26(6)), oversight
    # (14, 26(2)), FRIA (27(1)), disclosure (50(1)), literacy (4: partly, as G9 leaves 7.2 not met)
    ruled = ["Art. 43(1)", "Art. 12(1)", "Art. 19(1)", "Art. 26(6)", "Art. 14(1)", "Art. 26(2)", "Art. 27(1)",
             "Art. 50(1)", "Art. 4"]  # fmt: skip
    expected |= {n: by_rule(items[n]) for n in ruled}
    assert {n: items[n].status for n in expected} == expected
    assert (
        items["Art. 4"].status == PARTLY
    )  # examples/README.md G9: a role holder with no competence record (7.2)
    # no serious incident is recorded: Art. 73(1)'s rule looks at nothing, and is not what judges it
    assert not items["Art. 73(1)"].why.startswith("its own rules")


# ---------------------------------------------------------------- Art. 73's deadlines


def test_serious_incident_deadlines() -> None:
    items = judged("provider-hr.ttl", "incidents.ttl")

    def late(notation: str) -> dict[str, str]:
        return {
            focus: message
            for severity, focus, message in messages(items[notation])
            if severity == "Violation"
        }

    # 16 > 15 days (73(2)); widespread 3 > 2 (73(3)); a death 11 > 10 (73(4)); the others are on or
    # within their deadline. Unreported, aware 19 days before the as-of day: the duty to report (73(1)).
    assert set(late("Art. 73(2)")) == {str(TALENTIA["inc-16"])}
    assert set(late("Art. 73(3)")) == {str(TALENTIA["inc-wide-3"])}
    assert set(late("Art. 73(4)")) == {str(TALENTIA["inc-death-11"])}
    assert set(late("Art. 73(1)")) == {str(TALENTIA["inc-open-late"])}
    for notation in ("Art. 73(1)", "Art. 73(2)", "Art. 73(3)", "Art. 73(4)"):
        assert items[notation].status == NOT_MET, notation
    assert (
        "after 16 days" in late("Art. 73(2)")[str(TALENTIA["inc-16"])]
        and "15 days" in late("Art. 73(2)")[str(TALENTIA["inc-16"])]
    )
    assert (
        "after 3 days" in late("Art. 73(3)")[str(TALENTIA["inc-wide-3"])]
        and "2 days" in late("Art. 73(3)")[str(TALENTIA["inc-wide-3"])]
    )
    assert (
        "after 11 days" in late("Art. 73(4)")[str(TALENTIA["inc-death-11"])]
        and "10 days" in late("Art. 73(4)")[str(TALENTIA["inc-death-11"])]
    )
    assert "has not been reported" in late("Art. 73(1)")[str(TALENTIA["inc-open-late"])]


# ---------------------------------------------------------------- never "met" through support alone


def test_support_alone_never_makes_met_even_when_every_iso_requirement_is_met() -> None:
    # the situation: every ISO/IEC 42001 requirement met; an item whose mappings are all broad,
    # narrow or related (and that has no rule of its own) is at most "partly met"
    store = store_of("chatbot.ttl")
    all_met = [dataclasses.replace(s, status=MET) for s in reports.gap_analysis(store, AS_OF)]
    seen = 0
    for key in ("eu-ai-act", "nist-ai-rmf"):
        for item in frameworks.status(store, key, AS_OF, iso=all_met):
            if not item.requirement or item.status == NA or not item.steps:
                continue
            if not any(s.carries for s in item.steps) and item.item not in RULED:
                assert all(s.status == MET for s in item.steps)
                assert item.status == PARTLY, (item.notation, item.why)
                seen += 1
            elif any(s.carries for s in item.steps) and item.item not in RULED:
                assert item.status == MET, (item.notation, item.why)  # exact or close carries
    assert seen > 10  # many items are only supported (NIST and the chatbot's Art. 50(5) among them)
    art_50_5 = {i.notation: i for i in frameworks.status(store, "eu-ai-act", AS_OF, iso=all_met)}[
        "Art. 50(5)"
    ]
    assert art_50_5.steps and not any(s.carries for s in art_50_5.steps) and art_50_5.status == PARTLY


@pytest.mark.parametrize("key", ["eu-ai-act", "nist-ai-rmf"])
def test_no_item_of_the_example_is_met_without_a_carrying_match_or_its_own_rule(key: str) -> None:
    items = example(key)
    assert any(i.status == MET for i in items.values())
    for item in items.values():
        if item.status == MET:
            carried = [s for s in item.steps if s.carries and s.status == MET]
            assert carried or item.item in RULED, (item.notation, item.why)
            # and nothing carried is worse than met
            assert all(s.status in (MET, NA) for s in item.steps if s.carries), item.notation


# ---------------------------------------------------------------- every status shows its chain


def sssom_reason(subject: str, obj: str) -> tuple[str, str]:
    """The predicate and comment of a row of the project's AI Act crosswalk, read from the TSV."""
    path = ROOT / "ontology" / "mappings" / "iso42001-eu-ai-act.sssom.tsv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    for row in csv.DictReader(lines, delimiter="\t"):
        if row["subject_id"] == subject and row["object_id"] == obj:
            return row["predicate_id"], row["comment"]
    raise AssertionError(f"no row {subject} -> {obj}")


def test_a_status_met_by_a_close_match_shows_its_chain() -> None:
    from service.http import create_app

    iri = str(EUAIA["art-17-1-d"])  # Art. 17(1)(d): examination, test and validation procedures
    predicate, reason = sssom_reason("iso42001:A.6.2.4", "euaia:art-17-1-d")
    assert predicate == "skos:closeMatch"
    client = create_app({}, store=example_store()).test_client()
    answer = client.get(
        "/framework-item",
        query_string={"iri": iri, "as_of": AS_OF.isoformat()},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    item = answer.get_json()
    assert item["status"] == MET
    [step] = [s for s in item["steps"] if s["notation"] == "A.6.2.4"]
    assert step["predicate"] == "skos:closeMatch" and step["carries"] is True
    assert step["reason"] == reason and reason
    assert step["requirement"] == "https://w3id.org/aims/iso42001#A.6.2.4"
    assert step["status"] == MET
    # what the requirement's status rests on: the resources answering it (and its findings: none)
    assert step["resources"] and all(step["resources"].values())
    assert step["findings"] == []
    assert "A.6.2.4" in item["why"] and "closeMatch" in item["why"]
    # the same chain from frameworks.status
    assert json.loads(json.dumps(example()["Art. 17(1)(d)"].to_json())) == item


def test_a_status_not_met_shows_the_requirements_findings() -> None:
    # Art. 10(2)(c) (data preparation) is carried by A.7.6 (close): not met on the example, and
    # the chain holds the validation results that make A.7.6 not met
    item = example()["Art. 10(2)(c)"]
    [step] = [s for s in item.steps if s.notation == "A.7.6"]
    assert step.carries and step.status == NOT_MET == item.status
    assert step.findings and all(f["severity"] for f in step.findings)


def test_framework_item_refuses_what_is_not_an_item() -> None:
    from service.http import create_app

    client = create_app({}, store=example_store()).test_client()
    for iri, status in (("https://example.org/x", 404), ("not an iri", 400), (str(EUAIA["art-999"]), 404)):
        answer = client.get(
            "/framework-item", query_string={"iri": iri}, headers={"Accept": "application/json"}
        )
        assert answer.status_code == status, (iri, answer.status_code)
        assert answer.get_json()["detail"]


# ---------------------------------------------------------------- the same answers on every store


def _normalised(items: list[frameworks.ItemStatus]) -> list[dict[str, object]]:
    """Statuses as JSON, lists whose order a store does not fix sorted."""
    out = json.loads(json.dumps([i.to_json() for i in items]))
    for item in out:
        item["findings"] = sorted(item["findings"], key=json.dumps)
        for step in item["steps"]:
            step["findings"] = sorted(step["findings"], key=json.dumps)
            step["resources"] = {k: sorted(v) for k, v in step["resources"].items()}
        item["steps"] = sorted(item["steps"], key=json.dumps)
    return out


ALL_ORGS = sorted(ORGS.glob("*.ttl"))  # every hand-written file at once: every rule has work


def _data_graphs(store: Store) -> list[URIRef]:
    return [
        g
        for g in store.graphs()
        if g != CATALOGUE_GRAPH and str(g).startswith("https://w3id.org/aims/graph/source/")
    ]


@pytest.mark.slow
@pytest.mark.servers
@pytest.mark.parametrize("kind", ["oxigraph", "virtuoso"])
def test_same_answers_on_every_store(kind: str, request: pytest.FixtureRequest) -> None:
    remote: Store = request.getfixturevalue(f"{kind}_remote")
    embedded = EmbeddedStore()
    embedded.ensure_catalogue()
    embedded.load_files(ALL_ORGS)
    try:
        for g in _data_graphs(remote):
            remote.drop(g)
        remote.ensure_catalogue()
        remote.load_files(ALL_ORGS)
        for key in ("eu-ai-act", "nist-ai-rmf"):
            answer = _normalised(frameworks.status(remote, key, AS_OF))
            assert answer == _normalised(frameworks.status(embedded, key, AS_OF)), key
            # something to compare: the own rules' findings (Art. 73's deadlines among them)
            assert key != "eu-ai-act" or any(i["findings"] for i in answer)
        for g in _data_graphs(remote):
            remote.drop(g)
        load_example(remote)
        for key in ("eu-ai-act", "nist-ai-rmf"):
            assert _normalised(frameworks.status(remote, key, AS_OF)) == _normalised(
                frameworks.status(example_store(), key, AS_OF)
            ), key
    finally:
        for g in _data_graphs(remote):
            remote.drop(g)
        load_example(remote)  # left as the other tests expect it


# ---------------------------------------------------------------- the command line


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_gap_for_the_ai_act_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in EXAMPLE_FILES]
    code, out, _ = run(
        capsys, "gap", "--framework", "eu-ai-act", "--format", "json", "--as-of", AS_OF.isoformat(), *files
    )
    assert code == 0  # the gap analysis reports; it does not fail (service/cli.py)
    items = {i["notation"]: i for i in json.loads(out) if i["requirement"]}
    assert items["Art. 49(1)"]["status"] == NOT_MET  # E1
    assert {n: i["status"] for n, i in items.items()} == {n: i.status for n, i in example().items()}


def test_cli_readiness_for_the_nist_ai_rmf(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in EXAMPLE_FILES]
    code, out, _ = run(
        capsys,
        "readiness",
        "--framework",
        "nist-ai-rmf",
        "--format",
        "json",
        "--as-of",
        AS_OF.isoformat(),
        *files,
    )
    summary = json.loads(out)
    assert summary["framework"] == "nist-ai-rmf"
    # NIST AI RMF 1.0 has 72 subcategories, none "not applicable" (no applicability by role)
    assert sum(summary[s] for s in reports.STATUSES) == 72 == summary["applicable"]
    # exit 1 while anything is not met, as for ISO/IEC 42001's readiness
    assert code == (1 if summary["not_met"] else 0)
    code, out, _ = run(
        capsys, "readiness", "--framework", "nist-ai-rmf", "--as-of", AS_OF.isoformat(), *files
    )
    assert "NIST AI RMF 1.0" in out and "applicable requirements met" in out


def test_cli_refuses_an_unknown_framework(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["gap", "--framework", "gdpr", str(ORGS / "chatbot.ttl")])
    assert stopped.value.code == 2
    _, err = capsys.readouterr()
    assert "gdpr" in err and "Traceback" not in err
