"""Cells meant for people: text a spreadsheet program would run as a formula is neutralised."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rdflib import Literal

# Text a spreadsheet program runs as a formula when it begins with one of these (OWASP, "CSV
# Injection"): in files meant for people such text is neutralised, in XLSX and CSV alike.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def spreadsheet_cell(value: Any) -> str:
    """A value for a CSV cell meant for people (registers, the SoA, the gap analysis; not SPARQL
    results, which are data): text a spreadsheet would run as a formula gets a leading ' (OWASP's
    advice; spreadsheets show the text without it). A number, or a literal the data types as a
    number, is left as written: -5 stays a number."""
    number = value.value if isinstance(value, Literal) else value
    if isinstance(number, int | float | Decimal) and not isinstance(number, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if formula_like(text) else text
