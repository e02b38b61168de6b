"""The workbook's table: SHEETS says what each sheet holds (its kinds of row, its columns and the
property each becomes); `template`, `read` and `export` all follow it.

SHEETS is read from the form shapes (shapes/forms/forms.ttl, through service/forms.py), the
description the forms are built from, so a property shape added to a kind is a form field and a
workbook column at once. A sheet (aimsf:Sheet) lists its kinds (node shapes); a column is the
property shapes of its kinds that share an sh:name: the heading; sh:description its note;
sh:path its property (sh:inversePath: the row is the object); sh:datatype, sh:class (a kind of
row, or a clause or control by number) or sh:in what a cell takes; no sh:maxCount: several values.
The kinds of a sheet number their property shapes in one sequence: sh:order is a column's place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDFS, SH, XSD
from rdflib.term import Node

from ..forms import FORMS, Field, Form, forms, shapes_graph
from ..namespaces import AIMS_IRI, PREFIXES

# ---------------------------------------------------------------------------------------------- table

# Column types. KEY, KIND, IRI and PART_IRI are the row's own columns; the others hold values.
KEY, KIND, IRI, PART_IRI = "key", "kind", "iri", "part-iri"
TEXT, INTEGER, DECIMAL, DATE, MONTH, DATETIME, YESNO, ENUM, REF = (
    "text", "integer", "decimal", "date", "month", "datetime", "yesno", "enum", "ref",
)  # fmt: skip
# Reference targets that are not rows: the catalogue's clauses and controls.
REQUIREMENT, CONTROL, ANY = "requirement", "control", "*"


@dataclass(frozen=True)
class Kind:
    """A kind of row: an ID slug (unique in the workbook, used in default IRIs), the classes a
    row of it gets and its label (the form's)."""

    slug: str
    classes: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True)
class Col:
    heading: str
    prop: str | dict[str, str] | None = None  # a CURIE, or kind slug -> CURIE; None: shown, not read
    type: str = TEXT
    to: tuple[str, ...] = ()  # REF: the kinds of row it may name (or REQUIREMENT, CONTROL, ANY)
    choices: tuple[str, ...] = ()  # ENUM: the concepts it takes (CURIEs), the property shape's sh:in
    many: bool = False  # several values, separated by ";"
    inverse: bool = False  # the row is the object: (value, prop, row)
    on: tuple[str, ...] = ()  # the kinds it is used for; () all
    part: bool = False  # a value of the row's part (a risk's treatment), not of the row
    note: str = ""  # what to enter

    @property
    def scheme(self) -> str:
        """ENUM: the name of its list of choices (columns with the same choices share one)."""
        return " ".join(self.choices)

    def used_for(self, kind: str) -> bool:
        if isinstance(self.prop, dict):
            return kind in self.prop
        return not self.on or kind in self.on

    def predicate(self, kind: str) -> URIRef:
        prop = self.prop[kind] if isinstance(self.prop, dict) else self.prop
        assert prop is not None
        return _expand(prop)

    def curies(self) -> list[str]:
        props = self.prop.values() if isinstance(self.prop, dict) else [self.prop] if self.prop else []
        return list(dict.fromkeys(props))


@dataclass(frozen=True)
class Part:
    """A node each row may have one of, filled from the columns marked `part`."""

    link: str
    kind: Kind
    heading: str  # of its IRI column
    note: str = ""


@dataclass(frozen=True)
class Sheet:
    title: str
    about: str
    kinds: tuple[Kind, ...]
    columns: tuple[Col, ...]
    part: Part | None = None
    key: str = "ID"  # the column whose text keys the row; rows of other sheets name it (if "ID")

    @property
    def linkable(self) -> bool:
        return self.key == "ID"


FIRST_ROW = 3  # row 1: headings, row 2: the property each column becomes


