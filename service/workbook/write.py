"""Writing a workbook: the template to fill in, and the export of a store's organisation, every
row's IRI filled so that reading it back gives the same IRIs."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS
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
    """The workbook with `rows` (sheet title -> rows of heading -> cell value)."""
    wb = Workbook()
    readme = wb.active
    readme.title = "Read me"
    _write_readme(readme)
    lists = wb.create_sheet("Lists")
    lists.sheet_state = "hidden"  # the drop-downs' values, where list validations point
    formulas: dict[str, str] = {}

    def listed(name: str, values: list[str]) -> str:
        if name not in formulas:
            column = get_column_letter(len(formulas) + 1)
            lists[f"{column}1"] = name
            for i, value in enumerate(values, 2):
                lists[f"{column}{i}"].value = value
                lists[f"{column}{i}"].data_type = "s"
            formulas[name] = f"Lists!${column}$2:${column}${len(values) + 1}"
        return formulas[name]

    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.title)
        cols = columns(sheet)
        data = rows.get(sheet.title) or (_soa_rows({}) if sheet.title == "SoA" else [])
        last = max(1000, FIRST_ROW + len(data) + 500)
        for i, col in enumerate(cols, 1):
            letter = get_column_letter(i)
            cell = ws.cell(1, i, col.heading)
            cell.font, cell.fill = _HEAD, _HEAD_FILL
            cell.comment = Comment(describe(sheet, col), "aims-graph", width=320, height=160)
            ws.cell(2, i, _property_text(sheet, col)).font = _PROP
            ws.column_dimensions[letter].width = 14 if col.type in (KIND, YESNO, INTEGER, DECIMAL) else 28
            if col.type in (TEXT, MONTH, DATETIME, REF, KEY, IRI, PART_IRI):
                ws.column_dimensions[letter].number_format = "@"  # so 1.0 and 2026-01 stay as typed
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
                ws.add_data_validation(dv)
        for r, row in enumerate(data, FIRST_ROW):
            for i, col in enumerate(cols, 1):
                value = row.get(col.heading)
                if value is None:
                    continue
                cell = ws.cell(r, i, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text stays text, never a formula whatever it starts with
                    if formula_like(value):  # and stays so when edited: Excel's ' prefix, as a style
                        cell.quotePrefix = True  # (the text itself is unchanged, and reads back as it was)
                elif isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = f"A{FIRST_ROW}"
    wb.move_sheet("Lists", offset=len(wb.sheetnames))
    out = BytesIO()
    wb.save(out)
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
    ws["A1"] = "aims-graph workbook: an ISO/IEC 42001 AI management system in registers"
    ws["A1"].font = Font(bold=True, size=14)
    for r, text in enumerate(_README, 3):
        ws.cell(r, 1, text).font = Font(bold=r == 3)
    r = len(_README) + 4
    for c, heading in enumerate(("Sheet", "Column", "What to enter", "Property"), 1):
        ws.cell(r, c, heading).font = Font(bold=True)
    for sheet in SHEETS:
        r += 1
        ws.cell(r, 1, sheet.title).font = Font(bold=True)
        ws.cell(r, 3, sheet.about)
        for col in columns(sheet):
            r += 1
            for c, text in enumerate((col.heading, describe(sheet, col), _property_text(sheet, col)), 2):
                ws.cell(r, c, text).alignment = Alignment(wrap_text=c == 3, vertical="top")
    for letter, width in zip("ABCD", (26, 24, 90, 40), strict=True):
        ws.column_dimensions[letter].width = width


# ---------------------------------------------------------------------------------------------- export

_OUT = "SELECT ?s ?p ?o WHERE { ?s a ?class ; ?p ?o }"
_IN = "SELECT ?s ?p ?o WHERE { ?s a ?class . ?o ?p ?s }"
_PART = "SELECT ?s ?part ?p ?o WHERE { ?s a ?class ; ?link ?part . ?part a ?partClass ; ?p ?o }"
Facts = dict[Node, dict[URIRef, list[Node]]]  # resource -> property -> values


def export(store: Store) -> bytes:
    """The workbook of the organisation in `store`, every row's IRI filled so that reading it back
    gives the same IRIs. WorkbookError when a value does not fit its column (two where it takes
    one, a blank node where only a row or an IRI can be named)."""
    found: dict[Node, list[tuple[Sheet, Kind]]] = {}  # the kinds of row each resource is, in SHEETS' order
    out: Facts = {}
    back: Facts = {}
    parts: dict[Node, Facts] = {}  # row -> its part nodes -> their facts
    for sheet in SHEETS:
        for kind in sheet.kinds:
            bindings = {"class": _expand(kind.classes[0])}
            for s in _select(store, _OUT, bindings, out):
                found.setdefault(s, []).append((sheet, kind))
            if any(c.inverse for c in sheet.columns):
                _select(store, _IN, bindings, back)
            if sheet.part is not None:
                link, part = _expand(sheet.part.link), _expand(sheet.part.kind.classes[0])
                rows = store.select(_PART, {**bindings, "link": link, "partClass": part})
                for r in rows:
                    parts.setdefault(r["s"], {}).setdefault(r["part"], {}).setdefault(r["p"], []).append(
                        r["o"]
                    )  # type: ignore[arg-type]
    # a row of the kind whose classes it has most of (a FRIA is an impact assessment too), else the first
    owner = {
        s: max(kinds, key=lambda k: len({_expand(c) for c in k[1].classes} & set(out[s].get(RDF.type, []))))
        for s, kinds in found.items()
    }
    keys = _keys(owner, out)
    problems: list[Problem] = []
    sheets: dict[str, list[dict[str, Any]]] = {s.title: [] for s in SHEETS}
    soa: dict[str, dict[str, Any]] = {}
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
        for col in (c for c in columns(sheet) if c.prop is not None and c.used_for(kind.slug)):
            facts = part_facts if col.part else (back if col.inverse else out).get(node, {})
            terms = list(dict.fromkeys(facts.get(col.predicate(kind.slug), [])))
            try:
                cells[col.heading] = _cell(col, terms, owner, keys) if terms else None
            except _Bad as e:
                problems.append(Problem(sheet.title, None, col.heading, "", _iri_text(node), str(e)))
        if sheet.linkable:
            sheets[sheet.title].append(cells)
        elif cells.get("Control") in dict(vocab().controls) and cells["Control"] not in soa:
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
            if col.type == ENUM and term in v.options[col.scheme].values():
                texts.append(v.labels[term])  # type: ignore[index]
            elif col.type == REF and row is not None and (ANY in col.to or row[1].slug in col.to):
                texts.append(keys[term])
            elif col.type == REF and term in v.numbers and (REQUIREMENT in col.to or CONTROL in col.to):
                texts.append(v.numbers[term])  # type: ignore[index]
            elif isinstance(term, URIRef):
                texts.append(f"<{term}>")
            else:
                raise _Bad(f"a row or an IRI (a blank node or literal, {term.n3()}, is named)")
        return "; ".join(sorted(texts, key=_natural))
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


def _iri_text(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _natural(text: str) -> list[tuple[int, int, str]]:
    """A sort key that puts R2 before R10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", text)]
