"""Traceability chains: from a risk, a control, a requirement, an AI system or a piece of evidence
to everything that hangs off it, nested, labelled and with evidence judged as of a day. Built
once here from the trace-* named queries, for the JSON answers, the pages and `aims trace`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rdflib import Literal, URIRef

from . import queries
from .browse import Label, labels, plain
from .store.base import Rows, Store, StoreError, check_iri


@dataclass(frozen=True)
class Level:
    """One level of a trace: the list's key, the column naming its items, the columns kept on
    each item, and the levels nested under each item."""

    key: str
    id_column: str
    columns: tuple[str, ...] = ()
    children: tuple[Level, ...] = ()


_EVIDENCE = Level(
    "evidence", "evidence", ("generatedAt", "validUntil", "valid"), (Level("supports", "supports"),)
)


@dataclass(frozen=True)
class Kind:
    name: str
    query: str
    parameter: str
    title: str
    classes: tuple[str, ...]  # what a thing of this kind is (aims: local names), to tell one with
    # nothing hanging off it (an empty trace: absence is a finding) from no such thing (404)
    levels: tuple[Level, ...]
    top_columns: tuple[str, ...] = ()
    # the chain as the diagram draws it: (column title, the levels whose items it shows; "@top" is
    # the traced thing itself)
    diagram: tuple[tuple[str, tuple[str, ...]], ...] = ()


KINDS = {
    k.name: k
    for k in (
        Kind(
            "risk",
            "trace-risk",
            "risk",
            "Risk",
            ("Risk",),
            (
                Level(
                    "treatments",
                    "treatment",
                    ("option",),
                    (
                        Level(
                            "implementations",
                            "implementation",
                            ("status", "control", "controlId"),
                            (_EVIDENCE,),
                        ),
                    ),
                ),
            ),
            ("riskLevel",),
            (
                ("Risk", ("@top",)),
                ("Treatment", ("treatments",)),
                ("Implementation", ("implementations",)),
                ("Control", ("control",)),
                ("Evidence", ("evidence",)),
            ),
        ),
        Kind(
            "control",
            "trace-control",
            "control",
            "Control",
            ("ReferenceControl", "OrganisationControl"),
            (
                Level("entries", "entry", ("applicable", "justification")),
                Level(
                    "implementations",
                    "implementation",
                    ("status",),
                    (
                        Level("risks", "risk"),
                        Level("evidence", "evidence", ("generatedAt", "validUntil", "valid")),
                    ),
                ),
            ),
            ("controlId",),
            (
                ("Risk", ("risks",)),
                ("Implementation", ("implementations",)),
                ("Control", ("@top",)),
                ("Evidence", ("evidence",)),
            ),
        ),
        Kind(
            "requirement",
            "trace-requirement",
            "requirement",
            "Requirement",
            ("ClauseRequirement", "ReferenceControl"),
            (Level("answered", "answered", ("answeredId",), (Level("resources", "resource", ("kind",)),)),),
            (),
            (
                ("Requirement", ("@top",)),
                ("Clause or control answered", ("answered",)),
                ("Answered by", ("resources",)),
            ),
        ),
        Kind(
            "system",
            "trace-system",
            "system",
            "AI system",
            ("AISystem",),
            (Level("related", "resource", ("relation",)),),
            (),
            (("AI system", ("@top",)), ("Related", ("related",))),
        ),
        Kind(
            "evidence",
            "trace-evidence",
            "evidence",
            "Evidence",
            ("Evidence", "CompetenceRecord", "TrainingRecord"),
            (Level("reliedOnBy", "resource", ("relation",)),),
            (),
            (("Evidence", ("@top",)), ("Relied on by", ("reliedOnBy",))),
        ),
    )
}


class TraceNotFound(LookupError):
    """No such kind of trace, or nothing of that kind with that IRI or identifier."""


@dataclass
class Trace:
    kind: Kind
    top: dict[str, Any]
    items: dict[str, list[dict[str, Any]]]
    as_of: dt.date
    names: dict[str, Label] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON answer: the traced thing, its nested lists, and a label for every IRI in them."""
        return {
            self.kind.name: self.top,
            **self.items,
            "as_of": self.as_of.isoformat(),
            "labels": {iri: label.to_json() for iri, label in self.names.items()},
        }

    def columns(self) -> list[tuple[str, list[str]]]:
        """The diagram's columns: the traced thing, then each step of the chain, items listed once."""
        found: dict[str, list[str]] = {"@top": [self.top["iri"]]}

        def walk(nodes: list[dict[str, Any]], key: str) -> None:
            for node in nodes:
                found.setdefault(key, [])
                if node["iri"] not in found[key]:
                    found[key].append(node["iri"])
                if (
                    key == "implementations"
                    and node.get("control")
                    and node["control"] not in found.setdefault("control", [])
                ):
                    found["control"].append(node["control"])
                for child_key, value in node.items():
                    if isinstance(value, list):
                        walk(value, child_key)

        for key, nodes in self.items.items():
            walk(nodes, key)
        return [
            (title, [iri for key in keys for iri in found.get(key, [])]) for title, keys in self.kind.diagram
        ]


