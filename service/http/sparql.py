"""GET|POST /sparql: the SPARQL 1.1 Protocol. Queries are open to readers; updates need an editor
token; SERVICE and LOAD are refused; a query or update past the time limit is stopped with an
error (see query_process).

What runs is what was checked: the text is first made one that rdflib and Oxigraph read alike
(`sparql_text`: codepoint escapes expanded, every line end Oxigraph accepts made LF) and held to
size and nesting limits; that text is read for SERVICE and LOAD by a lexer of our own here, then
parsed and checked by rdflib in the query process that runs it (query_process), and the same text
is what Oxigraph gets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, current_app, request
from pyparsing import ParseException, ParseResults
from rdflib import Graph, URIRef
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from .. import history, snapshots
from ..namespaces import DEFAULT_GRAPH
from ..snapshots import SnapshotView
from ..store import QueryTimeout
from ..store.base import InputRefused, QueryDataset, Rows
from ..store.embedded import EmbeddedStore
from ..store.sparql_text import RDFLIB_PARSER, refused_keyword, sparql_code, sparql_text
from ..store.terms import reserved_graph
from . import audit, auth, formats, query_process
from .api import SparqlParams, SparqlResults, operation
from .audit import write_lock
from .errors import Problem, checked_iri
from .state import get_store, state

bp = Blueprint("sparql", __name__)
# Queries run on worker threads so that one past its limit cannot hold the request thread.
_workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="aims-query")


def _names(tree: object) -> set[str]:
    """Every grammar rule name in an rdflib parse tree (to find SERVICE and LOAD)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        name = getattr(node, "name", None)
        if isinstance(name, str):
            found.add(name)
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)
    return found


def _refused(keyword: str) -> Problem:
    if keyword == "SERVICE":
        return Problem(
            400, "SERVICE refused", "federated queries (SERVICE) are not allowed here", "service-refused"
        )
    return Problem(
        400, "LOAD refused", "LOAD is not allowed here; upload data through /graph-store", "load-refused"
    )


def _checked_text(text: str) -> str:
    """The client's text as every parser reads it alike, within the limits on SPARQL text, and
    with no SERVICE or LOAD as our own lexer reads it (before any parser sees it)."""
    try:
        text = sparql_text(text)
    except InputRefused as e:
        raise Problem(e.status, "SPARQL too large" if e.status == 413 else "Bad SPARQL", str(e),
                      "sparql-limit" if e.status == 413 else "sparql-syntax") from None  # fmt: skip
    keyword = refused_keyword(text)
    if keyword:
        raise _refused(keyword)
    return text


def checked(text: str, update: bool) -> tuple[bool, list[Any]]:
    """Refuse bad SPARQL, SERVICE, LOAD and updates of reserved graphs (Problem). For an update:
    whether it clears or drops ALL or NAMED graphs, and its operations (rdflib's algebra). Run in
    a query process (query_process), where a parse that runs long is stopped at the time limit."""
    try:
        with RDFLIB_PARSER:
            tree = parseUpdate(text) if update else parseQuery(text)
            algebra = translateUpdate(tree) if update else None  # type: ignore[arg-type]
    except RecursionError:
        raise Problem(
            400, "Bad SPARQL", "the text is nested too deeply to be read", "sparql-syntax"
        ) from None
    except ParseException as e:
        line = max(e.lineno - 1, 1)  # the caller's line: a BASE line was put before the text
        raise Problem(
            400,
            "Bad SPARQL",
            f"{e.msg} at line {line}, column {e.col}",
            "sparql-syntax",
            line=line,
            column=e.col,
        ) from None
    except Exception as e:  # rdflib raises several kinds on malformed text
        raise Problem(400, "Bad SPARQL", str(e), "sparql-syntax") from None
    every, operations = False, []
    if algebra is not None:
        _refuse_relative_base(tree)  # type: ignore[arg-type]  # an update parses to a CompValue
        operations = list(getattr(algebra, "algebra", None) or [])  # an empty update translates to []
        every = _refuse_reserved_graphs(operations)  # the operations, not the prologue
    names = _names(tree)
    if "ServiceGraphPattern" in names:
        raise _refused("SERVICE")
    if "Load" in names:
        raise _refused("LOAD")
    return every, operations


def _refuse_relative_base(tree: CompValue) -> None:
    """A relative BASE would be resolved against the one before it by Oxigraph but not by rdflib,
    so the graph names checked here would not be the ones written: refused."""
    for declarations in tree.get("prologue") or []:
        for declaration in declarations:
            if declaration.name == "Base" and ":" not in str(declaration["iri"]):
                raise Problem(
                    400,
                    "Bad SPARQL",
                    f"BASE <{declaration['iri']}> is relative: give an absolute IRI",
                    "sparql-syntax",
                )


