"""The EU AI Act and NIST AI RMF catalogues (ontology/eu-ai-act.ttl, ontology/nist-ai-rmf.ttl) hold what
the texts hold, and are what scripts/build_frameworks.py makes of vendor/eu-ai-act/ and vendor/nist-ai-rmf/.

Expected numbers and titles are written here from the sources, not from the tables:
- Regulation (EU) 2024/1689, OJ L of 12.7.2024 (http://data.europa.eu/eli/reg/2024/1689/oj);
- NIST AI 100-1, AI RMF 1.0 (January 2023), Tables 1-4 (the AI RMF Core).
"""

from __future__ import annotations

import csv
import importlib.util
import re
from types import ModuleType

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS
from rdflib.term import Node

from service.namespaces import AIMS_IRI, declared_terms

from .conftest import ROOT, VENDOR

A = Namespace(AIMS_IRI)  # open: the terms are checked against the ontology in their own test
EUAIA = Namespace("https://w3id.org/aims/eu-ai-act#")
NISTRMF = Namespace("https://w3id.org/aims/nist-ai-rmf#")
EUAIACT = Namespace("https://w3id.org/dpv/legal/eu/aiact#")
PROVIDER, DEPLOYER, IMPORTER, DISTRIBUTOR, REPRESENTATIVE = (
    EUAIACT.AIProvider,
    EUAIACT.AIDeployer,
    EUAIACT.AIImporter,
    EUAIACT.AIDistributor,
    EUAIACT.AuthorisedRepresentative,
)

# The articles issue 21 lists (4, 5, 6, 8-27, 43, 47-50, 53-55, 72, 73), titled as in the OJ of 12.7.2024.
ARTICLE_TITLES = {
    4: "AI literacy",
    5: "Prohibited AI practices",
    6: "Classification rules for high-risk AI systems",
    8: "Compliance with the requirements",
    9: "Risk management system",
    10: "Data and data governance",
    11: "Technical documentation",
    12: "Record-keeping",
    13: "Transparency and provision of information to deployers",
    14: "Human oversight",
    15: "Accuracy, robustness and cybersecurity",
    16: "Obligations of providers of high-risk AI systems",
    17: "Quality management system",
    18: "Documentation keeping",
    19: "Automatically generated logs",
    20: "Corrective actions and duty of information",
    21: "Cooperation with competent authorities",
    22: "Authorised representatives of providers of high-risk AI systems",
    23: "Obligations of importers",
    24: "Obligations of distributors",
    25: "Responsibilities along the AI value chain",
    26: "Obligations of deployers of high-risk AI systems",
    27: "Fundamental rights impact assessment for high-risk AI systems",
    43: "Conformity assessment",
    47: "EU declaration of conformity",
    48: "CE marking",
    49: "Registration",
    50: "Transparency obligations for providers and deployers of certain AI systems",
    53: "Obligations for providers of general-purpose AI models",
    54: "Authorised representatives of providers of general-purpose AI models",
    55: "Obligations of providers of general-purpose AI models with systemic risk",
    72: "Post-market monitoring by providers and post-market monitoring plan for high-risk AI systems",
    73: "Reporting of serious incidents",
}
ANNEX_TITLES = {
    "III": "High-risk AI systems referred to in Article 6(2)",
    "IV": "Technical documentation referred to in Article 11(1)",
}
# Annex III lists 8 areas (points 1-8); a word of each area's heading in the OJ.
ANNEX_III_AREAS = {
    1: "Biometrics",
    2: "Critical infrastructure",
    3: "Education",
    4: "Employment",
    5: "essential",
    6: "Law enforcement",
    7: "Migration",
    8: "justice",
}
# NIST AI 100-1 Tables 1-4: subcategories per category (GOVERN 1.1-1.7 is 7, ...).
NIST_SUBCATEGORIES = {
    "GOVERN 1": 7, "GOVERN 2": 3, "GOVERN 3": 2, "GOVERN 4": 3, "GOVERN 5": 2, "GOVERN 6": 2,
    "MAP 1": 6, "MAP 2": 3, "MAP 3": 5, "MAP 4": 2, "MAP 5": 2,
    "MEASURE 1": 3, "MEASURE 2": 13, "MEASURE 3": 3, "MEASURE 4": 3,
    "MANAGE 1": 4, "MANAGE 2": 4, "MANAGE 3": 2, "MANAGE 4": 3,
}  # fmt: skip

