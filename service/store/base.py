"""The Store contract every graph store implements: its queries (typed by form), updates, loads
and exports, its errors and its result types.

What stores share beside the contract has modules of its own: formats (RDF formats), terms (IRIs
and graph names), sparql_text (reading SPARQL text), input_limits (checks on documents) and
catalogue (the shipped ontology and catalogue). They raise this module's errors, so the shared
behaviour below imports them where it uses them, not at the top (a cycle otherwise).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rdflib import Graph, URIRef
from rdflib.term import Identifier

from ..namespaces import CATALOGUE_GRAPH

if TYPE_CHECKING:
    from .formats import RDFFormat


class StoreError(Exception):
    """A store operation failed; the message says why."""


class ServerError(StoreError):
    """The remote SPARQL server failed or could not be reached (the service answers 502)."""


class StoreLocked(StoreError):
    """The embedded store's folder is held by another process (the running service)."""


class QueryTimeout(StoreError):
    """A query ran past its time limit and was stopped."""


class LoadError(StoreError):
    """Data could not be parsed; nothing was loaded. Carries where the syntax error is."""

    def __init__(
        self, message: str, source: str | None = None, line: int | None = None, column: int | None = None
    ) -> None:
        self.source, self.line, self.column = source, line, column
        where = ", ".join(
            x for x in (source, f"line {line}" if line else "", f"column {column}" if column else "") if x
        )
        super().__init__(f"{where}: {message}" if where else message)


class InputRefused(LoadError):
    """Data refused before anything was stored: a DTD, a limit, a truncated document. `status` is
    the HTTP status that says so (400 for a document we do not read, 413 for one too large)."""

    def __init__(
        self, message: str, status: int = 400, source: str | None = None, line: int | None = None,
        column: int | None = None,
    ) -> None:  # fmt: skip
        self.status = status
        super().__init__(message, source=source, line=line, column=column)


@dataclass
class Rows:
    """A SELECT result: variable names and one dict per solution (unbound variables absent)."""

    variables: list[str]
    rows: list[dict[str, Identifier]]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


QueryResult = Rows | bool | Graph
Answer = TypeVar("Answer", Rows, bool, Graph)
# the query forms whose answer is of each type
_FORMS: dict[type, tuple[str, ...]] = {Rows: ("SELECT",), bool: ("ASK",), Graph: ("CONSTRUCT", "DESCRIBE")}


@dataclass(frozen=True)
class QueryDataset:
    """The SPARQL dataset a query names (protocol default-graph-uri / named-graph-uri); without
    one a query sees the union of every graph as its default graph, and every graph by name."""

    default_graphs: tuple[URIRef, ...] = ()
    named_graphs: tuple[URIRef, ...] = ()
    every_named: bool = False  # every graph by name, as an update's WHERE sees them (embedded store)


