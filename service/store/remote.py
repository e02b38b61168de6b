"""A store on any SPARQL 1.1 server (Query, Update and, where it has one, Graph Store protocols).

Tested against `oxigraph serve` and Virtuoso 7. The servers differ; the differences are handled
here, not in the queries:
- Virtuoso's default graph is the union of every graph, its system graphs included, and
  `GRAPH ?g` ranges over them all. So the store keeps a registry of its own graphs and names them
  on every request (`default-graph-uri` and `named-graph-uri`), which also gives Oxigraph (whose
  default graph is not a union) the union the embedded store has.
- Virtuoso hangs on queries POSTed directly: queries go as URL-encoded forms.
- Virtuoso updates need a named graph: every update names one.
- Virtuoso rejects a trailing VALUES (rdflib's initBindings): bindings go in an inline VALUES block.
- Virtuoso's CLEAR works where DROP fails on a graph it did not see CREATEd.
"""

from __future__ import annotations

import functools
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Identifier
from SPARQLWrapper import DIGEST, JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from .base import QueryDataset, QueryResult, Rows, ServerError, Store
from .formats import RDFFormat, readable, to_ntriples
from .input_limits import check_input
from .sparql_text import inline_values, query_form
from .terms import check_iri, frozen_graph

_GRAPH_NAMES = re.compile(r"\b(?:GRAPH|WITH|INTO)\s*<([^>\s]+)>", re.IGNORECASE)
REGISTRY = URIRef("https://w3id.org/aims/graph/registry")
SD_NAMED_GRAPH = URIRef("http://www.w3.org/ns/sparql-service-description#NamedGraph")


def _term(binding: dict[str, str]) -> Identifier:
    """An rdflib term from a SPARQL JSON binding (Virtuoso still sends SPARQL 1.0 'typed-literal')."""
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    datatype = binding.get("datatype")
    if datatype == str(XSD.string):
        datatype = None
    return Literal(value, lang=binding.get("xml:lang"), datatype=URIRef(datatype) if datatype else None)


