"""Writing a workbook: the template to fill in, and the export of a store's organisation, every
row's IRI filled so that reading it back gives the same IRIs."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from html import escape
from io import BytesIO
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDFS
from rdflib.term import Node

from ..store.base import Store
from .cells import formula_like
from .errors import Problem, WorkbookError, _Bad
from .read import _KEY_CHARS
from .sheets import (
    ANY,
    CONTROL,
    DATE,
    DATETIME,
    DECIMAL,
    ENUM,
    FIRST_ROW,
    INTEGER,
    IRI,
    KEY,
    KIND,
    MONTH,
    PART_IRI,
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
from .vocab import describe, kind_label, kind_options, vocab

_HEAD = Font(bold=True, color="FFFFFF")
_HEAD_FILL = PatternFill("solid", fgColor="1F4E79")
_PROP = Font(italic=True, size=8, color="808080")


def template() -> bytes:
    """An empty workbook to fill in; the SoA sheet lists every Annex A control."""
    return _workbook({})


def _workbook(rows: dict[str, list[dict[str, Any]]]) -> bytes:
    """The workbook with `rows` (sheet title -> rows of heading -> cell value). openpyxl, in its
    write-only mode, writes the sheets' headings, styles, notes, drop-downs and panes; the rows
    below them are written as XML by `_rows_xml` and put in its sheets: openpyxl took 5 s for
    the 270,000 cells of 1,000 systems (on a loaded machine), half of an export."""
    wb = Workbook(write_only=True)
    readme = wb.create_sheet("Read me")
    styled = [WriteOnlyCell(readme), WriteOnlyCell(readme)]
    styled[0].number_format, styled[1].quotePrefix = "yyyy-mm-dd", True
    styles = [cell.style_id for cell in styled]  # registered with the workbook's styles
    data = {s.title: rows.get(s.title) or (_soa_rows({}) if s.title == "SoA" else []) for s in SHEETS}
    problems: list[Problem] = []
    body = {s.title: _rows_xml(styles, s.title, columns(s), data[s.title], problems) for s in SHEETS}
    if problems:  # before any sheet is written: openpyxl's writers would be left open
        raise WorkbookError(problems)
    _write_readme(readme)
    lists: dict[str, list[str]] = {}  # the drop-downs' values, on the hidden sheet list validations point to

    def listed(name: str, values: list[str]) -> str:
        lists.setdefault(name, values)
        column = get_column_letter(list(lists).index(name) + 1)
        return f"Lists!${column}$2:${column}${len(lists[name]) + 1}"

    parts: dict[Any, bytes] = {}  # each sheet, the XML of its rows
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.title)
        cols = columns(sheet)
        last = max(1000, FIRST_ROW + len(data[sheet.title]) + 500)
        ws.freeze_panes = f"A{FIRST_ROW}"  # widths and panes before the first row: write-only mode
        headings, properties = [], []
        for i, col in enumerate(cols, 1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = 14 if col.type in (KIND, YESNO, INTEGER, DECIMAL) else 28
            if col.type in (TEXT, MONTH, DATETIME, REF, KEY, IRI, PART_IRI):
                ws.column_dimensions[letter].number_format = "@"  # so 1.0 and 2026-01 stay as typed
            heading = WriteOnlyCell(ws, col.heading)
            heading.font, heading.fill = _HEAD, _HEAD_FILL
            heading.comment = Comment(describe(sheet, col), "aims-graph", width=320, height=160)
            headings.append(heading)
            properties.append(WriteOnlyCell(ws, _property_text(sheet, col)))
            properties[-1].font = _PROP
            choices = None
            if col.type == KIND:
                choices = listed(f"{sheet.title}: kind", list(kind_options(sheet)))
            elif col.type == ENUM:
                choices = listed(col.scheme, list(vocab().options[col.scheme]))
            elif col.type == YESNO:
                choices = '"Yes,No"'
            if choices is not None:
                # Excel cannot check a list of several values: there the drop-down only helps
                dv = DataValidation(
                    type="list", formula1=choices, allow_blank=True, showErrorMessage=not col.many
                )
                dv.add(f"{letter}{FIRST_ROW}:{letter}{last}")
                ws.data_validations.append(dv)  # write-only sheets lack add_data_validation
        ws.append(headings)
        ws.append(properties)
        parts[ws] = body[sheet.title]
    hidden = wb.create_sheet("Lists")
    hidden.sheet_state = "hidden"
    columns_ = [[name, *values] for name, values in lists.items()]
    for r in range(max(len(c) for c in columns_)):
        hidden.append([_text_cell(hidden, c[r]) if r < len(c) else None for c in columns_])
    out = BytesIO()
    wb.save(out)
    return _spliced(out.getvalue(), {ws.path.lstrip("/"): xml for ws, xml in parts.items() if xml})


def _text_cell(ws: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, text)
    cell.data_type = "s"  # text stays text, never a formula whatever it starts with
    return cell


# Characters XML 1.0 cannot hold (openpyxl refuses the same, with a traceback)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _rows_xml(
    styles: list[int], title: str, cols: list[Col], rows: list[dict[str, Any]], problems: list[Problem]
) -> bytes:
    """Rows from FIRST_ROW on as sheet XML, as openpyxl writes them: text as inline strings, and
    text a spreadsheet would run as a formula with Excel's ' prefix (a style: the text itself is
    unchanged and reads back as it was); dates as day numbers in the yyyy-mm-dd format. Text XML
    cannot hold is a problem named by its cell. `styles`: the dates' and the quoted texts'."""
    date_style, quoted = styles
    headings = [c.heading for c in cols]
    letters = [get_column_letter(i) for i in range(1, len(headings) + 1)]
    out: list[str] = []
    for r, row in enumerate(rows, FIRST_ROW):
        out.append(f'<row r="{r}">')
        for letter, heading in zip(letters, headings, strict=True):
            value = row.get(heading)
            if value is None:
                continue
            if isinstance(value, str):
                text = value
                if _SPECIAL.search(value):  # most text has nothing to escape
                    if _NOT_XML.search(value):
                        problems.append(
                            Problem(title, r, heading, letter, value, "text without control characters")
                        )
                        continue
                    text = escape(value, quote=False).replace("\r", "&#13;")  # a bare CR would be read as LF
                style = f' s="{quoted}"' if formula_like(value) else ""
                space = ' xml:space="preserve"' if value != value.strip() else ""
                out.append(f'<c r="{letter}{r}" t="inlineStr"{style}><is><t{space}>{text}</t></is></c>')
            elif isinstance(value, dt.date):
                out.append(f'<c r="{letter}{r}" s="{date_style}"><v>{to_excel(value):.16g}</v></c>')
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out.append(f'<c r="{letter}{r}"><v>{value:.16g}</v></c>')
            else:
                raise TypeError(f"no cell for {value!r}")
        out.append("</row>")
    return "".join(out).encode()


def _spliced(xlsx: bytes, rows: dict[str, bytes]) -> bytes:
    """The workbook with each sheet part's rows added after the ones openpyxl wrote."""
    out = BytesIO()
    with ZipFile(BytesIO(xlsx)) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = source.read(item)
            level = None
            if item.filename in rows:
                head, end, tail = part.rpartition(b"</sheetData>")
                assert end, f"{item.filename} has no sheetData"
                part = head + rows.pop(item.filename) + end + tail
                level = 1  # deflate's fastest: a third of the time of its default, a file 20 % larger
            target.writestr(item, part, compresslevel=level)
    assert not rows, f"no such parts: {list(rows)}"
    return out.getvalue()


