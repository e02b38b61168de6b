"""What the rules make of the store: the validation report (JSON, the W3C report graph or a page by
clause), gap analysis (JSON or a page) and readiness (JSON; a browser goes to the dashboard).
Named verdicts.py, not validation.py: the budget test (tests/test_input_limits.py) reads calls as
module.function, and `validation.validate(...)` (service/validation) would read as this module's view."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

from flask import Response, current_app, g, jsonify, redirect, url_for
from rdflib import URIRef

from .. import frameworks, reports, validation
from ..browse import Label
from . import budget, formats, pages
from .api import (
    OVER_BUDGET,
    FrameworkItemStatus,
    GapParams,
    Readiness,
    ReadinessParams,
    RequirementStatus,
    TraceParams,
    ValidateParams,
    ValidationReport,
    checked,
    operation,
)
from .errors import Problem, checked_iri
from .pages import HTML_OR_JSON, _group_key, _page, as_of
from .reports import bp  # the endpoints stay reports.validate, reports.gap_analysis, reports.readiness
from .state import default_day, get_store

# The reference engine runs pySHACL, whose rdflib query parsing is not thread-safe: one such
# report at a time. Only that waits for it: the store engine's reports (pages, JSON) take no lock,
# and no cheap read does.
_reference_lock = threading.Lock()


@bp.route("/validate")
@bp.route("/validation")
@operation(
    "get",
    "The validation report: JSON, the W3C report graph (text/turtle), or a page grouped by clause",
    "reports",
    params=ValidateParams,
    answer=ValidationReport,
    media=("application/json", "text/turtle", "text/html"),
    others={
        403: "The reference engine or inference without the editor role",
        406: "Format not offered",
        **OVER_BUDGET,
    },
    role="reader",
)
def validate() -> Response:
    media = formats.choose({"application/json": "json", "text/turtle": "turtle", "text/html": "html"})
    if media == "text/html":
        return validation_page()
    params = checked()
    system = checked_iri(params.system, "Bad IRI", "bad-parameter") if params.system else None
    store = get_store()
    day = params.as_of or default_day()
    if params.engine == "pyshacl" or params.inference != "none":
        budget.require_editor("the reference engine (engine=pyshacl) and inference")
        with _reference_lock:
            report = validation.validate(
                store,
                as_of=day,
                stage=params.stage,
                system=system,
                inference=params.inference,
                engine="pyshacl",
            )
    elif system is not None:
        budget.spend(day)  # one system's rules: not cached, still a day's validation
        report = validation.validate(store, as_of=day, stage=params.stage, system=system)
    else:
        report = pages.report(params.stage, day)  # the pages' cache: a day worked out is free
    if media == "text/turtle":
        return Response(report.graph.serialize(format="turtle"), mimetype="text/turtle")
    return jsonify(report.to_json())


@bp.route("/gap-analysis")
@operation(
    "get",
    "A status for every leaf clause, Annex A and own control (JSON or a page)",
    "reports",
    params=GapParams,
    answer=list[RequirementStatus] | list[FrameworkItemStatus],
    media=("application/json", "text/html"),
    others=OVER_BUDGET,
    role="reader",
)
def gap_analysis() -> Response:
    key = checked().framework
    if key != "iso42001":
        return framework_gaps(key)
    if formats.choose(HTML_OR_JSON) == "text/html":
        return gap_page()
    statuses = pages.gaps(checked().stage, checked().as_of or default_day())
    return jsonify([vars(s) for s in statuses])


@bp.route("/readiness")
@operation(
    "get",
    "Certification readiness for a stage (JSON; a browser goes to the dashboard)",
    "reports",
    params=ReadinessParams,
    answer=Readiness,
    others={302: "A browser: to the dashboard", **OVER_BUDGET},
    role="reader",
)
def readiness() -> Response:
    stage, as_of, key = checked().stage, checked().as_of, checked().framework
    if key != "iso42001":
        items = pages.framework_status(key, as_of or default_day())
        return jsonify(
            {"framework": key, "as_of": (as_of or default_day()).isoformat(), **frameworks.readiness(items)}
        )
    if stage is None:
        raise Problem(
            400, "Bad parameter", "stage: give 1 or 2 for ISO/IEC 42001's readiness", "bad-parameter"
        )
    if formats.choose(HTML_OR_JSON) == "text/html":
        return redirect(url_for("pages.dashboard", as_of=as_of.isoformat() if as_of else None))  # type: ignore[return-value]
    result = pages.readiness(stage, as_of or default_day())
    return jsonify(result.to_json())


def _names(*iris: set[str]) -> dict[str, Label]:
    return pages.labels(set().union(*iris))  # kept across writes but for the nodes they changed


RESULTS_PER_PAGE = 200  # a page of a large report stays readable (at 1,000 systems: 1.5 MB whole)


def validation_page() -> Response:
    """The validation report as a page: results by clause group, each with its rule's purpose;
    filtered by severity, requirement and system, a page of RESULTS_PER_PAGE at a time."""
    params = checked()
    stage, day = params.stage, as_of()
    if params.system:
        system = checked_iri(params.system, "Bad IRI", "bad-parameter")
        budget.spend(day)  # one system's rules: not cached, still a day's validation
        found = validation.validate(get_store(), as_of=day, stage=stage, system=system)
    else:
        found = pages.report(stage or 2, day)  # no stage: every rule, which is what stage 2 runs
    shown = [
        r
        for r in found.results
        if (params.severity is None or r.severity == params.severity)
        and (params.requirement is None or params.requirement in (r.requirement_id, r.control_id))
    ]
    pages_of = max(1, -(-len(shown) // RESULTS_PER_PAGE))
    page = min(params.page, pages_of)
    on_page = shown[(page - 1) * RESULTS_PER_PAGE : page * RESULTS_PER_PAGE]
    grouped: dict[str, list[validation.Result]] = defaultdict(list)
    for r in on_page:
        grouped[reports.group_of(r.requirement_id or "", False)].append(r)
    g.names = _names({r.focus for r in on_page if not r.focus.startswith("_:")})
    filters = {"severity": params.severity, "requirement": params.requirement, "system": params.system}
    return _page(
        "validation.html",
        report=found,
        groups=sorted(grouped.items(), key=lambda item: _group_key(item[0])),
        comments=_rule_comments(),
        stage=stage,
        counts=Counter(r.severity for r in found.results),
        shown=len(shown),
        page=page,
        pages=pages_of,
        filters={k: v for k, v in filters.items() if v},
    )


FINDINGS_PER_REQUIREMENT = 10  # on the gap page; the rest are counted, and listed on the validation page


def gap_page() -> Response:
    """The gap analysis as a page by clause group; filtered by status ("unmet": not met or partly
    met) and clause group. Each requirement shows its first findings and counts the rest (at
    1,000 systems all 6,662 made 2 MB of HTML and 190 ms a warm load)."""
    params = checked()
    stage, day = params.stage, as_of()
    statuses = pages.gaps(stage or 2, day)
    wanted = (reports.NOT_MET, reports.PARTLY) if params.status == "unmet" else (params.status,)
    shown = [
        s
        for s in statuses
        if (params.status is None or s.status in wanted) and (params.group is None or s.group == params.group)
    ]
    grouped: dict[str, list[reports.RequirementStatus]] = defaultdict(list)
    for s in shown:
        grouped[s.group].append(s)
    g.names = _names({s.requirement for s in shown})
    filters = {"status": params.status, "group": params.group}
    return _page(
        "gaps.html",
        groups=sorted(grouped.items(), key=lambda item: _group_key(item[0])),
        stage=stage,
        counts=Counter(s.status for s in statuses),
        all_groups=sorted({s.group for s in statuses}, key=_group_key),
        filters={k: v for k, v in filters.items() if v},
        findings_shown=FINDINGS_PER_REQUIREMENT,
    )


def framework_gaps(key: str) -> Response:
    """A crosswalk's statuses: JSON, or a page of its items in document order."""
    media = formats.choose(HTML_OR_JSON)
    day = as_of(from_cookie=media == "text/html")
    items = pages.framework_status(key, day)
    if media == "application/json":
        return Response(current_app.json.dumps([i.to_json() for i in items]), mimetype="application/json")
    g.names = _names({s for i in items for s in i.systems})
    return _page(
        "framework.html",
        framework=frameworks.get(key),
        items=items,
        counts=Counter(i.status for i in items if i.requirement),
        summary=frameworks.readiness(items),
    )


