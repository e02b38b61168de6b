"""Build ontology/iso42001.ttl from the reference tables in vendor/iso42001/.

The tables hold ids and paraphrased titles only (the standard's text is copyrighted).
Run with `make catalogue`; the output is committed so the service needs no build step.
"""

from __future__ import annotations

import csv
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "vendor" / "iso42001"
OUT = ROOT / "ontology" / "iso42001.ttl"

AIMS = Namespace("https://w3id.org/aims#")
ISO = Namespace("https://w3id.org/aims/iso42001#")
AIRO = Namespace("https://w3id.org/airo#")
VAIR = Namespace("https://w3id.org/vair#")
PHASES = {"Plan": AIMS.Plan, "Do": AIMS.Do, "Check": AIMS.Check, "Act": AIMS.Act}


def clause_iri(clause_id: str) -> URIRef:
    return ISO[f"clause-{clause_id}"]


def control_iri(control_id: str) -> URIRef:
    """Controls and groups share the A.x numbering; objectives get their own prefix."""
    return ISO[control_id]


def objective_iri(objective_id: str) -> URIRef:
    return ISO[f"objective-{objective_id}"]


def rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def concept(g: Graph, iri: URIRef, cls: URIRef, scheme: URIRef, notation: str, title: str) -> None:
    g.add((iri, RDF.type, cls))
    g.add((iri, SKOS.inScheme, scheme))
    g.add((iri, SKOS.notation, Literal(notation)))
    g.add((iri, SKOS.prefLabel, Literal(f"{notation} {title}", lang="en")))
    g.add((iri, RDFS.label, Literal(f"{notation} {title}", lang="en")))
    g.add((iri, DCTERMS.isPartOf, ISO["ISO42001-2023"]))


def standard_order(notation: str) -> tuple[bool, list[int]]:
    """Numeric order of ids such as 4.1, 10.2, A.6.2.4 (as text, A.10 would sort before A.2)."""
    annex = notation.startswith("A.")
    return annex, [int(part) for part in (notation[2:] if annex else notation).split(".")]


def add_ordinals(g: Graph) -> None:
    """aims:ordinal on every clause, control group, objective and control: the standard's order,
    so that SPARQL clients can ORDER BY it."""
    numbered = [
        (str(n), s)
        for s, n in g.subject_objects(SKOS.notation)
        if str(n)[0].isdigit() or str(n).startswith("A.")
    ]
    for position, (_, iri) in enumerate(sorted(numbered, key=lambda pair: standard_order(pair[0])), start=1):
        g.add((iri, AIMS.ordinal, Literal(position)))


def build() -> Graph:
    g = Graph()
    for prefix, ns in (("aims", AIMS), ("iso42001", ISO), ("airo", AIRO), ("vair", VAIR)):
        g.bind(prefix, ns)
    g.bind("skos", SKOS)
    g.bind("dcterms", DCTERMS)

    catalogue = URIRef("https://w3id.org/aims/iso42001")
    g.add((catalogue, RDF.type, OWL.Ontology))
    g.add((catalogue, RDFS.label, Literal("ISO/IEC 42001:2023 catalogue for aims-graph", lang="en")))
    g.add(
        (
            catalogue,
            DCTERMS.description,
            Literal(
                "Clauses 4-10, the Annex A groups, objectives and controls, and the documented information "
                "they ask for, as identifiers with short paraphrased titles. No text of the standard.",
                lang="en",
            ),
        )
    )
    g.add((catalogue, OWL.versionInfo, Literal("0.1.0")))
    g.add((catalogue, OWL.imports, URIRef("https://w3id.org/aims")))

    standard = ISO["ISO42001-2023"]
    g.add((standard, RDF.type, DCTERMS.Standard))
    g.add((standard, RDF.type, AIRO.Standard))
    g.add((standard, RDFS.label, Literal("ISO/IEC 42001:2023", lang="en")))
    g.add((standard, SKOS.exactMatch, VAIR["ISOIEC42001_2023"]))

    schemes = {
        "clauses": (ISO.Clauses, "ISO/IEC 42001 clauses 4-10"),
        "annex": (ISO.AnnexA, "ISO/IEC 42001 Annex A reference controls"),
        "docs": (ISO.DocumentedInformation, "Documented information asked for by ISO/IEC 42001"),
    }
    for scheme, label in schemes.values():
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        g.add((scheme, RDFS.label, Literal(label, lang="en")))
        g.add((scheme, DCTERMS.source, standard))

    for row in rows("clauses.csv"):
        iri = clause_iri(row["id"])
        concept(g, iri, AIMS.ClauseRequirement, ISO.Clauses, row["id"], row["short_title"])
        g.add((iri, AIMS.pdcaPhase, PHASES[row["pdca_phase_conventional"]]))
        if row["parent_id"]:
            g.add((iri, SKOS.broader, clause_iri(row["parent_id"])))
        else:
            g.add((iri, SKOS.topConceptOf, ISO.Clauses))
        if row["is_leaf"] == "yes":
            g.add((iri, RDF.type, AIMS.LeafClause))

    for row in rows("annex_a.csv"):
        group = control_iri(row["group_id"])
        if (group, RDF.type, AIMS.ControlGroup) not in g:
            concept(g, group, AIMS.ControlGroup, ISO.AnnexA, row["group_id"], row["group_short_title"])
            g.add((group, SKOS.topConceptOf, ISO.AnnexA))
        if row["type"] == "objective":
            iri = objective_iri(row["id"])
            concept(g, iri, AIMS.ControlObjective, ISO.AnnexA, row["id"], row["short_title"])
            g.add((iri, SKOS.broader, group))
        else:
            iri = control_iri(row["id"])
            concept(g, iri, AIMS.ReferenceControl, ISO.AnnexA, row["id"], row["short_title"])
            g.add((iri, SKOS.broader, group))
            g.add((iri, AIMS.hasObjective, objective_iri(row["objective_id"])))
            g.add((iri, AIMS.pdcaPhase, AIMS.Do))
            g.add((iri, AIMS.documentationExpected, Literal(row["documentation_expected"])))

    add_ordinals(g)

    for row in rows("documented_information.csv"):
        iri = ISO[row["id"]]
        concept(
            g,
            iri,
            AIMS.DocumentationRequirement,
            ISO.DocumentedInformation,
            row["id"],
            row["documented_information"],
        )
        g.add((iri, AIMS.documentationKind, Literal(row["kind"])))
        g.add((iri, AIMS.mandatory, Literal(row["id"].startswith("D"), datatype=XSD.boolean)))
        g.add((iri, AIMS.typicalArtefact, Literal(row["typical_artefact"])))
        source = row["source"]
        if source.startswith("A."):
            g.add((control_iri(source), AIMS.asksFor, iri))
        elif source[0].isdigit() and " " not in source:
            g.add((clause_iri(source), AIMS.asksFor, iri))
        else:  # D24 comes from a note to a definition in clause 3, outside the catalogue
            g.add((iri, SKOS.scopeNote, Literal(f"Source: {source}", lang="en")))
    return g


if __name__ == "__main__":
    header = (
        "# GENERATED by scripts/build_catalogue.py from vendor/iso42001/*.csv - do not edit.\n"
        "# Identifiers and paraphrased titles only; no text of ISO/IEC 42001.\n"
    )
    OUT.write_text(header + build().serialize(format="turtle"), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
