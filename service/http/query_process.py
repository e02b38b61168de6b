"""SPARQL queries on the embedded store run in processes of their own, so that one past its time
limit can be stopped for real: its process is killed and its CPU released (Oxigraph has no way to
cancel a query from outside, and a thread cannot be killed). A query process lives on for the
next query: it keeps its read-only opening of the store and opens it again only when the service
has written since (`EmbeddedStore.version`; the writer flushes after each write, so that opening
reads files, not a log to replay). It has no network: SERVICE is refused by the engine that runs
the query, not only by a parser's reading.

At most `MAX_RUNNING` such processes run at once. A query that finds them all busy waits in a
short queue, and a freed slot goes to the client with the fewest running (fair.FairSlots); past
the queue's room or the time limit it is answered 503 with Retry-After, so a flood of slow
queries costs a bounded share of the machine and delays other clients by one query at most.

The text is read there too: rdflib's parse and the checks made on it (SERVICE, LOAD, reserved
graphs) run in the query process, under the same time limit and with no lock shared with other
requests, and each query process has a memory limit (RLIMIT_AS) past which it fails alone. A
parser that crashes or runs out of memory costs that process only: the answer is 503.

Updates must write the store this process holds, so they cannot run in another. An update is
first read and checked in a query process under the time limit, before the write lock is taken
(`check_update`: reading is the slow part and holds nothing others need); that process also has
Oxigraph read it (run on an empty store in memory), so text that would crash its parser crashes
there, not in the writer thread. Then, under the write lock, each operation's WHERE is counted in
a query process under the same limit (`count_update`): one past the limit is stopped there and
the update refused before it starts, and the count bounds what its INSERT template can add.
The update itself then runs on one writer thread that has left the
network (a network namespace of its own), so LOAD and SERVICE fail in the engine that runs them."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph
from rdflib import URIRef, Variable

from ..namespaces import DEFAULT_GRAPH
from ..store.base import InputRefused, QueryDataset, QueryResult, QueryTimeout, Store, StoreError
from ..store.embedded import EmbeddedStore
from ..store.input_limits import MAX_TRIPLES_PER_REQUEST
from ..store.sparql_text import RDFLIB_PARSER, where_clauses
from .errors import Problem
from .fair import Busy as Busy  # raised by the slots, caught by callers as query_process.Busy
from .fair import FairSlots

log = logging.getLogger("aims.query")
MAX_RUNNING = 6
QUERY_NICENESS = 10
# a short queue before the 503, shared fairly: see fair.FairSlots
_slots = FairSlots(MAX_RUNNING, queue=24, per_client=12)
_context: Any = None


class Unavailable(Exception):
    """The query process could not read the store. pyoxigraph calls a read-only opening while
    another process writes "undefined behaviour" (RocksDB files can be compacted away under it):
    such a failure is answered as a moment's unavailability, to be retried."""


class FederatedQuery(StoreError):
    """The query tried to reach another host (SERVICE): the query process has no network."""


class OutOfMemory(StoreError):
    """The query process went past its memory limit, or its engine crashed, and ended."""


def _ctx() -> Any:
    global _context
    if _context is None:
        # forkserver: children fork from a clean server that has already imported the store code
        _context = multiprocessing.get_context("forkserver")
        package = __name__.rsplit(".", 2)[0]  # aims_graph when installed, service in a checkout
        # the checks (rdflib's SPARQL grammar, built on import) are read in the children too
        _context.set_forkserver_preload([f"{package}.store.embedded", f"{package}.http.query_warm"])
    return _context


