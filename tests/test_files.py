"""Evidence files and links (POST /files, GET /files/{sha256}), the evidence register (/evidence)
and the import and export page (/io): issue 19, items 3 and 6. Through the Flask app on the
example organisation, and one round trip through a real `aims serve`."""

from __future__ import annotations

import hashlib
import io
import json
import re
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import accounts
from service.http import create_app
from service.store.embedded import EmbeddedStore

from .conftest import EXAMPLE_FILES, load_example
from .servers import aims_server

EX = "https://aurora-lending.example/aims/"
EVIDENCE = EX + "ev-raci"  # controls.ttl line 108: an aims:Evidence
DOCUMENT = EX + "doc-aims-manual"  # documents.ttl line 9: an aims:AIMSManual, a document
EDITOR = {"Authorization": "Bearer files-editor"}
READER = {"Authorization": "Bearer files-reader"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PASSWORD = "a long enough password"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return tmp_path / "files"


def make_client(folder: Path, tmp_path: Path, **settings: object) -> FlaskClient:
    path = tmp_path / "accounts.json"
    if not path.exists():
        accounts.add(path, "erin", "editor", PASSWORD)
        accounts.add(path, "rita", "reader", PASSWORD)
    overrides = {
        "files_dir": folder,
        "tokens": "files-editor=editor,files-reader=reader",
        "accounts_file": path,
        "file_types": "pdf,png,txt,csv,html,svg",  # HTML and SVG allowed here, to see how they are served
        **settings,
    }
    return create_app(overrides, store=load_example(EmbeddedStore())).test_client()


@pytest.fixture()
def client(folder: Path, tmp_path: Path) -> FlaskClient:
    return make_client(folder, tmp_path)


def post_file(
    client: FlaskClient, data: bytes, name: str, item: str = EVIDENCE, headers: dict[str, str] | None = None
) -> TestResponse:
    return client.post(
        "/files",
        data={"for": item, "file": (io.BytesIO(data), name)},
        headers=EDITOR if headers is None else headers,
        content_type="multipart/form-data",
    )


def stored(folder: Path) -> list[Path]:
    """Every file under the files folder, temporary ones included."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def token_of(client: FlaskClient, target: str = "/io") -> str:
    found = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(target, headers=BROWSER).get_data(as_text=True)
    )
    assert found is not None
    return found[1]


def sign_in(client: FlaskClient, name: str) -> None:
    answer = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token_of(client, "/login")}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)


# ------------------------------------------------------------------------------ upload and download


def test_upload_and_download_round_trip(client: FlaskClient, folder: Path) -> None:
    data = b"%PDF-1.4 the RACI matrix, signed\n" + bytes(range(256)) * 40  # binary bytes, 10,273 in all
    answer = post_file(client, data, "RACI signed.pdf")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    digest = hashlib.sha256(data).hexdigest()
    assert body["digest"] == digest and body["size"] == len(data) == 10_273
    assert body["mediaType"] == "application/pdf"  # from the name's extension, by the service
    assert (
        body["name"] == "RACI signed.pdf" and body["url"] == f"/files/{digest}" == answer.headers["Location"]
    )
    assert stored(folder) == [folder / digest[:2] / digest[2:]]  # content-addressed: ab/cdef...
    got = client.get(f"/files/{digest}")
    assert got.status_code == 200 and got.data == data
    assert got.mimetype == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"] == "sandbox"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''RACI%20signed.pdf" in got.headers["Content-Disposition"]
    # the graph holds the distribution: digest, media type (IANA IRI), size, name, who
    facts = client.get(
        "/resource", query_string={"iri": body["distribution"]}, headers={"Accept": "application/json"}
    )
    properties = {p.rsplit("#", 1)[-1].rsplit("/", 1)[-1]: v for p, v in facts.get_json()["properties"]}
    assert properties["checksumSHA256"] == digest
    assert properties["mediaType"] == "https://www.iana.org/assignments/media-types/application/pdf"
    assert properties["byteSize"] == len(data) and properties["fileName"] == "RACI signed.pdf"
    # named by the file's name on pages and in the history, not by its urn:uuid
    assert properties["label"] == "RACI signed.pdf"
    assert properties["uploadedBy"].startswith("editor token ")
    # the same file again for the same item: kept once, its description replaced, not doubled
    assert post_file(client, data, "RACI signed.pdf").status_code == 201
    assert len(stored(folder)) == 1
    item = client.get("/resource", query_string={"iri": EVIDENCE}, headers={"Accept": "application/json"})
    assert [v for p, v in item.get_json()["properties"] if p.endswith("#file")] == [body["distribution"]]


def test_a_document_takes_a_file_and_evidence_a_link(client: FlaskClient) -> None:
    assert post_file(client, b"manual", "manual.txt", DOCUMENT).get_json()["mediaType"] == "text/plain"
    link = client.post(
        "/files", data={"for": EVIDENCE, "url": "https://intranet.example/raci"}, headers=EDITOR
    )
    assert link.status_code == 201 and link.get_json()["url"] == "https://intranet.example/raci"
    page = client.get("/resource", query_string={"iri": EVIDENCE}, headers=BROWSER).get_data(as_text=True)
    assert 'href="https://intranet.example/raci" rel="noopener noreferrer"' in page
    for bad in ("javascript:alert(1)", "data:text/html,x", "not a url"):
        refused = client.post("/files", data={"for": EVIDENCE, "url": bad}, headers=EDITOR)
        assert refused.status_code == 400 and refused.mimetype == "application/problem+json", bad
    both = client.post(
        "/files",
        data={"for": EVIDENCE, "url": "https://x.example/", "file": (io.BytesIO(b"x"), "x.txt")},
        headers=EDITOR,
        content_type="multipart/form-data",
    )
    assert (
        both.status_code == 400
        and client.post("/files", data={"for": EVIDENCE}, headers=EDITOR).status_code == 400
    )
    # a risk is neither evidence nor a document: nothing is attached to it
    risk = client.post("/files", data={"for": EX + "risk-01", "url": "https://x.example/"}, headers=EDITOR)
    assert risk.status_code == 400 and risk.get_json()["type"].endswith("not-attachable")


@pytest.mark.parametrize(
    ("name", "data", "served_as"),
    [
        ("page.html", b"<html><script>alert(document.cookie)</script></html>", "application/octet-stream"),
        ("picture.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "application/octet-stream"),
    ],
)  # fmt: skip
def test_html_and_svg_are_never_rendered_inline(
    client: FlaskClient, name: str, data: bytes, served_as: str
) -> None:
    answer = post_file(client, data, name)
    assert answer.status_code == 201
    got = client.get(answer.get_json()["url"])
    assert got.status_code == 200 and got.data == data
    # never under its own type (a browser would run its script as a page of this site), always an
    # attachment, never sniffed, and sandboxed should a browser show it anyway
    assert got.mimetype == served_as
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize(
    ("name", "kept"),
    [("../../etc/passwd.txt", "passwd.txt"), ("C:\\x\\y.pdf", "y.pdf"), ("/abs/..\\..\\z.\x00\x1b[31mtxt.pdf", "z.[31mtxt.pdf")],
)  # fmt: skip
def test_a_path_in_the_file_name_does_nothing(
    client: FlaskClient, folder: Path, tmp_path: Path, name: str, kept: str
) -> None:
    before = {p for p in tmp_path.rglob("*")}
    answer = post_file(client, b"some bytes", name)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["name"] == kept  # the last part only, control characters removed
    digest = answer.get_json()["digest"]
    new = {p for p in tmp_path.rglob("*")} - before
    # nothing written outside the files folder, and inside it only the file under its digest
    assert {p for p in new if p.is_file()} == {folder / digest[:2] / digest[2:]}
    assert all(p.is_relative_to(folder) for p in new)
    assert (
        f"filename*=UTF-8''{quote(kept, safe='')}"
        in client.get(f"/files/{digest}").headers["Content-Disposition"]
    )


def test_over_the_size_limit_is_413_and_nothing_is_stored(folder: Path, tmp_path: Path) -> None:
    client = make_client(folder, tmp_path, max_file_bytes=1000)
    # one byte over: read, counted while it is copied, and refused; its temporary file removed
    answer = post_file(client, b"x" * 1001, "big.txt")
    assert answer.status_code == 413 and answer.get_json()["type"].endswith("file-limit")
    assert "1,000 bytes" in answer.get_json()["detail"]
    assert stored(folder) == []
    # far over: refused from the request's length, before its body is read
    huge = post_file(client, b"x" * 200_000, "huge.txt")
    assert huge.status_code == 413 and stored(folder) == []
    # at the limit: taken
    assert post_file(client, b"x" * 1000, "fits.txt").status_code == 201
    resource = client.get("/resource", query_string={"iri": EVIDENCE}, headers={"Accept": "application/json"})
    assert (
        len([p for p, _ in resource.get_json()["properties"] if p.endswith("#file")]) == 1
    )  # only the one that fit


def test_a_type_not_allowed_is_415(client: FlaskClient, folder: Path) -> None:
    for name in ("tool.exe", "noextension", "script.js"):
        answer = post_file(client, b"MZ...", name)
        assert answer.status_code == 415 and answer.get_json()["type"].endswith("file-type"), name
    assert stored(folder) == []


def test_a_file_whose_bytes_changed_on_disk_is_not_served(client: FlaskClient, folder: Path) -> None:
    answer = post_file(client, b"the original evidence", "evidence.txt")
    digest = answer.get_json()["digest"]
    (folder / digest[:2] / digest[2:]).write_bytes(b"the evidence, altered")
    got = client.get(f"/files/{digest}")
    assert got.status_code == 409 and got.mimetype == "application/problem+json"
    assert got.get_json()["type"].endswith("file-digest") and b"altered" not in got.data
    # a missing file, a digest no item names and what is not a digest are 404s
    (folder / digest[:2] / digest[2:]).unlink()
    assert client.get(f"/files/{digest}").status_code == 404
    assert client.get(f"/files/{'0' * 64}").status_code == 404
    assert client.get("/files/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get(f"/files/{digest.upper()}").status_code == 404


def test_readers_and_anonymous_callers_cannot_upload(client: FlaskClient, folder: Path) -> None:
    assert post_file(client, b"x", "a.txt", headers=READER).status_code == 403
    assert post_file(client, b"x", "a.txt", headers={}).status_code in (400, 401)  # no CSRF token, no sign-in
    # a page's form with its CSRF token but nobody signed in: 401, as a page
    form = {"for": EVIDENCE, "file": (io.BytesIO(b"x"), "a.txt"), "csrf_token": token_of(client)}
    anonymous = client.post("/files", data=form, content_type="multipart/form-data", headers=BROWSER)
    assert anonymous.status_code == 401 and anonymous.mimetype == "text/html"
    sign_in(client, "rita")  # a reader's session
    form = {"for": EVIDENCE, "file": (io.BytesIO(b"x"), "a.txt"), "csrf_token": token_of(client)}
    assert (
        client.post("/files", data=form, content_type="multipart/form-data", headers=BROWSER).status_code
        == 403
    )
    assert stored(folder) == []


class _Counted(io.BytesIO):
    """A request body that counts the bytes the app read of it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.taken += len(data)
        return data


def test_who_may_not_upload_is_refused_before_the_body_is_read(client: FlaskClient, folder: Path) -> None:
    # review of issue 19: the multipart body (spooled up to the size limit) was parsed before the
    # role was checked, for anonymous callers too. 1 MB, under the limit: only the role refuses it.
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="for"\r\n\r\n{EVIDENCE}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        ).encode()
        + b"x" * 1_000_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    for headers, status in [
        ({}, 401),
        (BROWSER, 401),
        (READER, 403),
        ({"Authorization": "Bearer nope"}, 401),
    ]:
        sent = _Counted(body)
        answer = client.post(
            "/files",
            input_stream=sent,
            content_type=f"multipart/form-data; boundary={boundary}",
            content_length=len(body),
            headers=headers,
        )
        assert answer.status_code == status, (headers, answer.status_code)
        assert sent.taken == 0, (headers, sent.taken)  # not one byte of the body read
    sign_in(client, "rita")  # a reader signed in: 403 from the session alone, body unread
    sent = _Counted(body)
    answer = client.post(
        "/files", input_stream=sent, content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body), headers=BROWSER,
    )  # fmt: skip
    assert answer.status_code == 403 and sent.taken == 0
    assert stored(folder) == []
    # the same body with an editor's token is read and stored: what refused it above was the role
    assert client.post(
        "/files", input_stream=_Counted(body), content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body), headers=EDITOR,
    ).status_code == 201  # fmt: skip


