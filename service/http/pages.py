"""Pages for people: the dashboard, the registers, the Statement of Applicability, traces,
validation and gap analysis, and a page for any resource. Server-rendered (Jinja2, one
stylesheet, no script), from the same functions below the HTTP layer that the JSON answers use."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup, escape
from rdflib import BNode, Literal, URIRef

from .. import browse, forms, queries, reports, traces, validation
from ..browse import REGISTERS, Label
from ..store.base import Rows, Store
from ..workbook import spreadsheet_cell
from . import budget, formats
from .api import (
    OVER_BUDGET,
    AsOf,
    IriParams,
    RegisterParams,
    Resource,
    RowList,
    Trace,
    TraceParams,
    checked,
    operation,
)
from .errors import Problem, checked_iri
from .state import get_store, state

bp = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

PAGE_SIZE = 100
LISTED = 10  # items per list on the dashboard; the rest are counted and linked
T = TypeVar("T")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}.*)?$")
AS_OF_COOKIE = "aims_as_of"
HTML_OR_JSON = {"application/json": "json", "text/html": "html"}
HTML_JSON_CSV = {"application/json": "json", "text/html": "html", "text/csv": "csv"}


# ------------------------------------------------------------------------------ the day and labels


def as_of(from_cookie: bool = True) -> dt.date:
    """The day reports are judged on: ?as_of=, else the day chosen earlier (a cookie), else today."""
    raw = request.args.get("as_of") or (request.cookies.get(AS_OF_COOKIE) if from_cookie else None)
    if not raw:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Problem(400, "Bad date", f"as_of={raw!r} is not a date (YYYY-MM-DD)", "bad-parameter") from None


def expiring_days() -> int:
    """The evidence register's window: ?days=, else the setting AIMS_EXPIRING_DAYS."""
    raw = request.args.get("days")
    if raw is None:
        return int(state().settings.expiring_days)
    if not re.fullmatch(r"[0-9]{1,4}", raw) or int(raw) > 3660:
        raise Problem(
            400, "Bad parameter", f"days={raw!r} is not a number of days (0 to 3660)", "bad-parameter"
        )
    return int(raw)


# Forms on the pages are checked for a CSRF token (Flask-WTF's CSRFProtect, which sign-in forms
# will share): what a page form changes rides on a cookie, which a browser sends with a cross-site
# request too. The API is not: its routes decide by a bearer token in the Authorization header,
# which a browser never adds by itself, and read no cookie, so a forged request carries no more
# than an anonymous one; checking them would only break every API client.
csrf = CSRFProtect()


@bp.record_once
def _forms(state: Any) -> None:
    app = state.app
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # on for this blueprint's forms only, below
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lasts as long as its session cookie
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if not app.secret_key:  # signs the session cookie that holds the token; without the setting
        # a restart (or another process behind the same address) asks for the form anew
        app.secret_key = app.extensions["aims"].settings.secret_key or secrets.token_bytes(32)
    csrf.init_app(app)


@bp.before_request
def _check_form() -> None:
    csrf.protect()  # a POST (PUT, PATCH, DELETE) to a page needs the token of the page it came from


@bp.after_app_request
def _private(response: Response) -> Response:
    """Pages depend on Accept (HTML, JSON or CSV) and on cookies (the chosen day, the form token):
    no shared cache may keep one for another reader."""
    page = request.blueprint == "pages" and request.endpoint != "pages.static"
    if page or response.mimetype == "text/html":
        response.vary.update(("Accept", "Cookie"))
        response.cache_control.private = True
    return response


def local_path(back: str) -> str:
    """`back` when it is a path of this site, else "/": nothing a browser could read as another
    host (//host, /\\host once a tab is dropped) and nothing that cannot go in a header."""
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or not back.startswith("/") or re.search(r"[\x00-\x1f\x7f\\]|^//", back):
        return "/"
    return back


