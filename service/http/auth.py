"""Bearer tokens with roles (reader < editor < admin), from settings or a JSON file.

Reads are open unless `read_requires_token`; writes always need an editor token; with no tokens
configured nothing can write. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json

from flask import current_app, request

from ..config import Settings
from .errors import Problem

ROLES = {"reader": 1, "editor": 2, "admin": 3}


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


def caller_role() -> str | None:
    """The role of the request's bearer token; None without one; 401 for an unknown token."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Unauthorized", "use 'Authorization: Bearer <token>'", "unauthorized")
    for known, role in current_app.extensions["aims_tokens"].items():
        if hmac.compare_digest(known.encode(), token.strip().encode()):
            return role
    raise Problem(401, "Unauthorized", "the bearer token is not valid", "unauthorized")


def check(minimum: str) -> str | None:
    role = caller_role()
    settings: Settings = current_app.extensions["aims_settings"]
    if minimum == "reader" and role is None and not settings.read_requires_token:
        return None
    if role is None:
        if not current_app.extensions["aims_tokens"] and minimum != "reader":
            raise Problem(403, "Forbidden", "the service is read-only: no tokens are configured", "read-only")
        raise Problem(
            401, "Unauthorized", f"this needs a bearer token with the {minimum} role", "unauthorized"
        )
    if ROLES[role] < ROLES[minimum]:
        raise Problem(403, "Forbidden", f"this needs the {minimum} role; the token has {role}", "forbidden")
    return role
