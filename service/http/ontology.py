"""The vocabulary as linked data: /ontology (the aims-*.ttl modules merged) and /ontology/iso42001
(the catalogue) in Turtle, RDF/XML, JSON-LD, N-Triples or a page; /ontology/{name} is one term,
where the w3id redirect of https://w3id.org/aims/{name} lands. No token needed: it is public."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from flask import Blueprint, Response, redirect, render_template, url_for
from pydantic import Field
from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from werkzeug.wrappers import Response as BaseResponse

from .. import jsonld, resources
from ..browse import curie
from ..namespaces import AIMS_IRI, ISO_IRI, PREFIXES
from . import formats, pages
from .api import Params, operation
from .errors import Problem

bp = Blueprint("ontology", __name__, template_folder="templates")

# media type -> ?format= name; the first is what a client asking for anything (*/*) gets
OFFERED = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "text/html": "html",
}
VOCABULARY_IRI = URIRef("https://w3id.org/aims")
CATALOGUE_IRI = URIRef(ISO_IRI.rstrip("#"))


class FormatParam(Params):
    format: str | None = Field(None, description="turtle, xml, json-ld, nt or html (else by Accept)")


# ------------------------------------------------------------------------------ the graphs


def _bound(g: Graph) -> Graph:
    for prefix, namespace in PREFIXES.items():
        g.bind(prefix, namespace, override=True)
    return g


@cache
def vocabulary() -> Graph:
    """The vocabulary: every aims-*.ttl module in one graph (the catalogue is data, not in it)."""
    g = Graph()
    for path in resources.files("ontology", "aims-*.ttl"):
        g.parse(path)
    return _bound(g)


@cache
def catalogue() -> Graph:
    return _bound(Graph().parse(resources.folder("ontology") / "iso42001.ttl"))


@cache
def term_names() -> frozenset[str]:
    """The local names /ontology/{name} answers: every aims: IRI the vocabulary says something about."""
    return frozenset(str(s)[len(AIMS_IRI) :] for s in vocabulary().subjects() if str(s).startswith(AIMS_IRI))


def _serialise(g: Graph, media: str) -> bytes:
    name = OFFERED[media]  # rdflib's name for the format too
    if name == "json-ld":  # compacted with the vocabulary's context, as the exports are
        return g.serialize(format=name, context=jsonld.context(), auto_compact=True, encoding="utf-8")
    return g.serialize(format=name, encoding="utf-8")


@cache
def _document(which: str, media: str) -> bytes:
    return _serialise(vocabulary() if which == "vocabulary" else catalogue(), media)


@cache
def _term_document(name: str, media: str) -> bytes:
    """A term's concise bounded description: its triples, and those of blank nodes it leads to."""
    return _serialise(_bound(vocabulary().cbd(URIRef(AIMS_IRI + name))), media)


def _rdf(body: bytes, media: str) -> Response:
    response = Response(body, mimetype=media)
    response.vary.add("Accept")
    return response


def _html(template: str, **context: object) -> Response:
    response = Response(
        render_template(template, as_of=pages.as_of(), today=dt.date.today(), **context), mimetype="text/html"
    )
    response.vary.add("Accept")
    return response


# ------------------------------------------------------------------------------ the reference page


@dataclass(frozen=True)
class Ref:
    """A value as the page shows it: a term of ours links to its anchor, others to their IRI."""

    text: str
    href: str | None = None
    title: str = ""


@dataclass
class Term:
    name: str  # the local name, also the anchor
    curie: str
    label: str
    definition: str
    facts: list[tuple[str, list[Ref]]] = field(default_factory=list)
    members: list[Term] = field(default_factory=list)  # a concept scheme's values


def _text(g: Graph, subject: Node, *predicates: URIRef) -> str:
    """The first of `predicates` with a value, English or untagged preferred."""
    for p in predicates:
        values = [o for o in g.objects(subject, p) if isinstance(o, Literal)]
        if values:
            return str(min(values, key=lambda o: (o.language not in ("en", None), str(o))))
    return ""


def _local(iri: str, namespace: str) -> str | None:
    return iri[len(namespace) :] if iri.startswith(namespace) and len(iri) > len(namespace) else None


