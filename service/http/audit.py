"""The access log (one line per request, on the `aims.access` logger) and the audit trail of
writes: who (the token's role and a fingerprint, never the token), when, which graph, and how
many triples the graph or store held before and after. Each entry goes to the `aims.audit`
logger and, when the app has a trail file (`audit_log` setting; by default beside the data folder
of the store it opened), to that JSON Lines file, appended under the write lock and readable by
admins at `GET /audit-log`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from .. import history
from . import auth
from .api import AuditEntry, AuditParams, operation
from .state import state

bp = Blueprint("audit", __name__)
access = logging.getLogger("aims.access")
trail = logging.getLogger("aims.audit")


def _fingerprint() -> str | None:
    """The first 12 hex digits of the SHA-256 of the request's token (never the token), or None."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return hashlib.sha256(token.encode()).hexdigest()[:12] if token else None


def caller() -> str:
    """Who made the request, as the trail names them: role and token fingerprint, the role and
    name of the account signed in (when its session may act: see auth), or anonymous."""
    fingerprint = _fingerprint()
    if fingerprint:
        return f"{auth.caller_role() or 'unknown'} token {fingerprint}"
    user = auth.current_user()
    return f"{user.role} account {user.name}" if user and auth.session_role() else "anonymous"


def client() -> str:
    """Who is asking, for sharing the query processes fairly: the token's fingerprint, or the
    address of a caller with none (anonymous callers behind one address are one client)."""
    fingerprint = _fingerprint()
    return f"token {fingerprint}" if fingerprint else f"address {request.remote_addr}"


def writable(path: Path | None) -> None:
    """Check the trail can be appended to (ValueError naming the file if not): at start, so a
    service that could not record its writes does not start, and before every write, so a write
    that could not be recorded is refused before it is applied."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        raise ValueError(f"the audit trail {path} cannot be written: {e.strerror or e}") from None


def who() -> str:
    """Who the history names: the account signed in when its session made the write, else as the
    trail names the caller (role and token fingerprint, or anonymous)."""
    user = auth.current_user()
    if user is not None and not _fingerprint() and auth.session_role():
        return user.name
    return caller()


def record(
    action: str,
    graph: str | None,
    before: int,
    after: int,
    changes: list[history.Change] | None = None,
    **extra: Any,
) -> None:
    """Append one write to the trail (call it under the write lock, after the write succeeded),
    and, when the caller worked out what it changed (history.diff), those changes to the history
    at the same time, under the account's name (who). The trail is the record that must not fail
    (checked before the write: write_lock); the history is a reading aid: if it cannot be
    written, that is logged and the write, already applied, stands."""
    path = state().audit_log
    entry = {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "who": caller(),
        "action": action,
        "graph": graph,
        "triples_before": before,
        "triples_after": after,
        **extra,
    }
    line = json.dumps(entry)
    from . import pages

    # what the write changed, for the kept validation reports: told before the count, so that a
    # reader who sees the new count finds it (None: not worked out, a full validation follows)
    pages.written(state().writes + 1, changes)
    # pages cache verdicts per state of the store: every write goes through here
    state().writes += 1
    trail.info("%s", line)
    if path is not None:  # the record first: nothing after it can keep the write unrecorded
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    pages.warm(current_app._get_current_object())  # type: ignore[attr-defined]
    kept = state().history
    if changes is not None:
        try:
            kept.record(str(entry["at"]), who(), action, graph, changes)
        except Exception:  # noqa: BLE001 - see above: logged, and the write stands
            logging.getLogger("aims.history").exception(
                "the history of %s on %s was not recorded", action, graph
            )


@bp.route("/audit-log")
@operation(
    "get",
    "The audit trail of writes, newest last: who (role and token fingerprint), when, which graph, triples before and after",
    "admin",
    params=AuditParams,
    answer=list[AuditEntry],
    role="admin",
)
def audit_log() -> Response:
    """The latest writes, newest last (?limit=, default 100)."""
    path = state().audit_log
    try:
        limit = max(1, min(int(request.args.get("limit", "100")), 10_000))
    except ValueError:
        from .errors import Problem

        raise Problem(400, "Bad parameter", "limit must be a whole number", "bad-parameter") from None
    lines: deque[str] = deque(maxlen=limit)  # the file is read through, only the last lines kept
    if path is not None and path.exists():
        with path.open(encoding="utf-8", errors="replace") as log:
            lines.extend(line.rstrip("\n") for line in log)
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:  # a line torn by a crash mid-write
            entries.append({"unreadable": line[:200]})
    return jsonify(entries)


def register(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        # path only: query strings can be long SPARQL, and no secret ever travels in a URL here
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access.info(
            "%s %s %s %d %.0fms",
            request.remote_addr,
            request.method,
            request.path,
            response.status_code,
            elapsed,
        )
        return response


@contextmanager
def write_lock() -> Iterator[None]:
    """One writer at a time, and only while the audit trail can record the write: if it cannot,
    the write is refused (503) before anything is applied, so no write is acknowledged unrecorded."""
    held = state()
    with held.write_lock:
        try:
            writable(held.audit_log)
        except ValueError as e:
            from .errors import Problem

            raise Problem(503, "Service Unavailable", f"{e}; nothing was written", "audit-trail") from None
        yield
