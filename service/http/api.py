"""The HTTP API described by the code itself: each view says, with `@operation`, what it takes
(a pydantic model of its query parameters, the media types of its body) and what it answers (a
model of its JSON, or other media types). The same models check every request before the view
runs (a 400 problem names each bad parameter) and make /openapi.json, so the description cannot
drift from what the service does."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal

from flask import Flask, request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .. import __version__
from ..frameworks import ItemStatus as FrameworkItemStatus
from ..reports import RequirementStatus
from ..traces import VERDICTS as TRACE_VERDICTS
from ..validation import Result
from . import auth
from .errors import Problem

# ------------------------------------------------------------------------------ the models


class Params(BaseModel):
    """Query parameters; those a view does not name are left to it (a named query's own)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AsOf(Params):
    as_of: dt.date | None = Field(None, description="Judge dates as of this day (default: today)")


class Stage(AsOf):
    stage: int | None = Field(None, ge=1, le=2, description="1 (documented system) or 2 (all rules)")


class ValidateParams(Stage):
    system: str | None = Field(None, description="Only what hangs off this AI system (its IRI)")
    inference: Literal["none", "rdfs", "owlrl"] = Field("none", description="pyshacl engine only")
    engine: Literal["store", "pyshacl"] = Field("store", description="The store's engine, or pySHACL")
    format: str | None = Field(None, description="json, turtle (the W3C report) or html")
    severity: Literal["Violation", "Warning", "Info"] | None = Field(
        None, description="The page: only results of this severity"
    )
    requirement: str | None = Field(
        None, description="The page: only results against this clause or control (6.1.2, A.7.4)"
    )
    page: int = Field(1, ge=1, description="The page: which page of results")


FrameworkKey = Literal["iso42001", "eu-ai-act", "nist-ai-rmf"]


class GapParams(Stage):
    framework: FrameworkKey = Field(
        "iso42001", description="The framework judged: ISO/IEC 42001, or a crosswalk"
    )
    status: str | None = Field(
        None, description="The page: only requirements of this status; 'unmet' for not met and partly met"
    )
    group: str | None = Field(None, description="The page: only this clause group (6, A.7, own)")


class ReadinessParams(AsOf):
    stage: int | None = Field(None, ge=1, le=2, description="1 or 2 (ISO/IEC 42001 only, where it is needed)")
    framework: FrameworkKey = Field(
        "iso42001", description="The framework judged: ISO/IEC 42001, or a crosswalk"
    )


class TraceParams(AsOf):
    iri: str | None = Field(None, description="The IRI to trace")
    id: str | None = Field(
        None, description="Or its identifier (R01), clause or control number (9.1, A.5.5) or label"
    )
    format: str | None = Field(None, description="json or html")


class IriParams(Params):
    iri: str = Field(description="The resource's IRI")
    format: str | None = Field(None, description="json or html")


class RegisterParams(AsOf):
    format: str | None = Field(None, description="json, csv or html")
    q: str | None = Field(None, description="Only rows containing these words (page)")
    sort: str | None = Field(None, description="Sort the page by this column")
    dir: Literal["asc", "desc"] | None = Field(None, description="Sort order")
    page: int | None = Field(None, ge=1, description="Page number (100 rows a page)")
    days: int | None = Field(
        None,
        ge=0,
        le=3660,
        description="Evidence register: 'expiring' means valid for at most this many more days",
    )


class ExportParams(AsOf):
    format: (
        Literal[
            "turtle",
            "ttl",
            "nt",
            "ntriples",
            "nquads",
            "trig",
            "json-ld",
            "jsonld",
            "xml",
            "rdfxml",
            "xlsx",
            "oscal",
        ]
        | None
    ) = Field(None, description="An RDF format, xlsx (the workbook) or oscal (the SoA in OSCAL)")
    graph: str | None = Field(None, description="Only this graph (its IRI)")
    with_catalogue: bool = Field(False, description="Include the ISO/IEC 42001 catalogue graph")


class ImportParams(Params):
    graph: str | None = Field(None, description="The graph to import into (default: the import graph)")
    base: str | None = Field(None, description="The IRI rows without one are named from")


class GraphParams(Params):
    graph: str | None = Field(None, description="Graph IRI")
    default: str | None = Field(None, description="Present: the default graph")


class SparqlParams(Params):
    query: str | None = Field(None, description="The query (GET)")
    format: str | None = Field(None, description="json, xml, csv or tsv (results); an RDF format (graphs)")


class FormatParams(Params):
    format: str | None = Field(None, description="json, xml, csv or tsv")


class AuditParams(Params):
    limit: int = Field(100, ge=1, le=10_000, description="How many entries, newest last")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    store: str = Field(description="embedded or remote")
    triples: int


class ValidationReport(BaseModel):
    conforms: bool
    as_of: dt.date
    stage: int | None
    counts: dict[str, int] = Field(description="Results by severity")
    results: list[Result]


class Readiness(BaseModel):
    stage: int
    as_of: dt.date
    ready: bool
    groups: dict[str, dict[str, float | int | None]] = Field(
        description="Per clause group: count per status, percent_met"
    )
    blocking: list[Result]


class Label(BaseModel):
    iri: str
    label: str
    id: str | None


class Gap(BaseModel):
    key: str = Field(description="The result's anchor on the validation page")
    about: str = Field(description="The node of the chain the result is on")
    label: str
    id: str | None
    requirement: str | None = Field(description="The clause or control number it counts against")
    severity: Literal["Violation", "Warning", "Info"]
    message: str
    path: str | None = Field(description="The vocabulary term at fault, if one is")
    value: str | None
    counts: bool = Field(description="Whether it counts against the traced control or requirement")


class Trace(BaseModel):
    model_config = ConfigDict(extra="allow")  # the traced thing and its nested lists, by kind
    verdict: str = Field(
        description="The answer: for a risk, whether it is covered by valid evidence on the day",
        json_schema_extra={"enum": list(TRACE_VERDICTS)},
    )
    gaps: list[Gap] = Field(description="The validation results on the chain's nodes")
    as_of: dt.date
    labels: dict[str, Label]


class Resource(BaseModel):
    iri: str
    label: str
    id: str | None
    types: list[str]
    properties: list[tuple[str, Any]] = Field(description="(property IRI, value) pairs")
    linkedFrom: list[tuple[str, str]] = Field(description="(subject IRI, property IRI) pairs")


class QueryParameter(BaseModel):
    name: str
    type: Literal["IRI", "date", "string", "integer", "boolean"]
    default: str | None
    description: str


class NamedQuery(BaseModel):
    name: str
    title: str
    description: str
    parameters: list[QueryParameter]


class SparqlResults(BaseModel):
    """SPARQL 1.1 Query Results JSON: a SELECT's head and bindings, or an ASK's boolean."""

    head: dict[str, list[str]]
    results: dict[str, list[dict[str, dict[str, str]]]] | None = None
    boolean: bool | None = None


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="allow")  # an update's text, a torn line's remains
    at: str | None = None
    who: str | None = None
    action: str | None = None
    graph: str | None = None
    triples_before: int | None = None
    triples_after: int | None = None


