"""Settings: defaults, then AIMS_* environment variables, then explicit overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("aims-data")  # embedded store folder, under the working directory
    endpoint: str | None = None  # remote SPARQL query endpoint; set it to use the remote store
    update_endpoint: str | None = None  # defaults to `endpoint`
    graph_store_endpoint: str | None = None  # Graph Store protocol URL, when the server has one
    username: str | None = None
    password: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = (
        40  # request threads of `aims serve`: more than the SPARQL queries running and queued (6 + 24)
    )
    query_timeout: float = 30.0  # seconds
    query_memory_mb: int = 2048  # address space of each query process (RLIMIT_AS); 0: no limit
    max_body_bytes: int = 50 * 1024 * 1024
    tokens: str | None = None  # "TOKEN=role,TOKEN=role" (roles: reader, editor, admin)
    tokens_file: Path | None = None  # JSON object {"TOKEN": "role"}; kept out of the environment
    read_requires_token: bool = False
    validation_days: int = 4  # different as-of days validated a minute for a caller below editor; 0: no limit
    audit_log: Path | None = None  # the audit trail of writes; default: <data_dir>-audit.jsonl beside it
    history_db: Path | None = None  # what each write changed (SQLite); default: <data_dir>-history.sqlite
    secret_key: str | None = None  # signs the session cookie (sign-in, CSRF); default: a key file
    secret_key_file: Path | None = None  # where that key is kept when not set; default: <data_dir>-secret
    accounts_file: Path | None = None  # the accounts (aims user); default: <data_dir>-accounts.json beside it
    session_hours: float = 8.0  # a sign-in lasts this long (PERMANENT_SESSION_LIFETIME)
    secure_cookies: bool = False  # mark the session cookie Secure even over http (TLS ends at a proxy)
    files_dir: Path | None = None  # uploaded evidence files, by SHA-256; default: <data_dir>-files beside it
    max_file_bytes: int = 25 * 1024 * 1024  # one uploaded file; a larger one is refused (413)
    file_types: str = (  # file name extensions an upload may have; the service names the media type
        "pdf,png,jpg,jpeg,gif,webp,txt,csv,md,json,xlsx,docx,pptx,odt,ods,odp,zip,eml"
    )
    expiring_days: int = 30  # the evidence register: "expiring" within this many days (?days= changes it)

    def audit_trail(self) -> Path:
        """The audit trail file: the setting, or beside the store folder (not in it: that folder
        is the database's own)."""
        return self.audit_log or self.data_dir.with_name(self.data_dir.name + "-audit.jsonl")

    def history_file(self) -> Path:
        """The history of changes (SQLite): the setting, or beside the store folder, as the trail."""
        return self.history_db or self.data_dir.with_name(self.data_dir.name + "-history.sqlite")

    def accounts(self) -> Path:
        """The accounts file: the setting, or beside the store folder like the audit trail."""
        return self.accounts_file or self.data_dir.with_name(self.data_dir.name + "-accounts.json")

    def secret_file(self) -> Path:
        """Where the session key is kept when AIMS_SECRET_KEY is not set: beside the store folder."""
        return self.secret_key_file or self.data_dir.with_name(self.data_dir.name + "-secret")

    def files_folder(self) -> Path:
        """Where uploaded files are kept: the setting, or beside the store folder like the audit trail."""
        return Path(self.files_dir or self.data_dir.with_name(self.data_dir.name + "-files"))


def _coerce(value: str, kind: Any) -> Any:
    if kind in (bool, "bool"):
        return value.lower() in ("1", "true", "yes", "on")
    if kind in (int, "int"):
        return int(value)
    if kind in (float, "float"):
        return float(value)
    if kind in (Path, "Path"):
        return Path(value)
    return value


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then `AIMS_<FIELD>` from the environment, then `overrides`."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    from_env: dict[str, Any] = {}
    for f in fields(Settings):
        raw = environ.get(f"AIMS_{f.name.upper()}")
        if raw is not None and raw != "":
            kind = str(f.type).split(" |")[0]
            from_env[f.name] = _coerce(raw, kind)
    settings = replace(settings, **from_env)
    if overrides:
        unknown = set(overrides) - {f.name for f in fields(Settings)}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        settings = replace(settings, **overrides)
    return settings