def _without_network() -> bool:
    """Move this process into a network namespace of its own, with no interface up: whatever the
    query says (SERVICE, however written), the engine running it cannot reach any host, this one
    included. True when that worked (it needs root, or unprivileged user namespaces)."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    return libc.unshare(clone_newnet) == 0 or libc.unshare(clone_newuser | clone_newnet) == 0


def _thread_without_network() -> None:
    """The writer thread's own network namespace (a thread may leave alone: namespaces are per
    task in Linux; this needs CAP_SYS_ADMIN, as a user namespace cannot be made by a thread)."""
    global _writer_isolated
    libc = ctypes.CDLL(None, use_errno=True)
    _writer_isolated = libc.unshare(0x40000000) == 0  # CLONE_NEWNET
    if not _writer_isolated:
        log.warning("the writer thread could not leave the network: LOAD is refused by parsing only")


_writer_isolated = False
_writer = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="aims-writer", initializer=_thread_without_network
)


def update(store: Store, sparql: str) -> None:
    """Run an update on the writer thread, which has no network."""
    _writer.submit(store.update, sparql).result()


def check_update(
    sparql: str, timeout: float, memory_mb: int | None = None, client: str = ""
) -> tuple[bool, UpdatePlan]:
    """Read and check an update in a query process (`sparql.checked`: Problem when refused) and
    have Oxigraph read it there too, before the write lock is taken: this is the slow part
    (rdflib read a 340 KB INSERT DATA in 6 s) and it holds nothing another request needs.
    Whether it clears or drops ALL or NAMED graphs, and its plan (`UpdatePlan`)."""
    return _call("update", None, sparql, timeout, None, memory_mb, client)  # type: ignore[no-any-return]


def count_update(
    store: EmbeddedStore, plan: UpdatePlan, timeout: float, memory_mb: int | None = None, client: str = ""
) -> frozenset[URIRef] | None:
    """Count an update's WHERE clauses (`check_update`'s plan) in a query process, under the
    write lock so that the count reads the store the update will run on; and find the resources
    it may change (None: too many to record one by one)."""
    if not plan.counts and not plan.subject_queries:
        return plan.subjects
    # first in the queue: it waits holding the write lock, which every other writer needs
    return _call("count", store, plan, timeout, None, memory_mb, client, first=True)  # type: ignore[no-any-return]


def count_here(store: Store, plan: UpdatePlan, timeout: float) -> frozenset[URIRef] | None:
    """`count_update` in this process, for a remote store (its server stops its own queries)."""
    return _count(store, plan, time.monotonic() + timeout, timeout)


def check(sparql: str, update: bool, timeout: float, memory_mb: int | None = None, client: str = "") -> bool:
    """Only read and check the text in a query process (for a store with no folder to share)."""
    job = "check-update" if update else "check-query"
    return bool(_call(job, None, sparql, timeout, None, memory_mb, client))


def query(
    store: EmbeddedStore, sparql: str, timeout: float, dataset: QueryDataset | None,
    memory_mb: int | None = None, client: str = "",
) -> QueryResult:  # fmt: skip
    """Read and check a client's query, then run it, in one query process."""
    return _call("query", store, sparql, timeout, dataset, memory_mb, client)  # type: ignore[no-any-return]


def run(
    store: EmbeddedStore, sparql: str, timeout: float, dataset: QueryDataset | None,
    memory_mb: int | None = None,
) -> QueryResult:  # fmt: skip
    """The query's result, run as given (no checks); see `_call`."""
    return _call("run", store, sparql, timeout, dataset, memory_mb, "")  # type: ignore[no-any-return]


# At most this many resources an update changes are recorded one by one (history.py): past it,
# the write is recorded as a summary.
MAX_RECORDED_SUBJECTS = 10_000
_GRAPH_OPERATIONS = ("Clear", "Drop", "Create", "Add", "Move", "Copy")


@dataclass(frozen=True)
class UpdatePlan:
    """What the write lock needs of an update, worked out with its parse, so that nothing is
    parsed under the lock: per WHERE, the count query, the dataset it reads and the size of its
    INSERT template; and what it may change, for the history: resources it names as subjects,
    queries that find the rest (`SELECT DISTINCT` of a template's subject variables over its
    WHERE), graphs it changes whole, or `every_graph` (CLEAR ALL, DROP NAMED...)."""

    counts: tuple[tuple[str, QueryDataset, int], ...] = ()
    subjects: frozenset[URIRef] = frozenset()
    subject_queries: tuple[tuple[str, QueryDataset], ...] = ()
    graphs: frozenset[URIRef] = frozenset()
    every_graph: bool = False