def _refuse_reserved_graphs(algebra: object) -> bool:
    """An update that names the catalogue or an internal graph, or writes into graphs named by a
    variable, is refused before it runs. True when it clears or drops ALL or NAMED graphs: on this
    service those mean the organisation's graphs, and the catalogue is restored right after."""
    every = False
    stack = [algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, URIRef) and reserved_graph(node):
            raise Problem(403, "Forbidden", f"the graph {node} is read-only or internal", "read-only-graph")
        if isinstance(node, URIRef) and node == DEFAULT_GRAPH:
            raise Problem(
                400,
                "Bad graph",
                f"{node} is the name of the default graph: write DEFAULT, or no GRAPH",
                "bad-graph",
            )
        if type(node) is str and node in ("ALL", "NAMED"):  # rdflib keeps these keywords as plain str
            every = True
        if isinstance(node, dict):
            quads = node.get("quads")
            if isinstance(quads, dict) and any(isinstance(g, Variable) for g in quads):
                raise Problem(
                    403, "Forbidden", "an update that writes into GRAPH ?variable could reach the read-only "
                    "catalogue graph: name the graph", "read-only-graph",
                )  # fmt: skip
            stack.extend(node.keys())  # a quads dict is keyed by graph name
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)
        elif hasattr(node, "__dict__") and not isinstance(node, URIRef | Variable):
            stack.extend(vars(node).values())
    return every


def _any_graph(update: str) -> bool:
    """Whether an update reads GRAPH ?variable over every named graph (no USING NAMED limits it):
    Oxigraph's update has no dataset to leave the snapshots' copies out of."""
    code = sparql_code(update)
    return bool(re.search(r"\bGRAPH\s*[?$]", code, re.IGNORECASE)) and not re.search(
        r"\bUSING\s+NAMED\b", code, re.IGNORECASE
    )


def _utf8(body: bytes) -> str:
    """SPARQL is UTF-8 (SPARQL 1.1 Protocol 2.1): other bytes are refused, never stored as U+FFFD."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Problem(400, "Bad SPARQL", f"the body is not UTF-8 (byte {e.start})", "sparql-syntax") from None


def _request_text() -> tuple[str, bool]:
    """(text, is_update) from GET ?query=, a form (query= or update=) or a direct POST body."""
    for name in ("query", "update"):
        if len(request.args.getlist(name)) + len(request.form.getlist(name)) > 1:
            raise Problem(400, "Bad request", f"give one {name}=, not several", "bad-request")
    if request.method == "GET":
        if "update" in request.args:
            raise Problem(405, "Method Not Allowed", "updates must be POSTed", "method")
        text = request.args.get("query")
        if not text:
            raise Problem(400, "Missing query", "give the query in ?query=", "missing-query")
        return text, False
    content_type = (request.mimetype or "").lower()
    if content_type == "application/sparql-query":
        return _utf8(request.get_data()), False
    if content_type == "application/sparql-update":
        return _utf8(request.get_data()), True
    if content_type == "application/x-www-form-urlencoded":
        if "update" in request.form and "query" in request.form:
            raise Problem(400, "Bad request", "give either query= or update=, not both", "bad-request")
        if "update" in request.form:
            return request.form["update"], True
        if "query" in request.form:
            return request.form["query"], False
        raise Problem(400, "Missing query", "the form has neither query= nor update=", "missing-query")
    raise Problem(
        415,
        "Unsupported Media Type",
        f"POST a form, application/sparql-query or "
        f"application/sparql-update, not {content_type or 'nothing'}",
        "media-type",
    )


def _dataset(update: bool) -> QueryDataset | None:
    """The protocol's dataset parameters (from the URL, and from the form of a form POST)."""

    def values(name: str) -> list[str]:
        found = request.args.getlist(name)
        if request.mimetype == "application/x-www-form-urlencoded":
            found += request.form.getlist(name)
        return found

    if update:
        if values("using-graph-uri") or values("using-named-graph-uri"):
            raise Problem(
                400,
                "Dataset not supported",
                "using-graph-uri and using-named-graph-uri are not "
                "supported; name graphs with USING or WITH in the update",
                "dataset",
            )
        return None
    default, named = values("default-graph-uri"), values("named-graph-uri")
    if not default and not named:
        return None
    return QueryDataset(tuple(map(checked_iri, default)), tuple(map(checked_iri, named)))


