"""What the pages for people share: their blueprint (with its CSRF check and the day chosen for
every page), the helpers that show values and render a page, and the cached work behind them
(validation, gap analysis, readiness). Server-rendered (Jinja2, one stylesheet, no script), from
the same functions below the HTTP layer that the JSON answers use. Each resource answers all its
formats from a module of its own, with its views on this blueprint (endpoints stay pages.*):
dashboard.py, registers.py, soa.py, traces.py, resources.py; verdicts.py answers validation, gap
analysis and readiness on the reports' blueprint."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import math
import os
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
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

from .. import browse, frameworks, history, queries, query_delta, reports, snapshots, traces, validation
from ..browse import REGISTERS, Label
from ..store.base import Rows, Store
from ..validation import incremental
from ..workbook import spreadsheet_cell
from . import budget
from .api import (
    operation,
)
from .errors import Problem
from .state import State, current_snapshot, default_day, get_store, state

log = logging.getLogger(__name__)

bp = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

T = TypeVar("T")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}.*)?$")
AS_OF_COOKIE = "aims_as_of"
HTML_OR_JSON = {"application/json": "json", "text/html": "html"}
HTML_JSON_CSV = {"application/json": "json", "text/html": "html", "text/csv": "csv"}


# ------------------------------------------------------------------------------ the day and labels


def as_of(from_cookie: bool = True) -> dt.date:
    """The day reports are judged on: ?as_of=, else the day chosen earlier (a cookie), else today;
    a snapshot's pages are judged on its day unless ?as_of= says otherwise."""
    if current_snapshot() is not None:
        from_cookie = False
    raw = request.args.get("as_of") or (request.cookies.get(AS_OF_COOKIE) if from_cookie else None)
    if not raw:
        return default_day()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Problem(400, "Bad date", f"as_of={raw!r} is not a date (YYYY-MM-DD)", "bad-parameter") from None


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


def _threshold(store: Store) -> int | None:
    rows = store.select(
        "PREFIX aims: <https://w3id.org/aims#> SELECT ?t WHERE { ?aims a aims:AIManagementSystem ; "
        "aims:usesCriteria/aims:acceptanceThreshold ?t } LIMIT 1"
    )
    return _int(rows.rows[0]["t"]) if rows.rows else None


def _group_key(group: str) -> tuple[int, float, str]:
    """Clauses 4-10, then Annex A groups in number order (A.2 before A.10), then own controls."""
    if group == "own":
        return (2, 0, group)
    if group.startswith("A."):
        return (1, float(group[2:]), group)
    return (0, float(group) if group.isdigit() else math.inf, group)


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


# ------------------------------------------------------------------------------ cached work

_cache_lock = threading.Lock()
_CACHE_ENTRIES = 64
REMOTE_CACHE_SECONDS = 60  # a remote server can be written by others, size unchanged


