"""The history a person reads: what each write changed, triple by triple, kept beside the store in
SQLite (not in the graph: a record of the graph's changes inside the graph would change it with
every write, and show in every query and export).

A write's changes are the difference between two snapshots taken under the write lock: before and
after, of the graphs it wrote (Graph Store, workbook import) or of the subjects it touched (a SPARQL
update, a form). Past MAX_QUADS a snapshot or a difference is not listed triple by triple: the
write is kept with a summary ("N triples changed in graph G"), so a replace of a large graph costs
no more than its count. The catalogue graph is left out (read-only: what an update changes there
is restored at once), and a blank node under a subject is kept as a text inside the triple that
holds it (see `folded`)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import NamespaceManager
from rdflib.term import Identifier

from .browse import Label, labels, plain
from .namespaces import CATALOGUE_GRAPH, DEFAULT_GRAPH
from .store.base import QueryDataset, Store
from .store.terms import sparql_term

MAX_QUADS = 10_000  # quads a snapshot reads, and changes a write lists one by one
Quad = tuple[URIRef, Identifier, URIRef, Identifier]  # (graph, subject, predicate, object)


@dataclass(frozen=True)
class Change:
    graph: URIRef
    subject: Identifier
    predicate: URIRef
    object: Identifier
    added: bool  # False: removed


class TooMany(list[Change]):
    """What `diff` answers past MAX_QUADS: no change listed; how many there were, when known."""

    def __init__(self, changed: int | None = None, reason: str | None = None) -> None:
        super().__init__()
        self.changed = changed
        self.reason = reason  # said instead of a count: why the changes were not listed


# ------------------------------------------------------------------------------ snapshots

_GRAPH = "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT %d"
_DEFAULT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT %d"
# a subject's triples, and those of the blank nodes under it, two levels down (a period, a list's
# first items), in one query: a blank node has no name another query could ask it by
_UNDER = (
    "{ ?top ?p ?o BIND (?top AS ?s) } UNION { ?top ?p0 ?s FILTER (isBlank(?s)) ?s ?p ?o }"
    " UNION { ?top ?p0 ?b FILTER (isBlank(?b)) ?b ?p1 ?s FILTER (isBlank(?s)) ?s ?p ?o }"
)
_SUBJECTS = "SELECT DISTINCT ?g ?s ?p ?o WHERE { VALUES ?top { %s } { GRAPH ?g { %s } } %s } LIMIT %d"
# the embedded store's default graph is not a named one: read beside them, under its name here
_AND_DEFAULT = f"UNION {{ {_UNDER} BIND (<{DEFAULT_GRAPH}> AS ?g) }}"
MAX_DEPTH = 4  # blank nodes nested deeper than this are shown as [ … ]
_names = NamespaceManager(Graph(), bind_namespaces="rdflib")  # rdf:, rdfs:, xsd:, dcterms: ...
_names.bind("aims", "https://w3id.org/aims#")


def snapshot(
    store: Store, subjects: Iterable[Identifier] | None = None, graphs: Iterable[URIRef] | None = None
) -> set[Quad] | None:
    """The current quads of `subjects` (in every graph) and of the whole `graphs`, one query each
    (the values bound as checked terms); None past MAX_QUADS (too many to keep), or when the store
    could not be read: taken around a write, a snapshot never stops that write being recorded in
    the audit trail (the history then keeps a summary)."""
    try:
        return _snapshot(store, subjects, graphs)
    except Exception:  # noqa: BLE001 - logged; the write is recorded without its changes listed
        logging.getLogger("aims.history").exception("a snapshot for the history failed")
        return None


def _snapshot(
    store: Store, subjects: Iterable[Identifier] | None, graphs: Iterable[URIRef] | None
) -> set[Quad] | None:
    found: set[Quad] = set()
    embedded = store.kind == "embedded"
    for graph in set(graphs or ()) - {CATALOGUE_GRAPH}:
        if graph == DEFAULT_GRAPH and embedded:
            rows = store.select(_DEFAULT % (MAX_QUADS + 1), dataset=QueryDataset())
        else:
            rows = store.select(_GRAPH % (MAX_QUADS + 1), {"g": graph})
        found |= {(graph, r["s"], r["p"], r["o"]) for r in rows}  # type: ignore[misc]
        if len(found) > MAX_QUADS:
            return None
    named = sorted({s for s in subjects or () if isinstance(s, URIRef)})  # a blank node has no name to ask by
    for start in range(0, len(named), 400):  # a VALUES block of that size stays under any server's limit
        values = " ".join(sparql_term(s) for s in named[start : start + 400])
        text = _SUBJECTS % (values, _UNDER, _AND_DEFAULT if embedded else "", MAX_QUADS + 1)
        rows = store.select(text, dataset=QueryDataset(every_named=True) if embedded else None)
        # the catalogue is read-only: what an update changes there is restored at once, not history
        found |= {(r["g"], r["s"], r["p"], r["o"]) for r in rows if r["g"] != CATALOGUE_GRAPH}  # type: ignore[misc]
        if len(found) > MAX_QUADS:
            return None
    return folded(found)


def folded(quads: set[Quad]) -> set[Quad]:
    """Each blank node under a subject written into its triple as a text, `[ aims:start
    "2026-01-01"^^xsd:date ; ... ]`: readable in a history, and the same before and after a write
    that left it alone, though a store gives the blank node another name (a graph loaded again)."""
    under: dict[tuple[URIRef, BNode], list[tuple[Identifier, Identifier]]] = {}
    for g, s, p, o in quads:
        if isinstance(s, BNode):
            under.setdefault((g, s), []).append((p, o))
    held = {(g, o) for g, _, _, o in quads if isinstance(o, BNode) and (g, o) in under}
    if not held:
        return quads
    out: set[Quad] = set()
    for g, s, p, o in quads:
        if isinstance(s, BNode) and (g, s) in held:
            continue  # shown in the triple that holds it
        if isinstance(o, BNode) and (g, o) in held:
            o = Literal(_shown(under, g, o, MAX_DEPTH))
        out.add((g, s, p, o))
    return out


def _shown(under: dict[tuple[URIRef, BNode], list[tuple[Identifier, Identifier]]], g: URIRef, node: BNode,
           depth: int) -> str:  # fmt: skip
    if depth == 0:
        return "[ … ]"
    parts = sorted(
        f"{p.n3(_names)} "
        + (_shown(under, g, o, depth - 1) if isinstance(o, BNode) and (g, o) in under else o.n3(_names))
        for p, o in under[(g, node)]
    )
    return "[ " + " ; ".join(parts) + " ]"


def diff(before: set[Quad] | None, after: set[Quad] | None) -> list[Change]:
    """What a write changed: the quads only after it (added) and only before it (removed), in a
    stable order; TooMany when a snapshot was too large, or the changes are."""
    if before is None or after is None:
        return TooMany()
    added, removed = after - before, before - after
    if len(added) + len(removed) > MAX_QUADS:
        return TooMany(len(added) + len(removed))
    changes = [Change(*q, added=False) for q in removed] + [Change(*q, added=True) for q in added]
    return sorted(changes, key=lambda c: (str(c.subject), str(c.predicate), c.added, str(c.object)))


# ------------------------------------------------------------------------------ the record


def _term(term: Identifier) -> str:
    """A term as stored: <iri>, _:id, or a literal as a JSON [text, datatype, language] (IRIs
    written as they are: one the store holds has no '>' in it)."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    assert isinstance(term, Literal)
    return json.dumps([str(term), str(term.datatype or ""), term.language or ""], ensure_ascii=False)


