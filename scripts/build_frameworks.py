"""Build ontology/eu-ai-act.ttl and ontology/nist-ai-rmf.ttl from the tables in vendor/eu-ai-act/ and
vendor/nist-ai-rmf/ (see their README.md for sources and licences).

Every article, annex, function and category is an aims:FrameworkItem; every AI Act obligation item,
Annex IV point and NIST subcategory is an aims:FrameworkRequirement. Each carries aims:inFramework,
skos:notation (the id as the text writes it), rdfs:label (short title), skos:definition (what it asks),
dcterms:isPartOf (its article, annex, category or function) and aims:ordinal (document order); AI Act
obligations add aims:appliesToRole (DPV's eu-aiact roles) and aims:appliesToClass.

Run `python scripts/build_frameworks.py` (`--check` exits 1 if a committed file is out of date); the
output is committed so the service needs no build step. The aims: terms are declared in
ontology/aims-frameworks.ttl; this script uses a plain Namespace so it runs before they exist.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vendor"
ONTOLOGY = ROOT / "ontology"

AIMS = Namespace("https://w3id.org/aims#")
EUAIA = Namespace("https://w3id.org/aims/eu-ai-act#")
NISTRMF = Namespace("https://w3id.org/aims/nist-ai-rmf#")
EUAIACT = Namespace("https://w3id.org/dpv/legal/eu/aiact#")  # DPV's AI Act roles

ROLES = {
    "provider": EUAIACT.AIProvider,
    "deployer": EUAIACT.AIDeployer,
    "importer": EUAIACT.AIImporter,
    "distributor": EUAIACT.AIDistributor,
    "authorised-representative": EUAIACT.AuthorisedRepresentative,
}
# The AI Act classification of a system (shared design); an obligation with none applies to every
# AI system its roles cover (Art. 4).
CLASSES = (
    "ProhibitedPractice",
    "HighRiskAnnexI",
    "HighRiskAnnexIII",
    "TransparencyRisk",
    "GeneralPurposeModel",
    "GeneralPurposeModelSystemicRisk",
    "MinimalRisk",
)


def rows(folder: str, name: str) -> list[dict[str, str]]:
    with open(VENDOR / folder / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def new_graph() -> Graph:
    g = Graph()
    for prefix, ns in (
        ("aims", AIMS),
        ("euaia", EUAIA),
        ("nistrmf", NISTRMF),
        ("eu-aiact", EUAIACT),
        ("skos", SKOS),
        ("dcterms", DCTERMS),
    ):
        g.bind(prefix, ns)
    return g


def ontology_header(g: Graph, iri: str, label: str, description: str, source: str, rights: str) -> None:
    node = URIRef(iri)
    g.add((node, RDF.type, OWL.Ontology))
    g.add((node, RDFS.label, Literal(label, lang="en")))
    g.add((node, DCTERMS.description, Literal(description, lang="en")))
    g.add((node, DCTERMS.source, URIRef(source)))
    g.add((node, DCTERMS.rights, Literal(rights, lang="en")))
    g.add((node, OWL.versionInfo, Literal("0.1.0")))
    g.add((node, OWL.imports, URIRef("https://w3id.org/aims")))


class Items:
    """Adds items of one framework, numbering them in document order."""

    def __init__(self, g: Graph, framework: URIRef) -> None:
        self.g, self.framework, self.position = g, framework, 0

    def add(
        self,
        iri: URIRef,
        cls: URIRef,
        notation: str,
        title: str,
        definition: str,
        part_of: URIRef | None = None,
    ) -> URIRef:
        self.position += 1
        g = self.g
        g.add((iri, RDF.type, cls))
        g.add((iri, AIMS.inFramework, self.framework))
        g.add((iri, SKOS.notation, Literal(notation)))
        g.add((iri, RDFS.label, Literal(title, lang="en")))
        if definition:
            g.add((iri, SKOS.definition, Literal(definition, lang="en")))
        if part_of is not None:
            g.add((iri, DCTERMS.isPartOf, part_of))
        g.add((iri, AIMS.ordinal, Literal(self.position, datatype=XSD.integer)))
        return iri


def article_notation(row: dict[str, str]) -> str:
    return f"{'Article' if row['kind'] == 'article' else 'Annex'} {row['number']}"


def build_eu_ai_act() -> Graph:
    g = new_graph()
    ontology_header(
        g,
        "https://w3id.org/aims/eu-ai-act",
        "EU AI Act (Regulation (EU) 2024/1689) catalogue for aims-graph",
        "The articles and annexes of the AI Act that bind providers, deployers, importers, distributors and "
        "authorised representatives of AI systems and providers of general-purpose AI models, with their "
        "obligations as separate items, the roles they bind and the classes of system they apply to.",
        "http://data.europa.eu/eli/reg/2024/1689/oj",
        "Text reused from EUR-Lex under Commission Decision 2011/833/EU; only the Official Journal is "
        "authentic. Short titles and statements are the project's summaries.",
    )
    items = Items(g, AIMS.EUAIAct)
    obligations: dict[str, list[dict[str, str]]] = {}
    for row in rows("eu-ai-act", "obligations.csv"):
        obligations.setdefault(row["part_of"], []).append(row)
    areas = rows("eu-ai-act", "annex_iii_areas.csv")
    for article in rows("eu-ai-act", "articles.csv"):
        parent = items.add(
            EUAIA[article["id"]], AIMS.FrameworkItem, article_notation(article), article["title"], ""
        )
        for row in obligations.pop(article["id"], []):
            iri = items.add(
                EUAIA[row["id"]],
                AIMS.FrameworkRequirement,
                row["notation"],
                row["title"],
                row["statement"],
                parent,
            )
            for role in row["roles"].split():
                g.add((iri, AIMS.appliesToRole, ROLES[role]))
            for cls in row["classes"].split():
                if cls not in CLASSES:
                    raise ValueError(f"{row['id']}: unknown class {cls}")
                g.add((iri, AIMS.appliesToClass, AIMS[cls]))
        if article["id"] == "annex-III":
            for row in areas:
                items.add(
                    EUAIA[row["id"]], AIMS.FrameworkItem, row["notation"], row["title"], row["covers"], parent
                )
    if obligations:
        raise ValueError(f"obligations of unknown articles: {sorted(obligations)}")
    return g


def nist_iri(notation: str) -> URIRef:
    """'GOVERN 1.1' -> nistrmf:GOVERN-1.1 (the id as NIST writes it, the space as a hyphen)."""
    return NISTRMF[notation.replace(" ", "-")]


def build_nist_ai_rmf() -> Graph:
    g = new_graph()
    ontology_header(
        g,
        "https://w3id.org/aims/nist-ai-rmf",
        "NIST AI RMF 1.0 (NIST AI 100-1) catalogue for aims-graph",
        "The AI RMF Core: 4 functions, 19 categories and 72 subcategories (NIST AI 100-1, Tables 1-4), "
        "with the outcome text of each and a short title written by the project.",
        "https://doi.org/10.6028/NIST.AI.100-1",
        "NIST AI 100-1 is a work of the US Government, not subject to copyright protection in the United "
        "States. Short titles are the project's paraphrases.",
    )
    items = Items(g, AIMS.NISTAIRMF)
    categories = rows("nist-ai-rmf", "categories.csv")
    subcategories = rows("nist-ai-rmf", "subcategories.csv")

    def add(row: dict[str, str], cls: URIRef, parent: URIRef | None = None) -> URIRef:
        return items.add(nist_iri(row["id"]), cls, row["id"], row["title"], row["statement"], parent)

    for function in rows("nist-ai-rmf", "functions.csv"):
        f_iri = add(function, AIMS.FrameworkItem)
        for category in (c for c in categories if c["function"] == function["id"]):
            c_iri = add(category, AIMS.FrameworkItem, f_iri)
            for sub in (s for s in subcategories if s["category"] == category["id"]):
                add(sub, AIMS.FrameworkRequirement, c_iri)
    return g


HEADER = "# GENERATED by scripts/build_frameworks.py from vendor/{folder}/*.csv - do not edit.\n# {note}\n"
OUTPUTS: dict[str, tuple[Callable[[], Graph], str, str]] = {
    "eu-ai-act.ttl": (
        build_eu_ai_act,
        "eu-ai-act",
        "Regulation (EU) 2024/1689 (OJ L, 12.7.2024); reuse under Commission Decision 2011/833/EU.",
    ),
    "nist-ai-rmf.ttl": (
        build_nist_ai_rmf,
        "nist-ai-rmf",
        "NIST AI RMF 1.0 (NIST AI 100-1, January 2023), a US Government work.",
    ),
}


def render(name: str) -> str:
    """The file's text: the header comment, then rdflib's Turtle (subjects sorted, so it is stable)."""
    build, folder, note = OUTPUTS[name]
    return HEADER.format(folder=folder, note=note) + build().serialize(format="turtle")


def main(argv: list[str]) -> int:
    stale = []
    for name in OUTPUTS:
        text, path = render(name), ONTOLOGY / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run scripts/build_frameworks.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
