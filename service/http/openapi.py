"""The OpenAPI 3.1 description of the service and a human-readable API page built from it."""

from __future__ import annotations

import html
from typing import Any

from .. import __version__

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _op(
    summary: str,
    params: list[tuple[str, str, bool]] | None = None,
    responses: dict[str, str] | None = None,
    write: bool = False,
    body: list[str] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [
            {"name": n, "in": "query", "required": r, "description": d, "schema": {"type": "string"}}
            for n, d, r in (params or [])
        ],
        "responses": {
            code: ({"description": text} if code < "400" else {"description": text, "content": PROBLEM})
            for code, text in {
                **(responses or {"200": "OK"}),
                "400": "Bad request (problem details)",
                "401": "Missing or unknown token",
                "403": "Role too low",
            }.items()
        },
    }
    if write:
        op["security"] = [{"bearer": []}]
    if body:
        op["requestBody"] = {"content": {m: {"schema": {"type": "string"}} for m in body}}
    return op


AS_OF = ("as_of", "Judge dates as of this day (YYYY-MM-DD); default today", False)
IRI = ("iri", "The IRI to trace", True)
RDF_TYPES = [
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
]

PATHS: dict[str, dict[str, Any]] = {
    "/health": {"get": _op("Status, store kind and triple count")},
    "/audit-log": {
        "get": _op(
            "The audit trail of writes, newest last (admin role): who (role and token fingerprint), "
            "when, which graph, triples before and after",
            [("limit", "How many entries (default 100)", False)],
            {"200": "Entries", "401": "No token", "403": "Not an admin"},
        )
    },
    "/sparql": {
        "get": _op(
            "SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE); SERVICE refused",
            [("query", "The query", True)],
            {"200": "Results", "406": "Format not offered", "503": "Query past the time limit"},
        ),
        "post": _op(
            "Query (form query= or application/sparql-query) or update (form update= or "
            "application/sparql-update, editor role); SERVICE and LOAD refused",
            None,
            {"200": "Results", "204": "Update done", "413": "Body too large", "415": "Unsupported type"},
            write=True,
            body=[
                "application/x-www-form-urlencoded",
                "application/sparql-query",
                "application/sparql-update",
            ],
        ),
    },
    "/graph-store": {
        m: _op(
            s,
            [("graph", "Graph IRI", False), ("default", "The default graph", False)],
            r,
            write=m != "get",
            body=RDF_TYPES if m in ("put", "post") else None,
        )
        for m, s, r in (
            ("get", "Get a graph", {"200": "The graph", "404": "No such graph"}),
            ("put", "Replace a graph, all or nothing", {"201": "Created", "204": "Replaced"}),
            ("post", "Add to a graph, all or nothing", {"201": "Created", "204": "Added"}),
            ("delete", "Delete a graph", {"204": "Deleted", "404": "No such graph"}),
        )
    },
    "/graph-store/{path}": {
        m: {
            **_op(
                f"{m.upper()} a graph named by its own URL (direct identification)",
                None,
                None,
                write=m != "get",
            ),
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
        }
        for m in ("get", "put", "post", "delete")
    },
    "/export": {
        "get": _op(
            "The dataset or one graph in any RDF format (Turtle and TriG with prefixes, JSON-LD "
            "compacted with /context.jsonld); the catalogue only when asked",
            [
                (
                    "format",
                    "turtle, nt, nquads, trig, json-ld, xml, xlsx (the workbook) or oscal (the SoA "
                    "as an OSCAL component definition)",
                    False,
                ),
                ("as_of", "oscal: the day evidence validity is judged on", False),
                ("graph", "Graph IRI", False),
                ("with_catalogue", "true to include the ISO/IEC 42001 catalogue graph", False),
            ],
        )
    },
    "/context.jsonld": {"get": _op("The vocabulary's JSON-LD context")},
    "/import": {
        "post": _op(
            "A filled workbook (aims template) into a graph, all or nothing (editor role); every "
            "problem named by sheet, row and column",
            [
                ("graph", "The graph (default: the import graph)", False),
                ("base", "IRI base for rows without one", False),
            ],
            {"201": "Imported; the validation counts after it", "415": "Not an XLSX body"},
            write=True,
            body=["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
        )
    },
    "/validate": {
        "get": _op(
            "SHACL validation report (JSON, or the W3C report graph for Accept: text/turtle)",
            [
                ("stage", "1 (documented system) or 2 (all rules, stage 1 included)", False),
                ("system", "AI system IRI", False),
                AS_OF,
                ("inference", "none, rdfs or owlrl (pyshacl engine)", False),
                ("engine", "store (rules run by the store, default) or pyshacl (the reference)", False),
            ],
        )
    },
    "/gap-analysis": {
        "get": _op(
            "Status of every leaf clause, Annex A control and own control, from the validation results",
            [("stage", "1 or 2 (default: all rules)", False), AS_OF],
        )
    },
    "/readiness": {
        "get": _op("Certification readiness per clause group", [("stage", "1 or 2", True), AS_OF])
    },
    "/soa": {
        "get": _op(
            "Statement of Applicability in the standard's order as JSON, CSV (Accept: text/csv) or a page",
            [("format", "json, csv or html", False), AS_OF],
        )
    },
    **{
        f"/trace/{k}": {
            "get": _op(
                f"Traceability chain of a {k}: nested JSON with a label for every IRI, or a page",
                [IRI, AS_OF] if k in ("risk", "control") else [IRI],
                {"200": "The chain", "404": "Unknown IRI"},
            )
        }
        for k in ("risk", "control", "requirement", "system", "evidence")
    },
    **{
        f"/{name}": {
            "get": _op(
                f"Register: {title.lower()}; JSON, CSV or a sortable, filterable page",
                [
                    ("format", "json, csv or html", False),
                    ("q", "Only rows containing these words (page)", False),
                    ("sort", "Sort the page by this column", False),
                    ("page", "Page number (100 rows a page)", False),
                    AS_OF,
                ],
            )
        }
        for name, title in (
            ("systems", "AI systems"),
            ("risks", "Risks"),
            ("controls", "Control implementations"),
            ("documents", "Documents"),
            ("audits", "Audits"),
            ("findings", "Findings and corrective actions"),
            ("parties", "Interested parties"),
            ("roles", "People and roles"),
        )
    },
    "/resource": {
        "get": _op(
            "Any resource of the graph: label, types, properties and what links to it (JSON or a page)",
            [("iri", "The resource", True)],
            {"200": "The resource", "404": "Nothing in the graph is about it"},
        )
    },
    "/validation": {
        "get": _op("The validation report as a page (the same as /validate in a browser)", [AS_OF])
    },
    "/as-of": {
        "get": _op(
            "Keep a day for every page (a cookie) and go back to the page it was chosen on",
            [
                ("day", "YYYY-MM-DD; empty to go back to today", False),
                ("next", "The page to go back to", False),
            ],
            {"302": "Back to the page"},
        )
    },
    "/queries": {"get": _op("The named queries and their parameters")},
    "/queries/{name}": {
        "get": {
            **_op(
                "Run a named query; its parameters as query parameters",
                None,
                {"200": "SPARQL results", "404": "No such query"},
            ),
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        }
    },
    "/openapi.json": {"get": _op("This description")},
    "/api": {"get": _op("A human-readable page of the API")},
}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aims-graph",
            "version": __version__,
            "description": "ISO/IEC 42001 AI management system as a knowledge graph",
        },
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "line": {"type": "integer"},
                        "column": {"type": "integer"},
                    },
                }
            },
        },
    }


def _page() -> str:
    rows = []
    for path, ops in PATHS.items():
        for method, op in ops.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{html.escape(params)}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>aims-graph API</title><link rel='icon' href='data:,'></head><body>"
        f"<h1>aims-graph {__version__} API</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
        "Errors are RFC 9457 problem details. Writes need <code>Authorization: Bearer TOKEN</code> "
        "with the editor role.</p><table border='1'><tr><th>method</th><th>path</th><th>what</th>"
        f"<th>parameters</th></tr>{''.join(rows)}</table></body></html>"
    )


API_PAGE = _page()
