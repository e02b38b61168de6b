"""Evidence files and links (POST /files, GET /files/{sha256}) and the ways in and out of the
pages: the import and export page (/io) and its workbook form. The files themselves are kept by
service/files.py; here they are received, checked and answered.

A form of the pages (a browser, signed in) is checked for its CSRF token, as every form of the
pages is, and answered with a page; a tool with a bearer token sends no token and is answered
with JSON (problem details when refused)."""

from __future__ import annotations

import json
import logging
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, request, url_for
from pydantic import BaseModel, Field
from rdflib import URIRef
from rdflib.namespace import RDFS
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from .. import browse, files, history
from ..browse import REGISTERS
from ..config import Settings
from ..namespaces import AIMS, DCAT
from ..store.catalogue import catalogue_graph
from . import audit, auth, graphs
from .api import operation
from .audit import write_lock
from .errors import Problem, checked_iri, problem_response
from .pages import _page, csrf
from .state import get_store, state

bp = Blueprint("files", __name__, template_folder="templates")
log = logging.getLogger("aims.files")
FORM_SLACK = 64 * 1024  # what a multipart body may hold besides the file: its headers and fields


class Uploaded(BaseModel):
    digest: str = Field(description="SHA-256 of the file, lower-case hex (absent for a link)")
    size: int | None = None
    mediaType: str | None = None
    name: str | None = Field(None, description="The original file name, its last part only")
    url: str = Field(description="Where the file is served (/files/DIGEST), or the link recorded")
    distribution: str = Field(description="The dcat:Distribution node recorded in the graph")
    item: str = Field(description="The evidence item or document it is for")


def _settings() -> Settings:
    return state().settings


def _folder() -> Path:
    return _settings().files_folder()


def _tool() -> bool:
    """A tool (a bearer token): no CSRF token is asked of it."""
    return bool(request.headers.get("Authorization"))


def _page_form() -> bool:
    """A page's form sent by a browser (no bearer token, HTML preferred): answered with a page."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.method == "POST" and not _tool() and best == "text/html"


@bp.before_request
def _limit_and_check_form() -> None:
    if request.method != "POST":
        return
    # every form here needs the editor role: a caller who cannot have it is refused before its
    # body (up to the size limit) is read and spooled
    auth.check_before_body("editor")
    # an upload larger than a file may be is refused from its Content-Length, before it is read
    limit = _settings().max_file_bytes + FORM_SLACK
    if request.endpoint == "files.upload" and limit < (request.max_content_length or limit + 1):
        request.max_content_length = limit
    try:
        request.files  # noqa: B018 - parse the body now, where its size can be refused
    except RequestEntityTooLarge:
        raise Problem(
            413, "Content Too Large",
            f"the file is over the limit of {_settings().max_file_bytes:,} bytes (AIMS_MAX_FILE_BYTES); nothing was stored",
            "file-limit",
        ) from None  # fmt: skip
    if not _tool():
        csrf.protect()  # a page's form needs the token of the page it came from, as all forms do


@bp.errorhandler(Problem)
@bp.errorhandler(files.FileError)
@bp.errorhandler(HTTPException)
def _refused(e: Exception) -> Response:
    """A refusal: a page with the message for a page's form, problem details for a tool."""
    if isinstance(e, HTTPException):
        if e.response is not None:  # a redirect to sign in
            return e.response  # type: ignore[return-value]
        extra: dict[str, Any] = {}
        status, title, detail, kind = e.code or 500, e.name, e.description or e.name, None
    else:
        status, title, detail = e.status, e.title, e.detail  # type: ignore[attr-defined]
        kind, extra = e.kind, getattr(e, "extra", {})  # type: ignore[attr-defined]
    if _page_form():
        response = _page("refused.html", title=title, detail=detail, errors=extra.get("errors") or [])
        response.status_code = status
        return response
    response = problem_response(status, title, detail, kind, **extra)
    response.headers.update(getattr(e, "headers", {}) or {})
    return response