EU_ID = re.compile(r"^(art-\d+(-\d+)?(-[a-z])?|annex-(III|IV)(-\d+)?)$")
NIST_ID = re.compile(r"^(GOVERN|MAP|MEASURE|MANAGE)(-\d+(\.\d+)?)?$")


def build_frameworks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_frameworks", ROOT / "scripts" / "build_frameworks.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def eu() -> Graph:
    return Graph().parse(ROOT / "ontology" / "eu-ai-act.ttl")


@pytest.fixture(scope="module")
def nist() -> Graph:
    return Graph().parse(ROOT / "ontology" / "nist-ai-rmf.ttl")


def notation(g: Graph, iri: Node | None) -> str:
    return str(g.value(iri, SKOS.notation))


def members(g: Graph, cls: URIRef, framework: URIRef) -> set[URIRef]:
    return {s for s in g.subjects(RDF.type, cls) if (s, A.inFramework, framework) in g}  # type: ignore[misc]


def parts(g: Graph, whole: URIRef) -> set[URIRef]:
    return set(g.subjects(DCTERMS.isPartOf, whole))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- NIST AI RMF


def test_nist_has_4_functions_19_categories_72_subcategories(nist: Graph) -> None:
    items = members(nist, A.FrameworkItem, A.NISTAIRMF)
    functions = {i for i in items if (i, DCTERMS.isPartOf, None) not in nist}
    assert {notation(nist, f) for f in functions} == {"GOVERN", "MAP", "MEASURE", "MANAGE"}
    assert {notation(nist, c) for c in items - functions} == set(NIST_SUBCATEGORIES)
    assert len(members(nist, A.FrameworkRequirement, A.NISTAIRMF)) == 72 == sum(NIST_SUBCATEGORIES.values())
    for category, count in NIST_SUBCATEGORIES.items():
        assert len(parts(nist, NISTRMF[category.replace(" ", "-")])) == count, category
    # per function, as NIST AI 100-1 counts them: GOVERN 19, MAP 18, MEASURE 22, MANAGE 13
    per_function = {
        f: sum(len(parts(nist, c)) for c in parts(nist, NISTRMF[f]))
        for f in ("GOVERN", "MAP", "MEASURE", "MANAGE")
    }
    assert per_function == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}


def test_nist_subcategory_sits_in_the_category_its_id_names(nist: Graph) -> None:
    for sub in members(nist, A.FrameworkRequirement, A.NISTAIRMF):
        text = notation(nist, sub)  # "MEASURE 2.13"
        category = nist.value(sub, DCTERMS.isPartOf)
        assert notation(nist, category) == text.split(".")[0], text  # "MEASURE 2"
        assert notation(nist, nist.value(category, DCTERMS.isPartOf)) == text.split()[0], text  # "MEASURE"
        assert sub == NISTRMF[text.replace(" ", "-")]
        assert nist.value(sub, RDFS.label) and nist.value(sub, SKOS.definition), text


def test_nist_outcome_text_is_nists(nist: Graph) -> None:
    # NIST AI 100-1 Table 3, MEASURE 2.13, word for word
    assert str(nist.value(NISTRMF["MEASURE-2.13"], SKOS.definition)) == (
        "Effectiveness of the employed TEVV metrics and processes in the MEASURE function are evaluated and "
        "documented."
    )
    # the PDF's line-break hyphens are restored (Table 2, MAP 1.1: "context-specific laws")
    assert "context-specific laws" in str(nist.value(NISTRMF["MAP-1.1"], SKOS.definition))


# ---------------------------------------------------------------------------------------- EU AI Act


def test_ai_act_articles_and_annexes_have_their_official_titles(eu: Graph) -> None:
    for number, title in ARTICLE_TITLES.items():
        article = EUAIA[f"art-{number}"]
        assert (article, RDF.type, A.FrameworkItem) in eu, number
        assert eu.value(article, RDFS.label) == Literal(title, lang="en"), number
        assert notation(eu, article) == f"Article {number}"
    for roman, title in ANNEX_TITLES.items():
        assert eu.value(EUAIA[f"annex-{roman}"], RDFS.label) == Literal(title, lang="en"), roman


