"""The audit pack: one ZIP to hand an auditor (issue 20, item 5). It holds `audit-pack.pdf` (a
cover, the SoA, the risk register, the gap analysis, the validation results, open findings and
corrective actions, the trace of every risk and the evidence index, with a table of contents and
page numbers), the workbook, a TriG export of the organisation, the OSCAL component definition, the
evidence files the graph names (read from the files folder, their digests checked) and
`manifest.json` (every file with its SHA-256 and size, the snapshot, the as-of day, the version).

The PDF is the pages, printed: rendered by WeasyPrint from the pages' own templates and partials
(pack.html includes _soa_table.html and _trace.html), with the data worked out by the functions the
pages call; the HTML is made in the request and laid out by WeasyPrint in a process of its own,
while the request writes the other files. So the pack is built inside a request of the service's
application, reading `get_store()`: /pack is one (http/pack.py), and `aims pack` makes one
(`request_for`). Like cli.py, this module is a front end above http: it imports the pages'
modules inside its functions, and only the /pack route (http/pack.py) imports it.

The same snapshot gives the same bytes for every file but the PDF (WeasyPrint stamps its own
creation time): entries sorted, ZIP entry times and the workbook's and OSCAL's dates set to when
the snapshot was taken, JSON written with sorted keys."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import multiprocessing
import re
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import g, render_template
from rdflib import URIRef

from . import __version__, files, oscal, queries, workbook
from .browse import REGISTERS, Label
from .snapshots import SnapshotView
from .store.base import Rows, Store
from .store.formats import format_for

log = logging.getLogger(__name__)
PDF = "audit-pack.pdf"
MANIFEST = "manifest.json"
STAGE = 2  # every rule: what the validation and gap analysis pages show when no stage is asked for

_LINK = re.compile(r'<a href="(?!#)[^"]*"[^>]*>(.*?)</a>', re.DOTALL)
_FILES = """
PREFIX aims: <https://w3id.org/aims#>
SELECT ?item ?digest ?name WHERE {
  ?item aims:file ?file . ?file aims:checksumSHA256 ?digest .
  OPTIONAL { ?file aims:fileName ?name }
} ORDER BY ?digest ?name ?item"""


@dataclass
class Pack:
    data: bytes  # the ZIP
    manifest: dict[str, Any]
    left_out: list[dict[str, str]] = field(default_factory=list)  # what could not go in, and why


@contextmanager
def request_for(store: Store) -> Iterator[None]:
    """A request of the service's application over `store` (a snapshot's view or a store), for
    `aims pack`: the pages' functions and templates work in it as in a request to /pack."""
    from .http import create_app

    base = store.base if isinstance(store, SnapshotView) else store
    app = create_app(store=base)
    with app.test_request_context("/pack"):
        g.aims_snapshot = store if isinstance(store, SnapshotView) else None
        yield