# ------------------------------------------------------------------------------ upload


@bp.route("/files", methods=["POST"])
@operation(
    "post",
    "Attach a file (multipart: file, for=IRI of the evidence item or document) or a link (url=) to evidence or a document; the file is kept by its SHA-256",
    "files",
    answer=Uploaded,
    status=201,
    body=("multipart/form-data", "application/x-www-form-urlencoded"),
    others={413: "Over AIMS_MAX_FILE_BYTES", 415: "A file type not in AIMS_FILE_TYPES"},
    role="editor",
)
def upload() -> BaseResponse:
    raw_item = request.form.get("for", "")
    if not raw_item:
        raise Problem(400, "Missing field", "give for=IRI: the evidence item or document", "bad-parameter")
    item = checked_iri(raw_item, "Bad IRI", "bad-parameter")
    store = get_store()
    if not files.attachable(store, item):
        raise Problem(
            400, "Not evidence or a document",
            f"{raw_item} is not a piece of evidence or a document in the graph: files and links are for those",
            "not-attachable",
        )  # fmt: skip
    upload: FileStorage | None = request.files.get("file")
    url = request.form.get("url", "").strip()
    if bool(upload is not None and upload.filename) == bool(url):
        raise Problem(
            400, "File or link", "give either a file (file=) or a link (url=), not both", "bad-parameter"
        )
    who = audit.who()
    if upload is not None and upload.filename:
        name = files.clean_name(_sent_name(upload))
        kind = files.media_type(name, _settings().file_types)  # 415 before anything is stored
        stored = files.save(upload.stream, _folder(), _settings().max_file_bytes)
        node, update = files.record_file(item, stored, kind, name, who)
        answer: dict[str, Any] = {
            "digest": stored.digest, "size": stored.size, "mediaType": kind, "name": name,
            "url": url_for("files.download", digest=stored.digest),
        }  # fmt: skip
    else:
        link = files.checked_url(url)
        node, update = files.record_link(item, link, who)
        answer = {"digest": "", "url": str(link)}
    with write_lock():
        existed = files.FILES_GRAPH in store.graphs()
        before = store.count(files.FILES_GRAPH) if existed else 0
        old = history.snapshot(store, subjects=[item, node])
        store.update(update)
        changes = history.diff(old, history.snapshot(store, subjects=[item, node]))
        audit.record(
            "file upload" if answer["digest"] else "link",
            str(files.FILES_GRAPH), before, store.count(files.FILES_GRAPH), changes=changes,
            item=str(item), digest=answer["digest"] or None,
        )  # fmt: skip
    if _page_form():  # back to the item's page, which lists it
        return redirect(url_for("pages.resource_page", iri=str(item)), 303)
    body = {**answer, "distribution": str(node), "item": str(item)}
    response = Response(json.dumps(body), status=201, mimetype="application/json")
    response.headers["Location"] = body["url"]
    return response


def _sent_name(upload: FileStorage) -> str:
    """The file name as the part's header has it: werkzeug reads a backslash in it as an escape
    ("C:\\x\\y.pdf" would become "C:xy.pdf"), where browsers and Windows tools mean a folder."""
    header = upload.headers.get("Content-Disposition", "")
    raw = re.search(r'filename="((?:[^"\\]|\\.)*)"', header)
    return raw[1] if raw else upload.filename or ""


# ------------------------------------------------------------------------------ download


def _disposition(name: str) -> str:
    """attachment, with the name as plain ASCII and in full (RFC 6266, RFC 8187)."""
    plain = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "file"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.route("/files/<digest>")