class ImportResult(BaseModel):
    graph: str
    triples: int
    validation: dict[str, int | str] = Field(description="as_of and counts by severity after the import")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; `line` and `column` for syntax errors, `errors` for a workbook."""

    type: str
    title: str
    status: int
    detail: str
    line: int | None = None
    column: int | None = None
    errors: list[str] | None = None


RowList = list[dict[str, Any]]  # a register or the SoA as JSON: one object per row


# ------------------------------------------------------------------------------ the operations


# What a view that works out validation answers past the caller's budget (budget.py): its `others`.
OVER_BUDGET = {
    429: "Validation for too many different days a minute without the editor role (see Retry-After)"
}


@dataclass(frozen=True)
class Operation:
    summary: str
    tags: tuple[str, ...]
    params: type[Params] | None = None
    answer: Any = None  # the JSON answer's type (a model, a dataclass, a list of one), if JSON
    media: tuple[str, ...] = ("application/json",)  # what the success answer can be
    status: int = 200
    others: dict[int, str] = field(default_factory=dict)  # other statuses it gives, and when
    body: tuple[str, ...] = ()
    role: str | None = None  # who may call it when tokens are set: reader, editor or admin


def operation(method: str, summary: str, tags: tuple[str, ...] | str, **details: Any) -> Callable[[Any], Any]:
    """Describe a view's `method` and check its query parameters against `params` before it runs
    (the parsed values are left in `request.params`)."""
    op = Operation(summary, (tags,) if isinstance(tags, str) else tags, **details)

    def decorate(view: Any) -> Any:
        described: dict[str, Operation] = getattr(view, "__api__", {})
        if hasattr(view, "__api__"):  # a second method of the same view: one wrapper checks all
            described[method] = op
            return view

        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            current = checked.__api__.get(request.method.lower())  # type: ignore[attr-defined]
            if current is not None and current.role is not None:
                auth.check(current.role)  # who may ask is settled before what they ask is judged
            if current is not None and current.params is not None:
                request.params = parsed(current.params)  # type: ignore[attr-defined]
            return view(*args, **kwargs)

        checked.__api__ = {method: op}  # type: ignore[attr-defined]
        return checked

    return decorate


def checked() -> Any:
    """The request's query parameters as its operation's model read them."""
    return request.params  # type: ignore[attr-defined]


def parsed(model: type[Params]) -> Params:
    """The request's query parameters as `model`, or a 400 problem naming each one that is wrong."""
    values = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(values)
    except ValidationError as e:
        wrong = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise Problem(400, "Bad parameter", wrong, "bad-parameter") from None