def test_every_listed_article_has_obligations_each_with_a_role(eu: Graph) -> None:
    roles = {PROVIDER, DEPLOYER, IMPORTER, DISTRIBUTOR, REPRESENTATIVE}
    for number in ARTICLE_TITLES:
        obligations = parts(eu, EUAIA[f"art-{number}"])
        assert obligations, f"Article {number} has no obligation items"
        for item in obligations:
            assert (item, RDF.type, A.FrameworkRequirement) in eu, item
            bound = set(eu.objects(item, A.appliesToRole))
            assert bound and bound <= roles, (item, bound)


def test_obligation_notation_follows_its_id(eu: Graph) -> None:
    """art-9-2-a is "Art. 9(2)(a)", art-16-a "Art. 16(a)" (Art. 16 has points, no paragraphs), annex-IV-3
    "Annex IV(3)"; Art. 4 is one unnumbered paragraph, its item art-4-1 is cited "Art. 4"."""
    for item in members(eu, A.FrameworkRequirement, A.EUAIAct):
        local = str(item)[len(str(EUAIA)) :]
        kind, number, *rest = local.split("-")
        expected = ("Art. " if kind == "art" else "Annex ") + number + "".join(f"({p})" for p in rest)
        if local == "art-4-1":
            expected = "Art. 4"
        assert notation(eu, item) == expected, local
        assert eu.value(item, DCTERMS.isPartOf) == EUAIA[f"{kind}-{number}"], local
        assert eu.value(item, SKOS.definition), local


def test_annex_iii_has_8_areas_and_annex_iv_9_points(eu: Graph) -> None:
    areas = parts(eu, EUAIA["annex-III"])
    assert areas == {EUAIA[f"annex-III-{n}"] for n in range(1, 9)}
    for n, word in ANNEX_III_AREAS.items():
        assert word in str(eu.value(EUAIA[f"annex-III-{n}"], RDFS.label)), n
        assert (EUAIA[f"annex-III-{n}"], RDF.type, A.FrameworkItem) in eu
    points = parts(eu, EUAIA["annex-IV"])
    assert points == {EUAIA[f"annex-IV-{n}"] for n in range(1, 10)}
    # Art. 11(1): the provider draws up the technical documentation of a high-risk system
    for point in points:
        assert set(eu.objects(point, A.appliesToRole)) == {PROVIDER}
        assert set(eu.objects(point, A.appliesToClass)) == {A.HighRiskAnnexI, A.HighRiskAnnexIII}


def test_serious_incident_deadlines_are_in_the_items(eu: Graph) -> None:
    # Art. 73(2) 15 days; 73(3) 2 days (widespread infringement, Art. 3(49)(b) critical infrastructure); 73(4) 10 days (death)
    for paragraph, days in ((2, "15 days"), (3, "2 days"), (4, "10 days")):
        assert days in str(eu.value(EUAIA[f"art-73-{paragraph}"], SKOS.definition)), paragraph
    assert "critical infrastructure" in str(eu.value(EUAIA["art-73-3"], SKOS.definition))
    assert "death" in str(eu.value(EUAIA["art-73-4"], SKOS.definition))


@pytest.mark.parametrize(
    ("article", "roles"),
    [
        (23, {IMPORTER}),  # Art. 23: "importers shall ..."
        (24, {DISTRIBUTOR}),  # Art. 24: "distributors shall ..."
        (26, {DEPLOYER}),  # Art. 26: "deployers shall ..."
        (27, {DEPLOYER}),  # Art. 27(1): "deployers ... shall perform an assessment"
        (17, {PROVIDER}),  # Art. 17(1): "providers ... shall put a quality management system in place"
        (53, {PROVIDER}),  # Art. 53(1): "providers of general-purpose AI models shall ..."
    ],
)
def test_roles_bound_by_an_article(eu: Graph, article: int, roles: set[URIRef]) -> None:
    for item in parts(eu, EUAIA[f"art-{article}"]):
        assert set(eu.objects(item, A.appliesToRole)) == roles, item


