"""Files a visitor hands the service (issue 18, items 3 and 5): a workbook that is a bomb or is
malformed is refused with a 400 and one problem, from POST /import and `aims import` alike, with
nothing written; downloads meant for spreadsheets do not carry live formulas.

Each bad workbook is built here from the template (every sheet present, so that only the planted
fault can be refused), one fault at a time, with zipfile and a few bytes patched by hand."""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile

import pytest
from flask.testing import FlaskClient

from service.cli import main
from service.http import create_app
from service.http.graphs import XLSX
from service.store.embedded import EmbeddedStore
from service.workbook import MAX_COLUMNS, MAX_PART_BYTES, MAX_PARTS, MAX_ROWS, WorkbookError, read, template

BASE = "https://example.org/import/"
RISKS = "Risks and treatments"


# ---------------------------------------------------------------- building bad workbooks


def parts(data: bytes) -> dict[str, bytes]:
    with ZipFile(BytesIO(data)) as archive:
        return {m.filename: archive.read(m) for m in archive.infolist()}


def rezip(files: dict[str, bytes]) -> bytes:
    out = BytesIO()
    with ZipFile(out, "w", ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def sheet_part(files: dict[str, bytes], title: str) -> str:
    """The zip part of the sheet titled `title` (workbook.xml names it, its rels give the part)."""
    rid = re.search(
        rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="(\w+)"', files["xl/workbook.xml"].decode()
    )
    assert rid is not None
    rels = files["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'<Relationship [^>]*Id="{rid[1]}"[^>]*/>', rels) or re.search(
        rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid[1]}"', rels
    )
    assert target is not None
    path = re.search(r'Target="([^"]+)"', target[0])[1]  # type: ignore[index]
    return path.lstrip("/") if path.startswith("/") else f"xl/{path}"


def with_sheet(change: Callable[[bytes], bytes], title: str = RISKS) -> bytes:
    files = parts(template())
    name = sheet_part(files, title)
    files[name] = change(files[name])
    return rezip(files)


def add_row(xml: str) -> Callable[[bytes], bytes]:
    return lambda sheet: sheet.replace(b"</sheetData>", xml.encode() + b"</sheetData>")


def patched(
    data: bytes, name: str, local: dict[int, tuple[str, int]], central: dict[int, tuple[str, int]]
) -> bytes:
    """`data` with fields of one member's local header and central directory entry overwritten:
    offset -> (struct format, value), offsets as in the ZIP specification (APPNOTE 4.3.7, 4.3.12)."""
    out = bytearray(data)
    with ZipFile(BytesIO(data)) as archive:
        start = archive.getinfo(name).header_offset
    for offset, (fmt, value) in local.items():
        struct.pack_into(fmt, out, start + offset, value)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46 : at + 46 + length] == name.encode():
            for offset, (fmt, value) in central.items():
                struct.pack_into(fmt, out, at + offset, value)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def risks_member(data: bytes) -> str:
    return sheet_part(parts(data), RISKS)


def method_99() -> bytes:
    """A sheet stored with compression method 99, which no reader knows."""
    data = template()
    return patched(data, risks_member(data), {8: ("<H", 99)}, {10: ("<H", 99)})


def encrypted() -> bytes:
    data = template()
    return patched(data, risks_member(data), {6: ("<H", 1)}, {8: ("<H", 1)})


def corrupt_deflate() -> bytes:
    """The deflate stream of a sheet overwritten at its start with 0xFF bytes: the first block's
    header reads BTYPE 11, which deflate reserves (RFC 1951 3.2.3). (In the middle of a stream
    the same bytes fall inside a block wherever the writer's blocks happen to end.)"""
    data = bytearray(template())
    with ZipFile(BytesIO(bytes(data))) as archive:
        info = archive.getinfo(risks_member(bytes(data)))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start : start + 16] = b"\xff" * 16
    return bytes(data)


def truncated_stream() -> bytes:
    """A sheet whose compressed size says half of what its stream needs: the stream ends early."""
    data = template()
    with ZipFile(BytesIO(data)) as archive:
        info = archive.getinfo(risks_member(data))
    half = info.compress_size // 2
    return patched(data, info.filename, {18: ("<I", half)}, {20: ("<I", half)})


