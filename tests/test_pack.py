"""The audit pack (issue 20, item 5): `aims pack` and GET /pack give a ZIP with the PDF, the
workbook, TriG, OSCAL, the evidence files the graph names and a manifest of them all. On the example
organisation (examples/*.ttl) with one uploaded evidence file, a snapshot taken on 2026-11-20, and
the three changes of tests/test_snapshots.py made after it (R01 loses its owner, an evidence item
expires, the AI objectives register is deleted)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest
from flask.testing import FlaskClient

from service import __version__, validation
from service.cli import main
from service.http import create_app
from service.store.embedded import EmbeddedStore

from .conftest import EXAMPLE_FILES, load_example
from .test_snapshots import CHANGES, DAY, EX

ADMIN = {"Authorization": "Bearer pack-admin"}
EDITOR = {"Authorization": "Bearer pack-editor"}
READER = {"Authorization": "Bearer pack-reader"}
JSON = {"Accept": "application/json"}
EVIDENCE = EX + "ev-raci"  # controls.ttl: an aims:Evidence, which a file may be uploaded for
UPLOADED = b"%PDF-1.4 the RACI matrix, signed\n" + bytes(range(256)) * 8  # binary, 2,081 bytes


@dataclass
class Pack:
    raw: bytes
    entries: dict[str, bytes]
    manifest: dict[str, object]
    text: str  # the PDF's text as pypdf reads it, whitespace runs made one space


def read_pack(raw: bytes) -> Pack:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert z.testzip() is None  # every entry's CRC holds
        entries = {name: z.read(name) for name in z.namelist()}
    pdf = pypdf.PdfReader(io.BytesIO(entries["audit-pack.pdf"]))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    return Pack(raw, entries, json.loads(entries["manifest.json"]), text)


@dataclass
class Packs:
    client: FlaskClient
    snapshot: Pack  # /pack?snapshot=stage-2 before the changes
    again: Pack  # the same after the changes
    folder: Path


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Packs:
    folder = tmp_path_factory.mktemp("pack") / "files"
    app = create_app(
        {"tokens": "pack-admin=admin,pack-editor=editor,pack-reader=reader", "files_dir": folder},
        store=load_example(EmbeddedStore()),
    )
    client = app.test_client()
    sent = client.post(
        "/files",
        data={"for": EVIDENCE, "file": (io.BytesIO(UPLOADED), "RACI signed.pdf")},
        headers=EDITOR,
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    taken = client.post("/snapshots", json={"name": "stage-2", "as_of": DAY}, headers=ADMIN)
    assert taken.status_code == 201, taken.get_data(as_text=True)
    first = client.get("/pack?snapshot=stage-2", headers=READER)  # a reader may fetch the pack
    assert first.status_code == 200, first.get_data(as_text=True)[:500]
    assert first.mimetype == "application/zip"
    assert first.headers["Content-Disposition"] == 'attachment; filename="audit-pack-stage-2-2026-11-20.zip"'
    for change in CHANGES:
        done = client.post("/sparql", data={"update": change}, headers=EDITOR)
        assert done.status_code == 204, done.get_data(as_text=True)
    # a snapshot never changes, so /pack keeps its pack once made (the pages' cache): forgotten
    # here, so that the second pack is made again, from the snapshot, after the changes
    app.extensions["aims"].page_cache.clear()
    again = client.get("/pack?snapshot=stage-2", headers=READER)
    assert again.status_code == 200, again.get_data(as_text=True)[:500]
    return Packs(client, read_pack(first.data), read_pack(again.data), folder)


def section(text: str, start: str, end: str | None) -> str:
    """The PDF's text from the heading `start` to the heading `end` (None: the last section): each
    section is named once in the table of contents first, so it starts at its second appearance
    ("Contents" at its first)."""
    begin = text.index(start) if start == "Contents" else text.index(start, text.index(start) + 1)
    return text[begin : text.index(end, text.index(end) + 1) if end else len(text)]


def test_the_manifest_gives_the_digest_and_size_of_every_file_in_the_pack(packs: Packs) -> None:
    pack = packs.snapshot
    listed = {f["path"]: f for f in pack.manifest["files"]}  # type: ignore[attr-defined]
    # every entry but the manifest itself is listed, and nothing else is
    assert set(listed) == set(pack.entries) - {"manifest.json"}
    for name, data in pack.entries.items():
        if name != "manifest.json":
            assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest(), name
            assert listed[name]["size"] == len(data), name
    # what the brief asks the pack to hold, by name (service/pack.py)
    assert {"audit-pack.pdf", "data/workbook.xlsx", "data/organisation.trig"} <= set(listed)
    assert "data/oscal-component-definition.json" in listed
    assert pack.manifest["as_of"] == DAY  # the snapshot's day: it was taken with as_of 2026-11-20
    assert pack.manifest["aims-graph"] == __version__
    assert pack.manifest["snapshot"]["name"] == "stage-2"  # type: ignore[index]
    assert pack.manifest["left_out"] == []  # the one file the graph names is held
    # the workbook and OSCAL are whole documents, not empty: they read back
    assert json.loads(pack.entries["data/oscal-component-definition.json"])["component-definition"]
    assert zipfile.ZipFile(io.BytesIO(pack.entries["data/workbook.xlsx"])).testzip() is None


def test_the_pdf_holds_the_soa_annex_a_controls_in_the_standards_order(packs: Packs) -> None:
    soa = packs.client.get("/soa?snapshot=stage-2", headers={**READER, **JSON}).get_json()
    annex_a = [r["notation"] for r in soa if not r.get("own")]
    # ISO/IEC 42001 Annex A has 38 controls (A.2.2 to A.10.4); the SoA lists them in its order
    assert len(annex_a) == 38 and annex_a[0] == "A.2.2" and annex_a[-1] == "A.10.4"
    text = section(packs.snapshot.text, "Statement of Applicability", "Risk register")
    at = 0
    for notation in annex_a:  # each found after the one before it: the same order as the SoA
        found = re.compile(rf"(?<![\d.]){re.escape(notation)}(?![\d])").search(text, at)
        assert found is not None, f"{notation} not in the SoA section after position {at}"
        at = found.end()
    # the cover names the organisation, the snapshot and its day
    cover = packs.snapshot.text[: packs.snapshot.text.index("Contents")]
    assert "Aurora Lending" in cover and "stage-2" in cover and DAY in cover


def test_the_pdf_holds_every_risk_in_the_register_and_its_trace_with_its_verdict(packs: Packs) -> None:
    risks = packs.client.get("/risks?snapshot=stage-2", headers={**READER, **JSON}).get_json()
    found = {r["risk"]: (r["id"], r["label"]) for r in risks}
    assert len(found) == 18  # risks.ttl: R01 to R18, each an aims:Risk with an identifier and a label
    register = section(packs.snapshot.text, "Risk register", "Gap analysis")
    traces = section(packs.snapshot.text, "Risk traces", "Evidence index")
    contents = section(packs.snapshot.text, "Contents", "Statement of Applicability")
    for iri, (ident, label) in found.items():
        assert f"{ident} {label}" in register, ident
        assert f"Risk: {ident} {label}" in traces, ident  # each trace is headed by its risk
        # the verdict is the trace page's, for the same snapshot (the same function gives both)
        verdict = packs.client.get(
            "/trace/risk", query_string={"iri": iri, "snapshot": "stage-2"}, headers={**READER, **JSON}
        ).get_json()["verdict"]
        assert f"{ident} {label} ({verdict})" in contents, ident  # the contents list each trace so
    # hand-checked: examples/README.md says R02's drift monitoring evidence expired on 2026-06-30,
    # so on 2026-11-20 it is not covered; and page numbers are printed
    assert "R02 Model drift lowers scoring accuracy unnoticed (not covered)" in contents
    assert re.search(r"Page \d+ of \d+", packs.snapshot.text)


def test_the_uploaded_evidence_file_is_in_the_pack_with_its_digest(packs: Packs) -> None:
    digest = hashlib.sha256(UPLOADED).hexdigest()
    name = f"evidence/{digest}/RACI signed.pdf"  # evidence/SHA-256/the name it was uploaded under
    assert packs.snapshot.entries[name] == UPLOADED
    listed = {f["path"]: f for f in packs.snapshot.manifest["files"]}  # type: ignore[attr-defined]
    assert listed[name] == {"path": name, "sha256": digest, "size": 2081}  # 33 + 256 * 8 bytes
    # the evidence index (the last section) prints the digest, wrapped across lines: compared
    # without spaces
    text = packs.snapshot.text
    assert digest in "".join(text[text.rindex("Evidence index") :].split())


def test_two_packs_of_a_snapshot_agree_on_everything_but_the_pdf(packs: Packs) -> None:
    first, again = packs.snapshot, packs.again

    def entries(pack: Pack) -> list[object]:
        return [f for f in pack.manifest["files"] if f["path"] != "audit-pack.pdf"]  # type: ignore[attr-defined, index]

    # the second was made again after the three changes to today's data: the snapshot did not move
    assert first.entries["audit-pack.pdf"] != again.entries["audit-pack.pdf"]  # (made anew: its own time)
    assert entries(first) == entries(again)
    assert {k: v for k, v in first.manifest.items() if k != "files"} == {
        k: v for k, v in again.manifest.items() if k != "files"
    }
    # the deleted document is still in the snapshot's TriG, and R01 still has its owner
    assert b"doc-objectives" in again.entries["data/organisation.trig"]
    today = packs.client.get("/documents", headers={**READER, **JSON}).get_data()
    assert b"doc-objectives" not in today  # (today's data has lost it: the changes were made)
    assert "R01" in again.text and "Li Wei" in section(again.text, "Risk register", "Gap analysis")


def test_the_pack_is_a_read_so_it_needs_a_token_when_reads_do() -> None:
    app = create_app(
        {"tokens": "pack-reader=reader", "read_requires_token": True}, store=load_example(EmbeddedStore())
    )
    answer = app.test_client().get("/pack")  # refused before anything is built
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"


@pytest.fixture()
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    assert main(["load", "--data", str(folder), *map(str, EXAMPLE_FILES)]) == 0
    yield folder


def test_aims_pack_writes_a_valid_zip_and_a_bad_snapshot_is_one_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack.zip"
    assert main(["pack", "--data", str(data_dir), "--as-of", DAY, "-o", str(out)]) == 0
    pack = read_pack(out.read_bytes())
    assert pack.manifest["as_of"] == DAY and pack.manifest["snapshot"] is None
    assert "Today's data" in pack.text[: pack.text.index("Contents")]
    # PDF, workbook, TriG, OSCAL, every validation result as CSV and the two crosswalks' statuses:
    # no file uploaded
    assert len(pack.manifest["files"]) == 7  # type: ignore[arg-type]
    with zipfile.ZipFile(out) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("data/validation-results.csv").decode())))
        crosswalk = json.loads(z.read("data/crosswalk-eu-ai-act.json"))
    # the AI Act's status as the crosswalk gives it: E1 (examples/README.md), CreditLens unregistered
    assert next(i for i in crosswalk if i["notation"] == "Art. 49(1)")["status"] == "not met"
    with EmbeddedStore(data_dir, read_only=True) as store:
        report = validation.validate(store, as_of=dt.date.fromisoformat(DAY), stage=2)
    assert sorted((r["severity"], r["focus"], r["message"]) for r in rows) == sorted(
        (r.severity, r.focus, r.message) for r in report.results
    )
    capsys.readouterr()
    assert main(["pack", "--data", str(data_dir), "--snapshot", "nope", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aims: ") and err.count("\n") == 1 and "nope" in err


def contents_lead_to_their_pages(pdf_bytes: bytes) -> dict[str, int]:
    """Each entry of the PDF's contents with the page it gives, checked against where its part
    starts: the page whose text begins with the part's heading (hand rule: a part starts a page)."""
    pages = [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages]
    contents = next(i for i, text in enumerate(pages) if text.startswith("Contents"))
    entries = dict(
        (m[1].strip(), int(m[2]))
        for m in re.finditer(
            r"([A-Z][A-Za-z ]+?) \.*\s?(\d+)(?= [A-Z]|$)", pages[contents].removeprefix("Contents")
        )
    )
    assert entries, pages[contents][:300]
    for title, number in entries.items():
        assert pages[number - 1].startswith(title), (title, number, pages[number - 1][:80])
    return entries


