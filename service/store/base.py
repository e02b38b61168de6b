"""The Store interface every graph store implements, and what they share: RDF formats,
result rows, errors and the catalogue graph."""

from __future__ import annotations

import abc
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.term import Identifier

from .. import resources
from ..namespaces import CATALOGUE_GRAPH


@dataclass(frozen=True)
class RDFFormat:
    name: str  # rdflib's parser/serializer name
    media_type: str
    extensions: tuple[str, ...]
    quads: bool  # can hold named graphs
    ox: ox.RdfFormat  # the same format for pyoxigraph


FORMATS: dict[str, RDFFormat] = {
    f.name: f
    for f in (
        RDFFormat("turtle", "text/turtle", (".ttl",), False, ox.RdfFormat.TURTLE),
        RDFFormat("nt", "application/n-triples", (".nt",), False, ox.RdfFormat.N_TRIPLES),
        RDFFormat("nquads", "application/n-quads", (".nq",), True, ox.RdfFormat.N_QUADS),
        RDFFormat("trig", "application/trig", (".trig",), True, ox.RdfFormat.TRIG),
        RDFFormat("json-ld", "application/ld+json", (".jsonld", ".json"), True, ox.RdfFormat.JSON_LD),
        RDFFormat("xml", "application/rdf+xml", (".rdf", ".owl", ".xml"), False, ox.RdfFormat.RDF_XML),
    )
}
_ALIASES = {
    "ttl": "turtle",
    "ntriples": "nt",
    "n-triples": "nt",
    "nq": "nquads",
    "n-quads": "nquads",
    "jsonld": "json-ld",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "rdf": "xml",
}


def format_for(
    name: str | None = None, path: str | Path | None = None, media_type: str | None = None
) -> RDFFormat:
    """The RDF format named, or implied by a file name or media type; StoreError if none fits."""
    if name:
        key = _ALIASES.get(name.lower(), name.lower())
        if key in FORMATS:
            return FORMATS[key]
        raise StoreError(f"unknown RDF format {name!r}; use one of {', '.join(FORMATS)}")
    if media_type:
        base = media_type.split(";")[0].strip().lower()
        for f in FORMATS.values():
            if f.media_type == base:
                return f
        if base in ("application/x-turtle", "text/n3"):
            return FORMATS["turtle"]
        if base in ("text/plain",):
            return FORMATS["nt"]
        raise StoreError(f"unsupported RDF media type {base!r}")
    if path is not None:
        suffix = Path(path).suffix.lower()
        for f in FORMATS.values():
            if suffix in f.extensions:
                return f
        raise StoreError(f"cannot tell the RDF format of {Path(path).name!r} from its extension; name it")
    raise StoreError("no RDF format given")


