"""The W3C SPARQL 1.1 Protocol (34 cases) and Graph Store Protocol (9 cases with ?graph=) test
suites, run against a real `aims serve`. A case that fails because the service departs from the
protocol is an xfail naming the clause and why."""

from __future__ import annotations

import pytest

from .conftest import ROOT
from .servers import aims_server
from .w3c import read_manifest, run_case

SUITES = ROOT / "vendor" / "w3c"
PROTOCOL = SUITES / "sparql11-protocol"
GSP = SUITES / "sparql11-graph-store-protocol"
TOKEN = "w3c-editor"

DEPARTURES = {
    "update_dataset_default_graph": "SPARQL 1.1 Protocol 2.2.3: using-graph-uri is not supported (answered 400); "
    "updates name their graphs with USING/WITH instead",
    "update_dataset_default_graphs": "SPARQL 1.1 Protocol 2.2.3: using-graph-uri is not supported",
    "update_dataset_named_graphs": "SPARQL 1.1 Protocol 2.2.3: using-named-graph-uri is not supported",
    "update_dataset_full": "SPARQL 1.1 Protocol 2.2.3: using-graph-uri and using-named-graph-uri are not supported",
    "post_get_new_graph": "Graph Store Protocol 5.5: POST to the service itself (creating a new graph and "
    "answering its Location) is not supported; name the graph with ?graph=",
}


def cases(manifest):  # type: ignore[no-untyped-def]
    out = []
    for case in read_manifest(manifest):
        marks = (
            [pytest.mark.xfail(reason=DEPARTURES[case.name], strict=True)] if case.name in DEPARTURES else []
        )
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.fixture(scope="module")
def service(tmp_path_factory):  # type: ignore[no-untyped-def]
    with aims_server(tmp_path_factory.mktemp("w3c"), env={"AIMS_TOKENS": f"{TOKEN}=editor"}) as port:
        yield port


@pytest.mark.parametrize("case", cases(PROTOCOL / "manifest.ttl"))
def test_sparql_protocol(service, case) -> None:  # type: ignore[no-untyped-def]
    run_case(case, service, TOKEN, PROTOCOL)


@pytest.mark.parametrize("case", cases(GSP / "manifest-indirect.ttl"))
def test_graph_store_protocol(service, case) -> None:  # type: ignore[no-untyped-def]
    reset_graphs(case, service)  # each case starts from no graph, as its expected statuses assume
    run_case(case, service, TOKEN, GSP)


def reset_graphs(case, port: int) -> None:  # type: ignore[no-untyped-def]
    import http.client
    import urllib.parse

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for req in case.requests:
        query = urllib.parse.urlparse(req.path).query
        for graph in urllib.parse.parse_qs(query).get("graph", []):
            conn.request(
                "DELETE",
                "/graph-store?graph=" + urllib.parse.quote(graph, safe=""),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            conn.getresponse().read()


def test_suites_are_complete() -> None:
    assert len(read_manifest(PROTOCOL / "manifest.ttl")) == 34
    assert len(read_manifest(GSP / "manifest-indirect.ttl")) == 9
