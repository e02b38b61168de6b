"""Write the first version of shapes/forms/forms.ttl, the form shapes, from the workbook's SHEETS
and the ontology (run once: `python scripts/build_forms.py`; after that the .ttl file is the
source, and tests/test_forms.py holds the workbook's sheets to it column for column).

One node shape per kind of row the workbook knows (`aimsf:<slug>`, the slug of /new/<slug>), one
property shape per column used for that kind (`aimsf:<slug>.<local name of its property>`): sh:path (an inverse column is
an sh:inversePath), sh:name (the heading), sh:description (the column's note, else the property's
skos:definition), sh:order, sh:group, sh:datatype or sh:class or sh:in, sh:minCount/sh:maxCount.
A risk's treatment columns become the treatment's form, linked back by ^aims:hasTreatment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import Graph, Literal, URIRef

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import workbook as wb  # noqa: E402
from service.namespaces import PREFIXES  # noqa: E402

OUT = ROOT / "shapes" / "forms" / "forms.ttl"
FORMS_IRI = "https://w3id.org/aims/forms#"
DATATYPE = {
    wb.TEXT: "xsd:string",
    wb.INTEGER: "xsd:integer",
    wb.DECIMAL: "xsd:decimal",
    wb.DATE: "xsd:date",
    wb.DATETIME: "xsd:dateTime",
    wb.YESNO: "xsd:boolean",
}
GROUPS = (("Naming", "Name and identifier"), ("Details", "Details"), ("Links", "Links"))
TARGET = {wb.REQUIREMENT: "aims:Requirement", wb.CONTROL: "aims:ReferenceControl"}

HEADER = f"""# Forms for people: one SHACL node shape per kind of thing a modeller creates, in the style of
# TopBraid EDG / DASH forms (sh:name, sh:description, sh:order, sh:group, sh:datatype, sh:class,
# sh:in, sh:minCount, sh:maxCount). The pages /new/<kind> and /edit?iri= are built from them
# (service/forms.py).
#
# NOT conformance rules: this file sits in shapes/forms/, which the rules (shapes/*.ttl) do not
# read, and it is never loaded into a store. What the standard asks of a saved resource is judged
# by the rules, and shown on the resource's page after each save; a form requires only what a
# resource needs to be one (its name, an SoA entry's control).
#
# First written by scripts/build_forms.py from the workbook's SHEETS and the ontology; edit this
# file now (tests/test_forms.py keeps the workbook's columns in agreement with it).
@prefix aimsf: <{FORMS_IRI}> .
"""


def curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and prefix != "sh-aims":
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"


def text(value: str) -> str:
    return Literal(value).n3()


def kinds_of_targets(col: wb.Col) -> list[str]:
    """The classes a reference column may name, as CURIEs; [] for any IRI."""
    if wb.ANY in col.to:
        return []
    classes: list[str] = []
    for target in col.to:
        cls = TARGET.get(target) or wb.KINDS[target][1].classes[0]
        if cls not in classes:
            classes.append(cls)
    if "aims:Requirement" in classes and "aims:ReferenceControl" in classes:
        classes.remove("aims:ReferenceControl")  # a reference control is a requirement
    return classes


def property_shape(
    name: str, col: wb.Col, kind: wb.Kind, order: int, path: str, definitions: dict[URIRef, str]
) -> str:
    lines = [
        f"aimsf:{name} a sh:PropertyShape ;",
        f"    sh:path {path} ;",
        f"    sh:name {text(col.heading)} ;",
    ]
    meaning = col.note or definitions.get(col.predicate(kind.slug), "")
    if meaning:
        lines.append(f"    sh:description {text(meaning)} ;")
    group = "Naming" if col in (wb.IDENTIFIER, wb.NAME, wb.DESCRIPTION) else (
        "Links" if col.type == wb.REF else "Details"
    )  # fmt: skip
    lines.append(f"    sh:order {order} ; sh:group aimsf:{group} ;")
    if col.type == wb.REF:
        classes = kinds_of_targets(col)
        lines.append("    sh:nodeKind sh:IRI ;")
        if len(classes) == 1:
            lines.append(f"    sh:class {classes[0]} ;")
        elif classes:
            lines.append("    sh:or ( " + " ".join(f"[ sh:class {c} ]" for c in classes) + " ) ;")
    elif col.type == wb.ENUM:
        concepts = wb.vocab().options[col.scheme].values()
        lines.append("    sh:nodeKind sh:IRI ;")
        lines.append("    sh:in ( " + " ".join(curie(str(c)) for c in concepts) + " ) ;")
    elif col.type == wb.MONTH:  # a day, or a month when the day is not known
        lines.append("    sh:or ( [ sh:datatype xsd:date ] [ sh:datatype xsd:gYearMonth ] ) ;")
    else:
        lines.append(f"    sh:datatype {DATATYPE[col.type]} ;")
    required = col is wb.NAME or (col.heading == "Control" and kind.slug == "soa")
    counts = (["sh:minCount 1"] if required else []) + ([] if col.many else ["sh:maxCount 1"])
    if counts:
        lines.append("    " + " ; ".join(counts) + " ;")
    return "\n".join(lines)[: -len(" ;")] + " .\n"


def node_shape(sheet: wb.Sheet, kind: wb.Kind, definitions: dict[URIRef, str]) -> str:
    shapes: list[str] = []
    order = 0
    part_of = sheet.part is not None and kind == sheet.part.kind
    cols = [c for c in wb.columns(sheet) if c.prop is not None and c.used_for(kind.slug)]
    if sheet.part is not None:
        if part_of:
            link = wb.Col("Risk", sheet.part.link, wb.REF, to=(sheet.kinds[0].slug,), note=(
                "The risk this treatment treats."))  # fmt: skip
            cols = [link, *(c for c in cols if c.part)]
        else:
            cols = [c for c in cols if not c.part]
    names: list[str] = []
    for col in cols:
        order += 1
        pred = curie(str(col.predicate(kind.slug)))
        inverse = col.inverse or (part_of and col.heading == "Risk")
        path = f"[ sh:inversePath {pred} ]" if inverse else pred
        names.append(f"{kind.slug}.{pred.rpartition(':')[2]}")  # the field's key: the property's local name
        shapes.append(property_shape(names[-1], col, kind, order, path, definitions))
    assert len(set(names)) == len(names), f"two fields of {kind.slug} have one key"
    head = [
        f"aimsf:{kind.slug} a sh:NodeShape ;",
        f"    rdfs:label {text(wb.kind_label(kind))} ;",
        f"    sh:targetClass {kind.classes[0]} ;",
    ]
    if len(kind.classes) > 1:
        head.append("    aimsf:alsoType " + ", ".join(kind.classes[1:]) + " ;")
    head.append(f"    aimsf:sheet {text(sheet.title)} ;")
    head.append("    sh:property " + ", ".join(f"aimsf:{n}" for n in names) + " .\n")
    return "\n".join(head) + "\n" + "\n".join(shapes)


# A form for any finding, whose kind is chosen in it (the findings flow links /new/finding?...);
# its other fields are the nonconformity's property shapes, shared.
FINDING = """aimsf:finding a sh:NodeShape ;
    rdfs:label "finding" ;
    sh:targetClass aims:Finding ;
    aimsf:sheet "Findings" ;
    sh:property aimsf:finding.type, aimsf:nonconformity.identifier, aimsf:nonconformity.label,
        aimsf:nonconformity.raisedIn, aimsf:nonconformity.against, aimsf:nonconformity.concerns .

