"""Reading a filled workbook into RDF: all or nothing, every problem named by sheet, row and column."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from ..namespaces import PREFIXES
from ..store.base import StoreError
from ..store.terms import check_iri
from .errors import Problem, WorkbookError, _Bad
from .safety import MAX_COLUMNS, _check_archive, _openpyxl
from .sheets import (
    ANY,
    CONTROL,
    DATETIME,
    DECIMAL,
    ENUM,
    FIRST_ROW,
    INTEGER,
    MONTH,
    REF,
    REQUIREMENT,
    SHEET,
    SHEETS,
    TEXT,
    YESNO,
    Col,
    Kind,
    Sheet,
    _expand,
    columns,
)
from .vocab import _a, _expects, kind_label, kind_options, vocab


@dataclass
class _Row:
    sheet: Sheet
    number: int
    kind: Kind | None  # None: its Kind cell was not understood (already a problem)
    key: str
    node: Node
    part: Node | None
    cells: dict[str, tuple[Any, str]]  # heading -> (value, column letter)


_TOKENS = re.compile(r"<[^>]*>|[^;,\n<]+")
_CHOICES = re.compile(r"<[^>]*>|[^;\n<]+")  # a choice's label may hold a comma (Annex IV(3)'s does)
_KEY_CHARS = re.compile(r"[;,<>\n]")
_MONTH = re.compile(r"\d{4}-(\d\d)")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def read(data: bytes, base: str) -> Graph:
    """The RDF a filled workbook holds, or WorkbookError listing every problem found (and no
    graph). A row's IRI is its IRI cell, else `base` + its kind + its ID."""
    try:
        check_iri(base)
    except StoreError:
        raise WorkbookError([Problem("", None, "", "", base, "an absolute IRI as the base")]) from None
    _check_archive(data)
    try:
        # read-only: rows are streamed, not kept, and nothing a sheet claims is expanded
        wb = _openpyxl(lambda: load_workbook(BytesIO(data), read_only=True, data_only=True))
        try:
            return _read(wb, base)
        finally:
            wb.close()
    except (BadZipFile, OSError) as e:
        raise WorkbookError([Problem("", None, "", "", None, f"an XLSX workbook ({e})")]) from None


def _read(wb: Any, base: str) -> Graph:
    problems: list[Problem] = []
    links: dict[str, _Row] = {}  # rows other rows can name, by ID
    soa: dict[str, _Row] = {}  # SoA rows, by control
    nodes: dict[Node, _Row] = {}
    kept: list[_Row] = []
    for row in _rows(wb, base, problems):
        keyed = links if row.sheet.linkable else soa
        value, letter = row.cells[row.sheet.key]
        if row.key in keyed:
            first = keyed[row.key]
            problems.append(Problem(row.sheet.title, row.number, row.sheet.key, letter, value or row.key,
                                    f"a key no other row has (row {first.number} of {first.sheet.title} has it)"))  # fmt: skip
            continue  # the first row keeps the key, so references to it still resolve
        keyed[row.key] = row
        for node, heading in (
            (row.node, "IRI"),
            (row.part, row.sheet.part.heading if row.sheet.part else ""),
        ):
            first = nodes.setdefault(node, row) if node is not None else row
            if first is not row:
                problems.append(Problem(row.sheet.title, row.number, heading, row.cells[heading][1], str(node),
                                        f"an IRI no other row has (row {first.number} of {first.sheet.title} has it)"))  # fmt: skip
        kept.append(row)
    graph = Graph()
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    for row in kept:
        _triples(row, links, graph, problems)
    if problems:
        order = {title: i for i, title in enumerate(SHEET)}  # as the workbook reads: by sheet, then row
        problems.sort(key=lambda p: (order.get(p.sheet, -1), p.row or 0, len(p.letter), p.letter))
        raise WorkbookError(problems)
    return graph


