"""A property-based fuzz of the HTTP API (Hypothesis, a bounded number of examples): every
operation that /openapi.json describes, called with generated parameters, headers and bodies, by
an anonymous caller and by an editor. Whatever comes in, the service answers: never a 5xx other
than a query stopped at its limit (503), and every 4xx is a problem document."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.http import create_app
from service.store.embedded import EmbeddedStore

from .conftest import load_example

EDITOR = {"Authorization": "Bearer fuzz-editor"}
APP = create_app({"tokens": "fuzz-editor=editor", "query_timeout": 2}, store=load_example(EmbeddedStore()))
SPEC = json.loads(APP.test_client().get("/openapi.json").get_data(as_text=True))
OPERATIONS = sorted(
    (path, method)
    for path, item in SPEC["paths"].items()
    for method in item
    if method in ("get", "post", "put", "delete", "head")
)

# values a client might send, from plausible to hostile
TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "2026-11-20",
            "2026-02-30",
            "1",
            "3",
            "-1",
            "https://aurora-lending.example/aims/risk-02",
            "not an iri",
            "<>",
            '"',
            "%00",
            "x" * 3000,
            "SELECT * WHERE { ?s ?p ?o } LIMIT 1",
            "ASK { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }",
            "\u202e\ufeff\ud7ff",
        ]
    ),
    st.text(max_size=60),
)
MEDIA = st.sampled_from(
    [
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
        "application/rdf+xml",
        "application/sparql-query",
        "application/sparql-update",
        "application/x-www-form-urlencoded",
        "image/png",
        "",
    ]
)
BODY = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"<urn:x:a> <urn:x:p> 1 .",
            b'{"@id": "urn:x:a", "urn:x:p": [[[[1]]]]}',
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
            b"INSERT DATA { <urn:x:a> <urn:x:p> 1 }",
            b"\xff\xfe\x00",
        ]
    ),
)


def _fill(path: str, draw_text: str) -> str:
    """A path with its {placeholders} filled."""
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + urllib.parse.quote(draw_text or "x", safe="") + path[end + 1 :]
    return path


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_makes_the_service_fail(path: str, method: str, data: st.DataObject) -> None:
    parameters = SPEC["paths"][path][method].get("parameters", [])
    query = {
        p["name"]: data.draw(TEXT, label=p["name"])
        for p in parameters
        if p.get("in") == "query" and (p.get("required") or data.draw(st.booleans()))
    }
    target = _fill(path, data.draw(TEXT, label="path")) + (
        "?" + urllib.parse.urlencode(query) if query else ""
    )
    headers = {
        "Accept": data.draw(
            st.sampled_from(["*/*", "application/json", "text/csv", "text/turtle", "image/png"])
        )
    }
    if data.draw(st.booleans()):
        headers.update(EDITOR)
    body = b""
    if method in ("post", "put"):
        headers["Content-Type"] = data.draw(MEDIA)
        body = data.draw(BODY)
    response = APP.test_client().open(target, method=method.upper(), headers=headers, data=body)
    status = response.status_code
    assert status < 500 or (status == 503 and response.is_json), (target, status, response.get_data()[:300])
    if 400 <= status < 500 and method != "head":
        assert response.mimetype == "application/problem+json", (target, status)
        assert json.loads(response.get_data())["status"] == status
