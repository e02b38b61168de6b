"""The spreadsheet route: an XLSX workbook a governance architect fills in, read into RDF in the
vocabulary, and written back from a store.

One table, SHEETS, says what each sheet holds: its kinds of row (classes), its columns and the
property each becomes; it is read from the form shapes (shapes/forms/forms.ttl), so a property
shape added there is a form field and a column alike. `template`, `read` and `export` all follow
it: the column is written, read and documented in the "Read me" sheet. Rows link to each other
by ID; a reading is all or nothing, and every problem is named by sheet, row and column.

The package, one module per concern: sheets (the table), vocab (what it takes from the ontology,
and a column in words), errors (Problem, WorkbookError), cells (formulas neutralised in cells meant
for people), safety (the zip checked before openpyxl reads it), read (a filled workbook into RDF)
and write (the template and the export). Here: the names the rest of the project uses.
"""

from __future__ import annotations

from .cells import spreadsheet_cell
from .errors import WorkbookError
from .read import read
from .safety import MAX_COLUMNS, MAX_PART_BYTES, MAX_PARTS, MAX_ROWS
from .sheets import (
    ANY,
    CONTROL,
    DATE,
    DATETIME,
    DECIMAL,
    ENUM,
    INTEGER,
    KINDS,
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
from .vocab import kind_label, vocab
from .write import export, template

__all__ = [
    "ANY", "CONTROL", "DATE", "DATETIME", "DECIMAL", "ENUM", "INTEGER", "KINDS",
    "MAX_COLUMNS", "MAX_PARTS", "MAX_PART_BYTES", "MAX_ROWS", "MONTH", "REF",
    "REQUIREMENT", "SHEET", "SHEETS", "TEXT", "YESNO", "Col", "Kind", "Sheet", "WorkbookError",
    "_expand", "columns", "export", "kind_label", "read", "spreadsheet_cell", "template", "vocab",
]  # fmt: skip