def _generation(store: Store) -> tuple[int, int, int]:
    """What cached work depends on: this service's writes (audit.record counts them), the store's
    data version (Store.data_version: any write through it, or on a remote store its size), and
    on a remote store the minute (what others write there shows within one)."""
    view = current_snapshot()
    if view is not None:  # a snapshot never changes: its name and when it was taken say all
        return -1, hash((view.snapshot.name, view.snapshot.created)), 0
    minute = int(time.monotonic() // REMOTE_CACHE_SECONDS) if store.kind == "remote" else 0
    return state().writes, store.data_version(), minute


def cached(
    compute: Callable[[], T],
    *key: Any,
    reads: tuple[str, ...] = (),
    update: Callable[[T, list[incremental.Touch]], T | None] | None = None,
) -> T:
    """`compute()`, done once per key and state of the store: validation and whole registers
    are the slow part of a page, and a page is read far more often than the store changes.
    Readers that ask while it is being worked out wait for that one computation instead of each
    starting their own (40 readers after a write each validated the store: 57 s a trace).
    `reads`: the texts of every query `compute` asks. After writes that none of them can read
    (incremental.reads: their predicates and classes), the value worked out before stands: a
    risk's new owner leaves the SoA, the coverage and the summary as they were. After writes
    that can, `update(before, touched)` makes the new value from the one before when it can
    (query_delta: a register asks again the rows of the items a write reached), else None."""
    generation = _generation(get_store())
    full_key = (*key, generation)
    held = state()
    if reads:
        compute = partial(_carried_over, held, compute, key, generation, reads, update)
    cache, working = held.page_cache, held.page_working
    while True:
        with _cache_lock:
            if full_key in cache:
                cache[full_key] = cache.pop(full_key)  # the most recently used last: kept longest
                return cache[full_key]  # type: ignore[no-any-return]
            done = working.get(full_key)
            if done is None:
                done = working[full_key] = threading.Event()
                break
        done.wait()  # then it is in the cache, or it failed and this reader works it out itself
    try:
        value = compute()
        with _cache_lock:
            while len(cache) >= _CACHE_ENTRIES:
                del cache[next(iter(cache))]  # the least recently used
            state_now = full_key[-1]
            if state_now[0] >= 0:  # what older states of today's data kept (a workbook at 10,000
                # systems is 17 MB) goes as soon as this state keeps something; a snapshot's stays
                for old in [k for k in cache if k[-1][0] >= 0 and k[-1] != state_now]:
                    del cache[old]
            cache[full_key] = value
        return value
    finally:
        with _cache_lock:
            del working[full_key]
        done.set()


_CARRIED_ENTRIES = 64


def _carried_over(
    held: State,
    compute: Callable[[], T],
    key: tuple[Any, ...],
    generation: tuple[int, int, int],
    reads: tuple[str, ...],
    update: Callable[[T, list[incremental.Touch]], T | None] | None,
) -> T:
    """The value kept for `key` at an earlier state when no write since can reach what it reads
    (or `update` of it), else `compute()`; kept as this state's. Only on the embedded store: one
    process holds it, so every write to it is this service's, and their changes are listed."""
    with _cache_lock:
        before = held.page_carry.get(key)
    value: T | None = None
    if before is not None and get_store().kind == "embedded":
        touched = _touched(held, before[0], generation)
        if touched is not None and all(
            incremental.reach(incremental.reads(text), touched) == set() for text in reads
        ):
            value = before[1]
        elif touched is not None and update is not None:
            value = update(before[1], touched)
    if value is None:
        value = compute()
    with _cache_lock:
        held.page_carry.pop(key, None)
        held.page_carry[key] = (generation, value)  # the newest last
        while len(held.page_carry) > _CARRIED_ENTRIES:
            del held.page_carry[next(iter(held.page_carry))]
    return value


def _touched(
    held: State, before: tuple[int, int, int], now: tuple[int, int, int]
) -> list[incremental.Touch] | None:
    """What the writes between two states (write numbers; a snapshot's is -1) changed, as the
    checks see it; None when that is not known."""
    if before[0] < 0 or now[0] <= before[0] or before[2] != now[2]:
        return None
    memory = _memory(held)
    with memory.lock:
        changes = _changes_since(memory, before[0], now[0])
    if changes is None:
        return None
    try:
        return incremental.touches(changes)
    except incremental.Unreadable:
        return None


def query_rows(name: str, params: dict[str, str] | None = None) -> Rows:
    """A named query's rows, once per state of the store: carried over writes it cannot read,
    and brought up to date item by item where query_delta can."""
    given, query = params or {}, queries.get(name)

    def update(before: Rows, touched: list[incremental.Touch]) -> Rows | None:
        return query_delta.updated(get_store(), query.text, query.bindings(given), before, touched)

    return cached(
        lambda: queries.run(get_store(), name, given),
        "query",
        name,
        tuple(sorted(given.items())),
        reads=(query.text,),
        update=update,
    )


def labels(iris: set[str]) -> dict[str, Label]:
    """A label for each IRI, from those asked for before: kept across writes, but for the nodes a
    write changed (a label is a node's own triples), and asked for the rest."""

    def update(before: dict[str, Label], touched: list[incremental.Touch]) -> dict[str, Label]:
        if any(t.subject is None for t in touched):
            return {}
        changed = {str(t.subject) for t in touched}
        # a copy first: readers may be adding to `before` on other threads (dict() copies at once)
        return {iri: label for iri, label in dict(before).items() if iri not in changed}

    known: dict[str, Label] = cached(dict, "labels", reads=(browse.LABELS_QUERY,), update=update)
    missing = iris - known.keys()
    if missing:
        known.update(browse.labels(get_store(), missing))  # shared by readers: each adds what it asked
    return {iri: known[iri] for iri in iris if iri in known}  # browse.labels names no empty IRI


def at_hand(*key: Any) -> Any | None:
    """What `cached` holds for `key` in the store's present state, else None: never worked out."""
    with _cache_lock:
        return state().page_cache.get((*key, _generation(get_store())))


def report_at_hand(day: dt.date) -> validation.Report | None:
    """The report of every rule on `day` (stage 2's: `report` works out no other) if one is already
    worked out for the present state of the store, else None: for a page that can do with less."""
    return at_hand("report", 2, day)  # type: ignore[no-any-return]


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
        from .dashboard import _dashboard  # which imports this module

        try:
            lower_priority(19)
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


def lower_priority(nice: int) -> None:
    """This thread's nice value at least `nice` (threads it starts inherit it)."""
    if hasattr(os, "setpriority"):  # Linux: a thread's own nice value
        thread = threading.get_native_id()
        # never above what it has: one started by warm() has 19, and only root may raise a
        # priority (as another user the pool broke, and every page after it answered 500)
        os.setpriority(os.PRIO_PROCESS, thread, max(nice, os.getpriority(os.PRIO_PROCESS, thread)))


# Whole validations run on threads of their own at a lower priority, so that cheap reads (traces,
# one system's rules, registers) take the CPU first: under 40 clients a whole validation after
# every write took half the CPU, and a 40 ms trace waited 2 s.
_whole = ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="aims-validate", initializer=partial(lower_priority, 10)
)


