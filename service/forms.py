"""Forms built from shapes: what each kind of resource a modeller creates holds, read from the form
shapes (shapes/forms/forms.ttl: SHACL node shapes in the TopBraid EDG / DASH style), the values a
form sends checked against them, and the one SPARQL update that saves or deletes a resource.

The form shapes are not conformance rules: validation reads shapes/*.ttl only. A form requires
what a resource needs to exist (its name); what the standard asks is judged by the rules after
the save. Field keys (form field names, and /new/<kind>?key=value prefills) are the local name of
each property shape's property (`owner`, `hasRiskSource`; an inverse path too: a risk's AI system
is `hasRisk`); a slug of its sh:name (`ai-system`) is taken for a prefill as well.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from . import browse, resources
from .namespaces import CATALOGUE_GRAPH, DEFAULT_GRAPH, ORG
from .store.base import QueryDataset, Store, StoreError
from .store.terms import RESERVED_GRAPH_PREFIXES, check_iri, frozen_graph, sparql_term

FORMS = "https://w3id.org/aims/forms#"
FORMS_GRAPH = URIRef("https://w3id.org/aims/graph/forms")  # where resources made by a form live
DEFAULT_BASE = "https://example.org/aims/"  # new IRIs when the store names no organisation
_ALSO_TYPE, _SHEET = URIRef(FORMS + "alsoType"), URIRef(FORMS + "sheet")


# ------------------------------------------------------------------------------ the description


@dataclass(frozen=True)
class Field:
    key: str  # the form field's name
    path: URIRef
    inverse: bool  # the resource is the object: (value, path, resource)
    name: str
    description: str
    order: float
    group: str
    group_order: float
    datatypes: tuple[URIRef, ...] = ()  # a literal of one of these (tried in order)
    classes: tuple[URIRef, ...] = ()  # an existing resource of one of these classes
    choices: tuple[URIRef, ...] = ()  # sh:in
    min_count: int = 0
    max_count: int | None = None
    shape: str = ""

    @property
    def many(self) -> bool:
        return self.max_count is None or self.max_count > 1

    @property
    def any_iri(self) -> bool:
        """Any IRI the graph holds (the workbook's "ID of any row")."""
        return not self.datatypes and not self.classes and not self.choices

    @property
    def slug(self) -> str:
        return slug(self.name)

    @property
    def widget(self) -> str:
        """How the form asks for it: a choice, IRIs, yes or no, a long text, or a line of text."""
        if self.choices or self.classes:
            return "choice"
        if self.any_iri:
            return "iris"
        if self.datatypes == (XSD.boolean,):
            return "yes-no"
        return "long-text" if self.path == RDFS.comment else "text"

    @property
    def hint(self) -> str:
        """What a line of text must be, when not any text: "a date (YYYY-MM-DD) or a month (YYYY-MM)"."""
        if self.datatypes in ((), (XSD.string,)):
            return ""
        return " or ".join(DATATYPE_WORDS.get(d, str(d)) for d in self.datatypes)


@dataclass(frozen=True)
class Form:
    kind: str  # the URL's /new/<kind>
    label: str
    target: URIRef  # sh:targetClass
    types: tuple[URIRef, ...]  # every class a new resource gets
    sheet: str
    fields: tuple[Field, ...]

    def groups(self) -> list[tuple[str, list[Field]]]:
        out: dict[str, list[Field]] = {}
        for f in sorted(self.fields, key=lambda f: (f.group_order, f.order)):
            out.setdefault(f.group, []).append(f)
        return list(out.items())

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if key in (f.key, f.slug)), None)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@cache
def shapes_graph() -> Graph:
    return Graph().parse(resources.form_shapes_file())