def _template_subjects(parts: list[Any]) -> tuple[set[URIRef], set[Variable]]:
    """The subjects of templates or data blocks (rdflib's `triples` lists and `quads` dicts)."""
    named: set[URIRef] = set()
    variables: set[Variable] = set()
    for part in parts:
        part = dict(part or {})
        blocks = [part.get("triples") or [], *(part.get("quads") or {}).values()]
        for triple in (t for block in blocks for t in block):
            if isinstance(triple[0], URIRef):
                named.add(triple[0])
            elif isinstance(triple[0], Variable):
                variables.add(triple[0])
    return named, variables


def _plan(sparql: str, operations: list[Any]) -> UpdatePlan:
    """The update's plan (`operations`: rdflib's algebra of it)."""
    reading = [op for op in operations if op.name in ("Modify", "DeleteWhere")]
    if reading and any(op is not operations[0] for op in reading):
        # its WHERE would read what the operations before it write, which a count cannot see
        raise StoreError(
            "an operation with WHERE after another in one request cannot be held to the time limit: "
            "send them as separate requests (or merge them: DELETE { ... } INSERT { ... } WHERE { ... })"
        )
    groups = where_clauses(sparql)
    if len(groups) != len(reading):
        raise StoreError("the update's WHERE clauses could not be told apart")
    counts, subject_queries = [], []
    subjects: set[URIRef] = set()
    graphs: set[URIRef] = set()
    every_graph = False
    for op in operations:
        part = dict(op)  # rdflib's CompValue.get answers a missing key with the key's name
        if op.name in _GRAPH_OPERATIONS:  # rdflib names graphs by IRI, or by keyword as a plain str
            for term in _leaves(part):
                if isinstance(term, URIRef):
                    graphs.add(term)
                elif term == "DEFAULT":
                    graphs.add(DEFAULT_GRAPH)
                elif term in ("ALL", "NAMED"):
                    every_graph = True
        elif op.name in ("InsertData", "DeleteData"):
            subjects |= _template_subjects([part])[0]
    for op, (prologue, group) in zip(reading, groups, strict=True):
        count = f"{prologue}\nSELECT (COUNT(*) AS ?solutions) WHERE {group}"
        if _patterns(_query_algebra(count)) != _patterns(op.get("where") if op.name == "Modify" else op):
            # what is counted must be what runs: the text read here and the parse disagree
            raise StoreError("the update's WHERE could not be read the same way twice: write it plainly")
        part = dict(op)
        using = part.get("using") or []
        if using:  # USING replaces the dataset: these graphs and no others
            dataset = QueryDataset(
                tuple(u["default"] for u in using if "default" in u),
                tuple(u["named"] for u in using if "named" in u),
            )
        else:  # WITH's graph, or the store's default graph, and every graph by name
            with_graph = part.get("withClause")
            dataset = QueryDataset((with_graph,) if with_graph else (), every_named=True)
        template = dict(part.get("insert") or {})
        size = len(template.get("triples") or []) + sum(map(len, (template.get("quads") or {}).values()))
        counts.append((count, dataset, size))
        written = [part.get("delete"), part.get("insert")] if op.name == "Modify" else [part]
        named, variables = _template_subjects(written)
        subjects |= named
        if variables:
            projection = " ".join(sorted(v.n3() for v in variables))
            found = (
                f"{prologue}\nSELECT DISTINCT {projection} WHERE {group} LIMIT {MAX_RECORDED_SUBJECTS + 1}"
            )
            subject_queries.append((found, dataset))
    return UpdatePlan(
        tuple(counts), frozenset(subjects), tuple(subject_queries), frozenset(graphs), every_graph
    )