# The views call these three as pages.report(...) and so on: tests/test_input_limits.py reads calls as
# module.function to find every view that spends the budget.
def report(stage: int | None, day: dt.date) -> validation.Report:
    """The store engine's report of a stage (None: every rule) on a day, worked out once per state
    of the store (from the one kept before it and the writes since: _validated); working it out
    counts against the caller's budget (budget.py). Stage 2 runs every rule: that is the report
    worked out, and stage 1's and every rule's are drawn from it (validation.of_stage), so a
    dashboard validates once, not once a stage (at 10,000 systems about 40 s each)."""
    if stage != 2:
        every = report(2, day)
        return cached(
            lambda: (
                validation.of_stage(every, 1, get_store())
                if stage == 1
                else dataclasses.replace(every, stage=None)
            ),
            "report",
            stage,
            day,
        )

    def compute() -> validation.Report:
        budget.spend(day)
        held, store, minute = state(), get_store(), _generation(get_store())[2]
        return _whole.submit(partial(_validated, held, store, minute, 2, day)).result()

    return cached(compute, "report", 2, day)


# Incremental validation: per live store, the last report worked out for each (stage, day) with
# the number of writes it saw, and what each write since changed (audit.record tells written()).
_KEPT_REPORTS = 6  # (stage, day) pairs kept; a report of another day is a start for a new one
_KEPT_WRITES = 10_000  # writes remembered; past that a report is worked out from nothing


@dataclass
class _Memory:
    lock: threading.Lock = field(default_factory=threading.Lock)
    kept: dict[tuple[int | None, dt.date], tuple[int, int, incremental.Kept]] = field(default_factory=dict)
    writes: dict[int, list[history.Change] | None] = field(default_factory=dict)


# per application, not per store: the write numbers are its own (two applications over one store,
# as tests make, each count from nothing, and a report one kept is no start for the other)
_memories: weakref.WeakKeyDictionary[State, _Memory] = weakref.WeakKeyDictionary()
_memories_lock = threading.Lock()


def _memory(held: State) -> _Memory:
    with _memories_lock:
        return _memories.setdefault(held, _Memory())


def _changes_since(memory: _Memory, seen: int, now: int) -> list[history.Change] | None:
    """What writes seen+1 .. now changed, in order; None when one of them is not listed (not
    worked out, or too many: history.TooMany, an empty list that must not pass for "nothing").
    The caller holds memory.lock."""
    found: list[history.Change] = []
    for number in range(seen + 1, now + 1):
        listed = memory.writes.get(number)
        if listed is None or isinstance(listed, history.TooMany):
            return None
        found += listed
    return found


