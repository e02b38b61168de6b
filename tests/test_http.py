"""The HTTP service through Flask's test client: every endpoint and every error it promises."""

from __future__ import annotations

import csv
import io
import re

import pytest
from rdflib import BNode, Graph, Literal

from service.http import create_app
from service.store.embedded import EmbeddedStore

from .conftest import load_example

EX = "https://aurora-lending.example/aims/"
EDITOR, READER = {"Authorization": "Bearer ed-secret"}, {"Authorization": "Bearer rd-secret"}
AS_OF = "2026-11-20"


def make_app(store=None, **overrides):  # type: ignore[no-untyped-def]
    settings = {"tokens": "ed-secret=editor,rd-secret=reader", "max_body_bytes": 200_000, **overrides}
    return create_app(settings, store=store or load_example(EmbeddedStore()))


@pytest.fixture(params=["embedded", "oxigraph"])
def app(request):  # type: ignore[no-untyped-def]
    """The service on the embedded store, and on a remote store (a real `oxigraph serve`)."""
    if request.param == "embedded":
        return make_app()
    return make_app(store=load_example(request.getfixturevalue("oxigraph_remote")))


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    return body  # type: ignore[no-any-return]


def test_health(app, client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/health").get_json()
    assert (
        body["status"] == "ok"
        and body["store"] == app.extensions["aims"].store.kind
        and body["triples"] > 4000
    )


@pytest.mark.parametrize(
    "accept,media",
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
    ],
)
def test_sparql_select_formats(client, accept, media) -> None:  # type: ignore[no-untyped-def]
    q = "SELECT ?r WHERE { ?r a <https://w3id.org/aims#Risk> } ORDER BY ?r LIMIT 3"
    r = client.get("/sparql", query_string={"query": q}, headers={"Accept": accept})
    assert r.status_code == 200 and r.mimetype == media
    assert f"{EX}risk-01" in r.get_data(as_text=True)