def _leaves(node: Any) -> list[Any]:
    """Every value inside an rdflib algebra node (nested dicts and lists)."""
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            found.append(item)
    return found


def _count(store: Any, plan: UpdatePlan, deadline: float, timeout: float) -> frozenset[URIRef] | None:
    """Count each WHERE against the store as the request finds it (not after the operations
    before it in the same request): QueryTimeout past the deadline, InputRefused when an INSERT
    template would add more triples than a request may. Then the resources the update may change
    (None: more than MAX_RECORDED_SUBJECTS)."""

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise QueryTimeout(f"the update ran past its {timeout} s limit")
        return remaining

    for count, dataset, size in plan.counts:
        rows = store.select(count, None, left(), dataset)
        solutions = int(rows.rows[0]["solutions"]) if rows.rows else 0
        if solutions * size > MAX_TRIPLES_PER_REQUEST:
            raise InputRefused(
                f"the update would insert up to {solutions * size:,} triples; "
                f"at most {MAX_TRIPLES_PER_REQUEST:,} per request",
                status=413,
            )
    subjects = set(plan.subjects)
    for found, dataset in plan.subject_queries:
        rows = store.select(found, None, left(), dataset)
        if len(rows.rows) > MAX_RECORDED_SUBJECTS:  # cut at its LIMIT: some resources would be missed
            return None
        subjects |= {v for row in rows.rows for v in row.values() if isinstance(v, URIRef)}
    return frozenset(subjects) if len(subjects) <= MAX_RECORDED_SUBJECTS else None


def _query_algebra(text: str) -> Any:
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    with RDFLIB_PARSER:
        return translateQuery(parseQuery(text)).algebra