def _read(text: str) -> Identifier:
    if text.startswith("<"):
        return URIRef(text[1:-1])
    if text.startswith("_:"):
        return BNode(text[2:])
    value, datatype, language = json.loads(text)
    return Literal(value, lang=language or None, datatype=URIRef(datatype) if datatype else None)


def _change(graph: str, s: str, p: str, o: str, added: int) -> Change:
    return Change(URIRef(graph), _read(s), URIRef(p[1:-1]), _read(o), bool(added))  # a predicate is an IRI


_SCHEMA = """
CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, graph TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS changes (write INTEGER NOT NULL REFERENCES writes(id), graph TEXT NOT NULL,
    subject TEXT NOT NULL, predicate TEXT NOT NULL, object TEXT NOT NULL, added INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changes_subject ON changes (subject);
CREATE INDEX IF NOT EXISTS changes_object ON changes (object);
"""


@dataclass
class Write:
    id: int
    at: str
    who: str
    action: str
    graph: str | None
    summary: str | None  # set when the changes were too many to list
    changes: list[Change] = field(default_factory=list)  # those about the resource asked for


class History:
    """The record of writes and their changes: a SQLite file (or memory, for a store handed to
    the app in tests), one connection shared by the threads, used under a lock (a record is one
    short insert; a page's read a few indexed lookups)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise ValueError(f"the history {path} cannot be written: {e}") from None
        self._lock = threading.Lock()

    def record(self, at: str, who: str, action: str, graph: str | None, changes: list[Change]) -> None:
        """One write and its changes, in one transaction."""
        summary = None
        if isinstance(changes, TooMany) and changes.reason:
            summary = changes.reason
        elif isinstance(changes, TooMany):
            count = f"{changes.changed:,}" if changes.changed is not None else f"more than {MAX_QUADS:,}"
            summary = f"{count} triples changed" + (f" in graph {graph}" if graph else "")
        rows = [
            (str(c.graph), _term(c.subject), _term(c.predicate), _term(c.object), int(c.added))
            for c in changes
        ]
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO writes (at, who, action, graph, summary) VALUES (?, ?, ?, ?, ?)",
                (at, who, action, graph, summary),
            )
            self._db.executemany(
                "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)", [(cursor.lastrowid, *r) for r in rows]
            )

    def of(self, iri: str, limit: int | None = None) -> list[Write]:
        """The writes that changed `iri` (as the subject, or as the object: a link to it added or
        removed), newest first, each with those changes; summarised writes of a graph named `iri`
        are included too."""
        key = _term(URIRef(iri))
        with self._lock:
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT write FROM changes WHERE subject = ? UNION SELECT write FROM changes WHERE object = ?"
                    " UNION SELECT id FROM writes WHERE graph = ? AND summary IS NOT NULL"
                    " ORDER BY 1 DESC LIMIT ?",
                    (key, key, iri, -1 if limit is None else limit),
                )
            ]
            marks = ",".join("?" * len(ids))
            writes = {
                row[0]: Write(*row)
                for row in self._db.execute(
                    f"SELECT id, at, who, action, graph, summary FROM writes WHERE id IN ({marks})", ids
                )
            }
            changed = self._db.execute(
                f"SELECT write, graph, subject, predicate, object, added FROM changes WHERE write IN ({marks})"
                " AND (subject = ? OR object = ?) ORDER BY rowid",
                (*ids, key, key),
            ).fetchall()
        for write, graph, s, p, o, added in changed:
            writes[write].changes.append(_change(graph, s, p, o, added))
        return [writes[i] for i in ids]

    def last(self) -> Write | None:
        """The newest write with all its changes (what a client just did, for tests and tools)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, at, who, action, graph, summary FROM writes ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            write = Write(*row)
            changed = self._db.execute(
                "SELECT graph, subject, predicate, object, added FROM changes WHERE write = ? ORDER BY rowid",
                (write.id,),
            ).fetchall()
        write.changes = [_change(*row) for row in changed]
        return write

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ------------------------------------------------------------------------------ for people


