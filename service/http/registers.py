"""The registers (browse.REGISTERS): each as JSON, CSV or a sortable, filterable page, with the risks'
heat map."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from typing import Any

from flask import Response, current_app, g, request
from rdflib import Literal, URIRef

from .. import browse
from ..browse import REGISTERS, Label
from ..store.base import Rows
from . import formats
from .api import RegisterParams, RowList, operation
from .errors import Problem
from .pages import HTML_JSON_CSV, _csv, _int, _page, _threshold, as_of, bp, cached, labels, query_rows
from .state import get_store, state

PAGE_SIZE = 100


def expiring_days() -> int:
    """The evidence register's window: ?days=, else the setting AIMS_EXPIRING_DAYS."""
    raw = request.args.get("days")
    if raw is None:
        return int(state().settings.expiring_days)
    if not re.fullmatch(r"[0-9]{1,4}", raw) or int(raw) > 3660:
        raise Problem(
            400, "Bad parameter", f"days={raw!r} is not a number of days (0 to 3660)", "bad-parameter"
        )
    return int(raw)


def _text(value: Any, names: dict[str, Label]) -> str:
    """The words a cell shows, for filtering and sorting."""
    if isinstance(value, URIRef):
        label = names.get(str(value))
        return label.text if label else str(value)
    if isinstance(value, Literal):
        return str(value.toPython())
    return "" if value is None else str(value)


def _sort_key(value: Any, names: dict[str, Label]) -> tuple[int, Any]:
    if isinstance(value, Literal):
        py = value.toPython()
        if isinstance(py, bool | int | float):
            return (0, float(py))
        if isinstance(py, dt.date):
            return (1, py.isoformat())
    return (2 if value is not None else 3, _text(value, names).lower())


def _register(name: str) -> Response:
    register = REGISTERS[name]
    media = formats.choose(HTML_JSON_CSV)
    day = as_of(from_cookie=media == "text/html")  # JSON and CSV follow ?as_of= only, as elsewhere
    days = expiring_days()
    rows, names = cached(lambda: _register_data(register, day, days), "register", name, day, days)
    if media == "application/json":
        return Response(
            current_app.json.dumps([{k: browse.plain(v) for k, v in r.items()} for r in rows]),
            mimetype="application/json",
        )
    if media == "text/csv":
        return _csv(rows, register.name)
    item = rows.variables[0]
    g.names = dict(names)  # this page's item labels are added below: the cached dict stays as it is
    sort, descending = request.args.get("sort"), request.args.get("dir") == "desc"
    records = list(rows)
    if sort in rows.variables:  # sorted once per state of the store (50,000 risks: 0.2 s a read),
        # then filtered: filtering keeps the order
        records = cached(
            lambda: sorted(records, key=lambda r: _sort_key(r.get(sort), names), reverse=descending),
            "register sorted",
            name,
            day,
            days,
            sort,
            descending,
        )
    for column in rows.variables:  # exact filters, as the heat map's cells link them
        if column in request.args:
            wanted = request.args[column]
            records = [
                r for r in records if _text(r.get(column), g.names) == wanted or str(r.get(column)) == wanted
            ]
    words = request.args.get("q", "").strip().lower()
    if words:
        records = [r for r in records if words in " ".join(_text(v, g.names) for v in r.values()).lower()]
    pages = max(1, math.ceil(len(records) / PAGE_SIZE))
    try:
        page = min(max(int(request.args.get("page", "1")), 1), pages)
    except ValueError:
        page = 1
    shown = records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    label_of = {str(r[item]): r.get("label") for r in shown if "label" in r}
    g.names.update(
        {
            iri: Label(iri, str(label) if label is not None else browse.local_name(iri))
            for iri, label in label_of.items()
        }
    )
    heat = _heat_map(rows) if name == "risks" else None
    levels = _level_map(rows) if name == "risks" else None
    threshold = _threshold(get_store()) if heat is not None else None
    return _page(
        "register.html",
        register=register,
        columns=[v for v in rows.variables if v != "label"] if "label" in rows.variables else rows.variables,
        item=item,
        rows=shown,
        total=len(rows),
        matching=len(records),
        page=page,
        pages=pages,
        heat=heat,
        levels=levels,
        threshold=threshold if threshold is not None else 8,
        threshold_given=threshold is not None,
    )


def _register_data(register: browse.Register, day: dt.date, days: int) -> tuple[Rows, dict[str, Label]]:
    """A register's rows, and the labels of every IRI in them but the items (which have their own
    label column): what sorting and filtering by the words shown need."""
    rows = query_rows(register.query, browse.register_params(register, day, days))
    item = rows.variables[0]
    others = {str(v) for r in rows for k, v in r.items() if k != item and isinstance(v, URIRef)}
    return rows, labels(others)


def _heat_map(rows: Rows) -> dict[tuple[int, int], int]:
    """How many risks sit in each likelihood x severity cell."""
    seen: dict[tuple[int, int], set[str]] = defaultdict(set)
    for r in rows:
        likelihood, severity = _int(r.get("likelihood")), _int(r.get("severity"))
        if likelihood is not None and severity is not None:
            seen[(likelihood, severity)].add(str(r["risk"]))
    return {cell: len(risks) for cell, risks in seen.items()}


def _level_map(rows: Rows) -> dict[str, dict[int, int]]:
    """How many risks have each level before treatment (inherent) and after it (residual): the
    residual level has no likelihood or severity of its own, so it is counted by level alone."""
    seen: dict[str, dict[int, set[str]]] = {"inherent": defaultdict(set), "residual": defaultdict(set)}
    for r in rows:
        for kind, column in (("inherent", "riskLevel"), ("residual", "residualRiskLevel")):
            if (level := _int(r.get(column))) is not None:
                seen[kind][level].add(str(r["risk"]))
    return {kind: {level: len(risks) for level, risks in by.items()} for kind, by in seen.items()}


def _register_view(name: str) -> Any:
    def view() -> Response:
        return _register(name)

    view.__name__ = f"register_{name}"
    register = REGISTERS[name]
    return operation(
        "get", f"Register: {register.description} JSON, CSV or a sortable, filterable page", "registers",
        params=RegisterParams, answer=RowList, media=("application/json", "text/csv", "text/html"), role="reader",
    )(view)  # fmt: skip


for _name in REGISTERS:
    bp.add_url_rule(f"/{_name}", f"register_{_name}", _register_view(_name))