@bp.route("/as-of", methods=["POST"])
@operation(
    "post",
    "Keep a day for every page (a cookie) and go back to the page it was chosen on: a form (day, next) with its CSRF token",
    "pages",
    status=303,
    body=("application/x-www-form-urlencoded",),
    others={400: "Not a date, or no valid CSRF token"},
)
def choose_day() -> Response:
    """Keep the chosen day for every page (a cookie), and go back to the page it was chosen on.
    A POST from the header's form: a GET (a link or an image on another site) changes nothing."""
    day = request.form.get("day", "")
    back = local_path(request.form.get("next", "/"))
    response = make_response(redirect(back, 303))  # see the page again with a GET
    if day:
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise Problem(
                400, "Bad date", f"day={day!r} is not a date (YYYY-MM-DD)", "bad-parameter"
            ) from None
        response.set_cookie(AS_OF_COOKIE, day, samesite="Lax", httponly=True)
    else:
        response.delete_cookie(AS_OF_COOKIE)
    return response


def _names(*iris: set[str]) -> dict[str, Label]:
    return browse.labels(get_store(), set().union(*iris))


def _link(iri: str, names: dict[str, Label]) -> Markup:
    label = names.get(iri) or Label(iri, browse.local_name(iri))
    ident = f'<span class="id">{escape(label.id)}</span> ' if label.id and label.id not in label.text else ""
    return Markup('<a href="{}" title="{}">{}{}</a>').format(
        url_for("pages.resource_page", iri=iri), iri, Markup(ident), label.text
    )


def show(value: Any, names: dict[str, Label] | None = None) -> Markup:
    """A value as a person reads it: a labelled link for an IRI, a date as a date, a boolean as a word."""
    names = names if names is not None else g.get("names", {})
    if value is None or value == "":
        return Markup('<span class="none">—</span>')
    if isinstance(value, URIRef):
        return _link(str(value), names)
    if isinstance(value, BNode) or (isinstance(value, str) and value.startswith("_:")):
        label = names.get(str(value))  # no IRI to link: its label, if it has one
        if label is None or label.text == browse.UNNAMED:
            return Markup('<span class="none">(unnamed)</span>')
        return Markup('<span title="a node with no IRI">{}</span>').format(label.text)
    if isinstance(value, Literal):
        value = value.toPython()
    if isinstance(value, bool):
        return Markup("Yes" if value else "No")
    if isinstance(value, dt.datetime):
        return Markup("{} {}").format(value.strftime("%-d %b %Y"), value.strftime("%H:%M"))
    if isinstance(value, dt.date):
        return Markup("{}").format(value.strftime("%-d %b %Y"))
    if isinstance(value, str) and value.startswith(("http://", "https://", "urn:")) and value in names:
        return _link(value, names)
    if isinstance(value, str) and _ISO_DAY.match(value):  # a date a JSON-shaped trace carries as text
        try:
            return show(dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value))
        except ValueError:
            pass
    return Markup("{}").format(value)


def _text(value: Any, names: dict[str, Label]) -> str:
    """The words a cell shows, for filtering and sorting."""
    if isinstance(value, URIRef):
        label = names.get(str(value))
        return label.text if label else str(value)
    if isinstance(value, Literal):
        return str(value.toPython())
    return "" if value is None else str(value)


def _sort_key(value: Any, names: dict[str, Label]) -> tuple[int, Any]:
    if isinstance(value, Literal):
        py = value.toPython()
        if isinstance(py, bool | int | float):
            return (0, float(py))
        if isinstance(py, dt.date):
            return (1, py.isoformat())
    return (2 if value is not None else 3, _text(value, names).lower())


def _int(term: Any) -> int | None:
    """A number the data holds, or None when it holds something else (validation says so; a page
    showing bad data must not fail on it)."""
    value = term.toPython() if isinstance(term, Literal) else term
    if isinstance(value, float) and not math.isfinite(value):
        return None  # "1e400"^^xsd:double is infinity, which has no int
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _day(term: Any) -> dt.date | None:
    value = term.toPython() if isinstance(term, Literal) else term
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def before(term: Any, day: dt.date) -> bool:
    """Whether a date the data holds falls before `day` (False for what is not a date)."""
    found = _day(term)
    return found is not None and found < day


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {
        "show": show,
        "heading": browse.heading,
        "registers": REGISTERS,
        "curie": browse.curie,
        "before": before,
        "is_iri": lambda value: isinstance(value, URIRef),  # what a link can name: not a blank node
        "tone": lambda verdict: traces.TONES.get(verdict, "neutral"),
    }


