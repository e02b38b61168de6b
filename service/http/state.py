"""What the running application holds, typed: one `State` in `app.extensions["aims"]`, read in a
request with `state()`. View modules import `get_store` from here (and `write_lock` from audit.py),
not from the package, so the package can import its blueprints at the top."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context

from ..config import Settings
from ..history import History
from ..snapshots import SnapshotView
from ..store import Store


@dataclass(eq=False)  # one per application, told apart by identity (pages keeps memory per State)
class State:
    settings: Settings
    store: Store
    tokens: dict[str, str]  # bearer token -> role
    audit_log: Path | None  # the audit trail's file (None: the log record only)
    history: History  # what each write changed, for people
    accounts: Path | None = None  # the accounts file (None: no sign-in)
    write_lock: threading.Lock = field(default_factory=threading.Lock)  # one writer at a time
    writes: int = 0  # writes recorded so far: the pages' cached work depends on it
    budget: dict[str, dict[Any, float]] = field(default_factory=dict)  # client -> day -> when (budget.py)
    page_cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # pages.cached
    page_working: dict[tuple[Any, ...], threading.Event] = field(default_factory=dict)
    # key -> (state of the store, value) of cached work that names what it reads (pages.cached)
    page_carry: dict[tuple[Any, ...], tuple[tuple[int, int, int], Any]] = field(default_factory=dict)


def install(app: Flask, state: State) -> None:
    app.extensions["aims"] = state


def state() -> State:
    """The running application's state (in a request or an app context)."""
    return current_app.extensions["aims"]  # type: ignore[no-any-return]


def get_store() -> Store:
    """The store a request reads (views call this, as the Flask tutorial's get_db): the running
    application's, or the read-only view of the snapshot the request names (http/snapshots.py)."""
    return current_snapshot() or state().store


def current_snapshot() -> SnapshotView | None:
    """The snapshot the request reads (?snapshot=NAME), if it names one."""
    return g.get("aims_snapshot") if has_request_context() else None


def default_day() -> dt.date:
    """The day verdicts are judged on when a request names none: its snapshot's, else today."""
    view = current_snapshot()
    return view.snapshot.as_of if view is not None else dt.date.today()