def _soa_rows(entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every Annex A control in the standard's order, with its entry's cells where it has one."""
    return [{"Control": n, "Title": t, **entries.get(n, {})} for n, t in vocab().controls]


def _property_text(sheet: Sheet, col: Col) -> str:
    """Row 2: the property a column becomes, as a SPARQL path from the row."""
    if col.prop is None:
        return {KEY: "(row key)", KIND: "rdf:type", IRI: "(row IRI)", PART_IRI: f"({col.heading})"}.get(
            col.type, "(not read)"
        )
    text = " / ".join(("^" if col.inverse else "") + p for p in col.curies())
    return f"{sheet.part.link}/{text}" if col.part and sheet.part else text


_README = [
    "How to fill it in",
    "- One row per thing, from row 3. Row 1 holds the headings (hover over one for what to enter); row 2 "
    "the RDF property each column becomes (^ marks an inverse: the row is its object).",
    "- ID: a short key, unique in the whole workbook. Other rows name a row by its ID: a risk's 'AI system' "
    "is the system's ID. Several values in one cell are separated by ;.",
    "- Identifier: the identifier your registers use (R01, NC1), if any; a row with no ID is keyed by it.",
    "- Kind, and the columns with a drop-down, take one of the listed values (from the vocabulary). A column "
    "used only for some kinds says so in its note; leave it empty for the others.",
    "- Dates as dates or YYYY-MM-DD; a month alone as the text YYYY-MM (where the note allows it). "
    "Yes/No columns take Yes or No.",
    "- Clauses and controls by number: 6.1.2, A.6.2.4. Something outside the workbook by its IRI in angle "
    "brackets: <https://example.org/thing>.",
    "- IRI: optional. When empty, a row's IRI is the base it is read with, its kind and its ID "
    "(https://example.org/aims/risk-r01). An exported workbook fills it, so a re-import keeps the IRIs.",
    "- SoA: every Annex A control is listed; fill in applicability, justification, status and the SoA "
    "document. Add one row per own control. A row with only its control makes no entry.",
    "- The workbook is read whole or not at all: every problem is listed with its sheet, row and column.",
]


def _write_readme(ws: Any) -> None:
    for letter, width in zip("ABCD", (26, 24, 90, 40), strict=True):
        ws.column_dimensions[letter].width = width

    def cell(text: str, font: Font | None = None, wrap: bool | None = None) -> WriteOnlyCell:
        made = WriteOnlyCell(ws, text)
        if font is not None:
            made.font = font
        if wrap is not None:
            made.alignment = Alignment(wrap_text=wrap, vertical="top")
        return made

    title = "aims-graph workbook: an ISO/IEC 42001 AI management system in registers"
    ws.append([cell(title, Font(bold=True, size=14))])
    ws.append([])
    for r, text in enumerate(_README, 3):
        ws.append([cell(text, Font(bold=r == 3))])
    ws.append([])
    ws.append([cell(h, Font(bold=True)) for h in ("Sheet", "Column", "What to enter", "Property")])
    for sheet in SHEETS:
        ws.append([cell(sheet.title, Font(bold=True)), None, sheet.about])
        for col in columns(sheet):
            texts = (col.heading, describe(sheet, col), _property_text(sheet, col))
            ws.append([None, *(cell(text, wrap=c == 3) for c, text in enumerate(texts, 2))])


# ---------------------------------------------------------------------------------------------- export

# a row's facts but its types, which the queries by class give (a fifth fewer rows to read)
_OUT = (
    "SELECT ?s ?p ?o WHERE { ?s a ?class . "
    "OPTIONAL { ?s ?p ?o FILTER (?p != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>) } }"
)
_TYPED = "SELECT ?s WHERE { ?s a ?class }"
_IN = "SELECT ?s ?p ?o WHERE { ?s a ?class . ?o ?p ?s }"
_PART = "SELECT ?s ?part ?p ?o WHERE { ?s a ?class ; ?link ?part . ?part a ?partClass ; ?p ?o }"
Facts = dict[Node, dict[URIRef, list[Node]]]  # resource -> property -> values


def export(store: Store) -> bytes:
    """The workbook of the organisation in `store`, every row's IRI filled so that reading it back
    gives the same IRIs. WorkbookError when a value does not fit its column (two where it takes
    one, a blank node where only a row or an IRI can be named)."""
    found: dict[Node, list[tuple[Sheet, Kind]]] = {}  # the kinds of row each resource is, in SHEETS' order
    types: dict[Node, set[URIRef]] = {}  # of the classes the kinds name
    out: Facts = {}
    back: Facts = {}
    parts: dict[Node, Facts] = {}  # row -> its part nodes -> their facts
    for sheet in SHEETS:
        for kind in sheet.kinds:
            bindings = {"class": _expand(kind.classes[0])}
            for s in _select(store, _OUT, bindings, out):
                found.setdefault(s, []).append((sheet, kind))
                types.setdefault(s, set()).add(bindings["class"])
            for prop in {
                c.predicate(kind.slug) for c in sheet.columns if c.inverse and c.used_for(kind.slug)
            }:
                _select(store, _IN, {**bindings, "p": prop}, back)  # only what a column reads
            if sheet.part is not None:
                link, part = _expand(sheet.part.link), _expand(sheet.part.kind.classes[0])
                rows = store.select(_PART, {**bindings, "link": link, "partClass": part})
                for r in rows:
                    parts.setdefault(r["s"], {}).setdefault(r["part"], {}).setdefault(r["p"], []).append(
                        r["o"]
                    )  # type: ignore[arg-type]
    # a row of the kind whose classes it has most of (a FRIA is an impact assessment too), else the first
    classes = {k: {_expand(c) for c in k.classes} for s in SHEETS for k in s.kinds}
    for cls in set().union(*classes.values()) - {_expand(k.classes[0]) for k in classes}:
        rows = store.select(_TYPED, {"class": cls})
        for r in rows:
            types.setdefault(r["s"], set()).add(cls)
    owner = {s: max(kinds, key=lambda k: len(classes[k[1]] & types[s])) for s, kinds in found.items()}
    keys = _keys(owner, out)
    problems: list[Problem] = []
    sheets: dict[str, list[dict[str, Any]]] = {s.title: [] for s in SHEETS}
    soa: dict[str, dict[str, Any]] = {}
    annex_a = dict(vocab().controls)
    # each kind's columns that hold values, and their properties
    read = {
        k: [(c, c.predicate(k.slug)) for c in columns(s) if c.prop is not None and c.used_for(k.slug)]
        for s in SHEETS
        for k in s.kinds
    }
    for node, (sheet, kind) in owner.items():
        cells: dict[str, Any] = {"ID": keys[node], "Kind": kind_label(kind), "IRI": _iri_text(node)}
        part_facts: dict[URIRef, list[Node]] = {}
        if sheet.part is not None and node in parts:
            (part_node, part_facts), *more = parts[node].items()
            cells[sheet.part.heading] = _iri_text(part_node)
            if more:
                problems.append(
                    Problem(sheet.title, None, sheet.part.heading, "", _iri_text(node), "one treatment")
                )
        own, inverse = out.get(node, {}), back.get(node, {})
        for col, prop in read[kind]:
            facts = part_facts if col.part else inverse if col.inverse else own
            terms = list(dict.fromkeys(facts.get(prop, ())))
            try:
                cells[col.heading] = _cell(col, terms, owner, keys) if terms else None
            except _Bad as e:
                problems.append(Problem(sheet.title, None, col.heading, "", _iri_text(node), str(e)))
        if sheet.linkable:
            sheets[sheet.title].append(cells)
        elif cells.get("Control") in annex_a and cells["Control"] not in soa:
            soa[cells["Control"]] = cells
        else:  # own controls' entries, after Annex A, titled by their label (shown, not read)
            control = out.get(node, {}).get(_expand("aims:forControl"), [None])[0]
            cells["Title"] = next(iter(out.get(control, {}).get(RDFS.label, [])), None)  # type: ignore[arg-type]
            sheets[sheet.title].append(cells)
    if problems:
        raise WorkbookError(problems)
    for title, sheet_rows in sheets.items():
        order = {kind_label(k): i for i, k in enumerate(SHEET[title].kinds)}
        sheet_rows.sort(key=lambda c: (order[c["Kind"]], _natural(c.get("Control") or c["ID"])))
    sheets["SoA"] = _soa_rows(soa) + sheets["SoA"]
    return _workbook(sheets)


def _select(store: Store, query: str, bindings: dict[str, URIRef], into: Facts) -> set[Node]:
    """Run a query of ?s ?p ?o (the classes bound as terms); its facts added to `into`."""
    rows = store.select(query, bindings)  # type: ignore[arg-type]
    for r in rows:
        if "p" in r:  # else a row with no facts but its types
            into.setdefault(r["s"], {}).setdefault(r["p"], []).append(r["o"])  # type: ignore[arg-type]
    return {r["s"] for r in rows}


def _keys(owner: dict[Node, tuple[Sheet, Kind]], out: Facts) -> dict[Node, str]:
    """A readable key per row: its identifier, else the end of its IRI, else its kind and a number;
    never a clause or control number, which a reference would take for the catalogue's."""
    taken = set(vocab().requirements)
    identifier = _expand("dcterms:identifier")
    keys: dict[Node, str] = {}
    for node, (sheet, kind) in sorted(owner.items(), key=lambda item: str(item[0])):
        ids = out.get(node, {}).get(identifier, [])
        candidates = [str(ids[0])] if len(ids) == 1 and sheet.linkable else []
        if isinstance(node, URIRef):
            candidates.append(re.split(r"[/#]", str(node).rstrip("/#"))[-1])
        key = next(
            (c for c in candidates if c and c == c.strip() and not _KEY_CHARS.search(c) and c not in taken),
            "",
        )
        n = 0
        while not key or key in taken:
            n += 1
            key = f"{kind.slug}-{n}"
        taken.add(key)
        keys[node] = key
    return keys


def _cell(col: Col, terms: list[Node], owner: dict[Node, tuple[Sheet, Kind]], keys: dict[Node, str]) -> Any:
    """A column's values as the cell `read` takes back."""
    if len(terms) > 1 and not col.many:
        raise _Bad("one value (there are " + ", ".join(_iri_text(t) for t in terms) + ")")
    v = vocab()
    if col.type in (REF, ENUM):
        texts = []
        for term in terms:
            row = owner.get(term)
            if col.type == ENUM and term in _concepts(col.scheme):
                texts.append(v.labels[term])  # type: ignore[index]
            elif col.type == REF and row is not None and (ANY in col.to or row[1].slug in col.to):
                texts.append(keys[term])
            elif col.type == REF and term in v.numbers and (REQUIREMENT in col.to or CONTROL in col.to):
                texts.append(v.numbers[term])  # type: ignore[index]
            elif isinstance(term, URIRef):
                texts.append(f"<{term}>")
            else:
                raise _Bad(f"a row or an IRI (a blank node or literal, {term.n3()}, is named)")
        return "; ".join(sorted(texts, key=_natural) if len(texts) > 1 else texts)
    term = terms[0]
    value = term.toPython() if isinstance(term, Literal) else None
    if col.type == YESNO and isinstance(value, bool):
        return "Yes" if value else "No"
    if col.type == INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return value
    if col.type == DECIMAL and isinstance(value, Decimal):
        return float(value)
    if col.type in (DATE, MONTH) and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return str(term)  # text, a month, a date and time: as written


@cache
def _concepts(scheme: str) -> frozenset[URIRef]:
    """An ENUM column's concepts, for a membership test by hash (a row's every value is asked)."""
    return frozenset(vocab().options[scheme].values())


def _iri_text(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _natural(text: str) -> list[tuple[int, int, str]]:
    """A sort key that puts R2 before R10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", text)]