# Absolute IRIs with no character SPARQL or Turtle forbids inside <...>: controls and the ASCII
# space, not Unicode spaces (U+00A0, U+2028, U+3000 are legal in an IRI, and data holds them).
_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|\\^`]*$')


def check_iri(value: str) -> URIRef:
    """`value` as an IRI term, or StoreError: the only way an IRI from a user reaches a query."""
    if not _IRI.match(value):
        raise StoreError(f"{value!r} is not an absolute IRI")
    try:
        ox.NamedNode(value)  # and one the store accepts (RFC 3987 code points, as Oxigraph reads them)
    except ValueError as e:
        raise StoreError(f"{value!r} is not an IRI: {e}") from None
    return URIRef(value)


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

    @abc.abstractmethod
    def query(
        self,
        sparql: str,
        bindings: dict[str, Identifier] | None = None,
        timeout: float | None = None,
        dataset: QueryDataset | None = None,
    ) -> QueryResult:
        """Run a SPARQL query over the union of all graphs; `bindings` fix variables to RDF terms;
        past `timeout` seconds the query is stopped with QueryTimeout."""

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
        from ..namespaces import CATALOGUE_GRAPH

        return [g for g in self.graphs() if with_catalogue or g != CATALOGUE_GRAPH]

    @abc.abstractmethod
    def graphs(self) -> list[URIRef]:
        """The named graphs that hold data."""

    @abc.abstractmethod
    def count(self, graph: URIRef | None = None) -> int:
        """Triples in one graph, or quads in the whole dataset."""

    @abc.abstractmethod
    def drop(self, graph: URIRef) -> None:
        """Remove a named graph and its triples."""

    def copy_graphs(self, copies: dict[URIRef, URIRef]) -> None:
        """Write each graph's triples into a new graph (copy -> source): SPARQL's ADD, in one
        update. Every name is one the store lists or the caller made: none is a client's text."""
        from ..namespaces import DEFAULT_GRAPH

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
        if self.catalogue_intact():
            return False
        data = catalogue_graph().serialize(format="nt", encoding="utf-8")
        self.load(data, FORMATS["nt"], CATALOGUE_GRAPH, replace=True, source="catalogue")
        return True

    def catalogue_intact(self) -> bool:
        """Whether the catalogue graph holds exactly the shipped ontology and catalogue."""
        expected = catalogue_graph()
        if self.count(CATALOGUE_GRAPH) != len(expected):
            return False
        held = Graph().parse(data=self.export(FORMATS["nt"], CATALOGUE_GRAPH), format="nt")
        # ground triples compared as sets, the few with blank nodes up to isomorphism (fast)
        ground, blank = _split_blank(held)
        expected_ground, expected_blank = _shipped_catalogue_parts()
        return ground == expected_ground and isomorphic(blank, expected_blank)

    def load_file(
        self, path: Path, graph: URIRef | None = None, fmt: RDFFormat | None = None, replace: bool = False
    ) -> int:
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
            part = self.query(construct, {"g": g})
            assert isinstance(part, Graph)
            result += part
        return result


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def sparql_term(term: Identifier) -> str:
    """An IRI or literal written for a query, on one line, every quote and break escaped."""
    if isinstance(term, URIRef):
        return f"<{check_iri(str(term))}>"
    if isinstance(term, Literal):
        text = '"' + str(term).translate(_ESCAPES) + '"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype:
            return f"{text}^^<{check_iri(str(term.datatype))}>"
        return text
    raise StoreError(f"cannot bind {term!r}: only IRIs and literals")


_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


# Limits on what a document may hold, checked before it is stored (see check_input).
MAX_NESTING = 200  # elements in RDF/XML, objects and arrays in JSON-LD, brackets in Turtle and its kin
MAX_LITERAL_CHARS = 1 << 20  # a literal over a million characters is not AIMS data
MAX_TRIPLES_PER_REQUEST = 2_000_000


# Graph names the service keeps for itself: the catalogue, the embedded store's staging graphs,
# the remote store's registry. No client request may write them or create one.
RESERVED_GRAPH_PREFIXES = (
    "urn:aims:",
    "https://w3id.org/aims/graph/catalogue",
    "https://w3id.org/aims/graph/registry",
)


def reserved_graph(iri: str) -> bool:
    return str(iri).startswith(RESERVED_GRAPH_PREFIXES)


# Snapshots (service/snapshots.py) freeze the organisation's graphs into graphs of this prefix, with
# their description in SNAPSHOTS_GRAPH. They are reserved (no client write reaches them) and kept
# out of the dataset every query sees: `graphs()` leaves them out, and the union is of the others.
FROZEN_GRAPH_PREFIX = "urn:aims:snapshot"


def frozen_graph(iri: str) -> bool:
    return str(iri).startswith(FROZEN_GRAPH_PREFIX)


@cache
def _shipped_catalogue_parts() -> tuple[set[tuple[Identifier, ...]], Graph]:
    return _split_blank(catalogue_graph())


def _split_blank(graph: Graph) -> tuple[set[tuple[Identifier, ...]], Graph]:
    ground: set[tuple[Identifier, ...]] = set()
    blank = Graph()
    for triple in graph:
        if any(isinstance(t, BNode) for t in triple):
            blank.add(triple)
        else:
            ground.add(triple)  # type: ignore[arg-type]
    return ground, blank


class CheckedInput(bytes):
    """Data that check_input has passed, for one format and bound on triples: checking it again
    (a store's load checks what it is given) costs nothing, so a request can be checked before it
    takes the write lock and not again under it."""

    checked: tuple[str, int | None]


# Oxigraph's parsers hold one token (a literal, IRI, name or comment) in a buffer of at most 16 MiB
# and fail past it with MemoryError; a literal within MAX_LITERAL_CHARS takes at most 10 bytes a
# character (\UXXXXXXXX) and its quotes, so a longer string is refused, with where it is, first.
_LONGEST_STRING = 10 * MAX_LITERAL_CHARS + 6


def check_input(
    data: bytes, fmt: RDFFormat, source: str | None = None, max_triples: int | None = None
) -> bytes:
    """Refuse, before any parser of the store sees it, what could exhaust it or be read as less
    than it is: RDF/XML with a DTD (entity expansion), documents nested deeper than MAX_NESTING,
    truncated RDF/XML; then, reading the triples as a stream, literals over MAX_LITERAL_CHARS and
    more than `max_triples` triples. InputRefused says which, with the line and column. Returns
    the data to parse (a CheckedInput): JSON-LD that names the vocabulary's context gets the
    context inline (no parser fetches it)."""
    if isinstance(data, CheckedInput) and data.checked == (fmt.name, max_triples):
        return data
    if fmt.name == "xml":
        _check_xml(data, source)
    elif fmt.name in ("turtle", "trig", "nt", "nquads"):
        _check_turtle(data, source)
    elif fmt.name == "json-ld":
        from .. import jsonld

        _check_json(data, source)
        data = jsonld.inline_context(data)
    count = 0
    try:
        for quad in ox.parse(data, format=fmt.ox, base_iri="urn:aims:check:"):
            value = quad.object
            while isinstance(value, ox.Triple):  # RDF 1.2: a triple term's literal is a literal too
                value = value.object
            if isinstance(value, ox.Literal) and len(value.value) > MAX_LITERAL_CHARS:
                raise InputRefused(
                    f"a literal of {len(value.value):,} characters (the limit is {MAX_LITERAL_CHARS:,})",
                    413, source,
                )  # fmt: skip
            count += 1
            if max_triples is not None and count > max_triples:
                raise InputRefused(f"more than {max_triples:,} triples in one request", 413, source)
    except SyntaxError as e:
        raise LoadError(e.msg, source=source, line=e.lineno, column=e.offset) from e
    except MemoryError:  # a token past the parser's 16 MiB buffer
        raise InputRefused(
            f"a literal, IRI, name or comment over 16 MiB (a literal may have {MAX_LITERAL_CHARS:,} characters)",
            413, source,
        ) from None  # fmt: skip
    checked = CheckedInput(data)
    checked.checked = (fmt.name, max_triples)
    return checked


def _check_xml(data: bytes, source: str | None) -> None:
    """RDF/XML read once by expat: no DTD, bounded depth, and the document must be complete."""
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0

    def refuse(message: str, status: int = 400) -> None:
        raise InputRefused(message, status, source, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

    def start(name: str, attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            refuse(f"elements nested more than {MAX_NESTING} deep", 413)

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = lambda *a: refuse(
        "RDF/XML with a DTD (<!DOCTYPE>) is refused: entities could expand it without bound"
    )
    parser.EntityDeclHandler = lambda *a: refuse("RDF/XML with entity declarations is refused")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise InputRefused(
            f"not well-formed XML: {expat.ErrorString(e.code)}", 400, source, e.lineno, e.offset + 1
        ) from None


def _check_json(data: bytes, source: str | None) -> None:
    """JSON-LD nested no deeper than MAX_NESTING, measured without recursion."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_NESTING:
                raise InputRefused(f"JSON nested more than {MAX_NESTING} deep", 413, source)
        elif byte in (0x5D, 0x7D):
            depth -= 1


# Turtle, TriG, N-Triples and N-Quads as Oxigraph's lexer reads them: what can hide a bracket (an
# escape in a prefixed name, ex:a\( ; a comment, which ends at LF or CR; the four kinds of string;
# an IRI), then the brackets ([ ( { and RDF 1.2's << and <<(, and their ends) and a quote that begins no
# string. Each form is written so that it cannot backtrack (linear), and each begins with a fixed
# character, which lets the regex engine skip the text between them fast (0.3 s for an
# organisation of 50 MB).
_TURTLE_TOKEN = re.compile(
    rb"\\[_~.!$&'()*+,;=/?#@%-]"
    rb"|#[^\n\r]*"
    rb'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    rb"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    rb'|"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"'
    rb"|'[^'\\\n\r]*(?:\\.[^'\\\n\r]*)*'"
    rb"|<[^<>\"{}|^`\\\x00-\x20]*(?:\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})[^<>\"{}|^`\\\x00-\x20]*)*>"
    rb"|<<\(|<<|\[|\(|\{|\)>>|>>|\]|\)|\}|\"|'"
)
_OPENS = {b"[", b"(", b"{", b"<<", b"<<("}  # a triple term <<( )>> is one level
_CLOSES, _QUOTES = {b"]", b")", b"}", b">>", b")>>"}, {b'"', b"'"}