@cache
def forms() -> dict[str, Form]:
    """Every form, by kind, in the file's order of kinds (the workbook's)."""
    g = shapes_graph()
    found: dict[str, Form] = {}
    for shape in g.subjects(RDF.type, SH.NodeShape):
        if not isinstance(shape, URIRef) or not str(shape).startswith(FORMS):
            continue
        target = g.value(shape, SH.targetClass)
        assert isinstance(target, URIRef), f"{shape} has no sh:targetClass"
        fields = tuple(sorted((_field(g, p) for p in g.objects(shape, SH.property)), key=lambda f: f.order))
        also = sorted(o for o in g.objects(shape, _ALSO_TYPE) if isinstance(o, URIRef))
        found[str(shape)[len(FORMS) :]] = Form(
            kind=str(shape)[len(FORMS) :],
            label=str(g.value(shape, RDFS.label) or target),
            target=target,
            types=(target, *also),
            sheet=str(g.value(shape, _SHEET) or ""),
            fields=fields,
        )
    return found


def _field(g: Graph, shape: Node) -> Field:
    path = g.value(shape, SH.path)
    inverse = path is not None and not isinstance(path, URIRef)
    if inverse:
        path = g.value(path, SH.inversePath)
    assert isinstance(path, URIRef), f"{shape}: only a property or an inverse path"
    alternatives = [shape, *_list(g, g.value(shape, SH["or"]))]
    group = g.value(shape, SH.group)
    max_count = g.value(shape, SH.maxCount)
    return Field(
        key=re.split(r"[#/]", str(path))[-1],
        path=path,
        inverse=inverse,
        name=str(g.value(shape, SH.name) or re.split(r"[#/]", str(path))[-1]),
        description=str(g.value(shape, SH.description) or ""),
        order=float(g.value(shape, SH.order) or 0),  # type: ignore[arg-type]
        group=str(g.value(group, RDFS.label) or "") if group is not None else "",
        group_order=float(g.value(group, SH.order) or 0) if group is not None else 0,  # type: ignore[arg-type]
        datatypes=tuple(d for a in alternatives for d in g.objects(a, SH.datatype) if isinstance(d, URIRef)),
        classes=tuple(c for a in alternatives for c in g.objects(a, SH["class"]) if isinstance(c, URIRef)),
        choices=tuple(c for c in _list(g, g.value(shape, SH["in"])) if isinstance(c, URIRef)),
        min_count=int(g.value(shape, SH.minCount) or 0),  # type: ignore[arg-type]
        max_count=int(max_count) if max_count is not None else None,  # type: ignore[call-overload]
        shape=str(shape),
    )


def _list(g: Graph, head: Node | None) -> list[Node]:
    return list(Collection(g, head)) if head is not None else []


def form_for(store: Store, types: Sequence[str]) -> Form | None:
    """The form of a resource with these types: the kind of its most specific class (a customer
    is edited as a customer, not as an interested party); None when no form knows it."""
    mine = {URIRef(t) for t in types}
    candidates = [f for f in forms().values() if f.target in mine]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    wider = {c for f in candidates for c in _superclasses(store, f.target) if c != f.target}
    narrowest = [f for f in candidates if f.target not in wider] or candidates
    # a kind with classes besides its target (a FRIA is an impact assessment too): the one whose
    # classes the resource has most of
    return max(narrowest, key=lambda f: len(mine & set(f.types)))


def _superclasses(store: Store, cls: URIRef) -> set[URIRef]:
    rows = store.select(
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?c WHERE { ?s rdfs:subClassOf* ?c }",
        {"s": cls},
    )
    return {r["c"] for r in rows if isinstance(r["c"], URIRef)}


# ------------------------------------------------------------------------------ what is there


def choices(store: Store, f: Field) -> list[tuple[str, str]]:
    """What a choice field offers, as (IRI, label): its sh:in, or the existing resources of its
    classes (and their subclasses) by label."""
    iris = [str(c) for c in f.choices]
    if not iris and f.classes:
        found: set[str] = set()
        for cls in f.classes:
            rows = store.select(_MEMBERS, {"c": cls})
            found |= {str(r["r"]) for r in rows if isinstance(r["r"], URIRef)}
        iris = sorted(found)
    names = browse.labels(store, iris)
    shown = [(i, _shown(names[i])) for i in iris]
    return shown if f.choices else sorted(shown, key=lambda c: c[1].lower())