def test_a_signed_in_editor_uploads_from_the_page_form_with_its_csrf_token(
    client: FlaskClient, folder: Path
) -> None:
    sign_in(client, "erin")
    page = client.get("/resource", query_string={"iri": EVIDENCE}, headers=BROWSER).get_data(as_text=True)
    assert 'action="/files"' in page and 'enctype="multipart/form-data"' in page  # the form is offered
    form = {"for": EVIDENCE, "file": (io.BytesIO(b"signed scan"), "scan.png")}
    without = client.post("/files", data=dict(form), content_type="multipart/form-data", headers=BROWSER)
    assert without.status_code == 400 and stored(folder) == []  # no CSRF token: refused
    form = {"for": EVIDENCE, "file": (io.BytesIO(b"signed scan"), "scan.png"), "csrf_token": token_of(client)}
    sent = client.post("/files", data=form, content_type="multipart/form-data", headers=BROWSER)
    assert sent.status_code == 303 and "/resource?iri=" in sent.headers["Location"]
    digest = hashlib.sha256(b"signed scan").hexdigest()
    shown = client.get("/resource", query_string={"iri": EVIDENCE}, headers=BROWSER).get_data(as_text=True)
    assert f'href="/files/{digest}"' in shown and "scan.png" in shown and "erin" in shown


