"""What the workbook takes from the shipped ontology and catalogue (labels, choices, definitions,
the controls), and the words it uses for a column: what it means and what it takes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rdflib import URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from ..namespaces import AIMS_IRI
from ..store.catalogue import catalogue_graph
from .sheets import (
    ANY,
    CONTROL,
    DATE,
    DATETIME,
    DECIMAL,
    ENUM,
    INTEGER,
    KIND,
    KINDS,
    MONTH,
    REF,
    REQUIREMENT,
    SHEET,
    SHEETS,
    YESNO,
    Col,
    Kind,
    Sheet,
    _expand,
)


@dataclass(frozen=True)
class Vocab:
    """What the workbook takes from the shipped ontology and catalogue."""

    labels: dict[URIRef, str]  # of classes and concepts
    options: dict[str, dict[str, URIRef]]  # an ENUM column's scheme -> label -> concept
    definitions: dict[URIRef, str]
    controls: list[tuple[str, str]]  # Annex A in the standard's order (aims:ordinal): number, title
    requirements: dict[str, URIRef]  # clause and control numbers
    numbers: dict[URIRef, str]  # and back


@cache
def vocab() -> Vocab:
    g = catalogue_graph()
    aims = URIRef(AIMS_IRI)
    labels = {s: str(o) for s, o in g.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    options: dict[str, dict[str, URIRef]] = {}
    for col in (c for s in SHEETS for c in s.columns if c.choices):
        concepts = sorted((labels[_expand(c)], _expand(c)) for c in col.choices)
        options[col.scheme] = dict(concepts)
        assert len(options[col.scheme]) == len(concepts), f"two of {col.scheme} share a label"
    numbers = {
        r: str(g.value(r, SKOS.notation))
        for kind in ("ReferenceControl", "ClauseRequirement")
        for r in g.subjects(RDF.type, aims + kind)
        if isinstance(r, URIRef)
    }
    ordered = sorted(
        (int(str(g.value(c, aims + "ordinal"))), numbers[c], str(g.value(c, SKOS.prefLabel)))
        for c in g.subjects(RDF.type, aims + "ReferenceControl")
        if isinstance(c, URIRef)
    )
    return Vocab(
        labels=labels,
        options=options,
        definitions={s: str(o) for s, o in g.subject_objects(SKOS.definition) if isinstance(s, URIRef)},
        # the title without its number: "A.2.2 Documented AI policy" -> "Documented AI policy"
        controls=[(n, t.removeprefix(n).strip()) for _, n, t in ordered],
        requirements={n: r for r, n in numbers.items()},
        numbers=numbers,
    )


def kind_label(kind: Kind) -> str:
    return kind.label or vocab().labels[_expand(kind.classes[0])]


def kind_options(sheet: Sheet) -> dict[str, Kind]:
    return {kind_label(k): k for k in sheet.kinds}


def _a(label: str) -> str:
    return ("an " if label[0] in "aeiouAEIOU" else "a ") + label


def describe(sheet: Sheet, col: Col) -> str:
    """What to enter in a column: what it means (the ontology's definition) and in what form."""
    meaning = col.note or (vocab().definitions.get(_expand(col.curies()[0]), "") if col.curies() else "")
    text = f"{meaning} {_form(sheet, col)}".strip()
    if col.on or isinstance(col.prop, dict):
        text += " For: " + ", ".join(kind_label(k) for k in sheet.kinds if col.used_for(k.slug)) + "."
    return text


def _form(sheet: Sheet, col: Col) -> str:
    if col.type == ENUM:
        values = ", ".join(vocab().options[col.scheme])
        return f"One of: {values}" + ("; several separated by ;." if col.many else ".")
    if col.type == REF:
        return _expects(col)[0].upper() + _expects(col)[1:] + "."
    return {
        INTEGER: "A whole number.",
        DECIMAL: "A number.",
        DATE: "A date (YYYY-MM-DD).",
        MONTH: "A date (YYYY-MM-DD), or a month (YYYY-MM) when the day is not known.",
        DATETIME: "A date and time (YYYY-MM-DDThh:mm:ssZ), or a date.",
        YESNO: "Yes or No.",
        KIND: "One of: " + ", ".join(kind_options(sheet)) + ".",
    }.get(col.type, "")


def _expects(col: Col) -> str:
    """What a reference column takes, in words."""
    wanted: dict[str, list[str]] = {}
    for target in col.to:
        if target in KINDS:
            sheet, kind = KINDS[target]
            wanted.setdefault(sheet.title, []).append(kind_label(kind))
    parts = []
    if ANY in col.to:
        parts.append("the ID of any row")
    elif wanted:
        where = [
            t if len(ls) == len(SHEET[t].kinds) else f"{t} ({', '.join(ls)})" for t, ls in wanted.items()
        ]
        parts.append("the ID of a row in " + " or ".join(where))
    if REQUIREMENT in col.to:
        parts.append("a clause or Annex A control number (6.1.2, A.6.2.4)")
    if CONTROL in col.to:
        parts.append("an Annex A control number (A.2.2 to A.10.4)")
    return " or ".join(parts) + ("; several separated by ;" if col.many else "")
