"""A workbook's problems: each named by sheet, row and column, all of them in one WorkbookError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a workbook: where (sheet, row, column heading and letter), the value
    found, and what was expected."""

    sheet: str
    row: int | None
    column: str
    letter: str
    value: Any
    expected: str

    def __str__(self) -> str:
        where = [f"sheet {self.sheet!r}"] if self.sheet else []
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(
                f"column {self.letter} ({self.column})" if self.letter else f"column {self.column!r}"
            )
        value = "" if self.value is None else f" {self.value!r}:"
        return f"{', '.join(where)}:{value} expected {self.expected}"


class WorkbookError(ValueError):
    """A workbook that cannot be read, or a store that cannot be written as one: every problem."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the workbook:\n" + "\n".join(f"- {e}" for e in errors))


class _Bad(Exception):
    """A value is not what its column takes; the message says what was expected."""