def test_the_contents_give_each_part_s_page(packs: Packs) -> None:
    entries = contents_lead_to_their_pages(packs.snapshot.entries["audit-pack.pdf"])
    assert {"Statement of Applicability", "Risk register", "Gap analysis", "Evidence index"} <= set(entries)


@pytest.mark.slow
def test_a_pack_of_hundreds_of_risks_lists_each_with_its_verdict(tmp_path: Path) -> None:
    """Past 300 risks the register and the traces are one listing, a paragraph a risk, and the
    evidence index a paragraph an item: every risk of a generated organisation of 61 systems (5
    risks each) is in it with its trace's verdict, and every evidence item in the index."""
    from bench.generate import generate
    from service import queries, traces
    from service.browse import labels

    source = tmp_path / "org-61.ttl"
    source.write_text(generate(61), encoding="utf-8")
    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load_file(source)
    client = create_app({"tokens": "pack-reader=reader"}, store=store).test_client()
    answer = client.get(f"/pack?as_of={DAY}", headers=READER)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    pack = read_pack(answer.data)
    every = traces.every(
        store,
        "risk",
        dt.date.fromisoformat(DAY),
        validation.validate(store, as_of=dt.date.fromisoformat(DAY)),
    )
    assert len(every) == 305
    table = section(pack.text, "Risk register and traces", "Gap analysis")
    for t in every:
        label = t.names[t.top["iri"]].text
        assert re.search(rf"{re.escape(label)} .*?{re.escape(t.verdict)}", table), label
    entries = contents_lead_to_their_pages(pack.entries["audit-pack.pdf"])
    assert "Risk register and traces" in entries and "Risk traces" not in entries
    evidence = {str(r["evidence"]) for r in queries.run(store, "register-evidence", {"asOf": DAY})}
    index = section(pack.text, "Evidence index", None)
    assert len(evidence) > 250  # hundreds of items, each to be listed
    for name in labels(store, evidence).values():
        assert f"{name.text} · " in index, name.text


@pytest.mark.slow
@pytest.mark.servers
@pytest.mark.parametrize("server", ["oxigraph", "virtuoso"])
def test_the_pack_from_a_sparql_server(server: str, request: pytest.FixtureRequest) -> None:
    store = load_example(request.getfixturevalue(f"{server}_remote"))
    client = create_app({"tokens": "pack-reader=reader"}, store=store).test_client()
    answer = client.get(f"/pack?as_of={DAY}", headers=READER)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    pack = read_pack(answer.data)
    for f in pack.manifest["files"]:  # type: ignore[attr-defined]
        assert hashlib.sha256(pack.entries[f["path"]]).hexdigest() == f["sha256"]
    risks = client.get(f"/risks?as_of={DAY}", headers={**READER, **JSON}).get_json()
    for r in risks:  # the same 18 risks as on the embedded store
        assert f"{r['id']} {r['label']}" in pack.text
    assert len({r["risk"] for r in risks}) == 18
