"""SPARQL queries on the embedded store run in a process of their own, so that one past its time
limit can be stopped for real: the process is killed and its CPU released (Oxigraph has no way to
cancel a query from outside, and a thread cannot be killed). The process opens the store
read-only, which sees every committed write, runs the query and sends the result back. It has no
network: SERVICE is refused by the engine that runs the query, not only by a parser's reading.

At most `MAX_RUNNING` such processes run at once; a query that finds them all busy is answered
503 with Retry-After at once, so a flood of slow queries costs a bounded share of the machine and
never holds requests in a queue."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..store.base import QueryDataset, QueryResult, QueryTimeout, StoreError

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


def _ctx() -> Any:
    global _context
    if _context is None:
        # forkserver: children fork from a clean server that has already imported the store code
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["service.store.embedded"])
    return _context


def _without_network() -> bool:
    """Move this process into a network namespace of its own, with no interface up: whatever the
    query says (SERVICE, however written), the engine running it cannot reach any host, this one
    included. True when that worked (it needs root, or unprivileged user namespaces)."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    return libc.unshare(clone_newnet) == 0 or libc.unshare(clone_newuser | clone_newnet) == 0


def _child(path: str, sparql: str, timeout: float, dataset: QueryDataset | None, out: Connection) -> None:
    from ..store.embedded import EmbeddedStore

    isolated = _without_network()
    try:
        store = EmbeddedStore(Path(path), read_only=True)
        result = store.query(sparql, None, timeout, dataset)
        out.send(("ok", result, isolated))
    except QueryTimeout as e:
        out.send(("timeout", str(e), isolated))
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


def run(path: Path, sparql: str, timeout: float, dataset: QueryDataset | None) -> QueryResult:
    """The query's result; QueryTimeout when it ran past `timeout` (the process is killed), Busy
    when MAX_RUNNING queries are already running."""
    if not _slots.acquire(blocking=False):
        raise Busy()
    try:
        ctx = _ctx()
        receive, send = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(str(path), sparql, timeout, dataset, send), daemon=True)
        process.start()
        send.close()
        try:
            if not receive.poll(timeout + 0.5):
                raise QueryTimeout(f"the query ran past its {timeout} s limit and was stopped")
            kind, payload, isolated = receive.recv()
        except EOFError:
            raise StoreError("the query process ended without an answer") from None
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
    if kind == "timeout":
        raise QueryTimeout(payload)
    if kind == "network":
        raise FederatedQuery(payload)
    if kind == "io":
        raise Unavailable(payload)
    if kind == "error":
        raise StoreError(payload)
    return payload  # type: ignore[no-any-return]