def test_classes_an_obligation_applies_to(eu: Graph) -> None:
    classes = {A[c] for c in build_frameworks().CLASSES}
    for item in members(eu, A.FrameworkRequirement, A.EUAIAct):
        assert set(eu.objects(item, A.appliesToClass)) <= classes, item
    # only Art. 4 (AI literacy) binds providers and deployers of every AI system, whatever its class
    unclassed = {
        i for i in members(eu, A.FrameworkRequirement, A.EUAIAct) if (i, A.appliesToClass, None) not in eu
    }
    assert unclassed == {EUAIA["art-4-1"]}
    assert set(eu.objects(EUAIA["art-4-1"], A.appliesToRole)) == {PROVIDER, DEPLOYER}
    # Art. 5 lists prohibited practices; Art. 55 binds only models with systemic risk; Art. 50 transparency
    for item in parts(eu, EUAIA["art-5"]):
        assert set(eu.objects(item, A.appliesToClass)) == {A.ProhibitedPractice}
    for item in parts(eu, EUAIA["art-55"]):
        assert set(eu.objects(item, A.appliesToClass)) == {A.GeneralPurposeModelSystemicRisk}
    for item in parts(eu, EUAIA["art-50"]):
        assert set(eu.objects(item, A.appliesToClass)) == {A.TransparencyRisk}
    # Art. 27(1) excepts Annex III point 2 and names Annex III systems only (Art. 6(2))
    assert set(eu.objects(EUAIA["art-27-1"], A.appliesToClass)) == {A.HighRiskAnnexIII}


# ---------------------------------------------------------------------------------------- both


@pytest.mark.parametrize(
    ("fixture", "namespace", "pattern", "framework"),
    [("eu", EUAIA, EU_ID, A.EUAIAct), ("nist", NISTRMF, NIST_ID, A.NISTAIRMF)],
)
def test_ids_notations_and_ordinals_are_unique_and_well_formed(
    request: pytest.FixtureRequest,
    fixture: str,
    namespace: Namespace,
    pattern: re.Pattern[str],
    framework: URIRef,
) -> None:
    g: Graph = request.getfixturevalue(fixture)
    items = [s for s in g.subjects(A.inFramework, framework)]
    assert len(items) == len(set(items))
    for item in items:
        assert str(item).startswith(str(namespace)) and pattern.match(str(item)[len(str(namespace)) :]), item
    assert set(g.subjects(None, None)) - set(items) == {URIRef(str(namespace).rstrip("#"))}  # + the header
    notations = [notation(g, i) for i in items]
    assert len(notations) == len(set(notations))
    ordinals = sorted(int(str(g.value(i, A.ordinal))) for i in items)
    assert ordinals == list(range(1, len(items) + 1))  # document order, no gaps


def test_table_ids_are_unique() -> None:
    for folder in ("eu-ai-act", "nist-ai-rmf"):
        ids = []
        for path in sorted((VENDOR / folder).glob("*.csv")):
            with open(path, newline="", encoding="utf-8") as f:
                ids += [row["id"] for row in csv.DictReader(f)]
        assert len(ids) == len(set(ids)), folder


@pytest.mark.parametrize("name", ["eu-ai-act.ttl", "nist-ai-rmf.ttl"])
def test_catalogue_is_what_the_script_builds_from_the_tables_now(name: str) -> None:
    built = build_frameworks().render(name)
    assert (ROOT / "ontology" / name).read_text(encoding="utf-8") == built, "run scripts/build_frameworks.py"


@pytest.mark.parametrize("name", ["eu-ai-act.ttl", "nist-ai-rmf.ttl"])
def test_every_aims_term_used_is_declared(name: str) -> None:
    g = Graph().parse(ROOT / "ontology" / name)
    used = {str(t)[len(AIMS_IRI) :] for triple in g for t in triple if str(t).startswith(AIMS_IRI)}
    assert used - declared_terms() == set(), "declare them in ontology/aims-frameworks.ttl"


def test_roles_exist_in_dpv(eu: Graph) -> None:
    dpv = Graph().parse(VENDOR / "vocab" / "dpv" / "legal_eu_aiact_modules_roles.ttl")
    for role in set(eu.objects(None, A.appliesToRole)):
        assert (role, None, None) in dpv, role
