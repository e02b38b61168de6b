"""SPARQL queries on the embedded store run in a process of their own, so that one past its time
limit can be stopped for real: the process is killed and its CPU released (Oxigraph has no way to
cancel a query from outside, and a thread cannot be killed). The process opens the store
read-only, which sees every committed write, runs the query and sends the result back. It has no
network: SERVICE is refused by the engine that runs the query, not only by a parser's reading.

At most `MAX_RUNNING` such processes run at once; a query that finds them all busy is answered
503 with Retry-After at once, so a flood of slow queries costs a bounded share of the machine and
never holds requests in a queue.

The text is read there too: rdflib's parse and the checks made on it (SERVICE, LOAD, reserved
graphs) run in the query process, under the same time limit and with no lock shared with other
requests, and each query process has a memory limit (RLIMIT_AS) past which it fails alone. A
parser that crashes or runs out of memory costs that process only: the answer is 503.

Updates must write the store this process holds, so they cannot run in another. Each operation's
WHERE is first counted in a query process under the same time limit (`check_update`): one past
the limit is stopped there and the update refused before it starts, and the count bounds what
its INSERT template can add. That process also has Oxigraph read the update (run on an empty
store in memory), so text that would crash its parser crashes there, not in the writer thread.
The update itself then runs on one writer thread that has left the
network (a network namespace of its own), so LOAD and SERVICE fail in the engine that runs them."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import resource
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..store.base import (
    MAX_TRIPLES_PER_REQUEST,
    RDFLIB_PARSER,
    InputRefused,
    QueryDataset,
    QueryResult,
    QueryTimeout,
    Rows,
    Store,
    StoreError,
    where_clauses,
)
from .errors import Problem

log = logging.getLogger("aims.query")
MAX_RUNNING = 4
_slots = threading.BoundedSemaphore(MAX_RUNNING)
_context: Any = None


class Busy(Exception):
    """Every query process is taken."""


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


def check_update(path: Path | None, sparql: str, timeout: float, memory_mb: int | None = None) -> bool:
    """Read and check an update in a query process (`sparql.checked`: Problem when refused), have
    Oxigraph read it there too, and with a store folder count each WHERE (`_count_where`). True
    when it clears or drops ALL or NAMED graphs."""
    return bool(_call("update", path, sparql, timeout, None, memory_mb))


def check(sparql: str, update: bool, timeout: float, memory_mb: int | None = None) -> bool:
    """Only read and check the text in a query process (for a store with no folder to share)."""
    return bool(_call("check-update" if update else "check-query", None, sparql, timeout, None, memory_mb))


def query(
    path: Path, sparql: str, timeout: float, dataset: QueryDataset | None, memory_mb: int | None = None
) -> QueryResult:
    """Read and check a client's query, then run it, in one query process."""
    return _call("query", path, sparql, timeout, dataset, memory_mb)  # type: ignore[no-any-return]


def _count_where(store: Any, sparql: str, operations: list[Any], deadline: float, timeout: float) -> None:
    """Count the solutions of each WHERE of the update (`operations`: rdflib's algebra of it):
    QueryTimeout past the deadline, InputRefused when an INSERT template would add more triples
    than a request may. Each WHERE is counted against the store as the request finds it (not after
    the operations before it in the same request)."""
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
    for op, (prologue, group) in zip(reading, groups, strict=True):
        count = f"{prologue}\nSELECT (COUNT(*) AS ?solutions) WHERE {group}"
        if _patterns(_query_algebra(count)) != _patterns(op.get("where") if op.name == "Modify" else op):
            # what is counted must be what runs: the text read here and the parse disagree
            raise StoreError("the update's WHERE could not be read the same way twice: write it plainly")
        part = dict(op)  # rdflib's CompValue.get answers a missing key with the key's name
        using = part.get("using") or []
        if using:  # USING replaces the dataset: these graphs and no others
            dataset = QueryDataset(
                tuple(u["default"] for u in using if "default" in u),
                tuple(u["named"] for u in using if "named" in u),
            )
        else:  # WITH's graph, or the store's default graph, and every graph by name
            with_graph = part.get("withClause")
            dataset = QueryDataset((with_graph,) if with_graph else (), every_named=True)
        left = deadline - time.monotonic()
        if left <= 0:
            raise QueryTimeout(f"the update ran past its {timeout} s limit")
        rows = store.query(count, None, left, dataset)
        solutions = int(rows.rows[0]["solutions"]) if isinstance(rows, Rows) and rows.rows else 0
        template = dict(part.get("insert") or {})
        size = len(template.get("triples") or []) + sum(map(len, (template.get("quads") or {}).values()))
        if solutions * size > MAX_TRIPLES_PER_REQUEST:
            raise InputRefused(
                f"the update would insert up to {solutions * size:,} triples; "
                f"at most {MAX_TRIPLES_PER_REQUEST:,} per request",
                status=413,
            )


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


