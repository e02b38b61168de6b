"""A real `aims serve` process (waitress) used by real clients: SPARQLWrapper, rdflib's
SPARQLStore and raw HTTP; a query past the time limit does not stop other requests."""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, POST, RDFXML, SPARQLWrapper

from .conftest import EXAMPLE_FILES
from .servers import aims_server

EX = "https://aurora-lending.example/aims/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    env = {"AIMS_TOKENS": "live-editor=editor", "AIMS_QUERY_TIMEOUT": "1"}
    with aims_server(tmp_path_factory.mktemp("serve"), EXAMPLE_FILES, env) as port:
        yield f"http://127.0.0.1:{port}", port


def test_binds_loopback_only(server) -> None:  # type: ignore[no-untyped-def]
    _, port = server
    out = (
        subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        if os.path.exists("/usr/bin/ss") or os.path.exists("/bin/ss")
        else ""
    )
    if out:
        assert f"127.0.0.1:{port}" in out and f"0.0.0.0:{port}" not in out


def test_sparqlwrapper_select_ask_construct(server) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    w = SPARQLWrapper(f"{base}/sparql")
    w.setReturnFormat(JSON)
    w.setQuery("SELECT ?r WHERE { ?r a <https://w3id.org/aims#Risk> }")
    assert (
        len(w.queryAndConvert()["results"]["bindings"]) == 18
    )  # the 18 risks of examples/risks.ttl; type: ignore[index]
    w.setMethod(POST)
    w.setQuery("ASK { ?s a <https://w3id.org/aims#AISystem> }")
    assert w.queryAndConvert()["boolean"] is True  # type: ignore[index]
    w.setReturnFormat(RDFXML)
    w.setQuery(f"CONSTRUCT {{ <{EX}risk-07> ?p ?o }} WHERE {{ <{EX}risk-07> ?p ?o }}")
    graph = w.queryAndConvert()
    assert (
        isinstance(graph, Graph) and len(graph) == 9
    )  # risk-07: type, identifier, label, source, consequence, likelihood, severity, level, owner


def test_rdflib_sparqlstore(server) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    store = SPARQLStore(f"{base}/sparql", returnFormat="json")
    graph = Graph(store)
    rows = list(graph.query("SELECT ?s WHERE { ?s a <https://w3id.org/aims#Risk> }"))
    assert len(rows) == 18
    assert (URIRef(EX + "risk-07"), None, None) in graph


def test_raw_http_upload_to_graph_store(server) -> None:  # type: ignore[no-untyped-def]
    _, port = server
    body = b"<urn:x:a> <urn:x:b> <urn:x:c> .\n"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "PUT",
        "/graph-store?graph=urn%3Ax%3Alive",
        body=body,
        headers={"Content-Type": "application/n-triples", "Authorization": "Bearer live-editor"},
    )
    response = conn.getresponse()
    response.read()
    assert response.status == 201
    conn.request(
        "PUT",
        "/graph-store?graph=urn%3Ax%3Alive",
        body=b"<urn:x:a> <urn:x:b> .\n",
        headers={"Content-Type": "application/n-triples", "Authorization": "Bearer live-editor"},
    )
    response = conn.getresponse()
    assert response.status == 400 and b'"line"' in response.read()
    conn.request("GET", "/graph-store?graph=urn%3Ax%3Alive", headers={"Accept": "application/n-triples"})
    response = conn.getresponse()
    assert response.status == 200 and response.read() == body


@pytest.mark.timing
def test_slow_query_does_not_block_others(server) -> None:  # type: ignore[no-untyped-def]
    base, port = server
    slow_status: list[int] = []

    def slow() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        q = "SELECT ?a ?b ?c WHERE { ?a ?p ?x . ?b ?q ?y . ?c ?r ?z }"
        conn.request("POST", "/sparql", body=q, headers={"Content-Type": "application/sparql-query"})
        slow_status.append(conn.getresponse().status)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/health")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert time.monotonic() - started < 0.9, "health waited for the slow query"
    thread.join(30)
    assert slow_status == [503]
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
