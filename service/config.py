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
    secret_key: str | None = None  # signs the pages' session cookie (CSRF); default: new at each start

    def audit_trail(self) -> Path:
        """The audit trail file: the setting, or beside the store folder (not in it: that folder
        is the database's own)."""
        return self.audit_log or self.data_dir.with_name(self.data_dir.name + "-audit.jsonl")


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
