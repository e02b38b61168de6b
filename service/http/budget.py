"""Expensive work needs a role or a budget. Validation is the costly part of the service; the
reference engine (pySHACL, with or without inference) is for editors only, and a caller without
the editor role may have validation worked out for a few different days a minute: a day already
worked out (cached until the store changes) costs nothing, and a day seen again within the minute
is not counted twice. Past the budget: 429 with Retry-After."""

from __future__ import annotations

import datetime as dt
import threading
import time

from flask import has_request_context

from . import audit, auth
from .errors import Problem
from .state import state

WINDOW = 60.0  # seconds; how many days: the setting validation_days (AIMS_VALIDATION_DAYS)
_lock = threading.Lock()


def is_editor() -> bool:
    role = auth.caller_role()
    return role is not None and auth.ROLES[role] >= auth.ROLES["editor"]


def require_editor(what: str) -> None:
    """403 unless the caller's token has the editor role."""
    if not is_editor():
        raise Problem(403, "Forbidden", f"{what} needs a bearer token with the editor role", "forbidden")


def spend(day: dt.date) -> None:
    """Count the validation of `day` against the caller's budget, or 429. Work done outside a
    request (the background warm-up after a write) and an editor's are free."""
    if not has_request_context() or is_editor():
        return
    limit = state().settings.validation_days
    if limit <= 0:
        return
    # client -> day -> when it was last worked out for them; one per application
    spent = state().budget
    # who pays: the token, else the address (behind a proxy every reader shares one; see README)
    client, now = audit.client(), time.monotonic()
    with _lock:
        days = spent.setdefault(client, {})
        for seen, when in list(days.items()):
            if now - when >= WINDOW:
                del days[seen]
        if day not in days and len(days) >= limit:
            wait = max(1, int(WINDOW - (now - min(days.values()))) + 1)
            raise Problem(
                429,
                "Too Many Requests",
                f"validation for more than {limit} different days a minute needs the editor role; "
                f"try again in {wait} s, or ask for a day already shown",
                "budget",
                headers={"Retry-After": str(wait)},
            )
        days[day] = now
        if len(spent) > 10_000:  # many clients: forget those whose minute is over
            for name in [c for c, d in spent.items() if not d or now - max(d.values()) >= WINDOW]:
                del spent[name]