def written(number: int, changes: list[history.Change] | None) -> None:
    """Write `number`'s changes (None: not known), told by audit.record before the write counts,
    so that a reader who sees the count finds them."""
    held = state()
    memory = _memory(held)
    with _cache_lock:
        carried = [generation[0] for generation, _ in held.page_carry.values() if generation[0] >= 0]
    with memory.lock:
        memory.writes[number] = changes  # for kept reports, and cached work that carries over (cached)
        # what no kept report or carried work needs (they need the writes after their own state)
        needed = min([w for w, _, _ in memory.kept.values()] + carried, default=number - 1)
        for old in [n for n in memory.writes if n <= needed]:
            del memory.writes[old]
        while len(memory.writes) > _KEPT_WRITES:
            del memory.writes[next(iter(memory.writes))]  # the oldest: numbers come in order


def _validated(held: Any, store: Store, minute: int, stage: int | None, day: dt.date) -> validation.Report:
    """The report of the live store: the kept report nearest to it (this stage, this day or
    another) brought up to date with the changes of the writes since (incremental.revalidate; a
    write whose changes are not known makes it a full run). A snapshot is validated as it is."""
    if isinstance(store, snapshots.SnapshotView) and stage in (None, 2) and day == store.snapshot.as_of:
        # every rule on the snapshot's own day (stage 2 runs every rule): the report kept beside it
        return dataclasses.replace(snapshots.report(store), stage=stage)
    limit = held.settings.query_timeout  # each of its queries, as for a client's SPARQL query
    if store is not held.store:
        return validation.validate(store, as_of=day, stage=stage, timeout=limit)
    memory = _memory(held)
    with memory.lock:
        seen = held.writes  # read first: the store holds at least these writes
        starts = [(w, k) for (st, d), (w, m, k) in memory.kept.items() if st == stage and m == minute]
        same_day = memory.kept.get((stage, day))
        base = (
            (same_day[0], same_day[2])
            if same_day and same_day[1] == minute
            else max(starts, default=None, key=lambda s: s[0])
        )
        changes = _changes_since(memory, base[0], seen) if base is not None else []
    if base is None:
        kept = incremental.validate(store, day, stage, limit)
    else:
        kept = incremental.revalidate(store, base[1], day, changes, stage, limit)
    with memory.lock:
        memory.kept[(stage, day)] = (seen, minute, kept)
        while len(memory.kept) > _KEPT_REPORTS:
            del memory.kept[min(memory.kept, key=lambda k: memory.kept[k][0])]
    return kept.report


def keep_snapshot_report(store: Store, taken: snapshots.Snapshot) -> None:
    """Keep the report of a snapshot just taken (every rule on its day) and its risks' verdicts
    beside it, so that its first diff, trend point or page does not wait for a whole validation. Its
    data is the live data of this moment (the caller holds the write lock): when a live report is
    kept to bring up to date (incremental validation: a fraction of a second), that is its report;
    the rest is worked out from the snapshot in the background, at low priority."""
    held = state()
    memory = _memory(held)
    with memory.lock:
        incremental_start = any(stage == 2 for stage, _ in memory.kept)
    if incremental_start:
        minute = _generation(store)[2]
        every = _validated(held, store, minute, 2, taken.as_of)  # stage 2 runs every rule
        snapshots.keep_report(store, taken, dataclasses.replace(every, stage=None))

    def work_out() -> None:
        try:
            snapshots.keep_judgement(snapshots.SnapshotView(store, taken))
        except Exception:  # noqa: BLE001 - the first reader of the snapshot works it out, and sees any error
            log.exception("the report or risk verdicts of snapshot %s were not worked out", taken.name)

    _whole.submit(work_out)


def gaps(stage: int | None, day: dt.date) -> list[reports.RequirementStatus]:
    def compute() -> list[reports.RequirementStatus]:
        covered = cached(  # every stage's and day's
            lambda: reports.coverage(get_store()),
            "requirement coverage",
            reads=tuple(queries.get(name).text for name in reports.COVERAGE_QUERIES),
        )
        return reports.gap_analysis(get_store(), day, report(stage, day), covered=covered)

    return cached(compute, "gaps", stage, day)


def framework_status(key: str, day: dt.date) -> list[frameworks.ItemStatus]:
    """A crosswalk's statuses on a day, from the same cached gap analysis the ISO pages use."""
    return cached(lambda: frameworks.status(get_store(), key, day, gaps(None, day)), "framework", key, day)


def readiness(stage: int, day: dt.date) -> reports.Readiness:
    return reports.summarise(stage, day, report(stage, day), gaps(stage, day))