def _check_turtle(data: bytes, source: str | None) -> None:
    """Turtle and its kin nested no deeper than MAX_NESTING: blank nodes [ ], collections ( ),
    TriG's graphs { } and triple terms << >> (Oxigraph's parser took 44 s and 1.8 GB for blank
    nodes nested 1,000,000 deep, and crashed on triple terms nested 30,000 deep). A string that
    does not end is refused too: past it, this count and the parser would read the text apart."""
    depth = 0
    for m in _TURTLE_TOKEN.finditer(data):
        if m.end() - m.start() > 3:  # a string, an IRI or a comment
            if m.end() - m.start() > _LONGEST_STRING and data[m.start()] in b"\"'":
                raise InputRefused(f"a literal of more than {MAX_LITERAL_CHARS:,} characters (the limit)", 413,
                                   source, *_line_column(data, m.start()))  # fmt: skip
            continue
        token = m[0]
        if token in _OPENS:
            depth += 1
            if depth > MAX_NESTING:
                raise InputRefused(
                    f"nested more than {MAX_NESTING} deep", 413, source, *_line_column(data, m.start())
                )
        elif token in _CLOSES:
            depth = max(depth - 1, 0)  # a stray end must not make room for deeper nesting
        elif token in _QUOTES:
            raise InputRefused("a string that does not end (a short string ends on its line)", 400, source,
                               *_line_column(data, m.start()))  # fmt: skip


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """The line (ended by LF, CR or CRLF, as Oxigraph counts them) and the column in characters."""
    before = data[:offset]
    start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
    line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
    return line, len(before[start:].decode("utf-8", "replace")) + 1