def _nest(rows: list[dict[str, Any]], level: Level) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        ident = row.get(level.id_column)
        if ident is None:
            continue
        if ident not in groups:
            groups[ident] = {"iri": ident, **{c: row.get(c) for c in level.columns}}
            members[ident] = []
        members[ident].append(row)
    for ident, node in groups.items():
        for child in level.children:
            node[child.key] = _nest(members[ident], child)
    return list(groups.values())


def resolve(store: Store, kind: str, key: str) -> URIRef:
    """The IRI of the thing to trace, from an IRI or an identifier (dcterms:identifier,
    skos:notation or label, bound as a literal): TraceNotFound when nothing matches."""
    if ":" in key:
        try:
            return check_iri(key)
        except StoreError:
            pass
    query = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?thing WHERE {
  { ?thing dcterms:identifier ?key } UNION { ?thing skos:notation ?key } UNION { ?thing rdfs:label ?key }
} ORDER BY ?thing"""
    rows = store.query(query, {"key": Literal(key)})
    assert isinstance(rows, Rows)
    found = [row["thing"] for row in rows if isinstance(row["thing"], URIRef)]
    if not found:
        raise TraceNotFound(f"nothing has the identifier or label {key!r}")
    for iri in found:  # the first that traces as this kind
        if trace_rows(store, kind, iri, dt.date.today()):
            return iri
    raise TraceNotFound(f"{key!r} is not a {kind}")


def trace_rows(store: Store, kind: str, iri: URIRef, as_of: dt.date) -> list[dict[str, Any]]:
    """The trace query's rows, as RDF terms."""
    if kind not in KINDS:
        raise TraceNotFound(f"no trace for {kind!r}; use one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    params = {spec.parameter: str(iri)}
    if any(p.name == "asOf" for p in queries.get(spec.query).parameters):
        params["asOf"] = as_of.isoformat()
    return list(queries.run(store, spec.query, params))


def trace(store: Store, kind: str, iri: URIRef, as_of: dt.date | None = None) -> Trace:
    """The whole chain from `iri`: TraceNotFound when there is no such `kind` or it is not one."""
    as_of = as_of or dt.date.today()
    rows = trace_rows(store, kind, iri, as_of)
    spec = KINDS[kind]
    if not rows and not _is_a(store, iri, spec.classes):
        raise TraceNotFound(f"no {kind} {iri} in the graph")
    iris = {str(iri)} | {str(v) for row in rows for v in row.values() if isinstance(v, URIRef)}
    records = [{k: plain(v) for k, v in row.items()} for row in rows]
    top = {"iri": str(iri), **{c: records[0].get(c) if records else None for c in spec.top_columns}}
    items = {level.key: _nest(records, level) for level in spec.levels}
    return Trace(spec, top, items, as_of, labels(store, iris))


def kind_of(types: list[str]) -> str | None:
    """The trace that starts from a thing of these types, if one does (a control before a
    requirement: an Annex A control is both)."""
    for kind in KINDS.values():
        if any(t == f"https://w3id.org/aims#{c}" for t in types for c in kind.classes):
            return kind.name
    return None


def _is_a(store: Store, iri: URIRef, classes: tuple[str, ...]) -> bool:
    """Whether `iri` is an instance of one of the aims: `classes`."""
    query = "SELECT ?type WHERE { ?thing a ?type }"
    rows = store.query(query, {"thing": iri})
    assert isinstance(rows, Rows)
    wanted = {f"https://w3id.org/aims#{c}" for c in classes}
    return any(str(row["type"]) in wanted for row in rows)