def _ref(node: Node) -> Ref:
    g, iso = vocabulary(), catalogue()
    if isinstance(node, BNode):
        union = g.value(node, OWL.unionOf)
        if union is not None:
            return Ref(" or ".join(_ref(m).text for m in Collection(g, union)))
        return Ref("(anonymous)")
    if isinstance(node, Literal):
        return Ref(str(node))
    iri = str(node)
    name = _local(iri, AIMS_IRI)
    if name in term_names():
        return Ref(f"aims:{name}", f"#{name}", _text(g, node, RDFS.label))
    name = _local(iri, ISO_IRI)
    if name is not None and (node, None, None) in iso:
        notation = _text(iso, node, SKOS.notation)
        return Ref(
            notation or curie(iri), url_for(".catalogue_page", _anchor=name), _text(iso, node, RDFS.label)
        )
    return Ref(curie(iri), iri)


def _sorted(nodes: Iterable[Node]) -> list[Ref]:
    return sorted({_ref(n) for n in nodes}, key=lambda r: r.text.lower())


FACTS = (  # (heading, predicate, its direction: the term as subject, or as object)
    ("Subclass of", RDFS.subClassOf, True),
    ("Subproperty of", RDFS.subPropertyOf, True),
    ("Equivalent to", OWL.equivalentClass, True),
    ("Domain", RDFS.domain, True),
    ("Range", RDFS.range, True),
    ("Properties with this domain", RDFS.domain, False),
    ("Subclasses", RDFS.subClassOf, False),
    ("Close match", SKOS.closeMatch, True),
    ("Related match", SKOS.relatedMatch, True),
    ("Source", DCTERMS.source, True),
)


def _term(node: URIRef) -> Term:
    g = vocabulary()
    name = str(node)[len(AIMS_IRI) :]
    term = Term(
        name, f"aims:{name}", _text(g, node, RDFS.label), _text(g, node, SKOS.definition, RDFS.comment)
    )
    if (node, RDF.type, OWL.FunctionalProperty) in g:
        term.facts.append(("Characteristics", [Ref("functional", str(OWL.FunctionalProperty))]))
    for heading, predicate, forward in FACTS:
        values = g.objects(node, predicate) if forward else g.subjects(predicate, node)
        refs = _sorted(values)
        if refs:
            term.facts.append((heading, refs))
    return term


def _ours(kind: URIRef) -> list[URIRef]:
    g = vocabulary()
    found = {s for s in g.subjects(RDF.type, kind) if isinstance(s, URIRef) and str(s).startswith(AIMS_IRI)}
    return sorted(found, key=lambda s: str(s).lower())


GROUPS = (
    ("classes", "Classes", OWL.Class),
    ("object-properties", "Object properties", OWL.ObjectProperty),
    ("datatype-properties", "Datatype properties", OWL.DatatypeProperty),
    ("datatypes", "Datatypes", RDFS.Datatype),
)


def _member_key(g: Graph, node: Node) -> tuple[str, str]:
    return (_text(g, node, SKOS.notation), str(node).lower())


@cache
def reference() -> dict[str, object]:
    """What the reference page shows, worked out once: the header and every term by group."""
    g = vocabulary()
    groups = [(anchor, heading, [_term(t) for t in _ours(kind)]) for anchor, heading, kind in GROUPS]
    schemes = []
    for scheme in _ours(SKOS.ConceptScheme):
        term = _term(scheme)
        members = sorted(g.subjects(SKOS.inScheme, scheme), key=lambda m: _member_key(g, m))
        term.members = [_term(m) for m in members if isinstance(m, URIRef)]
        kinds = _sorted({k for m in members for k in g.objects(m, RDF.type)})
        if kinds:
            term.facts.insert(0, ("Values are", kinds))
        schemes.append(term)
    groups.append(("concept-schemes", "Concept schemes", schemes))
    header = VOCABULARY_IRI
    return {
        "title": _text(g, header, DCTERMS.title, RDFS.label),
        "description": _text(g, header, DCTERMS.description),
        "version": _text(g, header, OWL.versionInfo),
        "version_iri": str(g.value(header, OWL.versionIRI) or ""),
        "license": str(g.value(header, DCTERMS.license) or ""),
        "iri": str(header),
        "namespace": AIMS_IRI,
        "groups": groups,
    }


