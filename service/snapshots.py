"""Snapshots: the organisation's graphs frozen at a milestone (gap analysis, internal audit, stage 1,
stage 2, ...), in the same store, so that what was shown then can be answered again.

A snapshot NAME copies every organisation graph G (never the catalogue, which every snapshot shares)
into a graph `urn:aims:snapshot:NAME:i`, and describes itself in `urn:aims:snapshots`: who took it,
when, the day its verdicts are judged on, and which graph each copy was derived from. Both names
are reserved (no client write reaches them) and left out of the dataset every query sees
(store.terms.frozen_graph). `SnapshotView` is a read-only Store over one snapshot: the catalogue and
its copies as the default graph, so every report, trace, validation and export answers from it
unchanged, judged on the snapshot's day.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD
from rdflib.term import Identifier

from . import traces, validation
from .namespaces import AIMS, CATALOGUE_GRAPH, DEFAULT_GRAPH
from .store.base import QueryDataset, QueryResult, Store, StoreError
from .store.formats import RDFFormat, readable
from .store.terms import FROZEN_GRAPH_PREFIX

log = logging.getLogger(__name__)
SNAPSHOTS_GRAPH = URIRef(FROZEN_GRAPH_PREFIX + "s")  # urn:aims:snapshots: what each snapshot is
_EMPTY = URIRef(FROZEN_GRAPH_PREFIX + ":none")  # a graph no snapshot has: an empty default graph
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class SnapshotError(StoreError):
    """A snapshot asked for that cannot be: a bad or taken name, or none of that name."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


class ReadOnlySnapshot(StoreError):
    """A write aimed at a snapshot (the service answers 403)."""


@dataclass(frozen=True)
class Snapshot:
    name: str
    created: dt.datetime
    by: str
    as_of: dt.date
    note: str
    graphs: dict[URIRef, URIRef]  # frozen copy -> the organisation graph it was taken from

    @property
    def iri(self) -> URIRef:
        return _iri(self.name)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "created": self.created.isoformat(),
            "by": self.by,
            "as_of": self.as_of.isoformat(),
            "note": self.note,
            "graphs": sorted(str(g) for g in self.graphs.values()),
        }


def _iri(name: str) -> URIRef:
    return URIRef(f"{FROZEN_GRAPH_PREFIX}:{name}")


def checked_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise SnapshotError(
            f"{name!r} is not a snapshot name: 1 to 64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (stage-2, 2026-11-gap)"
        )
    return name


def create(store: Store, name: str, by: str, note: str = "", as_of: dt.date | None = None) -> Snapshot:
    """Freeze every organisation graph as snapshot `name`, in one update: a snapshot is listed
    only once its copies are written. The caller holds the write lock."""
    checked_name(name)
    if find(store, name) is not None:
        raise SnapshotError(f"there is already a snapshot named {name!r}", 409)
    sources = [g for g in store.graphs() if g != CATALOGUE_GRAPH]
    copies = {URIRef(f"{_iri(name)}:{i}"): g for i, g in enumerate(sources, 1)}
    snapshot = Snapshot(
        name, dt.datetime.now(dt.UTC).replace(microsecond=0), by, as_of or dt.date.today(), note, copies
    )
    description = Graph()
    node = snapshot.iri
    description.add((node, RDF.type, AIMS.Snapshot))
    description.add((node, RDFS.label, Literal(name)))
    description.add((node, DCTERMS.created, Literal(snapshot.created)))
    description.add((node, DCTERMS.creator, Literal(by)))
    description.add((node, AIMS.asOfDay, Literal(snapshot.as_of, datatype=XSD.date)))
    if note:
        description.add((node, RDFS.comment, Literal(note)))
    for copy, source in copies.items():
        description.add((node, AIMS.frozenGraph, copy))
        description.add((copy, PROV.wasDerivedFrom, source))
    # every name below is checked (a graph the store lists, a name matching NAME); the literals
    # are written by rdflib: nothing a client typed reaches the update as text
    triples = "\n".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in description)
    try:
        store.copy_graphs(copies)  # the copies first: a snapshot is listed once they are written
        store.update(f"INSERT DATA {{ GRAPH <{SNAPSHOTS_GRAPH}> {{\n{triples}\n}} }}")
    except StoreError:
        for copy in copies:  # nothing is left of a snapshot that could not be taken
            store.update(f"DROP SILENT GRAPH <{copy}>")
        raise
    return snapshot


def delete(store: Store, name: str) -> Snapshot:
    """Remove a snapshot: its description first, so a half-removed one is never listed."""
    snapshot = get(store, name)
    store.update(f"DELETE WHERE {{ GRAPH <{SNAPSHOTS_GRAPH}> {{ <{snapshot.iri}> ?p ?o }} }}")
    for copy in (*snapshot.graphs, _kept_graph(snapshot)):
        store.update(f"DELETE WHERE {{ GRAPH <{SNAPSHOTS_GRAPH}> {{ <{copy}> ?p ?o }} }}")
        store.update(f"DROP SILENT GRAPH <{copy}>")
    return snapshot