def _shown(label: browse.Label) -> str:
    return f"{label.id} {label.text}" if label.id and label.id not in label.text else label.text


_MEMBERS = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?r WHERE { ?t rdfs:subClassOf* ?c . ?r a ?t }"""
_IS_A = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
ASK WHERE { ?t rdfs:subClassOf* ?c . ?r a ?t }"""
_EXISTS = "ASK WHERE { { ?r ?p ?o } UNION { ?o ?p ?r } }"


def exists(store: Store, iri: URIRef) -> bool:
    return store.ask(_EXISTS, {"r": iri})


def current(store: Store, form: Form, iri: URIRef) -> dict[str, list[str]]:
    """The resource's values of the form's fields, as the form shows them (IRIs and lexical forms)."""
    out: dict[str, list[str]] = {}
    rows = store.select("SELECT ?p ?o WHERE { ?s ?p ?o }", {"s": iri})
    back = store.select("SELECT ?p ?o WHERE { ?o ?p ?s }", {"s": iri})
    for f in form.fields:
        for r in back if f.inverse else rows:
            if r["p"] == f.path and (f.path != RDF.type or r["o"] in f.choices):  # a kind: of its choices
                out.setdefault(f.key, []).append(str(r["o"]))
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


# ------------------------------------------------------------------------------ checking a form