@dataclass
class PropertyChange:
    predicate: str
    before: list[Identifier]  # the values removed
    after: list[Identifier]  # the values added


@dataclass
class Entry:
    """One write as a resource's history shows it."""

    write: Write
    properties: list[PropertyChange]  # its own properties: old and new values
    links: list[tuple[Identifier, str, bool]]  # (from, property, added): links to it added or removed


def entries(
    history: History, store: Store, iri: str, limit: int | None = None
) -> tuple[list[Entry], dict[str, Label]]:
    """The history of `iri` read for people: per write, each property's values before and after,
    and the links to it added or removed; with labels (as the store has them now) of every IRI."""
    found = []
    iris = {iri}
    for write in history.of(iri, limit):
        by_property: dict[str, PropertyChange] = {}
        links = []
        for c in write.changes:
            if str(c.subject) == iri:
                change = by_property.setdefault(str(c.predicate), PropertyChange(str(c.predicate), [], []))
                (change.after if c.added else change.before).append(c.object)
                iris |= {str(c.predicate)} | ({str(c.object)} if isinstance(c.object, URIRef) else set())
            else:
                links.append((c.subject, str(c.predicate), c.added))
                iris |= {str(c.predicate)} | ({str(c.subject)} if isinstance(c.subject, URIRef) else set())
        found.append(Entry(write, list(by_property.values()), links))
    return found, labels(store, iris)


def to_json(iri: str, found: list[Entry], names: dict[str, Label]) -> dict[str, Any]:
    """The history as JSON: values as in other answers (IRIs as strings), with their labels."""
    return {
        "iri": iri,
        "label": names[iri].text,
        "writes": [
            {
                "at": e.write.at,
                "who": e.write.who,
                "action": e.write.action,
                "graph": e.write.graph,
                "summary": e.write.summary,
                "changes": [
                    {
                        "property": p.predicate,
                        "label": names[p.predicate].text,
                        "before": [plain(v) for v in p.before],
                        "after": [plain(v) for v in p.after],
                    }
                    for p in e.properties
                ],
                "links": [{"from": plain(s), "property": p, "added": added} for s, p, added in e.links],
            }
            for e in found
        ],
        "labels": {i: label.to_json() for i, label in names.items()},
    }