# ------------------------------------------------------------------------------ its verdicts, kept

# what is worked out once from a snapshot and kept beside it (a snapshot never changes), as
# gzipped JSON in base64 under an internal predicate: its report of every rule on its day, and every
# risk's trace verdict by that report (what a diff compares)
_KEPT_REPORT = URIRef("urn:aims:keptReport")
_KEPT_VERDICTS = URIRef("urn:aims:keptRiskVerdicts")


def _kept_graph(snapshot: Snapshot) -> URIRef:
    return URIRef(f"{snapshot.iri}:report")


def _kept(store: Store, snapshot: Snapshot, what: URIRef) -> Any:
    graph = _kept_graph(snapshot)
    rows = store.select(
        "SELECT ?kept WHERE { GRAPH ?graph { ?snapshot ?what ?kept } }",
        {"graph": graph, "snapshot": snapshot.iri, "what": what},
        dataset=QueryDataset((), (graph,)),
    )
    return json.loads(gzip.decompress(base64.b64decode(str(rows.rows[0]["kept"])))) if rows.rows else None


def _keep(store: Store, snapshot: Snapshot, what: URIRef, value: Any) -> None:
    text = base64.b64encode(gzip.compress(json.dumps(value).encode())).decode()
    triple = f"{snapshot.iri.n3()} {what.n3()} {Literal(text).n3()}"
    store.update(f"INSERT DATA {{ GRAPH {_kept_graph(snapshot).n3()} {{ {triple} }} }}")


def _keep_if_writable(view: SnapshotView, what: URIRef, value: Any) -> None:
    """Kept only where the store can be written (not by a command reading the store `aims serve`
    holds): otherwise worked out each time."""
    try:
        _keep(view.base, view.snapshot, what, value)
    except StoreError as e:
        log.info("the %s of snapshot %s is not kept: %s", what, view.snapshot.name, e)


def report(view: SnapshotView) -> validation.Report:
    """The snapshot's validation report of every rule on its own day: worked out once, then kept
    beside it, so that a diff, a trend or a page of it reads it instead of validating again."""
    kept = _kept(view.base, view.snapshot, _KEPT_REPORT)
    if kept is not None:
        return validation.Report.from_json(kept)
    found = validation.validate(view, as_of=view.snapshot.as_of)
    _keep_if_writable(view, _KEPT_REPORT, found.to_json(assessed=True))
    return found


def keep_report(store: Store, snapshot: Snapshot, found: validation.Report) -> None:
    """Keep `found` as the snapshot's report: the report of every rule on its day of the data it
    froze (the service hands over the live store's, worked out incrementally, when it was taken)."""
    _keep(store, snapshot, _KEPT_REPORT, found.to_json(assessed=True))


def risk_verdicts(view: SnapshotView) -> dict[str, str]:
    """Every risk's trace verdict in the snapshot, on its day: worked out once (from its kept
    report), then kept beside it; a diff compares them instead of tracing every risk again."""
    kept = _kept(view.base, view.snapshot, _KEPT_VERDICTS)
    if kept is not None:
        return dict(kept)
    found = traces.verdicts(view, "risk", view.snapshot.as_of, report(view))
    _keep_if_writable(view, _KEPT_VERDICTS, found)
    return found


def keep_judgement(view: SnapshotView) -> validation.Report:
    """Work out and keep what a snapshot's readers read instead of judging it again: its report and
    its risks' verdicts (the command line does this when it takes one; the service in the
    background). Its report."""
    found = report(view)
    risk_verdicts(view)
    return found


_LIST = f"""
PREFIX aims: <{AIMS}> PREFIX dcterms: <{DCTERMS}> PREFIX prov: <{PROV}> PREFIX rdfs: <{RDFS}>
SELECT ?snapshot ?name ?created ?by ?asOf ?note ?copy ?source WHERE {{
  GRAPH <{SNAPSHOTS_GRAPH}> {{
    ?snapshot a aims:Snapshot ; rdfs:label ?name ; dcterms:created ?created ; dcterms:creator ?by ;
      aims:asOfDay ?asOf .
    OPTIONAL {{ ?snapshot rdfs:comment ?note }}
    OPTIONAL {{ ?snapshot aims:frozenGraph ?copy . ?copy prov:wasDerivedFrom ?source }}
  }}
}}"""