def _rows(wb: Any, base: str, problems: list[Problem]) -> Iterator[_Row]:
    """Every filled row of every sheet with its kind, key and IRIs; its cells not yet read."""
    for sheet in SHEETS:
        if sheet.title not in wb.sheetnames:
            problems.append(Problem(sheet.title, None, "", "", None, "a sheet with this name"))
            continue
        ws = wb[sheet.title]
        ws.reset_dimensions()  # the rows the sheet holds, not the range it claims
        head = next(_values(ws, 1, MAX_COLUMNS), ())
        found = {_text(v).lower(): i for i, v in enumerate(head, 1) if v is not None}
        place = {col.heading: found.get(col.heading.lower()) for col in columns(sheet)}
        for heading in (h for h, i in place.items() if i is None):
            problems.append(Problem(sheet.title, 1, heading, "", None, f"a column headed {heading!r}"))
        if any(place[h] is None for h in (sheet.key, "Kind") if h in place):
            continue  # rows cannot be told apart; without another column they still can (for their links)
        last = max((i for i in place.values() if i), default=1)  # only the columns read are unpacked
        for number, values in enumerate(_values(ws, FIRST_ROW, last), FIRST_ROW):
            cells = {
                h: (
                    _clean(values[i - 1]) if i and i <= len(values) else None,
                    get_column_letter(i) if i else "",
                )
                for h, i in place.items()
            }
            filled = {h for h, (v, _) in cells.items() if v is not None}
            if not filled or (not sheet.linkable and filled <= {sheet.key, "Title"}):
                continue  # an empty row, or an SoA row with only its control
            row = _row(sheet, number, cells, base, problems)
            if row is not None:
                yield row


def _values(ws: Any, first: int, last_column: int) -> Iterator[tuple[Any, ...]]:
    """A sheet's rows from `first` on as values, columns A to `last_column`, read by openpyxl."""
    rows = ws.iter_rows(min_row=first, max_col=last_column, values_only=True)
    while (values := _openpyxl(lambda: next(rows, None))) is not None:
        yield values


def _row(
    sheet: Sheet, number: int, cells: dict[str, tuple[Any, str]], base: str, problems: list[Problem]
) -> _Row | None:
    def problem(heading: str, expected: str) -> None:
        problems.append(Problem(sheet.title, number, heading, cells[heading][1], cells[heading][0], expected))

    kind: Kind | None = sheet.kinds[0]
    if len(sheet.kinds) > 1:
        value = cells["Kind"][0]
        kind = {label.lower(): k for label, k in kind_options(sheet).items()}.get(_text(value).lower())
        if kind is None:
            problem("Kind", "one of: " + ", ".join(kind_options(sheet)))
    raw = (
        cells[sheet.key][0]
        if cells[sheet.key][0] is not None or not sheet.linkable
        else cells["Identifier"][0]
    )
    if raw is None:
        problem(sheet.key, "an ID for the row" if sheet.linkable else "a control number or own control ID")
        return None
    key = _text(raw)
    if sheet.linkable and _KEY_CHARS.search(key):  # an SoA row may name its control by <IRI>
        problem(sheet.key, "a key without ; , < > or line breaks")
        return None
    node = _node(
        cells["IRI"][0], f"{base}{kind.slug if kind else 'row'}-{_slug(key)}", lambda e: problem("IRI", e)
    )
    part = None
    if sheet.part is not None:
        heading = sheet.part.heading
        if cells[heading][0] is not None or any(
            cells[c.heading][0] is not None for c in sheet.columns if c.part
        ):
            default = f"{base}{sheet.part.kind.slug}-{_slug(key)}"
            part = _node(cells[heading][0], default, lambda e: problem(heading, e))
    return _Row(sheet, number, kind, key, node, part, cells)


def _node(value: Any, default: str, problem: Any) -> Node:
    """The IRI in an IRI cell, or the default; "_:x" is a blank node (so is an IRI in error)."""
    if value is None:
        return URIRef(default)  # made of the checked base and a slug: an IRI
    text = _text(value)
    if text.startswith("_:"):
        return BNode(text[2:])
    try:
        return check_iri(text.removeprefix("<").removesuffix(">"))
    except StoreError:
        problem("an absolute IRI (https://...), or empty")
        return BNode()


def _triples(row: _Row, links: dict[str, _Row], graph: Graph, problems: list[Problem]) -> None:
    sheet, kind = row.sheet, row.kind
    if kind is None:
        return  # what the row is was not understood: its cells cannot be judged
    for cls in kind.classes:
        graph.add((row.node, RDF.type, _expand(cls)))
    if row.part is not None and sheet.part is not None:
        graph.add((row.node, _expand(sheet.part.link), row.part))
        graph.add((row.part, RDF.type, _expand(sheet.part.kind.classes[0])))
    for col in (c for c in columns(sheet) if c.prop is not None):
        value, letter = row.cells[col.heading]
        if value is None:
            continue
        if not col.used_for(kind.slug):
            used = ", ".join(kind_label(k) for k in sheet.kinds if col.used_for(k.slug))
            problems.append(Problem(sheet.title, row.number, col.heading, letter, value,
                                    f"nothing in this column for {_a(kind_label(kind))} (it is for: {used})"))  # fmt: skip
            continue
        try:
            terms = _terms(col, value, links)
        except _Bad as e:
            problems.append(Problem(sheet.title, row.number, col.heading, letter, value, str(e)))
            continue
        subject = row.part if col.part else row.node
        for term in terms:
            triple = (
                (term, col.predicate(kind.slug), subject)
                if col.inverse
                else (subject, col.predicate(kind.slug), term)
            )
            graph.add(triple)  # type: ignore[arg-type]


