"""The checks on a workbook's zip before openpyxl reads any of it, and openpyxl's errors on what
passed them as a WorkbookError."""

from __future__ import annotations

import re
import zlib
from io import BytesIO
from typing import Any
from xml.parsers import expat
from zipfile import ZIP_DEFLATED, ZIP_STORED, BadZipFile, ZipFile, ZipInfo

from openpyxl.utils import get_column_letter

from .errors import Problem, WorkbookError

# What a workbook may hold, checked on its zip before openpyxl reads any of it: openpyxl trusts
# what the parts say (a sheet's size, its last cell) and keeps what it reads in memory. The bench's
# organisation of 1,000 AI systems exports to 16.6 MB of XML in all, its largest sheet 4.3 MB with
# 5,002 rows: these leave three to ten times that, and refuse a bomb (a 13 MB file of a 167 MB
# sheet, one cell at XFD1048576) before anything is unpacked.
MAX_PARTS = 1_000  # files in the zip; the template has about 40
MAX_PART_BYTES = 20 * 1024 * 1024  # one part unpacked, as the zip declares it (zipfile stops there)
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # all parts unpacked
MAX_ROWS = 50_000  # the last row a sheet may name (its claimed dimension is not read)
MAX_COLUMNS = 256  # the last column (IV, the old .xls width); the template has under 40
_CHUNK = 1 << 20
_CELL = re.compile(r"\$?([A-Za-z]+)\$?(\d+)")
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships id"