class RemoteStore(Store):
    kind = "remote"

    def __init__(
        self,
        endpoint: str,
        update_endpoint: str | None = None,
        graph_store_endpoint: str | None = None,
        username: str | None = None,
        password: str | None = None,
        digest: bool = False,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.update_endpoint = update_endpoint or endpoint
        self.graph_store_endpoint = graph_store_endpoint
        self.username, self.password, self.digest = username, password, digest
        self.timeout = timeout
        self._opener = self._build_opener()

    @functools.cached_property
    def engine(self) -> str:  # type: ignore[override]
        """The engine as the server's Server header names it (asked once, with an empty ASK):
        `oxigraph serve` and Virtuoso say so; anything else, or no answer, is "other"."""
        w = self._wrapper(self.endpoint)
        w.setQuery("ASK {}")
        w.queryType = "ASK"
        w.setReturnFormat(JSON)
        try:
            server = str(w.query().info().get("server", "")).lower()
        except (SPARQLWrapperException, urllib.error.URLError, OSError):
            return "other"
        return next((name for name in ("oxigraph", "virtuoso") if name in server), "other")

    @classmethod
    def from_settings(cls, settings: Any) -> RemoteStore:
        return cls(
            settings.endpoint,
            settings.update_endpoint,
            settings.graph_store_endpoint,
            settings.username,
            settings.password,
            timeout=settings.query_timeout,
        )

    # ---------------------------------------------------------------- protocol plumbing

    def _wrapper(self, url: str, timeout: float | None = None) -> SPARQLWrapper:
        w = SPARQLWrapper(url)
        w.setMethod(POST)  # URL-encoded form; never a direct POST (Virtuoso hangs on those)
        w.setTimeout(max(1, int(timeout or self.timeout)))
        if self.username:
            if self.digest:
                w.setHTTPAuth(DIGEST)
            w.setCredentials(self.username, self.password or "")
        return w

    def _build_opener(self) -> urllib.request.OpenerDirector:
        handlers: list[urllib.request.BaseHandler] = []
        if self.username and self.graph_store_endpoint:
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            passwords.add_password(None, self.graph_store_endpoint, self.username, self.password or "")
            handlers += [
                urllib.request.HTTPBasicAuthHandler(passwords),
                urllib.request.HTTPDigestAuthHandler(passwords),
            ]
        return urllib.request.build_opener(*handlers)

    def _select(
        self,
        sparql: str,
        graphs: list[URIRef] | None = None,
        form: str = "SELECT",
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> Rows:
        if graphs is not None:
            dataset = QueryDataset(tuple(graphs), tuple(graphs))
        data = self._send(sparql, form, JSON, timeout, dataset)
        assert isinstance(data, dict)
        if "boolean" in data:
            return Rows(["boolean"], [{"boolean": Literal(bool(data["boolean"]))}])
        names = data["head"]["vars"]
        return Rows(names, [{k: _term(v) for k, v in b.items()} for b in data["results"]["bindings"]])

    def _send(
        self, sparql: str, form: str, result_format: str, timeout: float | None, dataset: QueryDataset | None
    ) -> Any:
        """One query request, as a URL-encoded form, naming its dataset; the converted answer."""
        w = self._wrapper(self.endpoint, timeout)
        self._name_dataset(w, dataset)
        w.setQuery(sparql)
        w.queryType = form  # SPARQLWrapper's own guess is fooled by words in comments ("add")
        w.setReturnFormat(result_format)
        try:
            return w.queryAndConvert()
        except (SPARQLWrapperException, urllib.error.URLError, OSError) as e:
            raise ServerError(f"query failed on {self.endpoint}: {_short(e)}") from e

    def _name_dataset(self, w: SPARQLWrapper, dataset: QueryDataset | None) -> None:
        """Name the dataset on every request: the given one, else all of the store's own graphs."""
        if dataset is None:
            graphs = tuple(self.graphs())
            dataset = QueryDataset(graphs, graphs)
        for g in dataset.default_graphs:
            w.addDefaultGraph(str(g))
        for g in dataset.named_graphs:
            w.addNamedGraph(str(g))

    # ---------------------------------------------------------------- the Store interface

    def query(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> QueryResult:
        """The server enforces the time limit: the request gives up after `timeout` seconds."""
        text = inline_values(sparql, bindings)
        form = query_form(text)
        if form in ("CONSTRUCT", "DESCRIBE"):
            # asked for as Turtle: RDF/XML cannot write every IRI as a property (…/1, …#)
            data = self._send(text, form, TURTLE, timeout, dataset)
            return Graph().parse(data=data, format="turtle")
        rows = self._select(text, form=form, timeout=timeout, dataset=dataset)
        if form == "ASK":  # Virtuoso may answer an ASK as one row of 1 or 0
            value = next(iter(rows.rows[0].values())) if rows.rows and rows.rows[0] else Literal(False)
            return str(value) in ("true", "1")
        return rows

    def update(self, sparql: str) -> None:
        self._update(sparql)
        # Graphs an update writes to join the registry, so that queries see them (see module doc).
        for iri in set(_GRAPH_NAMES.findall(sparql)) - {str(REGISTRY)}:
            self._register(URIRef(iri))

    def _update(self, sparql: str) -> None:
        w = self._wrapper(self.update_endpoint)
        w.setQuery(sparql)
        try:
            w.query()
        except (SPARQLWrapperException, urllib.error.URLError, OSError) as e:
            raise ServerError(f"update failed on {self.update_endpoint}: {_short(e)}") from e

    def load(
        self,
        data: bytes,
        fmt: RDFFormat,
        graph: URIRef,
        replace: bool = False,
        source: str | None = None,
        max_triples: int | None = None,
    ) -> int:
        graph = check_iri(str(graph))
        data = check_input(data, fmt, source, max_triples)
        # Parse here first: a syntax error is reported with its position and never reaches the server.
        body = to_ntriples(data, fmt, source=source, base_iri=str(graph))
        before = 0 if replace else self.count(graph)
        if self.graph_store_endpoint:
            self._graph_store("PUT" if replace else "POST", graph, body)
        else:
            # One update request: the server applies it whole or not at all. INSERT ... WHERE {},
            # not INSERT DATA, because Virtuoso refuses blank nodes in INSERT DATA.
            text = body.decode("utf-8")
            clear = f"CLEAR SILENT GRAPH <{graph}> ;\n" if replace else ""
            self._update(f"{clear}INSERT {{ GRAPH <{graph}> {{\n{text}\n}} }} WHERE {{}}")
        self._register(graph)
        return self.count(graph) - before

    def _graph_store(self, method: str, graph: URIRef, body: bytes | None = None) -> bytes:
        assert self.graph_store_endpoint
        separator = "&" if "?" in self.graph_store_endpoint else "?"
        url = f"{self.graph_store_endpoint}{separator}graph={urllib.parse.quote(str(graph), safe='')}"
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/n-triples")
        else:
            request.add_header("Accept", "application/n-triples")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as e:
            if method == "GET" and e.code == 404:
                return b""
            raise ServerError(f"graph store {method} {url} failed: {e.code} {e.read()[:300]!r}") from e
        except (urllib.error.URLError, OSError) as e:
            raise ServerError(f"graph store {method} {url} failed: {e}") from e

    def _register(self, graph: URIRef) -> None:
        self._update(f"INSERT DATA {{ GRAPH <{REGISTRY}> {{ <{graph}> <{RDF.type}> <{SD_NAMED_GRAPH}> }} }}")

    def export(self, fmt: RDFFormat, graph: URIRef | None = None, with_catalogue: bool = False) -> bytes:
        dataset = Dataset()
        for g in self.exported_graphs(graph, with_catalogue):
            part = self.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": g})
            target = dataset.graph(g)
            for triple in part:
                target.add(triple)
        return readable(dataset, fmt)

    def graphs(self) -> list[URIRef]:
        rows = self._select(f"SELECT ?g WHERE {{ ?g a <{SD_NAMED_GRAPH}> }}", graphs=[REGISTRY])
        return sorted(URIRef(str(r["g"])) for r in rows if not frozen_graph(str(r["g"])))

    def count(self, graph: URIRef | None = None) -> int:
        if graph is None:
            return sum(self.count(g) for g in self.graphs())
        rows = self._select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{check_iri(str(graph))}> {{ ?s ?p ?o }} }}",
            graphs=[graph],
        )
        return int(rows.rows[0]["n"]) if rows.rows else 0  # type: ignore[call-overload]

    def drop(self, graph: URIRef) -> None:
        graph = check_iri(str(graph))
        self._update(f"CLEAR SILENT GRAPH <{graph}>")
        self._update(f"DELETE DATA {{ GRAPH <{REGISTRY}> {{ <{graph}> <{RDF.type}> <{SD_NAMED_GRAPH}> }} }}")


def _short(error: Exception, limit: int = 600) -> str:
    """The server's message without the echo of a long query."""
    text = str(error)
    return text if len(text) <= limit else text[:limit] + " ..."
