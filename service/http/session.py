"""Signing in to the pages: `/login` (a form: name and password) and `/logout`, both POSTs with
a CSRF token (Flask-WTF's, shared with the pages). The session lives in Flask's signed cookie
(HttpOnly, SameSite=Lax, Secure over https or with AIMS_SECURE_COOKIES), holding the account's
name, its session version and when it signed in; it lasts AIMS_SESSION_HOURS. The key that signs
it is AIMS_SECRET_KEY, else a random key kept in a file beside the store, made at first start.

Wrong passwords slow the next try down: per account name, per client address and per (name,
address), each failure doubles the wait (0.5 s, 1 s, 2 s ... up to 10 s) until a success. The wait
is reserved under a short lock and slept outside it, so parallel tries queue behind each other and
no other sign-in waits for the lock. Only the (name, address) queue refuses: a try from there that
would wait past the cap gets 429 at once. The name's and the address's own waits never pass the
cap and never refuse, so nobody can shut an account out by sending wrong passwords for its name
from elsewhere: its owner's tries only get slower.

Signing out ends the account's sessions (its session version changes, as with a new password), so
a copy of the cookie is refused from then on, in every browser the account signed in from."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts
from ..config import Settings
from . import auth
from .api import operation
from .pages import csrf, local_path

bp = Blueprint("session", __name__, template_folder="templates")

FIRST_DELAY = 0.5  # seconds after the first wrong password; doubled with each further one
MAX_DELAY = 10.0
FORGET_AFTER = 15 * 60  # failures this long past their wait are forgotten
_MAX_KEYS = 10_000


class _Cookie(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or bool(app.config["SESSION_COOKIE_SECURE"])


def _secret(path: Path) -> str:
    """The key kept in `path` (0600), made on first start; two starting at once agree (link)."""
    try:
        return _read_or_make(path)
    except OSError as e:  # a start that cannot keep its key says so in one line
        raise ValueError(f"the session key file {path} cannot be read or made: {e.strerror or e}") from None


def _read_or_make(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temp, path)  # fails if another process made it first: its key is the one
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
        key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ValueError(f"the session key file {path} is damaged (too short): remove it to make a new one")
    return key


def init_app(app: Flask, settings: Settings, own_files: bool) -> None:
    """Session settings, the signing key and the accounts file. `own_files`: the app opened its
    store (so files beside it are its own); an app handed a store uses only the files named."""
    accounts_path = settings.accounts() if own_files else settings.accounts_file
    if accounts_path is not None:
        accounts.load(accounts_path)  # a file that cannot be read stops the start (AccountError)
    app.extensions["aims"].accounts = accounts_path
    if settings.secret_key:
        app.secret_key = settings.secret_key
    elif own_files or settings.secret_key_file:
        app.secret_key = _secret(settings.secret_file())
    else:  # no file to keep it in: sessions last until a restart
        app.secret_key = secrets.token_bytes(32)
    app.session_interface = _Cookie()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
    )


@bp.before_request
def _check_form() -> None:
    csrf.protect()  # sign-in and sign-out are forms of the pages: they need the page's token


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"user": auth.current_user(), "can": auth.can}


# ------------------------------------------------------------------------------ slower after failures

_lock = threading.Lock()
_failures: dict[str, list[float]] = {}  # key -> [failures, the earliest time the next try is answered]


def _delay(failures: float) -> float:
    return min(FIRST_DELAY * 2 ** (failures - 1), MAX_DELAY)


def _keys(name: str, address: str | None) -> tuple[str, list[str]]:
    """The key that may refuse a try (name and address together), and the keys that only slow it."""
    name = name.casefold()[:64]  # names are <= 64
    return f"pair:{address}|{name}", [f"name:{name}", f"address:{address}"]


def _reserve(refusing: str, slowing: list[str]) -> float | None:
    """Seconds this try must wait, its place reserved so parallel tries queue up; None: the
    `refusing` queue is past the cap. The `slowing` queues add their wait, up to the cap, and are
    never full: they hold no place past the cap (else one address could fill a name's queue)."""
    now = time.monotonic()
    with _lock:
        if len(_failures) > _MAX_KEYS:  # bounded memory: the stale first, then the oldest
            for key in [k for k, (_, at) in _failures.items() if at + FORGET_AFTER < now]:
                del _failures[key]
            for key in sorted(_failures, key=lambda k: _failures[k][1])[: len(_failures) - _MAX_KEYS // 2]:
                del _failures[key]
        start = max(now, _failures[refusing][1]) if refusing in _failures else now
        if start - now > MAX_DELAY:
            return None
        start = max([start] + [min(_failures[k][1], now + MAX_DELAY) for k in slowing if k in _failures])
        if refusing in _failures:
            _failures[refusing][1] = start + _delay(_failures[refusing][0])
        for key in slowing:
            if key in _failures:
                _failures[key][1] = min(start + _delay(_failures[key][0]), now + MAX_DELAY)
    return start - now


def _failed(keys: list[str]) -> None:
    now = time.monotonic()
    with _lock:
        for key in keys:
            entry = _failures.setdefault(key, [0, now])
            if entry[1] + FORGET_AFTER < now:
                entry[0] = 0
            entry[0] += 1
            entry[1] = max(entry[1], now + _delay(entry[0]))


def _succeeded(keys: list[str]) -> None:
    with _lock:
        for key in keys:
            _failures.pop(key, None)


# ------------------------------------------------------------------------------ the pages


def _form(status: int = 200, message: str | None = None, name: str = "") -> Response:
    path = auth.accounts_file()
    context = {
        "message": message,
        "name": name,
        "next": local_path(request.values.get("next", "/")),
        "no_accounts": path is None or not accounts.cached(path),
        "as_of": dt.date.today(),
        "today": dt.date.today(),
    }
    return Response(render_template("login.html", **context), status=status, mimetype="text/html")


@bp.route("/login", methods=["GET", "POST"])
@operation(
    "get",
    "The sign-in page (a form: name, password, next)",
    "pages",
    media=("text/html",),
)
@operation(
    "post",
    "Sign in (a form: name, password, next, with its CSRF token): 303 to `next` with a session cookie",
    "pages",
    status=303,
    body=("application/x-www-form-urlencoded",),
    others={
        400: "No valid CSRF token",
        401: "Wrong name or password (the same answer for both)",
        429: "Too many wrong passwords: try again later",
    },
)
def login() -> BaseResponse:
    if request.method == "GET":
        return _form()
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    refusing, slowing = _keys(name, request.remote_addr)
    keys = [refusing, *slowing]
    wait = _reserve(refusing, slowing)
    if wait is None:
        response = _form(429, "Too many wrong passwords: wait a little and try again.", name)
        response.headers["Retry-After"] = str(int(MAX_DELAY))
        return response
    time.sleep(wait)
    path = auth.accounts_file()
    account = accounts.verify(path, name, password) if path is not None and name else None
    if account is None:
        _failed(keys)
        return _form(401, "Wrong name or password.", name)
    _succeeded(keys)
    session.clear()  # nothing from before the sign-in (a CSRF token included) carries over
    session.permanent = True
    session[auth.SESSION_KEY] = {"name": account.name, "version": account.session, "since": time.time()}
    return redirect(local_path(request.form.get("next", "/")), 303)


@bp.route("/logout", methods=["POST"])
@operation(
    "post",
    "Sign out (a form with its CSRF token): 303 to the dashboard",
    "pages",
    status=303,
    body=("application/x-www-form-urlencoded",),
    others={400: "No valid CSRF token"},
)
def logout() -> BaseResponse:
    user, path = auth.current_user(), auth.accounts_file()
    if user is not None and path is not None:  # the cookie alone would stay valid until it expires
        accounts.end_sessions(path, user.name, str(session[auth.SESSION_KEY]["version"]))
    session.clear()
    return redirect(url_for("pages.dashboard"), 303)