def _patterns(algebra: Any) -> set[tuple[Any, ...]]:
    """The triple patterns (and the graphs named) anywhere in an rdflib algebra."""
    found: set[tuple[Any, ...]] = set()
    stack = [algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("triples", "quads") and isinstance(value, list | dict):
                    items = value.items() if isinstance(value, dict) else [(None, value)]
                    for graph, triples in items:
                        found |= {
                            tuple(map(_term, t)) for t in triples if isinstance(t, tuple) and len(t) == 3
                        }
                        if graph is not None:
                            found.add(("graph", graph))
                stack.append(value)
            if getattr(node, "name", None) == "Graph":
                found.add(("graph", node.get("term")))
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return found


def _term(term: Any) -> Any:
    """A pattern's term as two parses of one text agree on it: blank nodes get fresh names each
    time, and property paths are compared by what they print."""
    from rdflib import BNode, URIRef, Variable
    from rdflib.term import Literal

    if isinstance(term, BNode):
        return "_:"
    return term if isinstance(term, URIRef | Variable | Literal) else repr(term)


def _linear_translation() -> None:
    """rdflib orders a block's triple patterns for its own evaluation in quadratic time (a
    2,000-triple INSERT DATA took 45 s to translate); the checks need no order. Only in a query
    process, which evaluates nothing with rdflib."""
    from rdflib.plugins.sparql import algebra

    def triples(parts: list[Any]) -> list[tuple[Any, Any, Any]]:
        flat = [term for part in parts for term in part]
        if len(flat) % 3:
            raise StoreError("these are not triples")
        return [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]

    algebra.triples = triples  # type: ignore[assignment]  # the same contract, in linear time


def _limit_memory(memory_mb: int | None) -> None:
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class _Opened:
    """The store as this query process last opened it, opened again when the service has
    written since (a read-only opening sees the store as it was when opened)."""

    def __init__(self) -> None:
        self.key: tuple[str, int] | None = None
        self.store: EmbeddedStore | None = None

    def at(self, path: str, version: int) -> EmbeddedStore:
        if self.store is None or self.key != (path, version):
            self.store = self.key = None  # the old opening let go first
            for attempt in range(5):
                try:
                    self.store = EmbeddedStore(Path(path), read_only=True)
                    break
                except (OSError, RuntimeError, StoreError):
                    # the writer's compaction can remove a file between reading the list and
                    # opening it: read the list again
                    if attempt == 4:
                        raise
                    time.sleep(0.02)
            self.key = (path, version)
        return self.store  # type: ignore[return-value]


def _work(
    job: str, where: tuple[str, int] | None, sparql: str | UpdatePlan, timeout: float, dataset: QueryDataset | None,
    opened: _Opened,
) -> Any:  # fmt: skip
    """What a query process does: `run` a query as given; `query`, `update`, `check-query` and
    `check-update` first read and check the text (Problem when refused). `where`: the store's
    folder and how many writes it has had."""
    deadline = time.monotonic() + timeout
    if job == "count":  # `sparql` is check_update's plan
        return _count(opened.at(*where), sparql, deadline, timeout)  # type: ignore[misc,arg-type]
    assert isinstance(sparql, str)
    if job == "run":
        return opened.at(*where).query(sparql, None, timeout, dataset)  # type: ignore[misc]
    from . import sparql as endpoint

    every, operations = endpoint.checked(sparql, update=job in ("update", "check-update"))
    left = deadline - time.monotonic()
    if job == "query":
        if left <= 0:
            raise QueryTimeout(f"the query ran past its {timeout} s limit and was stopped")
        return opened.at(*where).query(sparql, None, left, dataset)  # type: ignore[misc]
    if job == "update":
        plan = _plan(sparql, operations)
        try:  # Oxigraph's own reading, on an empty store in memory
            pyoxigraph.Store().update(sparql)
        except SyntaxError as e:
            raise StoreError(f"SPARQL syntax error: {e}") from None
        except (OSError, RuntimeError):
            pass  # read, but not runnable there: DROP GRAPH of a graph the empty store lacks
        return every, plan
    return every


def _answer(job: str, memory_mb: int | None, *arguments: Any) -> tuple[str, Any]:
    """`_work`'s result or what went wrong, as (kind, payload) to send to the service."""
    try:
        return "ok", _work(job, *arguments)
    except Problem as e:
        return "problem", (e.status, e.title, e.detail, e.kind, e.extra)
    except InputRefused as e:
        return "refused", (str(e), e.status)
    except QueryTimeout as e:
        return "timeout", str(e)
    except MemoryError:
        return "memory", f"the query went past its memory limit of {memory_mb} MB"
    except StoreError as e:
        return "error", str(e)
    except OSError as e:  # Oxigraph's error for a SERVICE call it could not make, or a read error
        reached_out = any(word in str(e).lower() for word in ("http", "unreachable", "connect", "resolve"))
        return ("network", f"the query tried to reach another host: {e}") if reached_out else ("io", str(e))
    except RuntimeError as e:  # pyoxigraph's storage corruption: a file compacted away under a reader
        return "io", str(e)
    except Exception as e:  # noqa: BLE001 - reported to the parent as a store error, not a crash
        return "error", f"the query failed: {e}"


def _serve(requests: Connection, memory_mb: int | None) -> None:
    """A query process: set up once (memory limit, no network, linear translation), then answer
    jobs one after another until the service closes the pipe or kills it."""
    _limit_memory(memory_mb)
    # below the service's own threads: a client's long query takes the CPU that pages leave
    # (at 40 clients, queries stopped at the limit took 70 % of it and a trace waited 3 s)
    os.nice(QUERY_NICENESS)
    isolated = _without_network()
    _linear_translation()
    opened = _Opened()
    while True:
        try:
            job, where, sparql, timeout, dataset = requests.recv()
        except (EOFError, OSError):
            return
        kind, payload = _answer(job, memory_mb, where, sparql, timeout, dataset, opened)
        if kind == "io":
            opened.store = opened.key = None  # a file of that opening may be gone: open afresh next time
        requests.send((kind, payload, isolated))


class _Process:
    """A query process as the service holds it: the process, its end of the pipe, its memory limit."""

    def __init__(self, memory_mb: int | None) -> None:
        ctx = _ctx()
        self.pipe, theirs = ctx.Pipe(duplex=True)
        self.memory_mb = memory_mb
        self.process = ctx.Process(target=_serve, args=(theirs, memory_mb), daemon=True)
        try:
            self.process.start()
        except (OSError, EOFError) as e:  # e.g. a Python this user may not run
            raise Unavailable(f"a query process could not be started: {e!r}") from None
        finally:
            theirs.close()

    def end(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.pipe.close()


_idle: list[_Process] = []
_idle_lock = threading.Lock()


def _process(memory_mb: int | None) -> _Process:
    """An idle query process with this memory limit, or a new one."""
    with _idle_lock:
        for held in list(_idle):
            _idle.remove(held)
            if held.memory_mb == memory_mb and held.process.is_alive():
                return held
            held.end()
    return _Process(memory_mb)


def prestart(memory_mb: int | None) -> None:
    """Start the query processes before the first query needs them (`aims serve`): the first
    start also starts the fork server, which reads the store and parser code once (about 1 s)."""

    def start() -> None:
        try:
            for _ in range(MAX_RUNNING):
                _keep(_Process(memory_mb))
        except Unavailable as e:
            log.warning("%s", e)

    threading.Thread(target=start, name="aims-query-prestart", daemon=True).start()


def _keep(held: _Process) -> None:
    with _idle_lock:
        if len(_idle) < MAX_RUNNING:
            _idle.append(held)
            return
    held.end()


def _call(
    job: str, store: EmbeddedStore | None, sparql: str | UpdatePlan, timeout: float, dataset: QueryDataset | None,
    memory_mb: int | None, client: str, first: bool = False,
) -> Any:  # fmt: skip
    """Do `job` in a query process: QueryTimeout when it ran past `timeout` (the process is
    killed), Busy when no slot came free for `client` (see fair.FairSlots), OutOfMemory when the
    process ended without an answer (past its memory limit, or a crash), Problem when the checks
    refused it, Unavailable when the store could not be read just then (asked twice)."""
    where = (str(store.path), store.version) if store is not None and store.path is not None else None
    # waiting as long as a running query may take (its limit, the margin of its stop, a process's
    # start): a slot has freed by then
    with _slots.slot(client, wait=timeout + 2, first=first):
        for attempt in (1, 2):
            held = _process(memory_mb)
            try:
                held.pipe.send((job, where, sparql, timeout, dataset))
                if not held.pipe.poll(timeout + 0.5):
                    held.end()
                    raise QueryTimeout(f"the query ran past its {timeout} s limit and was stopped")
                kind, payload, isolated = held.pipe.recv()
            except (EOFError, OSError):
                held.end()
                code = held.process.exitcode
                ended = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
                raise OutOfMemory(
                    f"the query process ended without an answer ({ended}): past its memory limit "
                    f"of {memory_mb} MB, or the engine failed on this text" if memory_mb else
                    f"the query process ended without an answer ({ended})"
                ) from None  # fmt: skip
            if kind == "memory":
                held.end()  # what it grew to stays with it
            else:
                _keep(held)
            if kind != "io" or attempt == 2:
                break
    if not isolated:
        log.warning(
            "the query process could not leave the network namespace: SERVICE is refused by parsing only"
        )
    if kind == "problem":
        status, title, detail, problem_kind, extra = payload
        raise Problem(status, title, detail, problem_kind, **extra)
    if kind == "refused":
        raise InputRefused(payload[0], payload[1])
    if kind == "memory":
        raise OutOfMemory(payload)
    if kind == "timeout":
        raise QueryTimeout(payload)
    if kind == "network":
        raise FederatedQuery(payload)
    if kind == "io":
        raise Unavailable(payload)
    if kind == "error":
        raise StoreError(payload)
    return payload
