"""What a person browsing the graph reads: a label and an identifier for every IRI, a resource with
its properties and what links to it, the registers and the dashboard's figures. Built here, below
the HTTP layer, so that pages, JSON answers and the command line share them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier

from . import queries
from .namespaces import PREFIXES
from .store.base import Rows, Store
from .store.sparql_text import values_blocks

_LABELS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?thing ?label ?id WHERE {
  VALUES ?thing { %s }
  OPTIONAL { ?thing skos:prefLabel ?prefLabel }
  OPTIONAL { ?thing rdfs:label ?rdfsLabel }
  OPTIONAL { ?thing dcterms:title ?title }
  OPTIONAL { ?thing skos:notation ?notation }
  OPTIONAL { ?thing dcterms:identifier ?identifier }
  BIND (COALESCE(?prefLabel, ?rdfsLabel, ?title) AS ?label)
  BIND (COALESCE(?notation, ?identifier) AS ?id)
}"""
LABELS_QUERY = _LABELS % ""  # what labels() asks, for a reader of what it reads


@dataclass(frozen=True)
class Label:
    iri: str
    text: str  # rdfs:label, skos:prefLabel or dcterms:title; else the IRI's last part
    id: str | None = None  # skos:notation or dcterms:identifier

    def to_json(self) -> dict[str, str | None]:
        return {"iri": self.iri, "label": self.text, "id": self.id}


UNNAMED = "(unnamed)"  # what a blank node is called where it has no label


def local_name(iri: str) -> str:
    """The part of an IRI after its last '#' or '/': the label of last resort."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1] or iri


def labels(store: Store, iris: set[str] | list[str]) -> dict[str, Label]:
    """A label for each IRI, in one query per few hundred. The IRIs go into the query as checked
    RDF terms, never as text."""
    # a blank node (as `plain` writes it) has no IRI to ask by
    blank = {i for i in iris if i and i.startswith("_:")}
    wanted = sorted({i for i in iris if i and i not in blank})
    found: dict[str, Label] = {}
    for values in values_blocks(URIRef(i) for i in wanted):
        result = store.select(_LABELS % values)
        for row in result:
            iri = str(row["thing"])
            if iri in found and found[iri].text != local_name(iri):
                continue  # the first label found wins: several are possible, one is shown
            label, ident = row.get("label"), row.get("id")
            found[iri] = Label(iri, str(label) if label is not None else local_name(iri), _str(ident))
    return {i: found.get(i, Label(i, local_name(i))) for i in wanted} | {i: Label(i, UNNAMED) for i in blank}


def _str(term: Identifier | None) -> str | None:
    return str(term) if term is not None else None


def plain(term: Any) -> Any:
    """A result value as JSON: IRIs as strings, blank nodes as _:id (never taken for an IRI),
    literals as their Python value (dates in ISO)."""
    if isinstance(term, BNode):
        return term.n3()
    if isinstance(term, Literal):
        value = term.toPython()
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        return value if isinstance(value, bool | int | float) else str(value)
    return str(term) if term is not None else None


# ------------------------------------------------------------------------------ a resource


@dataclass
class Resource:
    iri: str
    label: Label
    types: list[str]
    properties: list[tuple[str, Identifier]]  # (predicate, value), in predicate order
    linked_from: list[tuple[str, str]]  # (subject, predicate)
    names: dict[str, Label] = field(default_factory=dict)  # labels of every IRI above

    def exists(self) -> bool:
        return bool(self.types or self.properties or self.linked_from)


_OUT = "SELECT ?p ?o WHERE { ?s ?p ?o } ORDER BY ?p ?o"
_IN = "SELECT ?s ?p WHERE { ?s ?p ?o } ORDER BY ?p ?s LIMIT 500"
_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def resource(store: Store, iri: URIRef) -> Resource:
    """An IRI's types and properties (with labelled values) and what links to it (up to 500)."""
    out = store.select(_OUT, {"s": iri})
    into = store.select(_IN, {"o": iri})
    types = [str(r["o"]) for r in out if r["p"] == _TYPE]
    properties = [(str(r["p"]), r["o"]) for r in out if r["p"] != _TYPE]
    linked = [(str(r["s"]), str(r["p"])) for r in into if not isinstance(r["s"], BNode)]
    iris = {str(iri), *types, *(p for p, _ in properties), *(s for s, _ in linked), *(p for _, p in linked)}
    iris |= {str(o) for _, o in properties if isinstance(o, URIRef)}
    names = labels(store, iris)
    return Resource(str(iri), names[str(iri)], types, properties, linked, names)


def curie(iri: str) -> str:
    """aims:riskLevel for https://w3id.org/aims#riskLevel, with the project's prefixes."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(str(namespace)) and len(iri) > len(str(namespace)):
            return f"{prefix}:{iri[len(str(namespace)) :]}"
    return iri


# ------------------------------------------------------------------------------ registers


@dataclass(frozen=True)
class Register:
    """A table of one kind of thing, from a named query: its first column is the item."""

    name: str  # the URL path: /systems
    title: str
    query: str
    trace: str | None = None  # the trace kind an item's page is, when it has one
    description: str = ""


REGISTERS = {
    r.name: r
    for r in (
        Register(
            "systems", "AI systems", "register-systems", "system", "Every AI system, its purpose and scope."
        ),
        Register(
            "risks", "Risk register", "register-risks", "risk", "Every AI risk, its level and treatment."
        ),
        Register(
            "controls",
            "Control implementations",
            "register-implementations",
            None,
            "How each control is carried out, by whom, and the evidence behind it.",
        ),
        Register(
            "documents",
            "Documents",
            "register-documents",
            None,
            "Documented information: version, status, approval and review.",
        ),
        Register("audits", "Audits", "register-audits", None, "Internal and certification audits."),
        Register(
            "findings",
            "Findings and corrective actions",
            "register-findings",
            None,
            "Nonconformities, observations and what is done about them.",
        ),
        Register(
            "parties",
            "Interested parties",
            "register-parties",
            None,
            "Who has a stake in the AIMS, and what they need.",
        ),
        Register("roles", "People and roles", "register-roles", None, "Who holds which AIMS role."),
        Register(
            "evidence",
            "Evidence",
            "register-evidence",
            "evidence",
            "Every piece of evidence: what it supports, what it is about, until when it is valid"
            " (expiring: within 30 days, or ?days=), and its files and links.",
        ),
    )
}


def heading(variable: str) -> str:
    """'reviewDue' -> 'Review due'."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", variable).lower()
    return words[:1].upper() + words[1:]


EXPIRING_DAYS = 30  # the evidence register's window when none is given (setting AIMS_EXPIRING_DAYS)


def register_rows(store: Store, register: Register, as_of: dt.date, days: int = EXPIRING_DAYS) -> Rows:
    """The register's rows (its query with register_params)."""
    return queries.run(store, register.query, register_params(register, as_of, days))


def register_params(register: Register, as_of: dt.date, days: int = EXPIRING_DAYS) -> dict[str, str]:
    """The as-of day for a register's query that takes one, and for one that takes `soon` the
    day after a window of `days` days from it (what expires within it is expiring)."""
    taken = {p.name for p in queries.get(register.query).parameters}
    params = {"asOf": as_of.isoformat()} if "asOf" in taken else {}
    if "soon" in taken:
        params["soon"] = (as_of + dt.timedelta(days=days + 1)).isoformat()
    return params