# ------------------------------------------------------------------------------ the evidence register


def register(client: FlaskClient, **query: str) -> dict[str, dict[str, object]]:
    rows = client.get("/evidence", query_string={"format": "json", **query}).get_json()
    return {str(r["evidence"]): r for r in rows}


def test_the_evidence_register_states_as_of_a_day(client: FlaskClient) -> None:
    # As of 2026-12-20 with the default window of 30 days (expiring: valid until 2027-01-19 or before):
    # - controls.ttl line 104-105: ev-policy-calendar, made 2026-01-10, valid until 2027-01-10:
    #   not passed on 2026-12-20, within the window -> expiring
    # - controls.ttl line 187-188: ev-monitoring-export, valid until 2026-06-30 -> expired (gap G3)
    # - controls.ttl line 205-206: ev-model-cards-sample (made 2026-04-01), valid until 2027-04-01 -> current
    # - audit.ttl line 66-67: ev-finding-5, made 2026-10-05, no end of validity -> current
    rows = register(client, as_of="2026-12-20")
    assert len(rows) == 47  # every evidence item of the example (the issue counts 47)
    assert rows[EX + "ev-policy-calendar"]["state"] == "expiring"
    assert rows[EX + "ev-monitoring-export"]["state"] == "expired"
    assert rows[EX + "ev-finding-5"]["state"] == "current"
    # with a window of 10 days (to 2026-12-30), 2027-01-10 is beyond it: current
    assert register(client, as_of="2026-12-20", days="10")[EX + "ev-policy-calendar"]["state"] == "current"
    # as of 2026-10-01, ev-finding-5 (made 2026-10-05) was not made yet
    assert register(client, as_of="2026-10-01")[EX + "ev-finding-5"]["state"] == "not yet made"
    # what it supports and what it is about: controls.ttl line 173-175, ev-fairness-test about CreditLens
    about = {
        str(r["about"])
        for r in client.get("/evidence", query_string={"format": "json"}).get_json()
        if r.get("about")
    }
    assert EX + "credit-scorer" in about
    assert client.get("/evidence", query_string={"days": "soon"}).status_code == 400


