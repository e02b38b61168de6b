"""The embedded default store: Oxigraph (pyoxigraph), persistent in a data folder.

One read-write process holds a folder (RocksDB lock); a second one gets StoreLocked, not a crash.
Loads are transactions: a file is parsed and written whole or not at all.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Identifier

from ..namespaces import DEFAULT_GRAPH, PREFIXES
from .base import LoadError, QueryDataset, QueryResult, QueryTimeout, Rows, Store, StoreError, StoreLocked
from .formats import FORMATS, RDFFormat, readable, to_ntriples
from .input_limits import check_input
from .sparql_text import inline_values
from .terms import frozen_graph

# Staging graphs hold a replacement until it is swapped in; leftovers of a killed load are dropped on open.
_STAGING = "urn:aims:staging:"


def to_rdflib(term: Any) -> Identifier:
    """An rdflib term for a pyoxigraph term (IRI, blank node or literal)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == str(XSD.string) else URIRef(datatype))
    raise StoreError(f"unsupported RDF term {term!r}")


def to_oxigraph(term: Identifier) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise StoreError(f"unsupported RDF term {term!r}")


def _collected(
    result: Any, deadline: float | None, timeout: float | None
) -> tuple[list[str] | None, list[Any]]:
    """The solutions' values (names, rows) or the triples (None, triples), as pyoxigraph terms;
    streamed, so a deadline stops it between rows."""
    names = [v.value for v in result.variables] if isinstance(result, ox.QuerySolutions) else None
    raw = []
    for item in result:
        if deadline and time.monotonic() > deadline:
            raise QueryTimeout(f"the query ran past its {timeout} s limit and was stopped")
        # a solution iterates its values in the order of its variables (twice as fast as by name)
        raw.append(tuple(item) if names is not None else (item.subject, item.predicate, item.object))
    return names, raw


class _Converted(dict[Any, Identifier]):
    """pyoxigraph terms -> rdflib terms, each built once: rdflib terms are costly to build, and
    values repeat (the same class, property or node on many rows)."""

    def __missing__(self, term: Any) -> Identifier:
        converted = self[term] = to_rdflib(term)
        return converted


def _as_rdflib(names: list[str] | None, raw: list[Any]) -> Rows | Graph:
    terms = _Converted()
    if names is None:
        graph = Graph()
        for s, p, o in raw:
            graph.add((terms[s], terms[p], terms[o]))
        return graph
    rows = [
        {name: terms[value] for name, value in zip(names, values, strict=True) if value is not None}
        for values in raw
    ]
    return Rows(names, rows)


def _node(graph: URIRef) -> ox.NamedNode | ox.DefaultGraph:
    """The store's graph for a graph name (DEFAULT_GRAPH is the store's default graph)."""
    return ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(str(graph))