def _read(store: Store, name: str | None = None) -> list[Snapshot]:
    bindings: dict[str, Identifier] = {"snapshot": _iri(name)} if name is not None else {}
    rows = store.select(_LIST, bindings, dataset=QueryDataset((), (SNAPSHOTS_GRAPH,)))
    found: dict[str, Snapshot] = {}
    for row in rows:
        key = str(row["name"])
        if key not in found:
            found[key] = Snapshot(
                key,
                _datetime(row["created"]),
                str(row["by"]),
                dt.date.fromisoformat(str(row["asOf"])[:10]),
                str(row.get("note", "")),
                {},
            )
        if "copy" in row:
            found[key].graphs[URIRef(str(row["copy"]))] = URIRef(str(row["source"]))
    return sorted(found.values(), key=lambda s: (s.created, s.name))


def _datetime(term: Identifier) -> dt.datetime:
    value = term.toPython() if isinstance(term, Literal) else None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(term).replace("Z", "+00:00"))


def listed(store: Store) -> list[Snapshot]:
    """Every snapshot, oldest first."""
    return _read(store)


def find(store: Store, name: str) -> Snapshot | None:
    found = _read(store, checked_name(name))
    return found[0] if found else None


def get(store: Store, name: str) -> Snapshot:
    snapshot = find(store, name)
    if snapshot is None:
        raise SnapshotError(f"there is no snapshot named {name!r}", 404)
    return snapshot


class SnapshotView(Store):
    """One snapshot as a read-only store: the catalogue and the snapshot's copies are its dataset
    (its graphs keep the names they were taken from), and every write is refused."""

    def __init__(self, base: Store, snapshot: Snapshot) -> None:
        self.base, self.snapshot = base, snapshot
        self.kind = base.kind
        self._original = snapshot.graphs
        self._copy = {source: copy for copy, source in snapshot.graphs.items()}
        graphs = (CATALOGUE_GRAPH, *snapshot.graphs)
        self.dataset = QueryDataset(graphs, graphs)
        self._count: int | None = None

    @property
    def engine(self) -> str:
        return self.base.engine

    def query(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> QueryResult:
        return self.base.query(sparql, bindings, timeout, self.scoped(dataset))

    def scoped(self, dataset: QueryDataset | None) -> QueryDataset:
        """The snapshot's dataset; a protocol dataset names graphs as they were when it was taken
        (a graph it did not hold stays empty)."""
        if dataset is None:
            return self.dataset
        default = tuple(self._copy.get(g, g) for g in dataset.default_graphs if self._known(g))
        named = tuple(self._copy.get(g, g) for g in dataset.named_graphs if self._known(g))
        return QueryDataset(default or (_EMPTY,), named)

    def _known(self, graph: URIRef) -> bool:
        return graph == CATALOGUE_GRAPH or graph in self._copy

    def _refuse(self) -> StoreError:
        return ReadOnlySnapshot(f"snapshot {self.snapshot.name!r} is read-only")

    def update(self, sparql: str) -> None:
        raise self._refuse()

    def load(
        self,
        data: bytes,
        fmt: RDFFormat,
        graph: URIRef,
        replace: bool = False,
        source: str | None = None,
        max_triples: int | None = None,
    ) -> int:
        raise self._refuse()

    def drop(self, graph: URIRef) -> None:
        raise self._refuse()

    def ensure_catalogue(self) -> bool:
        return False  # the catalogue is the base store's; a snapshot never writes it

    def graphs(self) -> list[URIRef]:
        return sorted([CATALOGUE_GRAPH, *self._copy])

    def count(self, graph: URIRef | None = None) -> int:
        if graph is not None:
            return self.base.count(self._copy.get(graph, graph)) if self._known(graph) else 0
        if self._count is None:  # a snapshot never changes
            self._count = sum(self.base.count(g) for g in self.dataset.default_graphs)
        return self._count

    def export(self, fmt: RDFFormat, graph: URIRef | None = None, with_catalogue: bool = False) -> bytes:
        from .store.embedded import EmbeddedStore

        if isinstance(self.base, EmbeddedStore):  # the copies written under their own names
            wanted = self.exported_graphs(graph, with_catalogue)
            return self.base.export_as(fmt, {self._copy.get(g, g): g for g in wanted if self._known(g)})
        dataset = Dataset()
        for name in self.exported_graphs(graph, with_catalogue):
            part = self.base.construct(
                "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                {"g": self._copy.get(name, name)},
                dataset=self.dataset,
            )
            target = dataset.default_graph if name == DEFAULT_GRAPH else dataset.graph(name)
            for triple in part:
                target.add(triple)
        return readable(dataset, fmt)

    def rdflib_graph(self, graphs: list[URIRef] | None = None) -> Graph:
        wanted = graphs if graphs is not None else [g for g in self._copy if g != CATALOGUE_GRAPH]
        return super().rdflib_graph([self._copy.get(g, g) for g in wanted])

    def close(self) -> None:
        pass  # the base store is the service's