def _work(job: str, path: str | None, sparql: str, timeout: float, dataset: QueryDataset | None) -> Any:
    """What a query process does: `run` a query as given; `query`, `update`, `check-query` and
    `check-update` first read and check the text (Problem when refused)."""
    from ..store.embedded import EmbeddedStore

    deadline = time.monotonic() + timeout
    if job == "run":
        return EmbeddedStore(Path(path), read_only=True).query(sparql, None, timeout, dataset)  # type: ignore[arg-type]
    from . import sparql as endpoint

    _linear_translation()
    every, operations = endpoint.checked(sparql, update=job in ("update", "check-update"))
    left = deadline - time.monotonic()
    if job == "query":
        if left <= 0:
            raise QueryTimeout(f"the query ran past its {timeout} s limit and was stopped")
        return EmbeddedStore(Path(path), read_only=True).query(sparql, None, left, dataset)  # type: ignore[arg-type]
    if job == "update":
        if path is not None:
            _count_where(EmbeddedStore(Path(path), read_only=True), sparql, operations, deadline, timeout)
        EmbeddedStore().update(sparql)  # Oxigraph's own reading, on an empty store in memory
    return every


def _child(
    job: str, path: str | None, sparql: str, timeout: float, dataset: QueryDataset | None,
    memory_mb: int | None, out: Connection,
) -> None:  # fmt: skip
    _limit_memory(memory_mb)
    isolated = _without_network()
    try:
        out.send(("ok", _work(job, path, sparql, timeout, dataset), isolated))
    except Problem as e:
        out.send(("problem", (e.status, e.title, e.detail, e.kind, e.extra), isolated))
    except InputRefused as e:
        out.send(("refused", (str(e), e.status), isolated))
    except QueryTimeout as e:
        out.send(("timeout", str(e), isolated))
    except MemoryError:
        out.send(("memory", f"the query went past its memory limit of {memory_mb} MB", isolated))
    except StoreError as e:
        out.send(("error", str(e), isolated))
    except OSError as e:  # Oxigraph's error for a SERVICE call it could not make, or a read error
        reached_out = any(word in str(e).lower() for word in ("http", "unreachable", "connect", "resolve"))
        kind = "network" if reached_out else "io"
        out.send((kind, f"the query tried to reach another host: {e}" if reached_out else str(e), isolated))
    except Exception as e:  # noqa: BLE001 - reported to the parent as a store error, not a crash
        out.send(("error", f"the query failed: {e}", isolated))
    finally:
        out.close()


def run(
    path: Path, sparql: str, timeout: float, dataset: QueryDataset | None, memory_mb: int | None = None
) -> QueryResult:
    """The query's result, run as given (no checks); see `_call`."""
    return _call("run", path, sparql, timeout, dataset, memory_mb)  # type: ignore[no-any-return]


def _call(
    job: str, path: Path | None, sparql: str, timeout: float, dataset: QueryDataset | None,
    memory_mb: int | None,
) -> Any:  # fmt: skip
    """Do `job` in a query process: QueryTimeout when it ran past `timeout` (the process is
    killed), Busy when MAX_RUNNING are already running, OutOfMemory when the process ended
    without an answer (past its memory limit, or a crash), Problem when the checks refused it."""
    if not _slots.acquire(blocking=False):
        raise Busy()
    try:
        ctx = _ctx()
        receive, send = ctx.Pipe(duplex=False)
        arguments = (job, str(path) if path else None, sparql, timeout, dataset, memory_mb, send)
        process = ctx.Process(target=_child, args=arguments, daemon=True)
        try:
            process.start()
        except (OSError, EOFError) as e:  # e.g. a Python this user may not run
            raise Unavailable(f"a query process could not be started: {e!r}") from None
        send.close()
        try:
            if not receive.poll(timeout + 0.5):
                raise QueryTimeout(f"the query ran past its {timeout} s limit and was stopped")
            kind, payload, isolated = receive.recv()
        except EOFError:
            process.join(5)
            code = process.exitcode
            ended = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
            raise OutOfMemory(
                f"the query process ended without an answer ({ended}): past its memory limit "
                f"of {memory_mb} MB, or the engine failed on this text" if memory_mb else
                f"the query process ended without an answer ({ended})"
            ) from None  # fmt: skip
        finally:
            if process.is_alive():
                process.kill()
            process.join()
            receive.close()
    finally:
        _slots.release()
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