def readable(dataset: Dataset, fmt: RDFFormat) -> bytes:
    """A dataset written for people and tools: the project's prefixes, JSON-LD compacted with the
    vocabulary's context (rdflib's serialisers do both). A triple format gets the union."""
    from .. import jsonld
    from ..namespaces import PREFIXES

    target: Graph | Dataset = dataset
    if not fmt.quads:
        target = Graph()
        for quad in dataset.quads((None, None, None, None)):
            target.add(quad[:3])  # type: ignore[arg-type]
    for prefix, namespace in PREFIXES.items():
        target.bind(prefix, namespace, override=True)
    if fmt.name == "json-ld":
        return target.serialize(
            format="json-ld", context=jsonld.context(), auto_compact=True, encoding="utf-8"
        )
    return target.serialize(format=fmt.name, encoding="utf-8")


def to_ntriples(data: bytes, fmt: RDFFormat, source: str | None = None, base_iri: str | None = None) -> bytes:
    """`data` parsed and written again as N-Triples (the graph part of any quads dropped);
    LoadError with the line and column of a syntax error."""
    try:
        triples = [
            ox.Triple(t.subject, t.predicate, t.object)
            for t in ox.parse(data, format=fmt.ox, base_iri=base_iri)
        ]
    except SyntaxError as e:
        raise LoadError(e.msg, source=source, line=e.lineno, column=e.offset) from e
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