class Store(abc.ABC):
    """A dataset of named graphs. The catalogue sits in its own graph; queries see the union."""

    kind: str = "abstract"

    @property
    def engine(self) -> str:
        """The SPARQL engine behind the store ("oxigraph", "virtuoso", or "other"), for the query
        shapes each runs well (validation/compiler.exists_as_joins)."""
        return "other"

    @abc.abstractmethod
    def query(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> QueryResult:
        """Run a SPARQL query of any form over the union of all graphs; `bindings` fix variables to
        RDF terms; past `timeout` seconds the query is stopped with QueryTimeout. The SPARQL
        protocol endpoint runs what a client sends through it; the service's own code asks with
        select, ask or construct, which say what they answer."""

    def select(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> Rows:
        """A SELECT query's rows; StoreError, before it runs, for a query of another form."""
        return self._answer(Rows, sparql, bindings, timeout, dataset)

    def ask(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> bool:
        """An ASK query's answer; StoreError, before it runs, for a query of another form."""
        return self._answer(bool, sparql, bindings, timeout, dataset)

    def construct(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> Graph:
        """A CONSTRUCT (or DESCRIBE) query's graph; StoreError, before it runs, for a query of
        another form."""
        return self._answer(Graph, sparql, bindings, timeout, dataset)

    def _answer(
        self,
        answer: type[Answer],
        sparql: str,
        bindings: dict[str, Identifier] | None,
        timeout: float | None,
        dataset: QueryDataset | None,
    ) -> Answer:
        from .sparql_text import query_form

        form, wanted = query_form(sparql), _FORMS[answer]
        if form not in wanted:
            raise StoreError(f"expected a {' or '.join(wanted)} query, not {form}")
        result = self.query(sparql, bindings, timeout, dataset)
        if not isinstance(result, answer):  # the engine read another form than the text's keyword
            raise StoreError(f"a {form} query answered {type(result).__name__}, not {answer.__name__}")
        return result

    @abc.abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL update."""

    @abc.abstractmethod
    def load(
        self,
        data: bytes,
        fmt: RDFFormat,
        graph: URIRef,
        replace: bool = False,
        source: str | None = None,
        max_triples: int | None = None,
    ) -> int:
        """Parse `data` and add it to `graph` (or replace the graph), all or nothing; the triples added.
        What `check_input` refuses never reaches the store; a quad format's graph names are dropped:
        everything goes into `graph`."""

    @abc.abstractmethod
    def export(self, fmt: RDFFormat, graph: URIRef | None = None, with_catalogue: bool = False) -> bytes:
        """Serialise one graph, or the whole dataset (named graphs kept when the format can; the
        catalogue left out unless `with_catalogue`), readably: Turtle and TriG with the project's
        prefixes, JSON-LD compacted with the vocabulary's context."""

    def exported_graphs(self, graph: URIRef | None, with_catalogue: bool) -> list[URIRef]:
        """The graphs an export writes: the one asked for, else every graph but the catalogue
        (the same for every organisation, and loaded by the service itself) unless asked for."""
        if graph is not None:
            return [graph]
        return [g for g in self.graphs() if with_catalogue or g != CATALOGUE_GRAPH]

    @abc.abstractmethod
    def graphs(self) -> list[URIRef]:
        """The named graphs that hold data."""

    @abc.abstractmethod
    def count(self, graph: URIRef | None = None) -> int:
        """Triples in one graph, or quads in the whole dataset."""

    def data_version(self) -> int:
        """A number that changes whenever the data may have changed, for caches: here the size
        of the dataset (others write a shared store too); the embedded store, which one process
        holds, counts the writes made through it instead (its size took 0.09 s at 1,000 systems
        and was asked for on every page)."""
        return self.count()

    @abc.abstractmethod
    def drop(self, graph: URIRef) -> None:
        """Remove a named graph and its triples."""

    def copy_graphs(self, copies: dict[URIRef, URIRef]) -> None:
        """Write each graph's triples into a new graph (copy -> source): SPARQL's ADD, in one
        update. Every name is one the store lists or the caller made: none is a client's text."""
        from ..namespaces import DEFAULT_GRAPH
        from .terms import check_iri

        def ref(graph: URIRef) -> str:  # the embedded store keeps `?default` in its default graph
            return (
                "DEFAULT"
                if graph == DEFAULT_GRAPH and self.kind == "embedded"
                else f"<{check_iri(str(graph))}>"
            )

        self.update(" ;\n".join(f"ADD {ref(source)} TO {ref(copy)}" for copy, source in copies.items()))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store (files, connections)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- shared behaviour

    def ensure_catalogue(self) -> bool:
        """Load the ontology and the ISO catalogue into the catalogue graph unless it holds exactly
        them (compared by content, blank nodes up to isomorphism, not by count). True when it had
        to be (re)loaded."""
        from .catalogue import catalogue_graph
        from .formats import FORMATS

        if self.catalogue_intact():
            return False
        data = catalogue_graph().serialize(format="nt", encoding="utf-8")
        self.load(data, FORMATS["nt"], CATALOGUE_GRAPH, replace=True, source="catalogue")
        return True

    def catalogue_intact(self) -> bool:
        """Whether the catalogue graph holds exactly the shipped ontology and catalogue."""
        from .catalogue import is_shipped, shipped_size
        from .formats import FORMATS

        if self.count(CATALOGUE_GRAPH) != shipped_size():
            return False
        return is_shipped(self.export(FORMATS["nt"], CATALOGUE_GRAPH))

    def load_file(
        self, path: Path, graph: URIRef | None = None, fmt: RDFFormat | None = None, replace: bool = False
    ) -> int:
        from .formats import format_for
        from .terms import source_graph

        fmt = fmt or format_for(path=path)
        if graph == CATALOGUE_GRAPH:
            raise StoreError("the catalogue graph is read-only")
        graph = graph or source_graph(path)
        return self.load(path.read_bytes(), fmt, graph, replace=replace, source=str(path))

    def load_files(
        self,
        paths: list[Path],
        graph: URIRef | None = None,
        fmt: RDFFormat | None = None,
        replace: bool = False,
    ) -> int:
        """Load several files, each into its own source graph unless `graph` is given. With several
        files, every one is parsed before anything is written, so a syntax error anywhere changes
        nothing (one file's load is all or nothing by itself)."""
        from .formats import format_for, to_ntriples
        from .input_limits import check_input
        from .terms import source_graph

        if graph is None:
            targets: dict[URIRef, Path] = {}
            for path in paths:
                other = targets.setdefault(source_graph(path), path)
                if other != path:
                    raise StoreError(
                        f"{other} and {path} would load into the same graph {source_graph(path)} "
                        "(graphs are named after the file name): rename one, or give --graph"
                    )
        if len(paths) > 1:
            for path in paths:
                data, file_fmt = path.read_bytes(), fmt or format_for(path=path)
                data = check_input(data, file_fmt, str(path))
                to_ntriples(data, file_fmt, source=str(path))
        added = 0
        for i, path in enumerate(paths):
            added += self.load_file(path, graph, fmt, replace=replace and (graph is None or i == 0))
        return added

    def rdflib_graph(self, graphs: list[URIRef] | None = None) -> Graph:
        """An rdflib Graph of the given graphs' triples (all data graphs if None, never the catalogue)."""
        construct = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
        wanted = graphs if graphs is not None else [g for g in self.graphs() if g != CATALOGUE_GRAPH]
        result = Graph()
        for g in wanted:
            result += self.construct(construct, {"g": g})
        return result
