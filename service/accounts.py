"""Accounts for signing in to the pages: a name, a role (reader < editor < admin, as tokens have),
the person in the graph the account is (optional), when it was made, an argon2id hash of its
password, and a session version that changes with the password and at each sign-out, so `aims
user passwd`, removing the account or signing out ends every session signed in before.

Kept outside the graph, in one JSON file beside the store (`Settings.accounts()`, like the audit
trail), mode 0600, written whole to a temporary file and renamed so a reader never sees half of
it; changes take a lock file so the command line and the service do not overwrite each other.
Passwords are never logged, printed or stored; only their hashes are.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .store.base import StoreError
from .store.terms import check_iri

ROLES = ("reader", "editor", "admin")
MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}$")  # a plain word: it shows in pages and the audit trail
_hasher = PasswordHasher()  # argon2id with the library's current parameters (RFC 9106's)
_DUMMY = _hasher.hash("an unknown name takes as long as a wrong password")
# each argon2 hash takes 64 MiB and a core for a moment: a flood of sign-ins waits here in turn
# instead of taking the memory of every request thread at once
_hashing = threading.BoundedSemaphore(2)


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why (never a password)."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    person: str | None
    created: str
    password_hash: str
    session: str  # signed into every session cookie; a new one ends the sessions signed in before


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise AccountError(
            f"{name!r} is not an account name: use letters, digits, '.', '_' or '-' (up to 64)"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    return password


def load(path: Path) -> dict[str, Account]:
    """The accounts in `path` by name; none when the file does not exist yet."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise AccountError(f"the accounts file {path} cannot be read: {e}") from None
    return {a["name"]: Account(**a) for a in raw.get("accounts", [])}


_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Account]]] = {}


def cached(path: Path) -> dict[str, Account]:
    """`load`, read again only when the file changed (a rename makes a new inode): the service
    sees `aims user` changes at the next request, at the cost of one stat."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    key = (st.st_ino, st.st_mtime_ns, st.st_size)
    hit = _cache.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    accounts = load(path)
    _cache[path] = (key, accounts)
    return accounts


def _save(path: Path, accounts: dict[str, Account]) -> None:
    body = json.dumps({"accounts": [asdict(a) for a in accounts.values()]}, indent=1)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


@contextmanager
def _changing(path: Path) -> Iterator[dict[str, Account]]:
    """The accounts to change under an exclusive lock; saved when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        accounts = load(path)
        yield accounts
        _save(path, accounts)
    finally:
        os.close(fd)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def add(path: Path, name: str, role: str, password: str, person: str | None = None) -> Account:
    check_name(name)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use {', '.join(ROLES)}")
    if person is not None:
        try:
            person = str(check_iri(person))
        except StoreError as e:
            raise AccountError(f"--person: {e}") from None
    hashed = _hasher.hash(check_password(password))
    with _changing(path) as accounts:
        if any(n.casefold() == name.casefold() for n in accounts):
            raise AccountError(f"an account named {name!r} already exists")
        account = Account(name, role, person, _now(), hashed, secrets.token_hex(16))
        accounts[name] = account
    return account


def remove(path: Path, name: str) -> None:
    with _changing(path) as accounts:
        if accounts.pop(name, None) is None:
            raise AccountError(f"no account named {name!r}")


def set_password(path: Path, name: str, password: str) -> None:
    hashed = _hasher.hash(check_password(password))
    with _changing(path) as accounts:
        if name not in accounts:
            raise AccountError(f"no account named {name!r}")
        accounts[name] = replace(accounts[name], password_hash=hashed, session=secrets.token_hex(16))


def end_sessions(path: Path, name: str, version: str) -> None:
    """Signing out: a new session version ends every session of the account (a copy of the cookie
    too); only when `version` is still the account's, so a stale sign-out changes nothing."""
    with _changing(path) as accounts:
        account = accounts.get(name)
        if account is not None and same_session(account, version):
            accounts[name] = replace(account, session=secrets.token_hex(16))


def verify(path: Path, name: str, password: str) -> Account | None:
    """The account when `password` is its password, else None, whether the name is unknown or the
    password wrong (an unknown name is checked against a dummy hash: the answer takes as long).
    A hash made with older parameters is made again (the session version stays)."""
    account = cached(path).get(name)
    try:
        with _hashing:
            _hasher.verify(account.password_hash if account else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        with _changing(path) as accounts:
            if name in accounts and accounts[name].password_hash == account.password_hash:
                accounts[name] = replace(account, password_hash=_hasher.hash(password))
    return account


def same_session(account: Account, version: str) -> bool:
    return hmac.compare_digest(account.session.encode(), version.encode())