@operation(
    "get",
    "A stored file, as an attachment, once its bytes are checked against its SHA-256",
    "files",
    media=("application/octet-stream",),
    others={404: "No such file, or no item names it", 409: "Its bytes no longer match its digest"},
    role="reader",
)
def download(digest: str) -> Response:
    auth.check("reader")  # a HEAD too, which the operation (GET) does not describe
    files.path_of(_folder(), digest)  # 404 for what is not a digest, before the graph is asked
    found = files.served(get_store(), digest)
    if found is None:
        raise Problem(404, "Not Found", f"no evidence item or document has a file {digest}", "no-file")
    kind, name = found
    try:
        opened = files.open_checked(_folder(), digest)
    except files.FileError as e:
        if e.status == 409:
            log.error("%s", e.detail)
        raise
    size = os.fstat(opened.fileno()).st_size  # the file read and checked, whatever the path is now
    # what a browser would run as a page of this site is never answered under its own type
    # compared as a browser reads it (no parameters, any case): text/html;charset=... is HTML too
    shown = "application/octet-stream" if kind.split(";")[0].strip().lower() in files.ACTIVE else kind
    response = Response(files.chunks(opened, digest), content_type=shown, direct_passthrough=True)
    response.headers["Content-Disposition"] = _disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Content-Length"] = str(size)
    response.set_etag(digest)
    response.cache_control.private = True
    return response


# ------------------------------------------------------------------------------ on the pages


@cache
def _attachable_types() -> frozenset[str]:
    """Evidence and documents, with every subclass the vocabulary gives them (once: it is fixed)."""
    roots = (AIMS.Evidence, AIMS.Document)
    return frozenset(str(c) for r in roots for c in catalogue_graph().transitive_subjects(RDFS.subClassOf, r))


_FILES_OF = """
PREFIX aims: <https://w3id.org/aims#>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?file ?digest ?name ?size ?url ?by ?at WHERE {
  ?item aims:file ?file .
  OPTIONAL { ?file aims:checksumSHA256 ?digest }
  OPTIONAL { ?file aims:fileName ?name }
  OPTIONAL { ?file dcat:byteSize ?size }
  OPTIONAL { ?file dcat:accessURL ?url }
  OPTIONAL { ?file aims:uploadedBy ?by }
  OPTIONAL { ?file dcterms:issued ?at }
} ORDER BY ?at ?file"""


def files_of(iri: str) -> list[dict[str, Any]]:
    """The files and links of an evidence item or document, for its page."""
    rows = get_store().select(_FILES_OF, {"item": URIRef(iri)})
    return [{k: browse.plain(v) for k, v in r.items()} for r in rows]


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {
        "attachable_types": _attachable_types(),
        "distribution_type": str(DCAT.Distribution),
        "files_of": files_of,
    }


# ------------------------------------------------------------------------------ import and export


EXPORTS = [  # (format=, what it is)
    ("turtle", "Turtle"), ("trig", "TriG (one named graph a source)"), ("json-ld", "JSON-LD"),
    ("nquads", "N-Quads"), ("nt", "N-Triples"), ("xml", "RDF/XML"),
    ("xlsx", "The workbook (XLSX), which can be filled in and imported again"),
    ("oscal", "The Statement of Applicability in OSCAL (JSON)"),
]  # fmt: skip


def _io(**context: Any) -> Response:
    return _page("io.html", exports=EXPORTS, registers=REGISTERS, import_graph=graphs.IMPORT_GRAPH, **context)


@bp.route("/io")
@operation("get", "The ways in and out: every export, and the workbook import form", "pages",
           media=("text/html",), role="reader")  # fmt: skip
def io_page() -> Response:
    return _io()


@bp.route("/io/import", methods=["POST"])
@operation(
    "post",
    "The import page's form: a filled workbook (multipart: workbook) into the import graph, as POST /import",
    "pages",
    body=("multipart/form-data",),
    media=("text/html",),
    others={400: "The workbook's problems, or no valid CSRF token", 415: "Not an XLSX file"},
    role="editor",
)
def import_page() -> Response:
    sent = request.files.get("workbook")
    if sent is None or not sent.filename or not sent.filename.lower().endswith(".xlsx"):
        raise Problem(415, "Unsupported Media Type", "choose a filled workbook, an .xlsx file", "media-type")
    answer = graphs.load_workbook(sent.read())
    return _io(imported=json.loads(answer.get_data()))