class EmbeddedStore(Store):
    kind = "embedded"

    @property
    def engine(self) -> str:
        return "oxigraph"

    def __init__(self, path: Path | str | None = None, read_only: bool = False) -> None:
        """A persistent store in folder `path`, or an in-memory one when `path` is None. A
        read-only store can be opened while another process (`aims serve`) holds the folder."""
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self.version = (
            0  # writes made through this object: query processes open the store again when it moves
        )
        try:
            if self.path is None:
                self._store = ox.Store()
            elif read_only:
                if not (self.path / "CURRENT").exists():
                    raise StoreError(f"there is no store in {self.path}")
                self._store = ox.Store.read_only(str(self.path))
                return
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as e:
            if "lock" in str(e).lower():
                raise StoreLocked(
                    f"the store in {self.path} is in use by another process (is `aims serve` running?); "
                    "stop it, or send the change to the service over HTTP"
                ) from e
            raise StoreError(f"cannot open the store in {self.path}: {e}") from e
        for graph in self._store.named_graphs():
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(_STAGING):
                self._store.remove_graph(graph)
        if self._store.contains_named_graph(ox.NamedNode(str(DEFAULT_GRAPH))):
            # a store written before `?default` was the default graph: merged into it, once
            self._store.update(f"ADD <{DEFAULT_GRAPH}> TO DEFAULT ; DROP GRAPH <{DEFAULT_GRAPH}>")

    # ---------------------------------------------------------------- queries

    def query(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> QueryResult:
        deadline = time.monotonic() + timeout if timeout else None
        options: dict[str, Any] = {"use_default_graph_as_union": True}
        if dataset is None:
            dataset = self._live_dataset()
        if dataset is not None:
            options = {
                "default_graph": [_node(g) for g in dataset.default_graphs] or ox.DefaultGraph(),
                "named_graphs": [ox.NamedNode(str(g)) for g in dataset.named_graphs if g != DEFAULT_GRAPH],
            }
            if dataset.every_named:
                del options["named_graphs"]
        try:
            result = self._store.query(inline_values(sparql, bindings), **options)
        except SyntaxError as e:
            raise StoreError(f"SPARQL syntax error: {e}") from e
        if isinstance(result, ox.QueryBoolean):
            return bool(result)
        # pyoxigraph's result objects must be dropped on the thread that made them: they are
        # read into plain terms and let go before anything (an exception's traceback, a log
        # record of rdflib's about an ill-formed literal) can hold this frame for another thread
        try:
            names, raw = _collected(result, deadline, timeout)
        except Exception as e:  # noqa: BLE001 - re-raised below, without this frame
            failure = e.with_traceback(None)
            del result
            raise failure from None
        del result
        return _as_rdflib(names, raw)

    def _live_dataset(self) -> QueryDataset | None:
        """With snapshots in the store, the union of the other graphs, named one by one (the
        union of every graph would hold each frozen copy too: rows repeated once a snapshot);
        without, None: Oxigraph's own union, the same graphs."""
        named = [g for g in self._store.named_graphs() if isinstance(g, ox.NamedNode)]
        if not any(frozen_graph(g.value) for g in named):
            return None
        live = tuple(URIRef(g.value) for g in named if not frozen_graph(g.value))
        return QueryDataset((DEFAULT_GRAPH, *live), live)

    def update(self, sparql: str) -> None:
        try:
            self._store.update(sparql)
        except SyntaxError as e:
            raise StoreError(f"SPARQL syntax error: {e}") from e
        except RuntimeError as e:  # the engine's refusal: DROP GRAPH of a graph there is none of
            raise StoreError(f"the update failed: {e}") from None
        finally:
            self._written()

    def _written(self) -> None:
        """After every write: on disk, the write is flushed from the log into the store's files,
        so that a query process opening the store reads files instead of replaying a log that
        grows with every write (at 1,000 systems: 3.4 s an opening before, 0.05 s after)."""
        if self.path is not None and not self.read_only:
            self._store.flush()
        self.version += 1

    # ---------------------------------------------------------------- data in and out

    def load(
        self,
        data: bytes,
        fmt: RDFFormat,
        graph: URIRef,
        replace: bool = False,
        source: str | None = None,
        max_triples: int | None = None,
    ) -> int:
        data = check_input(data, fmt, source, max_triples)
        if fmt.quads:  # graph names in the data would write other graphs than `graph`
            data, fmt = to_ntriples(data, fmt, source, str(graph)), FORMATS["nt"]
        try:
            return self._load(data, fmt, graph, replace, source)
        finally:
            self._written()

    def _load(self, data: bytes, fmt: RDFFormat, graph: URIRef, replace: bool, source: str | None) -> int:
        target = _node(graph)
        before = self._count_graph(target)
        replace = replace and before > 0  # nothing to swap out: a direct load is just as atomic
        try:
            # Store.load is one transaction: a syntax error anywhere leaves the store untouched. A
            # replacement is parsed whole into memory first, out of every reader's sight.
            into = ox.Store() if replace else self._store
            into.load(data, format=fmt.ox, to_graph=target, base_iri=str(graph))
        except SyntaxError as e:
            raise LoadError(e.msg, source=source, line=e.lineno, column=e.offset) from e
        except (ValueError, OSError) as e:
            raise LoadError(str(e), source=source) from e
        if replace:
            # One update is one transaction: readers see the old graph or the new one, never both
            # (a staging graph loaded beside it showed in the union every query reads) nor neither.
            # the text is Oxigraph's own N-Triples and an IRI its NamedNode checked: no user text
            triples = (into.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=target) or b"").decode("utf-8")
            if isinstance(target, ox.DefaultGraph):
                self._store.update(f"DROP SILENT DEFAULT ; INSERT DATA {{ {triples} }}")
            else:
                self._store.update(
                    f"DROP SILENT GRAPH <{target.value}> ; INSERT DATA {{ GRAPH <{target.value}> {{ {triples} }} }}"
                )
            return self._count_graph(target)
        return self._count_graph(target) - before

    def export(self, fmt: RDFFormat, graph: URIRef | None = None, with_catalogue: bool = False) -> bytes:
        return self.export_as(fmt, {g: g for g in self.exported_graphs(graph, with_catalogue)})

    def export_as(self, fmt: RDFFormat, graphs: dict[URIRef, URIRef]) -> bytes:
        """The graphs read -> the names they are written under (a snapshot's copies under the
        names they were taken from): serialised by Oxigraph, as rdflib took 20 s at 200 systems."""
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, name) if q.graph_name != name else q
            for read, written in graphs.items()
            for name in (_node(written),)
            for q in self._store.quads_for_pattern(None, None, None, _node(read))
        ]
        if fmt.name == "json-ld":  # compacted with the vocabulary's context, which Oxigraph does not do
            # terms handed over one by one: rdflib's N-Quads parser refuses legal IRIs with Unicode
            # spaces (U+00A0, U+3000) in them, which the store holds
            dataset = Dataset()
            into: dict[Any, Graph] = {}
            for q in quads:
                if q.graph_name not in into:
                    default = isinstance(q.graph_name, ox.DefaultGraph)
                    named = None if default else to_rdflib(q.graph_name)
                    into[q.graph_name] = dataset.default_graph if named is None else dataset.graph(named)
                into[q.graph_name].add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
            return readable(dataset, fmt)
        if fmt.quads:  # graph names kept in TriG and N-Quads
            data = ox.serialize(quads, format=fmt.ox, prefixes=PREFIXES)
        else:  # a triple format cannot name graphs: the union (duplicates across graphs written once)
            triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
            ordered = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate)))  # grouped by subject
            data = ox.serialize(ordered, format=fmt.ox, prefixes=PREFIXES)
        assert data is not None  # serialize returns the bytes when given no output
        return data

    def copy_graphs(self, copies: dict[URIRef, URIRef]) -> None:
        """Oxigraph's bulk writer: at 1,000 systems (220,000 triples) 3-4 s where ADD took 6-9 s.
        Not one transaction: the caller names the copies only once they are all written, and
        drops them if one fails."""
        try:
            for copy, source in copies.items():
                target = _node(copy)
                self._store.bulk_extend(
                    ox.Quad(q.subject, q.predicate, q.object, target)
                    for q in self._store.quads_for_pattern(None, None, None, _node(source))
                )
        except (OSError, RuntimeError) as e:
            raise StoreError(f"the copy failed: {e}") from None
        finally:
            self._written()

    def graphs(self) -> list[URIRef]:
        named = [
            URIRef(g.value)
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and not frozen_graph(g.value)
        ]
        if next(iter(self._store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is not None:
            named.append(DEFAULT_GRAPH)
        return sorted(named)

    def data_version(self) -> int:
        return self.version

    def count(self, graph: URIRef | None = None) -> int:
        if graph is None:
            return len(self._store)
        return self._count_graph(_node(graph))

    def _count_graph(self, graph: ox.NamedNode | ox.DefaultGraph) -> int:
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, graph))

    def drop(self, graph: URIRef) -> None:
        node = _node(graph)
        if isinstance(node, ox.DefaultGraph):
            self._store.clear_graph(node)
        elif self._store.contains_named_graph(node):
            self._store.remove_graph(node)
        self._written()

    def rdflib_graph(self, graphs: list[URIRef] | None = None) -> Graph:
        result = Graph()
        wanted = graphs if graphs is not None else self.graphs()
        from ..namespaces import CATALOGUE_GRAPH

        for g in wanted:
            if graphs is None and g == CATALOGUE_GRAPH:
                continue  # the catalogue is added by callers that need it (validation mixes it in)
            for q in self._store.quads_for_pattern(None, None, None, _node(g)):
                result.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        return result

    def flush(self) -> None:
        if self.path is not None and not self.read_only:
            self._store.flush()

    def close(self) -> None:
        self.flush()
        del self._store


__all__ = ["EmbeddedStore", "to_oxigraph", "to_rdflib"]