def _terms(col: Col, value: Any, links: dict[str, _Row]) -> list[Node]:
    """The RDF terms a cell holds, or _Bad saying what the column takes."""
    if col.type not in (ENUM, REF):
        return [_literal(col.type, value)]
    split = _CHOICES if col.type == ENUM else _TOKENS
    tokens = [t.strip() for t in split.findall(_text(value)) if t.strip()]
    if len(tokens) > 1 and not col.many:
        raise _Bad("one value only")
    found, bad = [], []
    for token in tokens:
        try:
            found.append(_reference(col, token, links))
        except _Bad as e:
            bad.append(str(e))
    if bad:
        raise _Bad("; ".join(bad))
    return found


def _reference(col: Col, token: str, links: dict[str, _Row]) -> Node:
    if token.startswith("<"):
        try:
            return check_iri(token.strip("<>"))
        except StoreError:
            raise _Bad(f"an absolute IRI between < and > (not {token})") from None
    v = vocab()
    if col.type == ENUM:
        options = {label.lower(): c for label, c in v.options[col.scheme].items()}
        if token.lower() not in options:
            raise _Bad("one of: " + ", ".join(v.options[col.scheme]))
        return options[token.lower()]
    row = links.get(token)
    if row is not None:
        if ANY in col.to or row.kind is None or row.kind.slug in col.to:
            return row.node
        raise _Bad(
            f"{_expects(col)} ({token!r} is {_a(kind_label(row.kind))}, row {row.number} of {row.sheet.title})"
        )
    found = v.requirements.get(token)
    if found is not None and (REQUIREMENT in col.to or (CONTROL in col.to and token.startswith("A."))):
        return found
    catalogue = REQUIREMENT in col.to or CONTROL in col.to
    raise _Bad(
        f"{_expects(col)} (no row has the ID {token!r}"
        + (", and no clause or control has this number" if catalogue else "")
        + ")"
    )


def _literal(kind: str, value: Any) -> Literal:
    text = _text(value)
    if kind == TEXT:
        return Literal(text)
    if kind == YESNO:
        yes = (
            value
            if isinstance(value, bool)
            else {"yes": True, "no": False, "true": True, "false": False}.get(text.lower())
        )
        if yes is None:
            raise _Bad("Yes or No")
        return Literal(yes)
    if kind == INTEGER:
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
            raise _Bad("a whole number")
        return Literal(int(text))
    if kind == DECIMAL:
        try:
            number = Decimal(repr(value) if isinstance(value, float) else text)
        except InvalidOperation:
            number = Decimal("NaN")
        if isinstance(value, bool) or not number.is_finite():
            raise _Bad("a number")
        return Literal(_canonical(number), datatype=XSD.decimal)
    if kind == DATETIME:
        if isinstance(value, dt.datetime):
            return Literal(value.strftime("%Y-%m-%dT%H:%M:%S"), datatype=XSD.dateTime)
        if _DATETIME.fullmatch(text) and _parses(dt.datetime.fromisoformat, text[:19]):
            return Literal(text, datatype=XSD.dateTime)  # as written: its zone and fraction kept
        if len(text) == 10 and _parses(dt.date.fromisoformat, text):
            return Literal(f"{text}T00:00:00", datatype=XSD.dateTime)
        raise _Bad("a date and time (YYYY-MM-DDThh:mm:ssZ) or a date (YYYY-MM-DD)")
    # DATE, MONTH: a spreadsheet date comes as a datetime at midnight
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return Literal(value.date())
    if len(text) == 10 and _parses(dt.date.fromisoformat, text):
        return Literal(dt.date.fromisoformat(text))
    month = _MONTH.fullmatch(text)
    if kind == MONTH and month and 1 <= int(month.group(1)) <= 12:
        return Literal(text, datatype=XSD.gYearMonth)
    raise _Bad("a date (YYYY-MM-DD)" + (" or a month (YYYY-MM)" if kind == MONTH else ""))


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _canonical(number: Decimal) -> str:
    """A decimal written as the store writes it (2, 0.81): a spreadsheet keeps no trailing zeros."""
    whole, _, fraction = format(number + 0, "f").partition(".")  # + 0: -0 is 0
    return f"{whole}.{fraction.rstrip('0')}".rstrip(".")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _text(value: Any) -> str:
    """A cell's value as text (2026 typed into a text column is "2026", not "2026.0")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "row"
