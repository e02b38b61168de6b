"""Evidence files and links. A file is kept in a folder beside the store under its SHA-256
(`ab/cdef...`), so the same bytes are stored once and a changed file no longer matches its name;
the graph describes it as a dcat:Distribution linked from the evidence item or document by
aims:file, with aims:checksumSHA256 (the digest, as documents already carry it), dcat:mediaType
(an IANA IRI), dcat:byteSize, aims:fileName (the original name), aims:uploadedBy and
dcterms:issued (when). A link to evidence held elsewhere is a distribution with dcat:accessURL.
Below the HTTP layer: the service's routes (http/files.py) call this."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from .namespaces import AIMS, DCAT
from .store.base import Store, StoreError
from .store.terms import check_iri, sparql_term

FILES_GRAPH = URIRef("https://w3id.org/aims/graph/files")  # apart from imported sources: a re-import keeps it
IANA = "https://www.iana.org/assignments/media-types/"  # DCAT's advice for dcat:mediaType values
CHUNK = 1 << 20
_DIGEST = re.compile(r"[0-9a-f]{64}")

# The media type of each extension an upload may have (AIMS_FILE_TYPES picks which are allowed);
# an allowed extension not listed here takes the system's guess, else application/octet-stream.
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain",
    "csv": "text/csv",
    "md": "text/markdown",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "zip": "application/zip",
    "eml": "message/rfc822",
    "html": "text/html",
    "htm": "text/html",
    "svg": "image/svg+xml",
}
# What a browser would run as a page of this site: never answered under its own type.
ACTIVE = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}


class FileError(Exception):
    """An upload or download refused: an HTTP status, a title and what is wrong."""

    def __init__(self, status: int, title: str, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind


@dataclass(frozen=True)
class Stored:
    digest: str  # SHA-256, lower-case hex
    size: int


# ------------------------------------------------------------------------------ names and types


def clean_name(raw: str) -> str:
    """The last part of a file name as a client gave it (a path in it, / or \\, does nothing),
    without control or format characters, at most 200 characters; "file" when nothing is left."""
    last = re.split(r"[/\\]", raw)[-1]
    kept = "".join(c for c in last if unicodedata.category(c)[0] != "C").strip(" .")
    return kept[-200:] or "file"


def allowed(setting: str) -> dict[str, str]:
    """The allowed extensions (AIMS_FILE_TYPES, comma-separated) and the media type of each."""
    found = {}
    for ext in (e.strip().lower().lstrip(".") for e in setting.split(",")):
        if ext:
            guessed = mimetypes.guess_type(f"x.{ext}", strict=True)[0]
            found[ext] = MEDIA_TYPES.get(ext) or guessed or "application/octet-stream"
    return found


def media_type(name: str, setting: str) -> str:
    """The media type the service gives a file, from its name's extension, or a 415 when the
    extension is not allowed. What the client says the type is counts for nothing."""
    types = allowed(setting)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext not in types:
        raise FileError(
            415, "Unsupported Media Type",
            f"files named .{ext or '(none)'} are not accepted; allowed: {', '.join(sorted(types))} (AIMS_FILE_TYPES)",
            "file-type",
        )  # fmt: skip
    return types[ext]


# ------------------------------------------------------------------------------ the folder


def path_of(folder: Path, digest: str) -> Path:
    """Where the file with this digest is kept; a 404 for what is not a SHA-256 in lower-case hex
    (so nothing but 64 hex digits ever becomes part of a path)."""
    if not _DIGEST.fullmatch(digest):
        raise FileError(
            404, "Not Found", "a file is named by its SHA-256: 64 lower-case hex digits", "no-file"
        )
    return folder / digest[:2] / digest[2:]


def save(source: IO[bytes], folder: Path, limit: int) -> Stored:
    """Copy `source` into the folder a chunk at a time, its SHA-256 computed on the way, into a
    temporary file that is then renamed to its digest (atomic: a reader never sees half a file;
    bytes already there are kept). Over `limit` bytes: a 413, and the temporary file is removed."""
    folder.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    out = tempfile.NamedTemporaryFile(dir=folder, prefix=".upload-", delete=False)  # noqa: SIM115
    try:
        with out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileError(
                        413, "Content Too Large",
                        f"the file is over the limit of {limit:,} bytes (AIMS_MAX_FILE_BYTES); nothing was stored",
                        "file-limit",
                    )  # fmt: skip
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        stored = Stored(digest.hexdigest(), size)
        target = path_of(folder, stored.digest)
        target.parent.mkdir(exist_ok=True)
        if target.exists() and _digest_of(target) == stored.digest:
            os.unlink(out.name)  # the same bytes are there already
        else:
            os.replace(out.name, target)  # also replaces a file whose bytes were changed
        return stored
    except BaseException:
        Path(out.name).unlink(missing_ok=True)
        raise


def _digest_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_checked(folder: Path, digest: str) -> BinaryIO:
    """The stored file, open at its start, once its bytes are read through and found to still
    have its digest: a 404 when it is missing, a 409 when its bytes were changed."""
    path = path_of(folder, digest)
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise FileError(404, "Not Found", f"no stored file has the digest {digest}", "no-file") from None
    found = hashlib.sha256()
    while chunk := f.read(CHUNK):
        found.update(chunk)
    if found.hexdigest() != digest:
        f.close()
        raise FileError(
            409, "File changed",
            f"the stored file {digest} no longer has that digest: its bytes were changed on disk; it is not served",
            "file-digest",
        )  # fmt: skip
    f.seek(0)  # the same open file: a rename over the path now does not change what is read
    return f


def chunks(f: BinaryIO, digest: str) -> Iterator[bytes]:
    """The file's bytes, its digest computed again as they go; bytes changed while it is read
    end the answer early (an error in the middle of a body: the client sees it cut)."""
    again = hashlib.sha256()
    try:
        while chunk := f.read(CHUNK):
            again.update(chunk)
            yield chunk
        if again.hexdigest() != digest:
            logging.getLogger("aims.files").error("the stored file %s changed while it was served", digest)
            raise FileError(
                409, "File changed", f"the stored file {digest} changed while it was served", "file-digest"
            )
    finally:
        f.close()


# ------------------------------------------------------------------------------ the graph

_ATTACHABLE = """
PREFIX aims: <https://w3id.org/aims#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?kind WHERE {
  ?item a ?kind .
  { ?kind rdfs:subClassOf* aims:Evidence } UNION { ?kind rdfs:subClassOf* aims:Document }
} LIMIT 1"""

_SERVED = """
PREFIX aims: <https://w3id.org/aims#>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
SELECT ?type ?name WHERE {
  ?item aims:file ?file .
  ?file aims:checksumSHA256 ?digest ; dcat:mediaType ?type .
  OPTIONAL { ?file aims:fileName ?name }
} ORDER BY ?name LIMIT 1"""


def attachable(store: Store, item: URIRef) -> bool:
    """Whether `item` is a piece of evidence or a document (of any subclass), which files and
    links are for."""
    rows = store.select(_ATTACHABLE, {"item": item})
    return bool(rows.rows)


def served(store: Store, digest: str) -> tuple[str, str] | None:
    """The media type and original name of a file some item holds, or None: a file the graph
    does not name (never recorded, or its link removed) is not served."""
    rows = store.select(_SERVED, {"digest": Literal(digest)})
    if not rows.rows:
        return None
    row = rows.rows[0]
    kind = str(row["type"])
    return (kind[len(IANA) :] if kind.startswith(IANA) else kind), str(row.get("name") or digest)


def _node(item: URIRef, key: str) -> URIRef:
    """The distribution's IRI, the same for the same item and file (or link): attaching again
    replaces its description instead of adding a second one."""
    return URIRef(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{item} {key}')}")


def _update(item: URIRef, node: URIRef, facts: list[tuple[URIRef, URIRef | Literal]]) -> str:
    """One update: the node's old description out of the files graph, the new one in. Every term
    is a checked IRI or an escaped literal (sparql_term), never text from the request."""
    g, n = sparql_term(FILES_GRAPH), sparql_term(node)
    triples = [f"{sparql_term(item)} {sparql_term(AIMS.file)} {n} ."]
    triples += [f"{n} {sparql_term(p)} {sparql_term(o)} ." for p, o in facts]
    return (
        f"DELETE {{ GRAPH {g} {{ {n} ?p ?o }} }} WHERE {{ GRAPH {g} {{ {n} ?p ?o }} }} ;\n"
        f"INSERT DATA {{ GRAPH {g} {{ {' '.join(triples)} }} }}"
    )


def _common(who: str) -> list[tuple[URIRef, URIRef | Literal]]:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return [
        (RDF.type, DCAT.Distribution),
        (AIMS.uploadedBy, Literal(who)),
        (DCTERMS.issued, Literal(now.isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)),
    ]


def record_file(item: URIRef, stored: Stored, kind: str, name: str, who: str) -> tuple[URIRef, str]:
    """The distribution of an uploaded file and the update that records it."""
    node = _node(item, stored.digest)
    facts = _common(who) + [
        (AIMS.checksumSHA256, Literal(stored.digest)),
        (DCAT.mediaType, URIRef(IANA + kind)),
        (DCAT.byteSize, Literal(stored.size, datatype=XSD.nonNegativeInteger)),
        (AIMS.fileName, Literal(name)),
        (RDFS.label, Literal(name)),  # what pages and the history call it, instead of its urn:uuid
    ]
    return node, _update(item, node, facts)


def checked_url(raw: str) -> URIRef:
    """A link to evidence held elsewhere: an absolute http or https IRI (what a page may link to:
    never javascript: or data:)."""
    try:
        url = check_iri(raw.strip())
    except StoreError as e:
        raise FileError(400, "Bad link", str(e), "bad-link") from None
    if not re.match(r"https?://[^/]", str(url), re.IGNORECASE):
        raise FileError(400, "Bad link", f"{raw!r} is not an http or https URL", "bad-link")
    return url


def record_link(item: URIRef, url: URIRef, who: str) -> tuple[URIRef, str]:
    """The distribution of a link to evidence held elsewhere and the update that records it."""
    node = _node(item, str(url))
    return node, _update(item, node, _common(who) + [(DCAT.accessURL, url), (RDFS.label, Literal(str(url)))])