def test_the_evidence_register_page_csv_filters_and_file_links(client: FlaskClient) -> None:
    digest = post_file(client, b"raci", "raci.pdf").get_json()["digest"]
    page = client.get("/evidence", query_string={"as_of": "2026-12-20", "state": "expired"}, headers=BROWSER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Monitoring dashboard export" in html and "AI RACI matrix" not in html
    html = client.get("/evidence", query_string={"q": "RACI"}, headers=BROWSER).get_data(as_text=True)
    assert f'href="/files/{digest}"' in html
    csv = client.get("/evidence", query_string={"format": "csv", "as_of": "2026-12-20"})
    assert csv.mimetype == "text/csv" and csv.data.splitlines()[0] == (
        b"evidence,label,supports,about,generatedAt,validUntil,state,files,links"
    )
    nav = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert 'href="/evidence"' in nav and 'href="/io"' in nav


# ------------------------------------------------------------------------------ import and export


def test_the_import_and_export_page_links_every_export_and_imports_a_workbook(client: FlaskClient) -> None:
    page = client.get("/io", headers=BROWSER).get_data(as_text=True)
    for target in ("format=turtle", "format=trig", "format=json-ld", "format=xlsx", "format=oscal",
                   "/risks?format=csv", "/evidence?format=csv", "/soa?format=csv"):  # fmt: skip
        assert target in page, target
    assert 'action="/io/import"' not in page  # nobody signed in: no import form
    workbook = client.get("/export", query_string={"format": "xlsx"}).data
    sign_in(client, "erin")
    assert 'action="/io/import"' in client.get("/io", headers=BROWSER).get_data(as_text=True)
    form = {"workbook": (io.BytesIO(workbook), "aims.xlsx"), "csrf_token": token_of(client)}
    done = client.post("/io/import", data=form, content_type="multipart/form-data", headers=BROWSER)
    assert done.status_code == 200 and "Imported" in done.get_data(as_text=True), done.get_data(as_text=True)[
        :2000
    ]
    bad = {"workbook": (io.BytesIO(b"not a workbook"), "aims.xlsx"), "csrf_token": token_of(client)}
    refused = client.post("/io/import", data=bad, content_type="multipart/form-data", headers=BROWSER)
    assert refused.status_code == 400 and refused.mimetype == "text/html"


# ------------------------------------------------------------------------------ through aims serve


def test_upload_and_download_through_aims_serve(tmp_path: Path) -> None:
    env = {"AIMS_TOKENS": "live-editor=editor", "AIMS_MAX_FILE_BYTES": "5000"}
    with aims_server(tmp_path, EXAMPLE_FILES, env) as port:
        base = f"http://127.0.0.1:{port}"
        data = bytes(range(256)) * 10 + b"\r\n--not-a-boundary\r\n"  # 2,580 bytes, some like multipart
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="for"\r\n\r\n{EVIDENCE}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="../log.csv"\r\n'
                "Content-Type: text/html\r\n\r\n"  # what the client says counts for nothing
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            f"{base}/files", data=body, method="POST",
            headers={"Authorization": "Bearer live-editor", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201
            sent = json.loads(answer.read())
        digest = hashlib.sha256(data).hexdigest()
        assert sent["digest"] == digest and sent["size"] == len(data) and sent["mediaType"] == "text/csv"
        # beside the data folder, as the audit trail is: <data>-files/ab/cdef...
        assert (tmp_path / "data-files" / digest[:2] / digest[2:]).read_bytes() == data
        with urllib.request.urlopen(f"{base}/files/{digest}", timeout=30) as got:
            assert got.read() == data
            assert got.headers["Content-Type"] == "text/csv"
            assert got.headers["X-Content-Type-Options"] == "nosniff"
            assert (
                got.headers["Content-Disposition"]
                == "attachment; filename=\"log.csv\"; filename*=UTF-8''log.csv"
            )
        over = urllib.request.Request(
            f"{base}/files", data=body.replace(data, b"y" * 6000), method="POST",
            headers={"Authorization": "Bearer live-editor", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(over, timeout=30)
        assert refused.value.code == 413
        assert len([p for p in (tmp_path / "data-files").rglob("*") if p.is_file()]) == 1
        trail = (tmp_path / "data-audit.jsonl").read_text().splitlines()
        assert json.loads(trail[-1])["digest"] == digest  # the upload is in the audit trail