def padded(part: str, size: int) -> Callable[[], bytes]:
    """The template with `part` made `size` bytes by white space after its XML (which compresses
    to almost nothing: a bomb)."""

    def build() -> bytes:
        files = parts(template())
        files[part] = files.get(part, b"<x/>") + b" " * (size - len(files.get(part, b"<x/>")))
        return rezip(files)

    return build


def many_parts() -> bytes:
    files = parts(template())
    files.update({f"xl/extra/{i}.txt": b"" for i in range(MAX_PARTS + 1)})
    return rezip(files)


def total_over() -> bytes:
    """Three parts of 18 MB each: each under MAX_PART_BYTES, 54 MB in all."""
    files = parts(template())
    files.update({f"xl/extra/{i}.xml": b"<x/>" + b" " * (18 * 1024 * 1024) for i in range(3)})
    return rezip(files)


ENTITY = '<!DOCTYPE worksheet [<!ENTITY e "boom">]>'
LAUGHS = (
    '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


def with_doctype(doctype: str, part: str | None = None) -> Callable[[], bytes]:
    def build() -> bytes:
        files = parts(template())
        name = part or sheet_part(files, RISKS)
        xml = files[name]
        head, sep, rest = xml.partition(b"?>")  # after the XML declaration, before the root
        files[name] = head + sep + doctype.encode() + rest if sep else doctype.encode() + xml
        return rezip(files)

    return build


# Each case: the file, and words the one problem must say. Every one gave a 500 over HTTP and a
# traceback from `aims import` before (or was read, or took minutes), as issue 18 found.
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    # one cell at the last cell Excel has: openpyxl walked every cell up to it
    "a cell at XFD1048576": (
        lambda: with_sheet(
            add_row('<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
        ),
        "row 1,048,576",
    ),
    "a cell at row 99,999,999, its row unnumbered": (
        lambda: with_sheet(add_row('<row><c r="A99999999" t="inlineStr"><is><t>x</t></is></c></row>')),
        "A99999999",
    ),
    "a row past the row limit": (
        lambda: with_sheet(
            add_row(
                f'<row r="{MAX_ROWS + 1}"><c r="B{MAX_ROWS + 1}" t="inlineStr"><is><t>x</t></is></c></row>'
            )
        ),
        f"row {MAX_ROWS:,}",
    ),
    "a column past the column limit": (
        lambda: with_sheet(add_row('<row r="3"><c r="IW3" t="inlineStr"><is><t>x</t></is></c></row>')),
        "column IV",
    ),
    "cells merged over the whole sheet": (
        lambda: with_sheet(
            lambda s: s.replace(
                b"</worksheet>",
                b'<mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells></worksheet>',
            )
        ),
        "A1:XFD1048576",
    ),
    "a part unpacking beyond the part limit": (
        padded("xl/worksheets/sheet1.xml", MAX_PART_BYTES + 1),
        "in one part",
    ),
    "parts unpacking beyond the total limit": (total_over, "in all parts"),
    "more parts than the limit": (many_parts, "parts"),
    "an unknown compression method": (method_99, "compression method 99"),
    "an encrypted part": (encrypted, "encrypted"),
    "a corrupt deflate stream": (corrupt_deflate, "XLSX workbook"),
    "a truncated deflate stream": (truncated_stream, "XLSX workbook"),
    "a truncated sheet": (lambda: with_sheet(lambda s: s[: len(s) // 2]), "well-formed XML"),
    "bad XML in a sheet": (
        lambda: with_sheet(lambda s: s.replace(b"</sheetData>", b"<row></sheetData>")),
        "well-formed XML",
    ),
    "an entity in a sheet": (with_doctype(ENTITY), "DTD"),
    "nested entities in the styles": (
        with_doctype(LAUGHS.replace("sst", "styleSheet"), "xl/styles.xml"),
        "DTD",
    ),
    "an entity in the content types": (
        with_doctype(LAUGHS.replace("sst", "Types"), "[Content_Types].xml"),
        "DTD",
    ),
    "an external entity in the workbook part": (
        with_doctype('<!DOCTYPE workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "xl/workbook.xml"),
        "DTD",
    ),
}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return {name: build() for name, (build, _) in CASES.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_workbook_is_one_problem_named(files: dict[str, bytes], case: str) -> None:
    started = time.monotonic()
    with pytest.raises(WorkbookError) as caught:
        read(files[case], BASE)
    assert time.monotonic() - started < 10  # seconds, on a busy two-core machine; it was minutes
    (problem,) = caught.value.errors
    assert CASES[case][1] in str(problem), str(problem)


@pytest.fixture(scope="module")
def served() -> tuple[FlaskClient, EmbeddedStore]:
    store = EmbeddedStore()
    return create_app({"tokens": "ed=editor"}, store=store).test_client(), store


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_workbook_over_http_is_a_400_and_nothing_is_written(
    files: dict[str, bytes], served: tuple[FlaskClient, EmbeddedStore], case: str
) -> None:
    client, store = served
    before = store.count()
    answer = client.post(
        "/import", data=files[case], headers={"Authorization": "Bearer ed", "Content-Type": XLSX}
    )
    body = answer.get_json(force=True)
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json", body
    assert body["type"].endswith("/workbook") and "nothing was imported" in body["detail"]
    assert len(body["errors"]) == 1 and CASES[case][1] in body["errors"][0]
    assert store.count() == before


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_workbook_on_the_command_line_is_exit_2_without_a_traceback(
    files: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    workbook, data = tmp_path / "bad.xlsx", tmp_path / "store"
    workbook.write_bytes(files[case])
    assert main(["import", "--data", str(data), str(workbook)]) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    # one line: the problem, and that nothing was imported
    assert len(lines) == 1 and CASES[case][1] in lines[0] and "nothing was imported" in lines[0], err
    assert "Traceback" not in err
    assert not data.exists()  # the store is opened only once the workbook has been read


def test_a_claimed_dimension_is_not_believed() -> None:
    """A sheet whose <dimension> claims A1:XFD1048576 (openpyxl's read-only reader would pad every
    row to it) reads as the same nothing the template reads as, at once."""
    claims = with_sheet(
        lambda s: (
            re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', s)
            if b"<dimension" in s
            else s.replace(b"<sheetData", b'<dimension ref="A1:XFD1048576"/><sheetData', 1)
        )
    )
    assert b"XFD1048576" in parts(claims)[sheet_part(parts(claims), RISKS)]
    started = time.monotonic()
    assert len(read(claims, BASE)) == len(read(template(), BASE))
    assert time.monotonic() - started < 10


def test_limits_leave_room_for_a_large_organisation() -> None:
    """The limits are not reached by an ordinary workbook: the template, and a sheet filled to the
    last row and column allowed, read (the template reads as no triples: an empty workbook)."""
    assert len(read(template(), BASE)) == 0
    assert MAX_COLUMNS == 256  # IV, the cell below
    edge = with_sheet(
        add_row(f'<row r="{MAX_ROWS}"><c r="IV{MAX_ROWS}" t="inlineStr"><is><t>note</t></is></c></row>')
    )
    assert len(read(edge, BASE)) == 0  # a note right of the columns read, on the last row allowed


def test_the_corrupt_case_is_a_corrupt_stream() -> None:
    """So that the cases above test what they say: zipfile itself fails on the stream."""
    data = corrupt_deflate()
    with ZipFile(BytesIO(data)) as archive, pytest.raises(zlib.error):
        archive.read(risks_member(data))


# ---------------------------------------------------------------- spreadsheet-safe downloads (item 5)

FORMULA = '=HYPERLINK("http://x","y")'
# A risk and an SoA entry whose text a spreadsheet would run (OWASP: text beginning = + - @ tab
# CR), a negative number typed as a number, and an own control whose identifier starts with @.
FORMULAS = f"""
@prefix ex: <https://example.org/f/> .
@prefix aims: <https://w3id.org/aims#> .
@prefix iso42001: <https://w3id.org/aims/iso42001#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:risk-f a aims:Risk ; dcterms:identifier "R1" ; rdfs:label {FORMULA!r} ;
    aims:likelihood -2 ; aims:severity 3 .
ex:soa-f a aims:SoAEntry ; aims:forControl iso42001:A.2.2 ; aims:isApplicable true ;
    aims:justification "-1+1" .
ex:own-f a aims:OrganisationControl ; dcterms:identifier "@SUM(1)" ; rdfs:label "\\tTabbed" .
""".replace("'", '"').replace('"=HYPERLINK("http://x","y")"', '"=HYPERLINK(\\"http://x\\",\\"y\\")"')


@pytest.fixture(scope="module")
def formulas() -> EmbeddedStore:
    from rdflib import URIRef

    from service.store import FORMATS

    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load(FORMULAS.encode(), FORMATS["turtle"], URIRef("https://example.org/f/graph"))
    return store


def csv_rows(text: str) -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader(text.splitlines()))


def test_register_and_soa_csv_neutralise_formulas(formulas: EmbeddedStore) -> None:
    client = create_app({}, store=formulas).test_client()
    (risk,) = csv_rows(client.get("/risks", query_string={"format": "csv"}).get_data(as_text=True))
    assert risk["label"] == "'" + FORMULA  # a leading ': the spreadsheet shows the text, runs nothing
    assert risk["likelihood"] == "-2"  # xsd:integer -2 is a number, written as one
    assert risk["id"] == "R1"  # text that is no formula is as it was
    soa = csv_rows(client.get("/soa", query_string={"format": "csv"}).get_data(as_text=True))
    (entry,) = [r for r in soa if r["notation"] == "A.2.2"]
    assert entry["justification"] == "'-1+1"  # text, though it looks like arithmetic
    (own,) = [r for r in soa if r["own"] == "true"]
    assert own["notation"] == "'@SUM(1)" and own["title"] == "'\tTabbed"


def test_sparql_csv_results_are_data_and_left_as_they_are(formulas: EmbeddedStore) -> None:
    """text/csv from a named query (or /sparql) is a SPARQL results format: values as they are."""
    client = create_app({}, store=formulas).test_client()
    answer = client.get("/queries/register-risks", headers={"Accept": "text/csv"})
    (risk,) = csv_rows(answer.get_data(as_text=True))
    assert risk["label"] == FORMULA


def test_gap_analysis_csv_neutralises_formulas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "own.ttl"
    data.write_text(FORMULAS)
    assert main(["gap", "--format", "csv", str(data)]) == 0
    rows = csv_rows(capsys.readouterr().out)
    (own,) = [r for r in rows if r["group"] == "own"]
    assert own["id"] == "'@SUM(1)"
    assert all(r["findings"].isdigit() for r in rows)  # counts are numbers, untouched


def test_workbook_export_marks_formula_text_and_reads_it_back_unchanged(formulas: EmbeddedStore) -> None:
    """In the XLSX, text that looks like a formula is a text cell with Excel's quote prefix (a
    style: the cell's text has no quote in it); a negative number stays a number. Read back, the
    label is the same text."""
    from openpyxl import load_workbook
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDFS

    from service.workbook import export

    data = export(formulas)
    ws = load_workbook(BytesIO(data))[RISKS]
    heads = {c.value: c.column for c in ws[1]}
    label, likelihood = ws.cell(3, heads["Name"]), ws.cell(3, heads["Likelihood"])
    assert (label.value, label.data_type, label.quotePrefix) == (FORMULA, "s", True)
    assert (likelihood.value, likelihood.data_type, likelihood.quotePrefix) == (-2, "n", False)
    name = ws.cell(3, heads["ID"])
    assert (name.value, name.quotePrefix) == ("R1", False)
    graph = read(data, "https://example.org/f/")
    risk = URIRef("https://example.org/f/risk-f")
    assert set(graph.objects(risk, RDFS.label)) == {Literal(FORMULA)}
    assert graph.value(risk, URIRef("https://w3id.org/aims#likelihood")).toPython() == -2