@dataclass
class Checked:
    """A form's values as RDF terms, or what is wrong with each field."""

    values: dict[str, list[Node]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    iri: URIRef | None = None  # the IRI a new resource was given in the form, if any


IRI_FIELD = "iri"  # a new resource's own IRI (optional), as the workbook's IRI column


def given(data: Mapping[str, Sequence[str]], f: Field) -> list[str]:
    """The non-empty values sent for a field; a field of any IRI takes one a line."""
    out: list[str] = []
    for value in data.get(f.key, []):
        out += [v.strip() for v in (value.splitlines() if f.any_iri else [value]) if v.strip()]
    return list(dict.fromkeys(out))


def check(store: Store, form: Form, data: Mapping[str, Sequence[str]], new: bool) -> Checked:
    """Each value checked against its property shape before anything is written: its datatype's
    lexical form, sh:in, sh:class (the IRI names an existing resource of that class), sh:nodeKind
    sh:IRI (one the graph holds), sh:minCount and sh:maxCount."""
    result = Checked()
    for f in form.fields:
        raw = given(data, f)
        wrong: list[str] = []
        if len(raw) < f.min_count:
            wrong.append(f"{f.name} is required: give " + ("one." if f.min_count == 1 else f"{f.min_count}."))
        if f.max_count is not None and len(raw) > f.max_count:
            wrong.append(f"One value only ({len(raw)} given).")
        terms: list[Node] = []
        for value in raw:
            try:
                terms.append(_term(store, f, value))
            except ValueError as e:
                wrong.append(str(e))
        if wrong:
            result.problems[f.key] = wrong
        result.values[f.key] = terms
    chosen = "".join(data.get(IRI_FIELD, [])).strip() if new else ""
    if chosen:
        try:
            result.iri = check_iri(chosen)
            if exists(store, result.iri):
                result.problems[IRI_FIELD] = [taken(chosen)]
        except StoreError:
            result.problems[IRI_FIELD] = [f"{chosen!r} is not an absolute IRI (https://...)."]
    return result


def taken(iri: str) -> str:
    return f"{iri} is in the graph already: edit it instead."


def _term(store: Store, f: Field, value: str) -> Node:
    if f.datatypes:
        for datatype in f.datatypes:
            literal = parse(value, datatype)
            if literal is not None:
                return literal
        raise ValueError(
            f"{value!r} is not {' or '.join(DATATYPE_WORDS.get(d, str(d)) for d in f.datatypes)}."
        )
    try:
        iri = check_iri(value)
    except StoreError:
        raise ValueError(f"{value!r} is not an IRI.") from None
    if f.choices:
        if iri not in f.choices:
            raise ValueError(f"{value} is not one of the choices.")
    elif f.classes:
        if not any(store.ask(_IS_A, {"r": iri, "c": c}) for c in f.classes):
            kinds = " or ".join(
                browse.labels(store, [str(c) for c in f.classes])[str(c)].text for c in f.classes
            )
            raise ValueError(f"{value} is not a {kinds} in the graph.")
    elif not exists(store, iri):
        raise ValueError(f"Nothing in the graph has the IRI {value}.")
    return iri


DATATYPE_WORDS = {
    XSD.string: "text",
    XSD.integer: "a whole number",
    XSD.decimal: "a number",
    XSD.boolean: "yes or no",
    XSD.date: "a date (YYYY-MM-DD)",
    XSD.gYearMonth: "a month (YYYY-MM)",
    XSD.gYear: "a year (YYYY)",
    XSD.dateTime: "a date and time (YYYY-MM-DDThh:mm:ss)",
}
_MONTH = re.compile(r"\d{4}-(\d{2})")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


def parse(text: str, datatype: URIRef) -> Literal | None:
    """`text` as a literal of `datatype` when it is a valid lexical form of it, else None."""
    if datatype == XSD.string:
        return Literal(text)
    if datatype == XSD.integer:
        return Literal(int(text)) if re.fullmatch(r"[+-]?\d+", text) else None
    if datatype == XSD.decimal:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return Literal(text, datatype=XSD.decimal) if number.is_finite() and "e" not in text.lower() else None
    if datatype == XSD.boolean:
        return {"true": Literal(True), "false": Literal(False)}.get(text.lower())
    if datatype == XSD.date:
        return Literal(dt.date.fromisoformat(text)) if _is(dt.date.fromisoformat, text, 10) else None
    if datatype == XSD.gYearMonth:
        month = _MONTH.fullmatch(text)
        return Literal(text, datatype=XSD.gYearMonth) if month and 1 <= int(month[1]) <= 12 else None
    if datatype == XSD.gYear:
        return Literal(text, datatype=XSD.gYear) if re.fullmatch(r"\d{4}", text) else None
    if datatype == XSD.dateTime:
        if _is(dt.date.fromisoformat, text, 10):  # a day: its start, as the workbook reads it
            return Literal(f"{text}T00:00:00", datatype=XSD.dateTime)
        ok = _DATETIME.fullmatch(text) and _is(dt.datetime.fromisoformat, text[:19], len(text[:19]))
        return Literal(text, datatype=XSD.dateTime) if ok else None
    return None


def _is(read: object, text: str, length: int) -> bool:
    if len(text) != length:
        return False
    try:
        read(text)  # type: ignore[operator]
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------ writing


def mint(store: Store, form: Form, values: dict[str, list[Node]]) -> URIRef:
    """A new resource's IRI: the organisation's base (its IRI up to the last / or #), the kind,
    and its identifier or name as a slug (as the workbook's default IRIs); -2, -3 ... when taken,
    a short random part when it has neither."""
    base = organisation_base(store)
    words = [str(v[0]) for k in ("identifier", "label") if (v := values.get(k))]
    stem = f"{base}{form.kind}-{slug(words[0]) if words and slug(words[0]) else uuid.uuid4().hex[:12]}"
    iri, n = check_iri(stem), 1
    while exists(store, iri):
        n += 1
        iri = check_iri(f"{stem}-{n}")
    return iri


def organisation_base(store: Store) -> str:
    rows = store.select(
        "SELECT ?o WHERE { ?o a ?class } ORDER BY ?o LIMIT 1", {"class": ORG.FormalOrganization}
    )
    if rows.rows and isinstance(rows.rows[0]["o"], URIRef):
        iri = str(rows.rows[0]["o"])
        return iri[: max(iri.rfind("/"), iri.rfind("#")) + 1]
    return DEFAULT_BASE


def home_graph(store: Store, iri: URIRef) -> URIRef | None:
    """The graph a resource lives in: the one that types it, else any that holds a triple about it
    (the catalogue last); the embedded store's default graph is named DEFAULT_GRAPH here."""
    embedded = store.kind == "embedded"
    rows = store.select(
        "SELECT ?g ?p WHERE { { GRAPH ?g { ?s ?p ?o } }"
        + (" UNION { ?s ?p ?o BIND (?default AS ?g) }" if embedded else "")
        + " }",
        {"s": iri, "default": DEFAULT_GRAPH},
        dataset=QueryDataset(every_named=True) if embedded else None,
    )
    found = sorted(
        {
            (r["g"] == CATALOGUE_GRAPH, r["p"] != RDF.type, str(r["g"]))
            for r in rows
            if isinstance(r["g"], URIRef) and not frozen_graph(str(r["g"]))  # never a snapshot's copy
        }
    )
    return URIRef(found[0][2]) if found else None


def in_catalogue(store: Store, iri: URIRef) -> bool:
    return store.ask("ASK WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": CATALOGUE_GRAPH, "s": iri})