def _page(template: str, **context: Any) -> Response:
    context.setdefault("as_of", as_of())
    context.setdefault("today", dt.date.today())
    return Response(render_template(template, **context), mimetype="text/html")


# ------------------------------------------------------------------------------ cached work

_cache_lock = threading.Lock()
_CACHE_ENTRIES = 64
REMOTE_CACHE_SECONDS = 60  # a remote server can be written by others, size unchanged


def _generation(store: Store) -> tuple[int, int, int]:
    """What cached work depends on: this service's writes (audit.record counts them), the store's
    size, and on a remote store the minute (what others write there shows within one)."""
    minute = int(time.monotonic() // REMOTE_CACHE_SECONDS) if store.kind == "remote" else 0
    return state().writes, store.count(), minute


def cached(compute: Callable[[], T], *key: Any) -> T:
    """`compute()`, done once per key and state of the store: validation and whole registers
    are the slow part of a page, and a page is read far more often than the store changes.
    Readers that ask while it is being worked out wait for that one computation instead of each
    starting their own (40 readers after a write each validated the store: 57 s a trace)."""
    full_key = (*key, _generation(get_store()))
    held = state()
    cache, working = held.page_cache, held.page_working
    while True:
        with _cache_lock:
            if full_key in cache:
                return cache[full_key]  # type: ignore[no-any-return]
            done = working.get(full_key)
            if done is None:
                done = working[full_key] = threading.Event()
                break
        done.wait()  # then it is in the cache, or it failed and this reader works it out itself
    try:
        value = compute()
        with _cache_lock:
            if len(cache) >= _CACHE_ENTRIES:
                cache.clear()
            cache[full_key] = value
        return value
    finally:
        with _cache_lock:
            del working[full_key]
        done.set()


_warming = threading.Lock()
QUIET_SECONDS = 2.0
_recent_days: list[dt.date] = []  # the days the dashboard was last asked for, newest last


def warm(app: Flask) -> None:
    """After a write, work out the dashboard (and with it both stages' validation and gap
    analysis) for today and the days readers asked for lately, on a background thread at the
    lowest priority, so that the next reader does not wait for validation. One at a time, and
    only once the store has been left alone for `QUIET_SECONDS`: while writes keep coming, the
    work would be out of date before anyone read it (under a steady stream of writes it took
    most of a core), and readers work out what they ask for themselves."""
    if not _warming.acquire(blocking=False):
        return

    def run() -> None:
        try:
            if hasattr(os, "setpriority"):  # Linux: a thread's own nice value
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            with app.app_context():
                done = None
                while done != _generation(get_store()):
                    seen = _generation(get_store())
                    time.sleep(QUIET_SECONDS)
                    if _generation(get_store()) != seen:
                        continue
                    done = seen
                    for day in {dt.date.today(), *_recent_days}:
                        cached(partial(_dashboard, get_store(), day), "dashboard", day)
        except Exception:  # noqa: BLE001 - a reader will compute it again, and see any error
            app.logger.exception("working out the dashboard in the background failed")
        finally:
            _warming.release()

    threading.Thread(target=run, name="aims-warm", daemon=True).start()


def _lower_priority() -> None:
    if hasattr(os, "setpriority"):  # Linux: a thread's own nice value, which threads it starts inherit
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# Whole validations run on threads of their own at a lower priority, so that cheap reads (traces,
# one system's rules, registers) take the CPU first: under 40 clients a whole validation after
# every write took half the CPU, and a 40 ms trace waited 2 s.
_whole = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aims-validate", initializer=_lower_priority)


def report(stage: int | None, day: dt.date) -> validation.Report:
    """The store engine's report of a stage (None: every rule) on a day, worked out once per state
    of the store; working it out counts against the caller's budget (budget.py)."""

    def compute() -> validation.Report:
        budget.spend(day)
        return _whole.submit(partial(validation.validate, get_store(), as_of=day, stage=stage)).result()

    return cached(compute, "report", stage, day)


def gaps(stage: int | None, day: dt.date) -> list[reports.RequirementStatus]:
    return cached(lambda: reports.gap_analysis(get_store(), day, report(stage, day)), "gaps", stage, day)


def readiness(stage: int, day: dt.date) -> reports.Readiness:
    return reports.summarise(stage, day, report(stage, day), gaps(stage, day))


# ------------------------------------------------------------------------------ dashboard


@bp.route("/")
@operation(
    "get",
    "The dashboard (a page)",
    "pages",
    params=AsOf,
    media=("text/html",),
    others=OVER_BUDGET,
    role="reader",
)
def dashboard() -> Response:
    day = as_of()
    if day not in _recent_days:
        _recent_days[:] = [*_recent_days[-2:], day]
    figures = cached(lambda: _dashboard(get_store(), day), "dashboard", day)
    if figures is None:
        return _page("empty.html")
    g.names = figures["names"]
    return _page("dashboard.html", **{k: v for k, v in figures.items() if k != "names"})


def _dashboard(store: Store, day: dt.date) -> dict[str, Any] | None:
    """Everything the dashboard shows, for one day; None for a store with no organisation."""
    counts = {str(r["label"]): int(r["count"]) for r in queries.run(store, "summary")}
    organisation = queries.run(store, "organisation")
    if not organisation.rows and not any(counts.values()):
        return None
    stages = {stage: readiness(stage, day) for stage in (1, 2)}
    horizon = day + dt.timedelta(days=90)
    expiring = queries.run(store, "evidence-expiring", {"until": horizon.isoformat()}).rows
    reviews = queries.run(store, "documents-due-for-review", {"asOf": horizon.isoformat()}).rows
    actions = [
        r
        for r in queries.run(store, "register-findings", {"asOf": day.isoformat()})
        if r.get("action") is not None
        and r.get("dueDate") is not None
        and str(r.get("actionStatus", "")) != "https://w3id.org/aims#Closed"
        and (_day(r["dueDate"]) or dt.date.max) <= horizon
    ]
    threshold = _threshold(store)
    levels: Counter[str] = Counter()
    for r in queries.run(store, "risk-levels"):
        level = _int(r["riskLevel"])
        if level is not None:
            levels["above" if threshold is not None and level > threshold else "within"] += int(r["risks"])
    soa = queries.run(store, "statement-of-applicability")
    by_status = Counter(str(r["status"]) if r.get("status") is not None else "" for r in soa)
    lists = {"expiring": expiring, "reviews": reviews, "actions": actions}
    shown = {name: rows[:LISTED] for name, rows in lists.items()}
    iris = {
        str(v)
        for rows in (organisation.rows, *shown.values())
        for r in rows
        for v in r.values()
        if isinstance(v, URIRef)
    }
    return {
        "counts": counts,
        "organisation": organisation.rows,
        "stages": stages,
        "horizon": horizon,
        **shown,
        "more": {name: len(rows) - len(shown[name]) for name, rows in lists.items()},
        "levels": levels,
        "threshold": threshold,
        "by_status": by_status,
        "groups": _group_order(stages[2].groups),
        "day": day,
        "names": browse.labels(store, iris | {s for s in by_status if s}),
    }


def _threshold(store: Store) -> int | None:
    rows = store.query(
        "PREFIX aims: <https://w3id.org/aims#> SELECT ?t WHERE { ?aims a aims:AIManagementSystem ; "
        "aims:usesCriteria/aims:acceptanceThreshold ?t } LIMIT 1"
    )
    assert isinstance(rows, Rows)
    return _int(rows.rows[0]["t"]) if rows.rows else None


def _group_key(group: str) -> tuple[int, float, str]:
    """Clauses 4-10, then Annex A groups in number order (A.2 before A.10), then own controls."""
    if group == "own":
        return (2, 0, group)
    if group.startswith("A."):
        return (1, float(group[2:]), group)
    return (0, float(group) if group.isdigit() else math.inf, group)


def _group_order(groups: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(groups.items(), key=lambda item: _group_key(item[0]))


# ------------------------------------------------------------------------------ registers


def _register(name: str) -> Response:
    register = REGISTERS[name]
    media = formats.choose(HTML_JSON_CSV)
    day = as_of(from_cookie=media == "text/html")  # JSON and CSV follow ?as_of= only, as elsewhere
    days = expiring_days()
    rows, names = cached(lambda: _register_data(register, day, days), "register", name, day, days)
    if media == "application/json":
        return Response(
            current_app.json.dumps([{k: browse.plain(v) for k, v in r.items()} for r in rows]),
            mimetype="application/json",
        )
    if media == "text/csv":
        return _csv(rows, register.name)
    item = rows.variables[0]
    g.names = dict(names)  # this page's item labels are added below: the cached dict stays as it is
    records = list(rows)
    for column in rows.variables:  # exact filters, as the heat map's cells link them
        if column in request.args:
            wanted = request.args[column]
            records = [
                r for r in records if _text(r.get(column), g.names) == wanted or str(r.get(column)) == wanted
            ]
    words = request.args.get("q", "").strip().lower()
    if words:
        records = [r for r in records if words in " ".join(_text(v, g.names) for v in r.values()).lower()]
    sort = request.args.get("sort")
    if sort in rows.variables:
        records.sort(key=lambda r: _sort_key(r.get(sort), g.names), reverse=request.args.get("dir") == "desc")
    pages = max(1, math.ceil(len(records) / PAGE_SIZE))
    try:
        page = min(max(int(request.args.get("page", "1")), 1), pages)
    except ValueError:
        page = 1
    shown = records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    label_of = {str(r[item]): r.get("label") for r in shown if "label" in r}
    g.names.update(
        {
            iri: Label(iri, str(label) if label is not None else browse.local_name(iri))
            for iri, label in label_of.items()
        }
    )
    heat = _heat_map(rows) if name == "risks" else None
    levels = _level_map(rows) if name == "risks" else None
    threshold = _threshold(get_store()) if heat is not None else None
    return _page(
        "register.html",
        register=register,
        columns=[v for v in rows.variables if v != "label"] if "label" in rows.variables else rows.variables,
        item=item,
        rows=shown,
        total=len(rows),
        matching=len(records),
        page=page,
        pages=pages,
        heat=heat,
        levels=levels,
        threshold=threshold if threshold is not None else 8,
        threshold_given=threshold is not None,
    )


def _register_data(register: browse.Register, day: dt.date, days: int) -> tuple[Rows, dict[str, Label]]:
    """A register's rows, and the labels of every IRI in them but the items (which have their own
    label column): what sorting and filtering by the words shown need."""
    store = get_store()
    rows = browse.register_rows(store, register, day, days)
    item = rows.variables[0]
    others = {str(v) for r in rows for k, v in r.items() if k != item and isinstance(v, URIRef)}
    return rows, browse.labels(store, others)


def _heat_map(rows: Rows) -> dict[tuple[int, int], int]:
    """How many risks sit in each likelihood x severity cell."""
    seen: dict[tuple[int, int], set[str]] = defaultdict(set)
    for r in rows:
        likelihood, severity = _int(r.get("likelihood")), _int(r.get("severity"))
        if likelihood is not None and severity is not None:
            seen[(likelihood, severity)].add(str(r["risk"]))
    return {cell: len(risks) for cell, risks in seen.items()}


def _level_map(rows: Rows) -> dict[str, dict[int, int]]:
    """How many risks have each level before treatment (inherent) and after it (residual): the
    residual level has no likelihood or severity of its own, so it is counted by level alone."""
    seen: dict[str, dict[int, set[str]]] = {"inherent": defaultdict(set), "residual": defaultdict(set)}
    for r in rows:
        for kind, column in (("inherent", "riskLevel"), ("residual", "residualRiskLevel")):
            if (level := _int(r.get(column))) is not None:
                seen[kind][level].add(str(r["risk"]))
    return {kind: {level: len(risks) for level, risks in by.items()} for kind, by in seen.items()}


def _csv(rows: Rows, name: str) -> Response:
    """A register or the SoA for a spreadsheet: lexical forms, no cell a formula (a SPARQL result
    in CSV, which is data, is written by formats.serialize_rows as it is)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(rows.variables)
    for r in rows:
        writer.writerow([spreadsheet_cell(r.get(v)) for v in rows.variables])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _register_view(name: str) -> Any:
    def view() -> Response:
        return _register(name)

    view.__name__ = f"register_{name}"
    register = REGISTERS[name]
    return operation(
        "get", f"Register: {register.description} JSON, CSV or a sortable, filterable page", "registers",
        params=RegisterParams, answer=RowList, media=("application/json", "text/csv", "text/html"), role="reader",
    )(view)  # fmt: skip


for _name in REGISTERS:
    bp.add_url_rule(f"/{_name}", f"register_{_name}", _register_view(_name))


# ------------------------------------------------------------------------------ the SoA


@bp.route("/soa")
@operation(
    "get",
    "The Statement of Applicability in the standard's order: JSON, CSV or a page",
    "registers",
    params=RegisterParams,
    answer=RowList,
    media=("application/json", "text/csv", "text/html"),
    others={406: "Format not offered"},
    role="reader",
)
def soa() -> Response:
    media = formats.choose(HTML_JSON_CSV)
    day = as_of(from_cookie=media == "text/html")
    rows = cached(lambda: queries.run(get_store(), "statement-of-applicability"), "soa")
    if media == "application/json":
        return Response(
            current_app.json.dumps([{v: browse.plain(r.get(v)) for v in rows.variables} for r in rows]),
            mimetype="application/json",
        )
    if media == "text/csv":
        return _csv(rows, "statement-of-applicability")
    evidence, organisation, names = cached(lambda: _soa_page(rows, day), "soa page", day)
    g.names = names
    return _page("soa.html", rows=rows.rows, evidence=evidence, organisation=organisation)


def _soa_page(
    rows: Rows, day: dt.date
) -> tuple[dict[URIRef, list[int]], list[dict[str, Any]], dict[str, Label]]:
    """What the SoA page adds to the rows: evidence valid and all per control on the day, the
    organisation, and the labels."""
    store = get_store()
    evidence: dict[URIRef, list[int]] = defaultdict(lambda: [0, 0])  # control -> [valid, all]
    counted: set[tuple[str, str]] = set()  # the register has a row per implementation, control and system
    for r in queries.run(store, "register-implementations", {"asOf": day.isoformat()}):
        key = (str(r["implementation"]), str(r.get("control")))
        if r.get("control") is not None and key not in counted:
            counted.add(key)
            counts = evidence[r["control"]]  # keyed by term: an rdflib URIRef is not equal to its str
            counts[0] += int(r["validEvidenceItems"].toPython())
            counts[1] += int(r["evidenceItems"].toPython())
    organisation = queries.run(store, "organisation").rows
    iris = {str(r["status"]) for r in rows if r.get("status") is not None}
    iris |= {str(v) for r in organisation for v in r.values() if isinstance(v, URIRef)}
    return dict(evidence), organisation, browse.labels(store, iris)


# ------------------------------------------------------------------------------ traces


@bp.route("/trace/<kind>")
@operation(
    "get",
    "The whole chain from a risk, control, requirement, system or evidence: JSON with a label for every IRI, or a page",
    "traces",
    params=TraceParams,
    answer=Trace,
    media=("application/json", "text/html"),
    others={404: "No such kind, or nothing of it with that IRI", **OVER_BUDGET},
    role="reader",
)
def trace(kind: str) -> Response:
    media = formats.choose(HTML_OR_JSON)
    params = checked()
    if not params.iri and not params.id:
        raise Problem(400, "Missing parameter", "give ?iri=IRI or ?id=IDENTIFIER", "bad-parameter")
    day = as_of(from_cookie=media == "text/html")
    store = get_store()
    try:
        if params.iri:
            iri = checked_iri(params.iri, "Bad IRI", "bad-parameter")
        else:
            iri = traces.resolve(store, kind, params.id or "")
        if kind in traces.JUDGED:
            found = traces.trace(store, kind, iri, day, report(2, day), gaps(2, day))
        else:  # validated for the chain's own nodes: no wait for a whole validation after a write
            found = traces.trace(store, kind, iri, day)
    except traces.TraceNotFound as e:
        raise Problem(
            404, "Not Found", str(e), "unknown-iri" if kind in traces.KINDS else "no-trace"
        ) from None
    if media == "application/json":
        return Response(current_app.json.dumps(found.to_json()), mimetype="application/json")
    g.names = found.names
    return _page("trace.html", trace=found, day=day)


# ------------------------------------------------------------------------------ any resource


@bp.route("/resource")
@operation(
    "get",
    "Any resource: label, types, properties and what links to it (JSON or a page)",
    "pages",
    params=IriParams,
    answer=Resource,
    media=("application/json", "text/html"),
    others={404: "Nothing in the graph is about it"},
    role="reader",
)
def resource_page() -> Response:
    raw = request.args.get("iri")
    if not raw:
        raise Problem(400, "Missing parameter", "give ?iri=IRI", "bad-parameter")
    found = browse.resource(get_store(), checked_iri(raw, "Bad IRI", "bad-parameter"))
    if not found.exists():
        raise Problem(404, "Not Found", f"nothing in the graph is about {raw}", "unknown-iri")
    media = formats.choose(HTML_OR_JSON)
    if media == "application/json":
        return Response(
            current_app.json.dumps(
                {
                    **found.label.to_json(),
                    "types": found.types,
                    "properties": [[p, browse.plain(v)] for p, v in found.properties],
                    "linkedFrom": [[s, p] for s, p in found.linked_from],
                }
            ),
            mimetype="application/json",
        )
    g.names = found.names
    trace_kind = traces.kind_of(found.types)
    # what the rules make of this resource alone (every rule, its own focus node): shown at once,
    # so that a form's save says what it leaves unmet
    day, iri = as_of(), URIRef(found.iri)
    results = cached(
        lambda: validation.validate(get_store(), as_of=day, focus_nodes=[iri]).results,
        "own results",
        iri,
        day,
    )
    editable = not forms.in_catalogue(get_store(), iri)  # offered Edit and Delete: not the catalogue
    form = forms.form_for(get_store(), found.types) if editable else None
    return _page(
        "resource.html", found=found, trace_kind=trace_kind, results=results, form=form, editable=editable
    )


# ------------------------------------------------------------------------------ validation and gaps


def validation_page() -> Response:
    """The validation report as a page: results by clause group, each with its rule's purpose."""
    stage, day = checked().stage, as_of()
    found = report(stage or 2, day)  # no stage: every rule, which is what stage 2 runs
    comments = _rule_comments()
    grouped: dict[str, list[validation.Result]] = defaultdict(list)
    for r in found.results:
        grouped[reports.group_of(r.requirement_id or "", False)].append(r)
    g.names = _names({r.focus for r in found.results if not r.focus.startswith("_:")})
    return _page(
        "validation.html",
        report=found,
        groups=sorted(grouped.items(), key=lambda item: _group_key(item[0])),
        comments=comments,
        stage=stage,
        counts=Counter(r.severity for r in found.results),
    )


def gap_page() -> Response:
    stage, day = checked().stage, as_of()
    statuses = gaps(stage or 2, day)
    grouped: dict[str, list[reports.RequirementStatus]] = defaultdict(list)
    for s in statuses:
        grouped[s.group].append(s)
    g.names = _names({s.requirement for s in statuses})
    return _page(
        "gaps.html",
        groups=sorted(grouped.items(), key=lambda item: _group_key(item[0])),
        stage=stage,
        counts=Counter(s.status for s in statuses),
    )


def _rule_comments() -> dict[str, str]:
    shapes = validation.shapes_graph()
    comment = URIRef("http://www.w3.org/2000/01/rdf-schema#comment")
    return {str(s): str(o) for s, o in shapes.subject_objects(comment)}