def _openpyxl(call: Any) -> Any:
    """`call()` of openpyxl on a checked archive; whatever it raises on a part it cannot make sense
    of (KeyError, TypeError, ValueError... there is no one class) is a WorkbookError."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001 - openpyxl's errors on malformed parts have no common class
        detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise WorkbookError(
            [Problem("", None, "", "", None, f"an XLSX workbook openpyxl can read ({detail})")]
        ) from None


def _check_archive(data: bytes) -> None:
    """Refuse, before openpyxl reads it, a workbook it could not read safely or at all: too many
    or too large parts, a compression method other than stored or deflate (what spreadsheet
    programs write), encryption, a corrupt or truncated stream, XML that is not well formed or has
    a DTD (entities could expand without bound, as for RDF/XML), a sheet naming a row or column
    beyond MAX_ROWS or MAX_COLUMNS. WorkbookError names the part, or the sheet."""

    def refuse(found: str | None, expected: str, sheet: str = "") -> None:
        raise WorkbookError([Problem(sheet, None, "", "", found, expected)])

    if data.count(b"PK\x01\x02") > MAX_PARTS:  # central directory entries, counted before zipfile lists them
        refuse(f"more than {MAX_PARTS:,} parts", f"at most {MAX_PARTS:,} parts")
    try:
        with ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
            for m in members:
                if m.compress_type not in (ZIP_STORED, ZIP_DEFLATED):
                    refuse(f"{m.filename}: compression method {m.compress_type}", "stored or deflated parts")
                if m.flag_bits & 0x1:
                    refuse(f"{m.filename}: encrypted", "parts that are not encrypted")
                if m.file_size > MAX_PART_BYTES:
                    refuse(
                        f"{m.filename}: {m.file_size:,} bytes unpacked",
                        f"at most {MAX_PART_BYTES:,} bytes in one part",
                    )
            total = sum(m.file_size for m in members)
            if total > MAX_UNPACKED_BYTES:
                refuse(f"{total:,} bytes unpacked", f"at most {MAX_UNPACKED_BYTES:,} bytes in all parts")
            sheets: dict[str, str] = {}  # relationship id -> sheet title, from the workbook part
            targets: dict[str, dict[str, str]] = {}  # rels part -> relationship id -> part
            beyond: dict[str, tuple[str, str]] = {}  # sheet part -> what it names beyond the limits
            for m in members:
                if not m.filename.lower().endswith(".vml"):  # openpyxl never parses VML, which may be loose
                    _check_part(archive, m, sheets, targets, beyond)
    except WorkbookError:
        raise
    except (BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError, zlib.error) as e:
        refuse(None, f"an XLSX workbook ({e or type(e).__name__})")
    if beyond:
        titles = {
            part: sheets[rid] for rels in targets.values() for rid, part in rels.items() if rid in sheets
        }
        part, (found, expected) = next(iter(beyond.items()))
        refuse(found, expected, titles.get(part, part))


def _check_part(
    archive: ZipFile, member: ZipInfo, sheets: dict[str, str], targets: dict[str, dict[str, str]],
    beyond: dict[str, tuple[str, str]],
) -> None:  # fmt: skip
    """One part of the zip read through expat, unpacked a chunk at a time (so a corrupt stream
    and a wrong checksum are found here too); what the workbook and rels parts say is gathered."""
    name = member.filename
    folder, _, file = name.rpartition("/")
    owner = f"{folder.removesuffix('_rels').rstrip('/')}/{file.removesuffix('.rels')}".lstrip("/")
    parser = expat.ParserCreate(namespace_separator=" ")
    state: dict[str, Any] = {"root": "", "row": 0, "column": 0, "stop": False}

    def dtd(*_: Any) -> None:
        raise WorkbookError([Problem("", None, "", "", f"{name}: a DTD (<!DOCTYPE>) or entity declaration",
                                     "XML without a DTD: entities could expand without bound")])  # fmt: skip

    def too_far(row: int, column: int, what: str) -> None:
        if row > MAX_ROWS or column > MAX_COLUMNS:
            last = get_column_letter(MAX_COLUMNS)
            beyond.setdefault(
                name, (what, f"nothing beyond row {MAX_ROWS:,} or column {last} ({last}{MAX_ROWS})")
            )
            state["stop"] = True

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(" ")[2]
        if not state["root"]:
            state["root"] = local
        root = state["root"]
        if root == "workbook" and local == "sheet" and _RELS in attrs:
            sheets[attrs[_RELS]] = attrs.get("name", "")
        elif root == "Relationships" and local == "Relationship" and "Id" in attrs and "Target" in attrs:
            target = attrs["Target"]
            base = owner.rpartition("/")[0]
            part = target.lstrip("/") if target.startswith("/") else f"{base}/{target}".lstrip("/")
            targets.setdefault(name, {})[attrs["Id"]] = _normal(part)
        elif root != "worksheet":
            return
        elif local == "mergeCell":  # openpyxl makes a cell for each cell merged (the dimension it ignores)
            for ref in attrs.get("ref", "").split(":"):
                if cell := _CELL.fullmatch(ref):
                    too_far(int(cell[2]), _column(cell[1]), f"cells merged over {attrs['ref']}")
        elif local == "row":
            state["row"] = int(attrs["r"]) if attrs.get("r", "").isdigit() else state["row"] + 1
            state["column"] = 0
            too_far(state["row"], 0, f"row {state['row']:,}")
        elif local == "c":
            cell = _CELL.fullmatch(attrs.get("r", ""))
            state["column"] = _column(cell[1]) if cell else state["column"] + 1
            too_far(
                int(cell[2]) if cell else state["row"],
                state["column"],
                f"a cell at {attrs.get('r') or 'column ' + str(state['column'])}",
            )

    parser.StartDoctypeDeclHandler = dtd
    parser.EntityDeclHandler = dtd
    parser.StartElementHandler = start
    try:
        with archive.open(member) as stream:
            chunk = stream.read(_CHUNK)
            # what is not XML (an image, printer settings) is only unpacked, which checks its stream
            utf16 = chunk.startswith((b"\xff\xfe", b"\xfe\xff"))
            xml = utf16 or chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
            while chunk and not state["stop"]:
                if xml:
                    parser.Parse(chunk, False)
                chunk = stream.read(_CHUNK)
            if xml and not state["stop"]:
                parser.Parse(b"", True)
    except expat.ExpatError as e:
        raise WorkbookError([Problem("", None, "", "", f"{name}, line {e.lineno}", f"well-formed XML ({expat.ErrorString(e.code)})")]) from None  # fmt: skip


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _normal(part: str) -> str:
    """A part's name with ./ and ../ resolved, as the zip lists it."""
    out: list[str] = []
    for piece in part.split("/"):
        if piece == "..":
            out = out[:-1]
        elif piece not in ("", "."):
            out.append(piece)
    return "/".join(out)