# ------------------------------------------------------------------------------ the description


def _schema(kind: Any, definitions: dict[str, Any], inline: bool = False) -> dict[str, Any]:
    """The JSON Schema of a type, its named parts (and itself, when it is a class and not
    `inline`) in components/schemas."""
    schema = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")
    definitions.update(schema.pop("$defs", {}))
    if isinstance(kind, type) and not inline:
        definitions[kind.__name__] = schema
        return {"$ref": f"#/components/schemas/{kind.__name__}"}
    return schema


def spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `app`, from the operations its views declare."""
    definitions: dict[str, Any] = {}
    problem = {"application/problem+json": {"schema": _schema(ProblemDetails, definitions)}}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.endswith("static"):
            continue
        view = app.view_functions[rule.endpoint]
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<path:{argument}>", f"{{{argument}}}").replace(
                f"<{argument}>", f"{{{argument}}}"
            )
        for method, op in getattr(view, "__api__", {}).items():
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in sorted(rule.arguments)
            ]
            if op.params is not None:
                schema = _schema(op.params, definitions, inline=True)
                required = set(schema.get("required", []))
                for name, prop in schema.get("properties", {}).items():
                    description = prop.pop("description", "")
                    prop.pop("title", None)
                    parameters.append(
                        {
                            "name": name,
                            "in": "query",
                            "required": name in required,
                            "description": description,
                            "schema": prop,
                        }
                    )
            success: dict[str, Any] = {"description": op.summary}
            if op.status not in (204, 302, 303):
                success["content"] = {
                    media: {"schema": _schema(op.answer, definitions)}
                    if media in ("application/json", "application/ld+json") and op.answer is not None
                    else {"schema": {"type": "string"}}
                    for media in op.media
                }
            responses: dict[str, Any] = {str(op.status): success}
            for status, why in {
                **op.others,
                400: "Bad request",
                401: "Missing or unknown token",
                403: "Role too low",
            }.items():
                responses.setdefault(
                    str(status),
                    {"description": why, "content": problem} if status >= 400 else {"description": why},
                )
            described: dict[str, Any] = {
                "operationId": f"{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_') or 'dashboard'}",
                "summary": op.summary,
                "tags": list(op.tags),
                "parameters": parameters,
                "responses": responses,
            }
            if op.role:
                described["security"] = [{"bearer": []}]
            if op.body:
                described["requestBody"] = {"content": {m: {"schema": {"type": "string"}} for m in op.body}}
            paths.setdefault(path, {})[method] = described
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aims-graph",
            "version": __version__,
            "description": "ISO/IEC 42001 AI management system as a knowledge graph",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": definitions,
        },
    }


def page(document: dict[str, Any]) -> str:
    """The API as a page a person reads: every operation, what it takes and who may call it."""
    rows = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op["parameters"])
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{html.escape(params)}</td>"
                f"<td>{'token' if op.get('security') else ''}</td></tr>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>aims-graph API</title>"
        "<link rel='icon' href='data:,'><link rel='stylesheet' href='/static/style.css'></head><body><main>"
        f"<h1>aims-graph {__version__} API</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
        "Errors are RFC 9457 problem details. With tokens set, calls need <code>Authorization: Bearer "
        "TOKEN</code> with the role the operation asks for. <a href='/'>The dashboard</a>.</p>"
        "<table><thead><tr><th>method</th><th>path</th><th>what</th><th>parameters</th><th>auth</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></main></body></html>"
    )


__all__ = ["FrameworkItemStatus", "RequirementStatus", "RowList", "checked", "operation", "page", "spec"]
