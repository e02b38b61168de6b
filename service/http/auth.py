"""Who is asking: a bearer token with a role (reader < editor < admin), from settings or a JSON
file, or an account signed in to the pages (service/http/session.py).

Reads are open unless `read_requires_token`; writes always need the editor role; with no tokens
and no accounts nothing can write. Tokens are compared in constant time and never logged.

The rule for sessions: a session cookie authorises a request only when a forged cross-site
request could not have made it, that is a read (GET, HEAD, OPTIONS: they change nothing), or a
request whose CSRF token Flask-WTF has checked (`g.csrf_valid`, set by `csrf.protect()` in the
before_request of the pages' blueprints: pages, sign-in, forms, files...). Anything else that
comes with a cookie (a SPARQL update, a Graph Store PUT, an import: API routes, which take no
CSRF token) is judged as if it had no cookie: anonymous, unless it has a bearer token. A request
with an Authorization header is judged by its token alone. So a blueprint whose forms a signed-in
person may send must call `pages.csrf.protect()` before its views (a route that tools call too may
skip it for a request with an Authorization header: no cookie counts for that one).
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import abort

from .. import accounts
from ..config import Settings
from .errors import Problem
from .state import state

ROLES = {"reader": 1, "editor": 2, "admin": 3}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_KEY = "account"  # the session cookie's {"name", "version", "since"}


@dataclass(frozen=True)
class User:
    """The account signed in: its name, role and the IRI of the person it is (or None)."""

    name: str
    role: str
    person: str | None


def load_tokens(settings: Settings) -> dict[str, str]:
    tokens: dict[str, str] = {}
    if settings.tokens:
        for item in settings.tokens.split(","):
            token, _, role = item.strip().partition("=")
            tokens[token] = role
    if settings.tokens_file:
        tokens.update(json.loads(settings.tokens_file.read_text(encoding="utf-8")))
    if any(not token.strip() or token != token.strip() for token in tokens):
        raise ValueError(
            "a configured token is empty or has spaces around it: every token must be a non-blank word"
        )
    bad = sorted({r for r in tokens.values() if r not in ROLES})
    if bad:
        raise ValueError(f"unknown token roles {bad}; use {', '.join(ROLES)}")
    return tokens


def token_role() -> str | None:
    """The role of the request's bearer token; None without one; 401 for an unknown token."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Unauthorized", "use 'Authorization: Bearer <token>'", "unauthorized")
    for known, role in state().tokens.items():
        if hmac.compare_digest(known.encode(), token.strip().encode()):
            return role
    raise Problem(401, "Unauthorized", "the bearer token is not valid", "unauthorized")


def accounts_file() -> Path | None:
    return state().accounts


def current_user() -> User | None:
    """The account signed in to this request's session: the cookie's signature is good (Flask
    checks it and its age), the sign-in is younger than the session lifetime, and the account
    still exists with the same session version (a new password or a removal ends it)."""
    if "aims_user" in g:
        return g.aims_user  # type: ignore[no-any-return]
    user = None
    signed = session.get(SESSION_KEY)
    path = accounts_file()
    if isinstance(signed, dict) and path is not None:
        account = accounts.cached(path).get(str(signed.get("name")))
        since = signed.get("since")
        lifetime = current_app.permanent_session_lifetime.total_seconds()
        if (
            account is not None
            and accounts.same_session(account, str(signed.get("version")))
            and isinstance(since, (int, float))
            and time.time() - since < lifetime
        ):
            user = User(account.name, account.role, account.person)
    g.aims_user = user
    return user


def session_role() -> str | None:
    """The signed-in account's role, for a request a session may authorise (see the rule above)."""
    user = current_user()
    if user is None or not (request.method in SAFE_METHODS or g.get("csrf_valid", False)):
        return None
    return user.role


def caller_role() -> str | None:
    """The role the request acts with: its bearer token's when it has an Authorization header,
    else its session's (under the rule above), else None."""
    if request.headers.get("Authorization"):
        return token_role()
    return session_role()


def _wants_page() -> bool:
    """A browser asking for a page (it prefers HTML to JSON): it is sent to sign in, not a 401."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.method in ("GET", "HEAD") and best == "text/html"


def check(minimum: str) -> str | None:
    """The caller's role when it is at least `minimum` (None for an anonymous read, when reads are
    open); otherwise 401 (a browser asking for a page: to the sign-in page) or 403."""
    role = caller_role()
    settings = state().settings
    if minimum == "reader" and role is None and not settings.read_requires_token:
        return None
    if role is None:
        if _wants_page() and not request.headers.get("Authorization"):
            abort(redirect(url_for("session.login", next=request.full_path.rstrip("?")), 303))
        path = accounts_file()
        if not state().tokens and minimum != "reader" and not (path and accounts.cached(path)):
            raise Problem(
                403,
                "Forbidden",
                "the service is read-only: no tokens or accounts are configured",
                "read-only",
            )
        raise Problem(
            401,
            "Unauthorized",
            f"this needs a bearer token (or a signed-in account) with the {minimum} role",
            "unauthorized",
        )
    if ROLES[role] < ROLES[minimum]:
        raise Problem(403, "Forbidden", f"this needs the {minimum} role; the caller has {role}", "forbidden")
    return role


def check_before_body(minimum: str) -> None:
    """Refuse at once, before the request's body is read, a caller whose role cannot be enough
    whatever the body holds: a token that is unknown or below `minimum`, or no token and no account
    signed in, or one below `minimum`. (A session counts only with its CSRF token, which is in the
    body: `check` decides, once it is read, for the accounts that pass here.)"""
    if request.headers.get("Authorization"):
        check(minimum)
        return
    user = current_user()
    if user is None:
        check(minimum)  # as anonymous: 401 (a page form: to sign in), or 403 for a read-only service
    elif ROLES[user.role] < ROLES[minimum]:
        raise Problem(
            403, "Forbidden", f"this needs the {minimum} role; the caller has {user.role}", "forbidden"
        )


def can(minimum: str) -> bool:
    """Whether a form of this page, sent back with its CSRF token, would pass `check(minimum)`:
    templates offer only what the role may do."""
    if minimum != "reader" and g.get("aims_snapshot") is not None:
        return False  # a snapshot's page offers no form: a snapshot is read-only
    try:
        role = caller_role()
    except Problem:
        return False
    if role is None:
        settings = state().settings
        return minimum == "reader" and not settings.read_requires_token
    return ROLES[role] >= ROLES[minimum]