def save_update(
    iri: URIRef, form: Form, values: dict[str, list[Node]], graph: URIRef, new: bool, default_graph: bool
) -> str:
    """One SPARQL update: the form's properties of the resource removed (in every graph but the
    reserved ones, the catalogue among them, and in the store's own default graph when it has one:
    an edit replaces them wherever they were), the form's values inserted into `graph`, and for a
    new resource its classes. Only the form's properties are touched; the text holds only checked
    terms (sparql_term checks each IRI again and escapes each literal)."""
    s = sparql_term(iri)
    parts: list[str] = []
    for inverse in (False, True):
        props = sorted({f.path for f in form.fields if f.inverse == inverse and f.path != RDF.type})
        if props and not new:
            triple = f"?o ?p {s}" if inverse else f"{s} ?p ?o"
            values_p = "VALUES ?p { " + " ".join(sparql_term(p) for p in props) + " }"
            parts += _deletes(triple, values_p, default_graph)
    for f in form.fields:  # a kind chosen in the form owns only the classes it offers
        if f.path == RDF.type and f.choices and not new:
            values_o = "VALUES ?o { " + " ".join(sparql_term(c) for c in f.choices) + " }"
            parts += _deletes(f"{s} {sparql_term(RDF.type)} ?o", values_o, default_graph)
    triples = [f"{s} a {sparql_term(t)} ." for t in form.types] if new else []
    for f in form.fields:
        for term in values.get(f.key, []):
            o = sparql_term(term)  # type: ignore[arg-type]
            p = sparql_term(f.path)
            triples.append(f"{o} {p} {s} ." if f.inverse else f"{s} {p} {o} .")
    if triples:
        body = "\n  ".join(triples)
        if default_graph and graph == DEFAULT_GRAPH:
            parts.append(f"INSERT DATA {{\n  {body}\n}}")
        else:
            parts.append(f"INSERT DATA {{ GRAPH {sparql_term(graph)} {{\n  {body}\n}} }}")
    return " ;\n".join(parts)


def delete_update(iri: URIRef, links: bool, default_graph: bool) -> str:
    """One SPARQL update removing every triple with the resource as subject and, with `links`, as
    object too, in every graph but the reserved ones, the catalogue among them (and the store's own
    default graph)."""
    s = sparql_term(iri)
    patterns = [f"{s} ?p ?o"] + ([f"?o ?p {s}"] if links else [])
    return " ;\n".join(d for t in patterns for d in _deletes(t, "", default_graph))


def _deletes(triple: str, values: str, default_graph: bool) -> list[str]:
    """DELETE operations for a pattern in every named graph but the reserved ones (the catalogue,
    the embedded store's staging graphs, the remote store's registry: the service's own), and in
    the default graph when the store has one of its own (the embedded store: an update's GRAPH ?g
    leaves it)."""
    kept = " && ".join(f"!STRSTARTS(STR(?g), {Literal(p).n3()})" for p in RESERVED_GRAPH_PREFIXES)
    out = [
        f"DELETE {{ GRAPH ?g {{ {triple} }} }} WHERE {{ {values} GRAPH ?g {{ {triple} }} FILTER ({kept}) }}"
    ]
    if default_graph:
        out.append(f"DELETE {{ {triple} }} WHERE {{ {values} {triple} }}")
    return out