aimsf:finding.type a sh:PropertyShape ;
    sh:path rdf:type ;
    sh:name "Kind" ;
    sh:description "What the finding is: a major or minor nonconformity (clause 10.2), an observation, or an opportunity for improvement." ;
    sh:order 0 ; sh:group aimsf:Naming ;
    sh:nodeKind sh:IRI ;
    sh:in ( aims:MajorNonconformity aims:MinorNonconformity aims:Nonconformity aims:Observation aims:OpportunityForImprovement ) ;
    sh:minCount 1 ; sh:maxCount 1 .
"""


def build() -> str:
    definitions = wb.vocab().definitions
    out = [HEADER]
    out += [f"@prefix {p}: <{ns}> ." for p, ns in PREFIXES.items() if p != "sh-aims"]
    out.append("@prefix sh: <http://www.w3.org/ns/shacl#> .\n")
    out.append(
        "aimsf:alsoType a rdf:Property ;\n"
        '    rdfs:comment "Classes a new resource of the form gets besides its sh:targetClass." .\n'
        "aimsf:sheet a rdf:Property ;\n"
        '    rdfs:comment "The workbook sheet whose rows are of the form\'s kind." .\n'
    )
    for i, (name, label) in enumerate(GROUPS):
        out.append(f"aimsf:{name} a sh:PropertyGroup ; rdfs:label {text(label)} ; sh:order {i} .")
    out.append("")
    for sheet in wb.SHEETS:
        out.append(f"# ---------------------------------------------------------------- {sheet.title}\n")
        for kind in sheet.kinds:
            out.append(node_shape(sheet, kind, definitions))
        if sheet.part is not None:
            out.append(node_shape(sheet, sheet.part.kind, definitions))
        if sheet.title == "Findings":
            out.append(FINDING)
    return "\n".join(out)


def main() -> None:
    turtle = build()
    Graph().parse(data=turtle, format="turtle")  # it must read back
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(turtle, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