# The lexical grammar of SPARQL 1.1 (section 19.8) for what can hide a brace, a keyword or a '#':
# an escape in a prefixed name (ex:z\#, not a comment), comments, the four kinds of string, and an
# IRI as the grammar allows one (no spaces, braces or quotes: 1<2)}#> is a comparison, not an IRI).
_COMMENT_OR_STRING = re.compile(
    r"\\."
    r"|#[^\n\r]*"
    r'|"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'
    r"|'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
    r'|"(?:\\.|[^"\\\n\r])*"'
    r"|'(?:\\.|[^'\\\n\r])*'"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
)


def sparql_code(text: str) -> str:
    """SPARQL text with its comments, strings and IRIs blanked (same length), so that keywords
    and braces can be found in what is left."""
    return _COMMENT_OR_STRING.sub(lambda m: " " * len(m.group(0)), text)


# keywords, not the same letters in a prefixed name (PREFIX where: <...>, ex:where)
_UPDATE_TOKEN = re.compile(r"[{}]|(?<![\w:.-])(?:PREFIX|BASE|WHERE)(?![\w:.-])", re.IGNORECASE)
RDFLIB_PARSER = threading.Lock()  # rdflib's SPARQL parser (pyparsing) is not safe on two threads at once

# Limits on SPARQL text from clients, checked before any parser sees it (see sparql_text): rdflib's
# parser takes about a millisecond per term of an expression and overflows Python's stack near 24
# nested parentheses; Oxigraph's crashed on blank nodes nested 10,000 deep.
MAX_SPARQL_CHARS = 256 * 1024  # bulk data goes through the Graph Store protocol
MAX_SPARQL_NESTING = 20  # ( [ { open at once
MAX_SPARQL_OPERATORS = 1_000  # operators inside parentheses (expressions and paths), in all
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# an operator; a hyphen before a letter is part of a name (ex:risk-owner)
_OPERATOR = re.compile(r"\|\||&&|!=|<=|>=|[-+*/|=<>!](?![A-Za-z_])")
_KEYWORD_RUN = re.compile(r"(?<![\w:.?$@-])(SERVICE|LOAD)(?![\w:.-])", re.IGNORECASE)