@dataclass(frozen=True)
class Item:
    anchor: str
    id: str
    title: str


@dataclass(frozen=True)
class Scheme:
    anchor: str
    label: str
    items: list[Item]


def _item_order(g: Graph, node: Node) -> tuple[int, tuple[object, ...]]:
    """The standard's order (aims:ordinal), then the id's: A.10.2 after A.2.4, D02 after D01."""
    ordinal = g.value(node, URIRef(AIMS_IRI + "ordinal"))
    number = ordinal.toPython() if isinstance(ordinal, Literal) else 10**6
    parts = re.split(r"(\d+)", _text(g, node, SKOS.notation))
    return number, tuple(int(p) if p.isdigit() else p for p in parts)


@cache
def catalogue_model() -> dict[str, object]:
    """The catalogue page: each scheme (clauses, Annex A, documented information) as a list of
    anchor, id and title, in the standard's order."""
    g = catalogue()
    schemes = []
    for scheme in g.subjects(RDF.type, SKOS.ConceptScheme):
        items = []
        for node in sorted(g.subjects(SKOS.inScheme, scheme), key=lambda n: _item_order(g, n)):
            notation = _text(g, node, SKOS.notation)
            title = _text(g, node, SKOS.prefLabel, RDFS.label)
            items.append(Item(str(node)[len(ISO_IRI) :], notation, title.removeprefix(notation).strip()))
        first = min((_item_order(g, n) for n in g.subjects(SKOS.inScheme, scheme)), default=(10**6, ()))
        schemes.append((first, Scheme(str(scheme)[len(ISO_IRI) :], _text(g, scheme, RDFS.label), items)))
    return {
        "title": _text(g, CATALOGUE_IRI, RDFS.label),
        "description": _text(g, CATALOGUE_IRI, DCTERMS.description),
        "iri": str(CATALOGUE_IRI),
        "schemes": [scheme for _, scheme in sorted(schemes, key=lambda pair: pair[0])],
    }


# ------------------------------------------------------------------------------ the routes

MEDIA = tuple(OFFERED)


@bp.route("/ontology")
@operation(
    "get",
    "The vocabulary (the aims-*.ttl modules): Turtle, RDF/XML, JSON-LD, N-Triples or a reference page",
    "vocabulary",
    params=FormatParam,
    media=MEDIA,
    others={406: "Format not offered"},
)
def vocabulary_page() -> Response:
    media = formats.choose(OFFERED)
    if media == "text/html":
        return _html("ontology.html", vocab=reference(), formats=OFFERED)
    return _rdf(_document("vocabulary", media), media)


@bp.route("/ontology/iso42001")
@operation(
    "get",
    "The ISO/IEC 42001 catalogue: clauses, Annex A controls and documented information, in RDF or a list",
    "vocabulary",
    params=FormatParam,
    media=MEDIA,
    others={406: "Format not offered"},
)
def catalogue_page() -> Response:
    media = formats.choose(OFFERED)
    if media == "text/html":
        return _html("ontology.html", catalogue=catalogue_model(), formats=OFFERED)
    return _rdf(_document("catalogue", media), media)


@bp.route("/ontology/<name>")
@operation(
    "get",
    "One term (https://w3id.org/aims#name): its triples in RDF, or a 303 to its place on /ontology",
    "vocabulary",
    params=FormatParam,
    media=MEDIA[:-1],
    others={303: "To /ontology#name (a browser)", 404: "No such term", 406: "Format not offered"},
)
def term(name: str) -> BaseResponse:
    if name not in term_names():
        raise Problem(404, "Not Found", f"aims:{name} is not a term of the vocabulary", "unknown-term")
    media = formats.choose(OFFERED)
    if media == "text/html":
        response = redirect(url_for(".vocabulary_page", _anchor=name), 303)
        response.vary.add("Accept")
        return response
    return _rdf(_term_document(name, media), media)