def test_sparql_post_forms_and_ask_construct(client) -> None:  # type: ignore[no-untyped-def]
    ask = client.post(
        "/sparql",
        data={"query": "ASK { ?s a <https://w3id.org/aims#Risk> }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert ask.get_json(force=True)["boolean"] is True
    direct = client.post(
        "/sparql", data="SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", content_type="application/sparql-query"
    )
    assert direct.status_code == 200
    construct = client.get(
        "/sparql",
        query_string={"query": f"CONSTRUCT {{ <{EX}risk-07> ?p ?o }} WHERE {{ <{EX}risk-07> ?p ?o }}"},
        headers={"Accept": "text/turtle"},
    )
    assert (
        construct.mimetype == "text/turtle" and len(Graph().parse(data=construct.data, format="turtle")) == 9
    )
    for accept, fmt in (
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("application/n-triples", "nt"),
    ):
        r = client.get(
            "/sparql", query_string={"query": f"DESCRIBE <{EX}risk-07>"}, headers={"Accept": accept}
        )
        assert r.mimetype == accept and len(Graph().parse(data=r.data, format=fmt)) >= 8


def test_sparql_errors(client) -> None:  # type: ignore[no-untyped-def]
    assert problem(client.get("/sparql", query_string={"query": "SELEC ?x"}), 400)["type"].endswith(
        "sparql-syntax"
    )
    problem(client.get("/sparql"), 400)
    service = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
    assert "SERVICE" in problem(client.get("/sparql", query_string={"query": service}), 400)["title"]
    load = "LOAD <http://example.org/data.ttl>"
    assert "LOAD" in problem(client.post("/sparql", data={"update": load}, headers=EDITOR), 400)["title"]
    problem(
        client.get(
            "/sparql",
            query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"},
            headers={"Accept": "image/png"},
        ),
        406,
    )
    problem(client.post("/sparql", data="x", content_type="text/plain"), 415)


def test_updates_need_an_editor(client) -> None:  # type: ignore[no-untyped-def]
    update = "INSERT DATA { GRAPH <urn:x:g> { <urn:x:a> <urn:x:b> <urn:x:c> } }"
    problem(client.post("/sparql", data={"update": update}), 401)
    problem(client.post("/sparql", data={"update": update}, headers=READER), 403)
    problem(client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer wrong"}), 401)
    assert (
        client.post(
            "/sparql", data=update, content_type="application/sparql-update", headers=EDITOR
        ).status_code
        == 204
    )
    ask = client.get("/sparql", query_string={"query": "ASK { <urn:x:a> <urn:x:b> <urn:x:c> }"})
    assert ask.get_json(force=True)["boolean"] is True


def test_read_only_without_tokens_and_reads_can_need_a_token() -> None:
    store = load_example(EmbeddedStore())
    open_app = create_app({}, store=store).test_client()
    problem(open_app.post("/sparql", data={"update": "CLEAR ALL"}), 403)
    closed = create_app({"tokens": "rd=reader", "read_requires_token": True}, store=store).test_client()
    problem(closed.get("/soa"), 401)
    assert closed.get("/soa", headers={"Authorization": "Bearer rd"}).status_code == 200


def test_query_time_limit_stops_the_query_and_service_goes_on() -> None:
    client = make_app(query_timeout=0.5).test_client()
    slow = "SELECT ?a ?b ?c WHERE { ?a ?p ?x . ?b ?q ?y . ?c ?r ?z }"
    body = problem(client.get("/sparql", query_string={"query": slow}), 503)
    assert "limit" in body["detail"] and "stopped" in body["detail"]
    assert client.get("/health").status_code == 200


def test_a_validation_past_the_time_limit_is_503_and_the_next_answers() -> None:
    """GET /validate runs its queries under the same limit as a client's SPARQL query: a limit no
    query of the example's validation can meet (a microsecond: each check's rows are read after it)
    gives 503 naming the limit and its setting; with the limit back, the same request answers."""
    store = load_example(EmbeddedStore())
    tight = create_app({"query_timeout": 0.000001}, store=store).test_client()
    body = problem(tight.get("/validate?as_of=2026-11-20", headers={"Accept": "application/json"}), 503)
    assert body["type"].endswith("time-limit") and "AIMS_QUERY_TIMEOUT" in body["detail"]
    roomy = create_app({}, store=store).test_client()
    assert roomy.get("/validate?as_of=2026-11-20", headers={"Accept": "application/json"}).status_code == 200


def test_graph_store_protocol(client) -> None:  # type: ignore[no-untyped-def]
    g = "urn:x:uploaded"
    ttl = "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\n"
    problem(client.put("/graph-store", query_string={"graph": g}, data=ttl, content_type="text/turtle"), 401)
    assert (
        client.put(
            "/graph-store", query_string={"graph": g}, data=ttl, content_type="text/turtle", headers=EDITOR
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/graph-store",
            query_string={"graph": g},
            data='<http://example.org/d> <http://example.org/e> "f" .\n',
            content_type="application/n-triples",
            headers=EDITOR,
        ).status_code
        == 204
    )
    got = client.get("/graph-store", query_string={"graph": g}, headers={"Accept": "application/n-triples"})
    assert len(Graph().parse(data=got.data, format="nt")) == 2
    bad = '@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n'
    body = problem(
        client.put(
            "/graph-store", query_string={"graph": g}, data=bad, content_type="text/turtle", headers=EDITOR
        ),
        400,
    )
    assert body["line"] == 3 and body["column"]
    got = client.get("/graph-store", query_string={"graph": g}, headers={"Accept": "application/n-triples"})
    assert len(Graph().parse(data=got.data, format="nt")) == 2, "a failed PUT changed the graph"
    assert (
        client.put(
            "/graph-store", query_string={"default": ""}, data=ttl, content_type="text/turtle", headers=EDITOR
        ).status_code
        == 201
    )
    assert client.delete("/graph-store", query_string={"graph": g}, headers=EDITOR).status_code == 204
    problem(client.get("/graph-store", query_string={"graph": g}), 404)
    problem(client.delete("/graph-store", query_string={"graph": g}, headers=EDITOR), 404)
    problem(client.get("/graph-store"), 400)
    problem(
        client.put(
            "/graph-store",
            query_string={"graph": g},
            data=ttl,
            content_type="application/pdf",
            headers=EDITOR,
        ),
        415,
    )
    problem(
        client.put(
            "/graph-store",
            query_string={"graph": "https://w3id.org/aims/graph/catalogue"},
            data=ttl,
            content_type="text/turtle",
            headers=EDITOR,
        ),
        403,
    )


def test_body_too_large(client) -> None:  # type: ignore[no-untyped-def]
    big = '<urn:x:a> <urn:x:b> "' + "x" * 300_000 + '" .\n'
    problem(
        client.put(
            "/graph-store",
            query_string={"graph": "urn:x:big"},
            data=big,
            content_type="application/n-triples",
            headers=EDITOR,
        ),
        413,
    )


@pytest.mark.parametrize(
    "fmt,parse",
    [
        ("turtle", "turtle"),
        ("nt", "nt"),
        ("nquads", "nquads"),
        ("trig", "trig"),
        ("json-ld", "json-ld"),
        ("xml", "xml"),
    ],
)
def test_export(client, example, fmt, parse) -> None:  # type: ignore[no-untyped-def]
    from rdflib import Dataset

    def union(data: bytes) -> Graph:
        everything = Graph()
        for quad in Dataset().parse(data=data, format=parse).quads((None, None, None, None)):
            everything.add(quad[:3])  # type: ignore[arg-type]
        return everything

    def by_value(graph: Graph) -> Graph:
        """Literals rewritten from their values: the store writes 88 where the file says 88.0."""
        from decimal import Decimal

        out = Graph()
        for s_, p_, o in graph:
            if isinstance(o, Literal) and isinstance(o.value, Decimal):
                o = Literal(format(o.value.normalize(), "f"), datatype=o.datatype)
            out.add((s_, p_, o))
        return out

    from service.store.catalogue import catalogue_graph

    # the whole dataset is the organisation's data: every triple of the example files (and what
    # other tests wrote to a shared server), none of the catalogue's ...
    catalogue = by_value(catalogue_graph())
    exported = by_value(union(client.get("/export", query_string={"format": fmt}).data))
    blank_free = {t for t in by_value(example) if not any(isinstance(x, BNode) for x in t)}
    assert blank_free <= set(exported)
    assert not {t for t in catalogue if not any(isinstance(x, BNode) for x in t)} & set(exported)
    # ... unless asked for: then the catalogue (vocabulary and ISO/IEC 42001 data) too
    full = by_value(union(client.get("/export", query_string={"format": fmt, "with_catalogue": "true"}).data))
    assert {t for t in catalogue if not any(isinstance(x, BNode) for x in t)} <= set(full)
    assert len(full) >= len(exported) + len(catalogue) - len(set(catalogue) & set(exported))
    one = client.get(
        "/export", query_string={"format": "nt", "graph": "https://w3id.org/aims/graph/source/risks.ttl"}
    )
    assert len(Graph().parse(data=one.data, format="nt")) == 398
    problem(client.get("/export", query_string={"format": "docx"}), 400)
    problem(client.get("/export", query_string={"graph": "urn:x:none"}), 404)


def test_validate(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/validate", query_string={"as_of": AS_OF}).get_json()
    # examples/README.md: 17 planted gaps, one Violation each
    assert body["conforms"] is False and body["counts"]["Violation"] == 17
    stage1 = client.get("/validate", query_string={"as_of": AS_OF, "stage": "1"}).get_json()
    assert stage1["counts"]["Violation"] == 9  # G1, G2, G6, G7, G8, G10, G11, G15, G16
    stage2 = client.get("/validate", query_string={"as_of": AS_OF, "stage": "2"}).get_json()
    assert stage2["counts"] == body["counts"]  # stage 2 includes every stage 1 rule
    system = client.get(
        "/validate", query_string={"as_of": AS_OF, "system": EX + "support-assistant"}
    ).get_json()
    assert {r["focus"] for r in system["results"]} == {
        EX + x for x in ("risk-07", "ia-support-2026", "treat-18", "data-help-articles")
    }
    turtle = client.get("/validate", query_string={"as_of": AS_OF}, headers={"Accept": "text/turtle"})
    assert turtle.mimetype == "text/turtle" and "ValidationReport" in turtle.get_data(as_text=True)
    problem(client.get("/validate", query_string={"stage": "3"}), 400)
    problem(client.get("/validate", query_string={"as_of": "yesterday"}), 400)


def test_gap_and_readiness(client) -> None:  # type: ignore[no-untyped-def]
    gap = {
        s["id"]: s["status"] for s in client.get("/gap-analysis", query_string={"as_of": AS_OF}).get_json()
    }
    assert len(gap) == 71 and gap["6.1.3"] == "not met" and gap["A.8.5"] == "not applicable"
    assert gap["OC-01"] == "met" and gap["A.7.6"] == "not met"
    stage1 = {
        s["id"]: s["status"]
        for s in client.get("/gap-analysis", query_string={"as_of": AS_OF, "stage": "1"}).get_json()
    }
    assert stage1["A.6.2.6"] == "met" and gap["A.6.2.6"] == "not met"  # expired evidence is a stage 2 matter
    ready = client.get("/readiness", query_string={"stage": "1", "as_of": AS_OF}).get_json()
    assert ready["ready"] is False and ready["blocking"]
    problem(client.get("/readiness"), 400)


def test_soa_formats(client) -> None:  # type: ignore[no-untyped-def]
    rows = client.get("/soa").get_json()
    notations = [r["notation"] for r in rows]
    # the standard's order (A.2.2 first, A.10.4 after A.9.4), then own controls
    assert len(rows) == 39 and notations[:3] == ["A.2.2", "A.2.3", "A.2.4"]
    assert notations[-3:] == ["A.10.3", "A.10.4", "OC-01"] and rows[-1]["own"] is True
    excluded = {r["notation"]: r["justification"] for r in rows if r["applicable"] is False}
    assert set(excluded) == {"A.7.6", "A.8.5"} and excluded["A.7.6"] is None
    table = list(
        csv.DictReader(io.StringIO(client.get("/soa", headers={"Accept": "text/csv"}).get_data(as_text=True)))
    )
    assert len(table) == 39 and {r["applicable"] for r in table} == {"true", "false"}  # lexical forms
    page = client.get("/soa", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.mimetype == "text/html" and html.count("<tr") == 40  # a header row and one per control
    # labels, not IRIs or Python values: A.6.2.4's title, statuses as words, the organisation named
    assert "Verification and validation" in html and "Aurora Lending Ltd" in html
    assert ">True<" not in html and ">implemented<" in html
    assert client.get("/soa", headers={"Accept": "image/png"}).status_code == 406  # it answered JSON


def test_traces(client) -> None:  # type: ignore[no-untyped-def]
    risk = client.get("/trace/risk", query_string={"iri": EX + "risk-02", "as_of": AS_OF}).get_json()
    evidence = risk["treatments"][0]["implementations"][0]["evidence"][0]
    assert evidence["iri"] == EX + "ev-monitoring-export" and evidence["valid"] is False
    for kind, iri in (
        ("control", "https://w3id.org/aims/iso42001#A.6.2.4"),
        ("requirement", "https://w3id.org/aims/iso42001#clause-6.1.3"),
        ("system", EX + "support-assistant"),
        ("evidence", EX + "ev-supplier-contract"),
    ):
        r = client.get(f"/trace/{kind}", query_string={"iri": iri})
        assert r.status_code == 200 and r.get_json()[kind]["iri"] == iri
    problem(client.get("/trace/risk", query_string={"iri": EX + "no-such-risk"}), 404)
    problem(client.get("/trace/risk", query_string={"iri": "not an iri"}), 400)
    problem(client.get("/trace/planet", query_string={"iri": EX + "x"}), 404)


def test_named_queries(client) -> None:  # type: ignore[no-untyped-def]
    listed = {q["name"]: q for q in client.get("/queries").get_json()}
    assert "trace-risk" in listed and listed["evidence-expiring"]["parameters"][0]["type"] == "date"
    r = client.get("/queries/untreated-risks")
    assert r.get_json(force=True)["results"]["bindings"][0]["risk"]["value"] == EX + "risk-07"
    problem(client.get("/queries/evidence-expiring", query_string={"until": "soon"}), 400)
    problem(client.get("/queries/nope"), 404)


def test_openapi_describes_every_route(app, client) -> None:  # type: ignore[no-untyped-def]
    """/openapi.json is made from the views' own models: valid OpenAPI 3.1, every route and
    method in it, each with an operation id, tags, typed parameters and a schema for what it
    answers."""
    from openapi_spec_validator import validate

    spec = client.get("/openapi.json").get_json()
    validate(spec)
    operations = {(path, method): op for path, ops in spec["paths"].items() for method, op in ops.items()}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # /files/<digest> -> /files/{digest}
        for method in (
            rule.methods
            - {"OPTIONS"}
            - (
                {"HEAD"}
                if "GET" in rule.methods and path != "/graph-store" and not path.startswith("/graph-store/")
                else set()
            )
        ):
            assert (path, method.lower()) in operations, f"{method} {path} is not in /openapi.json"
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))
    for (path, method), op in operations.items():
        assert op["tags"] and op["summary"], (path, method)
        for status, answer in op["responses"].items():
            if status.startswith("2") and "content" in answer:
                assert all("schema" in media for media in answer["content"].values()), (path, method)
    # typed parameters: a day is a date, a stage one of two numbers, a flag a boolean
    validate_params = {p["name"]: p["schema"] for p in operations[("/validate", "get")]["parameters"]}
    assert {"type": "string", "format": "date"} in validate_params["as_of"]["anyOf"]
    assert {"type": "integer", "minimum": 1, "maximum": 2} in validate_params["stage"]["anyOf"]
    export_params = {p["name"]: p["schema"] for p in operations[("/export", "get")]["parameters"]}
    assert export_params["with_catalogue"]["type"] == "boolean"
    # JSON answers are described, not left as strings: the health check's fields, a report's results
    health = operations[("/health", "get")]["responses"]["200"]["content"]["application/json"]["schema"]
    assert (
        health["$ref"].endswith("/Health")
        and "triples" in spec["components"]["schemas"]["Health"]["properties"]
    )
    assert "Result" in spec["components"]["schemas"]
    assert "aims-graph" in client.get("/api").get_data(as_text=True)


def test_requests_are_checked_against_the_same_models(client) -> None:  # type: ignore[no-untyped-def]
    """What /openapi.json says a parameter is, the service holds requests to: a 400 that names it."""
    for target, name in (
        ("/validate?as_of=2026-13-01", "as_of"),
        ("/validate?stage=3", "stage"),
        ("/export?format=docx", "format"),
        ("/export?with_catalogue=perhaps", "with_catalogue"),
        ("/soa?as_of=someday", "as_of"),
        ("/risks?page=0", "page"),
    ):
        body = problem(client.get(target), 400)
        assert name in body["detail"], (target, body)
    # who may ask is settled first: an anonymous caller of an admin operation hears 401, not 400
    problem(client.get("/audit-log?limit=0"), 401)


def test_unknown_route_is_a_problem(client) -> None:  # type: ignore[no-untyped-def]
    problem(client.get("/nowhere"), 404)