def columns(sheet: Sheet) -> list[Col]:
    """A sheet's columns in order: ID and Kind (when it has several kinds), its own (Identifier and
    Name first), then the IRIs (the SoA keys rows by control and has no ID or kind)."""
    head: list[Col] = []
    if sheet.linkable:
        head.append(Col("ID", None, KEY, note="A short key you choose, unique in the workbook; other rows "
                        "name this row by it. Empty: the Identifier is used."))  # fmt: skip
        if len(sheet.kinds) > 1:
            head.append(Col("Kind", None, KIND, note="What the row is."))
    tail = [Col(sheet.part.heading, None, PART_IRI, note=sheet.part.note)] if sheet.part else []
    tail.append(Col("IRI", None, IRI, note="The row's IRI (optional; empty: made from the base and the ID)."))
    return [*head, *sheet.columns, *tail]


@cache  # an export expands the same few hundred again and again
def _expand(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(PREFIXES[prefix] + local)


def _curie(iri: Node) -> str:
    """An IRI as the CURIE of the longest namespace of PREFIXES it starts with."""
    prefix = max((p for p, ns in PREFIXES.items() if str(iri).startswith(ns)), key=lambda p: len(PREFIXES[p]))
    return f"{prefix}:{str(iri)[len(PREFIXES[prefix]) :]}"


# ----------------------------------------------------------------------------- from the form shapes

F = Namespace(FORMS)
# What a literal column takes, by its property shape's datatypes (sh:or: either).
_TYPES = {
    (XSD.string,): TEXT, (XSD.integer,): INTEGER, (XSD.decimal,): DECIMAL, (XSD.date,): DATE,
    (XSD.date, XSD.gYearMonth): MONTH, (XSD.dateTime,): DATETIME, (XSD.boolean,): YESNO,
}  # fmt: skip
# Catalogue classes a cell names by number (6.1.2, A.6.2.4) rather than by a row's ID.
_NUMBERED = {URIRef(AIMS_IRI + "Requirement"): REQUIREMENT, URIRef(AIMS_IRI + "ReferenceControl"): CONTROL}


@cache
def sheets() -> tuple[Sheet, ...]:
    """The workbook's sheets, read from the form shapes (aimsf:workbook aimsf:sheets)."""
    g, kinds = shapes_graph(), forms()
    nodes = _list(g, g.value(F.workbook, F.sheets))
    listed = {n: [kinds[str(k)[len(FORMS) :]] for k in _list(g, g.value(n, F.kinds))] for n in nodes}
    rows_of = {form.target: form.kind for forms_ in listed.values() for form in forms_}  # class -> kind
    return tuple(_sheet(g, n, listed[n], kinds, rows_of) for n in nodes)


def _sheet(
    g: Graph, node: Node, kinds: list[Form], every: dict[str, Form], rows_of: dict[URIRef, str]
) -> Sheet:
    title = str(g.value(node, RDFS.label))
    # the kinds of a sheet number their property shapes in one sequence: sh:order is the column's place
    places: dict[str, set[float]] = {}
    uses: dict[str, list[tuple[str, Field]]] = {}
    for form in kinds:
        _check(form.sheet in ("", title), f"{form.kind} is on {title!r}, its aimsf:sheet says {form.sheet!r}")
        for f in form.fields:
            places.setdefault(f.name, set()).add(f.order)
            uses.setdefault(f.name, []).append((form.kind, f))
    shown = {str(g.value(s, SH.name)): s for s in g.objects(node, F.shown)}
    for name, s in shown.items():
        places.setdefault(name, set()).add(float(g.value(s, SH.order) or 0))  # type: ignore[arg-type]
    for name, at in places.items():
        _check(len(at) == 1, f"{title}: the property shapes of the column {name!r} differ in sh:order")
    slugs = [k.kind for k in kinds]
    cols = [
        _column(g, name, uses[name], slugs, rows_of)
        if name in uses
        else Col(name, note=str(g.value(shown[name], SH.description)))
        for name in sorted(places, key=lambda name: min(places[name]))
    ]
    part = None
    part_node = g.value(node, F.part)
    if part_node is not None:
        via = str(g.value(part_node, F.via))
        form = next(k for k in every.values() if any(f.shape == via for f in k.fields))
        link = next(f for f in form.fields if f.shape == via)
        _check(link.inverse, f"{via}: a part's property shape names its row by an inverse path")
        _check(
            form.sheet in ("", title),
            f"{form.kind} is a part on {title!r}, its aimsf:sheet says {form.sheet!r}",
        )
        part = Part(
            _curie(link.path),
            _kind(form),
            str(g.value(part_node, SH.name)),
            str(g.value(part_node, SH.description) or ""),
        )
        cols += [
            _column(g, f.name, [(form.kind, f)], slugs, rows_of, part=True)
            for f in form.fields
            if f is not link
        ]
    headings = [c.heading for c in cols]
    _check(len(set(headings)) == len(headings), f"{title}: a heading of its part's is one of the row's")
    key = g.value(node, F.key)
    sheet = Sheet(
        title,
        str(g.value(node, RDFS.comment)),
        tuple(_kind(k) for k in kinds),
        tuple(cols),
        part,
        next(f.name for f in kinds[0].fields if f.shape == str(key)) if key is not None else "ID",
    )
    _check(not sheet.linkable or "Identifier" in headings, f"{title}: rows with an ID need an Identifier")
    return sheet


def _kind(form: Form) -> Kind:
    return Kind(form.kind, tuple(_curie(t) for t in form.types), form.label)


def _column(
    g: Graph,
    heading: str,
    uses: list[tuple[str, Field]],
    slugs: list[str],
    rows_of: dict[URIRef, str],
    part: bool = False,
) -> Col:
    """One column from the property shapes (of the sheet's kinds) that share its heading."""
    first = uses[0][1]
    for what, of in (("type", _type), ("direction", lambda f: f.inverse), ("cardinality", lambda f: f.many)):
        _check(
            len({of(f) for _, f in uses}) == 1,
            f"the property shapes of the column {heading!r} differ in {what}",
        )
    props = {kind: _curie(f.path) for kind, f in uses}
    one = len(set(props.values())) == 1  # else a property per kind
    return Col(
        heading,
        _curie(first.path) if one else props,
        _type(first),
        tuple(dict.fromkeys(t for _, f in uses for t in _targets(g, f, rows_of))),
        tuple(_curie(c) for c in first.choices),
        first.many,
        first.inverse,
        () if part or not one or set(props) == set(slugs) else tuple(props),
        part,
        first.description,
    )


def _type(f: Field) -> str:
    if f.choices:
        return ENUM
    if f.classes or f.any_iri:
        return REF
    _check(f.datatypes in _TYPES, f"{f.shape}: no workbook column takes {f.datatypes}")
    return _TYPES[f.datatypes]


def _targets(g: Graph, f: Field, rows_of: dict[URIRef, str]) -> list[str]:
    """What a reference column may name: kinds of row, clauses or controls by number, or any row."""
    if _type(f) != REF:
        return []
    also = [c for c in g.objects(URIRef(f.shape), F.alsoClass) if isinstance(c, URIRef)]
    found = [ANY] if f.any_iri else []
    for cls in (*f.classes, *also):
        _check(
            cls in rows_of or cls in _NUMBERED, f"{f.shape}: no sheet has rows of {cls}, nor is it numbered"
        )
        found.append(rows_of.get(cls) or _NUMBERED[cls])
    return found


def _check(ok: bool, problem: str) -> None:
    """A description the workbook cannot follow fails loudly, when the package is imported."""
    if not ok:
        raise ValueError(f"shapes/forms/forms.ttl: {problem}")


def _list(g: Graph, head: Node | None) -> list[Node]:
    return list(Collection(g, head)) if head is not None else []


SHEETS: tuple[Sheet, ...] = sheets()
SHEET: dict[str, Sheet] = {s.title: s for s in SHEETS}
KINDS: dict[str, tuple[Sheet, Kind]] = {k.slug: (s, k) for s in SHEETS for k in s.kinds}
assert len(KINDS) == sum(len(s.kinds) for s in SHEETS), "kind slugs must be unique"