def sparql_text(text: str) -> str:
    """A client's SPARQL text as every parser here reads it alike, or InputRefused (413 past a
    limit, 400 otherwise). Codepoint escapes (\\uXXXX) are expanded first, as SPARQL 1.1 section
    19.2 says and rdflib does (Oxigraph does not); then every line end Oxigraph accepts (CR, CRLF)
    becomes LF, the only one rdflib's comments end at: a '#' comment hides the same text from both,
    and what the checks read is what Oxigraph runs. A CR inside a long string is kept as the
    escape \\r. Oxigraph's lexer ends comments at LF and CR only and takes only space, tab, LF and
    CR as white space (every code point was tried with pyoxigraph 0.5)."""
    if len(text) > MAX_SPARQL_CHARS:
        raise InputRefused(
            f"the SPARQL text has {len(text):,} characters; at most {MAX_SPARQL_CHARS:,} "
            "(send data through /graph-store)", 413,
        )  # fmt: skip

    def codepoint(m: re.Match[str]) -> str:
        value = int(m.group(1) or m.group(2), 16)
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise InputRefused(f"{m.group(0)} is not a Unicode code point")
        return chr(value)

    text = _CODEPOINT.sub(codepoint, text)
    if re.search(r"\\u[0-9a-f]{4}", text, re.IGNORECASE):  # what rdflib would expand
        # an escape that spells another escape would be expanded once more by rdflib, not by Oxigraph
        raise InputRefused("a codepoint escape (\\u) that writes another escape is refused")

    def line_ends(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.startswith(('"""', "'''")):
            return token.replace("\r", "\\r")
        return "\n" if token.startswith("\r") else token

    text = re.sub(_COMMENT_OR_STRING.pattern + r"|\r\n?", line_ends, text).replace("\r", "\n")
    code = sparql_code(text)
    depth = deepest = operators = 0
    for char in code:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_SPARQL_NESTING:
        raise InputRefused(f"brackets nested {deepest} deep; at most {MAX_SPARQL_NESTING}", 413)
    depth = 0
    for m in re.finditer(r"[()]|" + _OPERATOR.pattern, code):
        token = m.group(0)
        if token in "()":
            depth += 1 if token == "(" else -1
        elif depth > 0:
            operators += 1
    if operators > MAX_SPARQL_OPERATORS:
        raise InputRefused(f"{operators:,} operators in expressions; at most {MAX_SPARQL_OPERATORS:,}", 413)
    return text


def refused_keyword(text: str) -> str | None:
    """SERVICE or LOAD written as a keyword in `text` (outside comments, strings and IRIs), read
    by this module's own lexer: a second reading, independent of rdflib's, that must also miss it."""
    m = _KEYWORD_RUN.search(sparql_code(text))
    return m.group(1).upper() if m else None


_DECLARED = re.compile(r"\s*(?:[^\s:<]*:)?\s*<[^<>\s]*>")


def where_clauses(update: str) -> list[tuple[str, str]]:
    """For each WHERE of an update's operations, in order: the prologue (PREFIX and BASE lines)
    in force there, and the group `{ ... }` it reads. Read from the text with comments, strings
    and IRIs blanked, so that neither can hide a brace or a keyword."""
    code = sparql_code(update)
    prologue: list[str] = []
    found: list[tuple[str, str]] = []
    depth = 0
    for m in _UPDATE_TOKEN.finditer(code):
        token = m.group(0)
        if token in "{}":
            depth += 1 if token == "{" else -1
            continue
        if depth:
            continue  # a subquery's WHERE, or a keyword inside a group
        if token.upper() in ("PREFIX", "BASE"):
            declared = _DECLARED.match(update, m.end())
            if declared:
                prologue.append(update[m.start() : declared.end()])
            continue
        start = m.end() + len(code[m.end() :]) - len(code[m.end() :].lstrip())
        if code[start : start + 1] != "{":
            raise StoreError("a WHERE without its group { ... }")
        level = 0
        for end in range(start, len(code)):
            level += {"{": 1, "}": -1}.get(code[end], 0)
            if level == 0:
                found.append(("\n".join(prologue), update[start : end + 1]))
                break
        else:
            raise StoreError("a WHERE group that is never closed")
    return found


def inline_values(sparql: str, bindings: dict[str, Identifier] | None) -> str:
    """The query with `VALUES (?a ?b) { (<iri> "lit"^^xsd:date) }` opening its WHERE clause.

    The values are RDF terms (IRIs checked, literals escaped by rdflib's n3()), so no user text
    reaches the query. One mechanism for every store: Virtuoso rejects rdflib's trailing VALUES
    and Oxigraph's substitutions need the variable projected.
    """
    if not bindings:
        return sparql
    names = list(bindings)
    block = (
        "VALUES ("
        + " ".join(f"?{n}" for n in names)
        + ") { ("
        + " ".join(sparql_term(bindings[n]) for n in names)
        + ") }\n"
    )
    offset = 0
    for line in sparql.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            m = _WHERE.search(line)
            if m:
                at = offset + m.end()
                return sparql[:at] + "\n  " + block + sparql[at:]
        offset += len(line)
    raise StoreError("a query with parameters needs an explicit WHERE { ... } clause")


def source_graph(path: Path) -> URIRef:
    """The default named graph for a loaded file: one graph per source, named after its file."""
    return URIRef(f"https://w3id.org/aims/graph/source/{Path(path).name}")


_catalogue: Graph | None = None


def catalogue_graph() -> Graph:
    """The ontology modules and the ISO catalogue as one rdflib Graph (parsed once)."""
    global _catalogue
    if _catalogue is None:
        g = Graph()
        for path in resources.ontology_files():
            g.parse(path)
        _catalogue = g
    return _catalogue