@bp.route("/sparql", methods=["GET", "POST"])
@operation(
    "get",
    "SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE); SERVICE refused; stopped at the time limit",
    "sparql",
    params=SparqlParams,
    answer=SparqlResults,
    media=formats.RESULT_MEDIA + tuple(formats.GRAPH_TYPES_FOR_TRIPLES),
    others={406: "Format not offered", 503: "Past the time limit, or busy"},
    role="reader",
)
@operation(
    "post",
    "A query (form query= or application/sparql-query) or an update (form update= or application/sparql-update, editor role); SERVICE and LOAD refused",
    "sparql",
    params=SparqlParams,
    answer=SparqlResults,
    media=formats.RESULT_MEDIA + tuple(formats.GRAPH_TYPES_FOR_TRIPLES),
    others={
        204: "Update done",
        413: "Too large",
        415: "Unsupported type",
        503: "Past the time limit, or busy",
    },
    body=("application/x-www-form-urlencoded", "application/sparql-query", "application/sparql-update"),
    role="reader",
)
def sparql() -> Response:
    text, update = _request_text()
    dataset = _dataset(update)
    if update:
        auth.check("editor")  # who may update is settled before what the update says
    # Relative IRIs resolve against the request's URL (SPARQL 1.1 Protocol); a BASE in the text wins.
    text = f"BASE <{request.base_url}>\n{_checked_text(text)}"
    store = get_store()
    settings = state().settings
    timeout, memory = settings.query_timeout, settings.query_memory_mb
    if isinstance(store, SnapshotView):  # its dataset, read by the query processes as any other
        view = store
        store, dataset = view.base, view.scoped(dataset)
    on_disk = store if isinstance(store, EmbeddedStore) and store.path is not None else None
    client = audit.client()
    if update:
        with _stopped_work(timeout, "update"):  # read, checked and read by Oxigraph in a query process
            every, plan = query_process.check_update(text, timeout, memory, client)
        with write_lock():
            if (every or _any_graph(text)) and snapshots.listed(store):
                raise Problem(
                    403, "Forbidden",
                    "DROP or CLEAR of ALL or NAMED graphs, or a WHERE that reads GRAPH ?variable, would "
                    "reach the read-only snapshots' copies: name the graphs (or give USING NAMED), or "
                    "delete the snapshots first (aims snapshot delete)",
                    "read-only-snapshot",
                )  # fmt: skip
            before = store.count()
            # its WHERE clauses counted on the store it will change, and what it may change found
            with _stopped_work(timeout, "update"):
                if on_disk is not None:
                    changed = query_process.count_update(on_disk, plan, timeout, memory, client)
                else:  # a remote server limits its own queries
                    changed = query_process.count_here(store, plan, timeout)
            # what it changes, for the history: the resources found above, graphs changed whole
            # (every graph, for ALL or NAMED: a snapshot past its cap makes it a summary)
            graphs = set(plan.graphs) | (set(store.graphs()) if plan.every_graph else set())
            was = None if changed is None else history.snapshot(store, changed, graphs)
            if on_disk is not None:
                query_process.update(store, text)
            else:  # a remote server runs (and limits) its own updates
                store.update(text)
            now = None if changed is None else history.snapshot(store, changed, graphs)
            changes = history.diff(was, now) if changed is not None else history.TooMany(
                reason=f"more than {query_process.MAX_RECORDED_SUBJECTS:,} resources changed"
            )  # fmt: skip
            audit.record("sparql update", None, before, store.count(), changes=changes, update=text[:2000])
            # checked by content, whatever way the update found to it, and restored at once
            if store.ensure_catalogue() and not every:
                current_app.logger.warning("an update changed the catalogue graph; it was restored")
                raise Problem(
                    403,
                    "Forbidden",
                    "the update reached the read-only catalogue graph, which was restored",
                    "read-only-graph",
                )
        return Response(status=204)
    with _stopped_work(timeout, "query"):
        if on_disk is not None:
            result = query_process.query(on_disk, text, timeout, dataset, memory, client)
        else:  # a remote server stops its own queries; an in-memory store has no folder to share
            query_process.check(text, False, timeout, memory, client)
            result = _workers.submit(store.query, text, None, timeout, dataset).result(timeout=timeout + 1)
    if isinstance(result, Graph):
        fmt = formats.graph_type()
        return Response(formats.serialize_graph(result, fmt), mimetype=fmt.media_type)
    media = formats.result_type()
    if isinstance(result, Rows):
        return Response(formats.serialize_rows(result, media), mimetype=media)
    return Response(formats.serialize_boolean(bool(result), media), mimetype=media)


@contextmanager
def _stopped_work(timeout: float, what: str) -> Iterator[None]:
    """The problems of work run in a query process: past the time limit, refused, or no room."""
    try:
        yield
    except (FutureTimeout, QueryTimeout):
        stopped = "nothing was changed" if what == "update" else "it was stopped"
        raise Problem(
            503, f"{what.capitalize()} timeout", f"the {what} ran past the {timeout} s limit; {stopped}",
            f"{what}-timeout",
        ) from None  # fmt: skip
    except query_process.OutOfMemory as e:
        current_app.logger.warning("a query process ended: %s", e)
        raise Problem(
            503, "Out of memory", f"{e}; nothing was changed" if what == "update" else str(e),
            f"{what}-memory", headers={"Retry-After": "5"},
        ) from None  # fmt: skip
    except query_process.FederatedQuery as e:
        raise Problem(
            400, "SERVICE refused", f"federated queries are not allowed here ({e})", "service-refused"
        ) from None
    except query_process.Unavailable as e:
        current_app.logger.warning("a query process could not read the store: %s", e)
        raise Problem(
            503,
            "Store busy",
            "the store could not be read just now; try again",
            "busy",
            headers={"Retry-After": "1"},
        ) from None
    except query_process.Busy:
        raise Problem(
            503, "Busy", f"{query_process.MAX_RUNNING} queries are running and others wait; try again shortly",
            "busy",
            headers={"Retry-After": "5"},
        ) from None  # fmt: skip