@bp.route("/framework-item")
@operation(
    "get",
    "One item of a crosswalk (an AI Act obligation, a NIST AI RMF subcategory) with its status and the chain behind it: mapping and reason, ISO/IEC 42001 requirement, validation results and evidence (JSON or a page)",
    "reports",
    params=TraceParams,
    answer=FrameworkItemStatus,
    media=("application/json", "text/html"),
    others={404: "No such item", **OVER_BUDGET},
    role="reader",
)
def framework_item() -> Response:
    media = formats.choose(HTML_OR_JSON)
    raw = checked().iri
    if not raw:
        raise Problem(400, "Missing parameter", "give ?iri=IRI of a framework item", "bad-parameter")
    iri = str(checked_iri(raw, "Bad IRI", "bad-parameter"))
    day = as_of(from_cookie=media == "text/html")
    budget.spend(day)  # the day's validation is what an item is judged by: over budget, 429 first
    key = frameworks.key_of(iri)
    if key is None:
        raise Problem(
            404, "Not Found", f"{iri} is not an item of the EU AI Act or the NIST AI RMF", "unknown-iri"
        )
    found = next((i for i in pages.framework_status(key, day) if i.item == iri), None)
    if found is None:
        raise Problem(404, "Not Found", f"no item {iri} in {frameworks.get(key).title}", "unknown-iri")
    if media == "application/json":
        return Response(current_app.json.dumps(found.to_json()), mimetype="application/json")
    focus = {str(r["focus"]) for r in found.findings}
    for step in found.steps:
        focus |= {str(r["focus"]) for r in step.findings}
        focus |= {iri for iris in step.resources.values() for iri in iris}
    g.names = _names({f for f in focus if not f.startswith("_:")} | set(found.systems))
    return _page("framework-item.html", framework=frameworks.get(key), item=found)


def _rule_comments() -> dict[str, str]:
    shapes = validation.shapes_graph()
    comment = URIRef("http://www.w3.org/2000/01/rdf-schema#comment")
    return {str(s): str(o) for s, o in shapes.subject_objects(comment)}