def build(day: dt.date, folder: Path | None) -> Pack:
    """The pack of the request's store (get_store(): today's data or a snapshot) judged on `day`,
    with the evidence files held in `folder`."""
    from .http import pages
    from .http.state import current_snapshot, get_store

    store, view = get_store(), current_snapshot()
    pages.report(STAGE, day)  # first: over the caller's validation budget (429), nothing is done
    when = view.snapshot.created if view is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)
    held, missing = _evidence_files(store, folder)
    left_out: list[dict[str, str]] = [*missing]
    # the PDF is laid out in a process of its own while this one writes the other files: WeasyPrint
    # is Python, so a thread would take turns with this one (at 1,000 systems each side takes
    # tens of seconds)
    html, css = pdf_html(day, held), Path(pages.bp.static_folder or "", "style.css")
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as printer:
        printing = printer.submit(_printed, html, css)
        entries: dict[str, bytes] = {
            "data/organisation.trig": store.export(format_for(name="trig")),
            "data/oscal-component-definition.json": oscal.export_json(
                store, day, last_modified=when
            ).encode(),
        }
        try:
            entries["data/workbook.xlsx"] = _steady_zip(workbook.export(store), when)
        except workbook.WorkbookError as e:  # data the workbook cannot hold: the rest of the pack still can
            left_out.append({"file": "data/workbook.xlsx", "why": f"the data does not fit the workbook: {e}"})
        entries["data/validation-results.csv"] = _results_csv(pages.report(STAGE, day))
        for key in ("eu-ai-act", "nist-ai-rmf"):  # the crosswalks' statuses, each with its chain
            items = [i.to_json() for i in pages.framework_status(key, day)]
            entries[f"data/crosswalk-{key}.json"] = (
                json.dumps(items, indent=1, sort_keys=True) + "\n"
            ).encode()
        entries.update(held)
        try:
            entries[PDF] = printing.result()
        except BrokenProcessPool:  # the process could not start or was killed: laid out here
            log.warning("the audit pack's PDF process failed; laying the PDF out in the service")
            entries[PDF] = _printed(html, css)
    manifest = {
        "aims-graph": __version__,
        "as_of": day.isoformat(),
        "snapshot": view.snapshot.as_json() if view is not None else None,
        "files": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(entries.items())
        ],
        "left_out": left_out,
    }
    entries[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return Pack(_zip(entries, when), manifest, left_out)


# ------------------------------------------------------------------------------ the PDF


def pdf_html(day: dt.date, held: dict[str, bytes]) -> str:
    """The PDF's HTML: pack.html over what the pages show (printed with the pages' stylesheet, its
    print rules), its links to the service's pages made plain words."""
    from .http import pages, registers, soa, verdicts
    from .http.state import current_snapshot, get_store, state

    store = get_store()
    days = int(state().settings.expiring_days)
    names: dict[str, Label] = {}

    def register(name: str) -> list[dict[str, Any]]:
        rows, labelled = pages.cached(
            lambda: registers._register_data(REGISTERS[name], day, days), "register", name, day, days
        )
        names.update(labelled)
        names.update(_item_labels(rows))
        return list(rows)

    soa_rows = pages.cached(lambda: queries.run(store, "statement-of-applicability"), "soa")
    evidence, organisation, labelled = pages.cached(lambda: soa._soa_page(soa_rows, day), "soa page", day)
    names.update(labelled)
    report = pages.report(STAGE, day)
    statuses = pages.gaps(STAGE, day)
    risks = register("risks")
    traced = _risk_traces(store, risks, day, report)
    for t in traced:
        names.update(t.names)
    findings = _open_findings(register("findings"))
    evidence_rows = register("evidence")
    names.update(verdicts._names({s.requirement for s in statuses}, {r.focus for r in report.results}))
    g.names = names
    held_digests = {name.split("/")[1] for name in held}
    html = render_template(
        "pack.html",
        day=day,
        made=dt.datetime.now(dt.UTC).replace(microsecond=0),
        version=__version__,
        snapshot=current_snapshot(),
        organisation=organisation,
        soa_rows=soa_rows.rows,
        evidence=evidence,
        risks=risks,
        gap_groups=_grouped(statuses, lambda s: s.group),
        gap_counts=_counts(s.status for s in statuses),
        report=report,
        result_groups=_grouped(report.results, lambda r: _group(r.requirement_id)),
        comments=verdicts._rule_comments(),
        findings=findings,
        traces=traced,
        register_rows={str(r["risk"]): r for r in reversed(risks)},  # a risk's first row
        evidence_rows=evidence_rows,
        held=held_digests,
    )
    # a link to a page of the service leads nowhere from a PDF handed to an auditor (and WeasyPrint
    # makes each an annotation): its words stay, the contents' links to the pack's own parts stay
    return _LINK.sub(r"\1", html)


_CONTENTS = re.compile(r'<nav class="toc part" id="contents">.*?</nav>', re.DOTALL)
_ENTRY = re.compile(r'<a href="#([^"]+)" data-page="">')


def _printed(html: str, css: Path) -> bytes:
    """The PDF of `html`, laid out once. The contents' page numbers are not CSS's target-counter
    (WeasyPrint then lays the whole document out twice: at 200 systems 38 s instead of 22 s):
    the document is laid out with the contents' numbers blank, the page of each part read from
    where its anchor fell, and the contents alone laid out again with them and put in place of
    its blank pages (which hold no page number, so nothing else moves)."""
    import weasyprint

    sheets = [weasyprint.CSS(filename=str(css))]

    def laid_out(text: str) -> Any:
        return weasyprint.HTML(string=text, base_url=str(css.parent)).render(stylesheets=sheets)

    document = laid_out(html)
    where = {
        anchor: i + 1 for i, page in reversed(list(enumerate(document.pages))) for anchor in page.anchors
    }
    contents = _CONTENTS.search(html)
    if contents is None:
        return bytes(document.write_pdf())
    numbered = _ENTRY.sub(lambda m: f'<a href="#{m[1]}" data-page="{where.get(m[1], "")}">', contents[0])
    head = html[: html.index("<body")]
    alone = laid_out(f'{head}<body class="pack">{numbered}</body></html>')
    first = next(i for i, page in enumerate(document.pages) if "contents" in page.anchors)
    last = min(where[a] for a in _ENTRY.findall(contents[0]) if a in where) - 1  # the first part's page
    if last - first != len(alone.pages):  # cannot be (the same entries): left without numbers
        return bytes(document.write_pdf())
    pages = [*document.pages[:first], *alone.pages, *document.pages[last:]]
    return bytes(document.copy(pages).write_pdf())


def _item_labels(rows: Rows) -> dict[str, Label]:
    """The items' own labels (a register has a label column for its items)."""
    item = rows.variables[0]
    found: dict[str, Label] = {}
    for r in rows:
        if isinstance(r.get(item), URIRef) and r.get("label") is not None:
            ident = r.get("id")
            found[str(r[item])] = Label(str(r[item]), str(r["label"]), str(ident) if ident else None)
    return found


def _risk_traces(store: Store, risks: list[dict[str, Any]], day: dt.date, report: Any) -> list[Any]:
    """The trace of every risk in the register, in its order (highest level first), judged by the
    same validation report as the rest of the pack."""
    from . import traces

    seen = dict.fromkeys(str(r["risk"]) for r in risks if isinstance(r.get("risk"), URIRef))
    every = {t.top["iri"]: t for t in traces.every(store, "risk", day, report)}  # one query for all
    return [every[risk] for risk in seen if risk in every]


def _results_csv(report: Any) -> bytes:
    """Every validation result, for a spreadsheet or a tool (the PDF counts them at scale); no
    cell is read as a formula (workbook.spreadsheet_cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ("severity", "requirement_id", "control_id", "stage", "focus", "label", "message")
    writer.writerow(columns)
    for r in report.results:
        writer.writerow([workbook.spreadsheet_cell(getattr(r, c) or "") for c in columns])
    return out.getvalue().encode("utf-8")


def _open_findings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings register's rows of findings with no closed corrective action (what
    queries/open-nonconformities.rq calls open), for every kind of finding."""
    closed = {str(r["finding"]) for r in rows if str(r.get("actionStatus", "")).endswith("#Closed")}
    return [r for r in rows if str(r["finding"]) not in closed]


def _group(notation: str | None) -> str:
    from .reports import group_of

    return group_of(notation or "", False)


def _grouped(items: Any, key: Any) -> list[tuple[str, list[Any]]]:
    from .http.pages import _group_key

    found: dict[str, list[Any]] = {}
    for item in items:
        found.setdefault(key(item), []).append(item)
    return sorted(found.items(), key=lambda pair: _group_key(pair[0]))


def _counts(values: Any) -> list[tuple[str, int]]:
    found: dict[str, int] = {}
    for v in values:
        found[v] = found.get(v, 0) + 1
    return sorted(found.items(), key=lambda pair: -pair[1])


# ------------------------------------------------------------------------------ the files


def _evidence_files(store: Store, folder: Path | None) -> tuple[dict[str, bytes], list[dict[str, str]]]:
    """The files the graph names, each once, as `evidence/DIGEST/NAME`, read from the files folder
    with their digest checked; those not held, or changed on disk, are left out, saying why."""
    rows = store.select(_FILES)
    first: dict[str, str] = {}
    for r in rows:
        first.setdefault(str(r["digest"]), files.clean_name(str(r.get("name") or "file")))
    held: dict[str, bytes] = {}
    missing: list[dict[str, str]] = []
    for digest, name in sorted(first.items()):
        try:
            if folder is None:
                raise files.FileError(404, "Not Found", "no files folder is set", "no-file")
            with files.open_checked(folder, digest) as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest() != digest:  # changed between the check and the read
                raise files.FileError(
                    409, "File changed", "its bytes changed while it was read", "file-digest"
                )
        except files.FileError as e:
            missing.append({"file": f"evidence/{digest}/{name}", "sha256": digest, "why": e.detail})
            continue
        held[f"evidence/{digest}/{name}"] = data
    return held, missing


# ------------------------------------------------------------------------------ the ZIP


def _zip(entries: dict[str, bytes], when: dt.datetime) -> bytes:
    """The entries in name order (the manifest last), each stamped `when`."""
    out = io.BytesIO()
    stamp = _stamp(when)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in [*sorted(n for n in entries if n != MANIFEST), MANIFEST]:
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, entries[name])
    return out.getvalue()


def _stamp(when: dt.datetime) -> tuple[int, int, int, int, int, int]:
    t = when.astimezone(dt.UTC)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)")


def _steady_zip(data: bytes, when: dt.datetime) -> bytes:
    """An Office file (the workbook) written again with every entry stamped `when` and its
    created and modified dates set to it: openpyxl stamps the time it saved."""
    text = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "docProps/core.xml":
                body = _CORE_DATES.sub(lambda m: m.group(1) + text + m.group(3), body)
            info = zipfile.ZipInfo(item.filename, _stamp(when))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body)
    return out.getvalue()
