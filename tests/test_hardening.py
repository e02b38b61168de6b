"""Attacks and faults on a real `aims serve` process (issue 10, the parts built so far): the
catalogue no update or upload can change, parser bombs refused before any parser of the store
sees them, truncated documents refused, internal graph names reserved, the catalogue checked by
content at start. Each request that is refused must leave the data as it was and the process
alive."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import SKOS

from service.http import query_process
from service.namespaces import CATALOGUE_GRAPH
from service.store.input_limits import MAX_LITERAL_CHARS, MAX_NESTING

from .servers import aims_server, call, listening_pid, server_as

TOKEN = "hardening-editor"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CAT = str(CATALOGUE_GRAPH)
A_2_2 = "https://w3id.org/aims/iso42001#A.2.2"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("hardening")


@pytest.fixture(scope="module")
def port(folder: Path) -> Iterator[int]:
    with aims_server(folder, env={"AIMS_TOKENS": f"{TOKEN}=editor"}) as p:
        yield p


def catalogue_label(port: int) -> str:
    query = f"SELECT ?l WHERE {{ GRAPH <{CAT}> {{ <{A_2_2}> <{SKOS.prefLabel}> ?l }} }}"
    status, _, body = call(
        port,
        "GET",
        "/sparql?query=" + urllib.parse.quote(query),
        headers={"Accept": "application/sparql-results+json"},
    )
    assert status == 200
    return "|".join(sorted(b["l"]["value"] for b in json.loads(body)["results"]["bindings"]))


def count(port: int) -> int:
    status, _, body = call(port, "GET", "/health")
    assert status == 200  # and the process is alive
    return int(json.loads(body)["triples"])


def update(port: int, text: str):  # type: ignore[no-untyped-def]
    return call(port, "POST", "/sparql", text, {**AUTH, "Content-Type": "application/sparql-update"})


# ---------------------------------------------------------------------- the catalogue

CATALOGUE_UPDATES = [
    f"INSERT DATA {{ GRAPH <{CAT}> {{ <urn:x:a> <urn:x:p> 1 }} }}",
    f"PREFIX g: <https://w3id.org/aims/graph/> DELETE DATA {{ GRAPH g:catalogue {{ <{A_2_2}> a <https://w3id.org/aims#ReferenceControl> }} }}",
    f"DELETE WHERE {{ GRAPH ?g {{ <{A_2_2}> ?p ?o }} }}",
    f"WITH <{CAT}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
    f'DELETE {{ GRAPH ?g {{ ?s <{SKOS.prefLabel}> ?o }} }} INSERT {{ GRAPH ?g {{ ?s <{SKOS.prefLabel}> "changed" }} }} WHERE {{ GRAPH ?g {{ ?s <{SKOS.prefLabel}> ?o }} }}',
    f"COPY <urn:x:empty> TO <{CAT}>",
    f"MOVE <{CAT}> TO <urn:x:elsewhere>",
    f"ADD <urn:x:empty> TO <{CAT}>",
    f"DROP GRAPH <{CAT}>",
    f"INSERT {{ GRAPH <urn:x:copy> {{ ?s ?p ?o }} }} USING <{CAT}> WHERE {{ ?s ?p ?o }}",
]


@pytest.mark.parametrize("text", CATALOGUE_UPDATES)
def test_no_update_changes_the_catalogue(port: int, text: str) -> None:
    before_label, before = catalogue_label(port), count(port)
    status, media, body = update(port, text)
    assert status == 403, body
    assert media == "application/problem+json" and json.loads(body)["type"].endswith("read-only-graph")
    assert catalogue_label(port) == before_label and count(port) == before


@pytest.mark.parametrize("text", ["CLEAR ALL", "DROP NAMED", "CLEAR SILENT ALL", "DROP ALL"])
def test_all_and_named_mean_the_organisations_graphs(port: int, text: str) -> None:
    """CLEAR ALL and its kin empty the organisation's data (clients reset a store that way, the
    W3C protocol tests among them); the catalogue is back, whole, before the answer."""
    before = catalogue_label(port)
    headers = {**AUTH, "Content-Type": "text/turtle"}
    assert call(port, "PUT", "/graph-store?graph=urn:x:data", "<urn:x:a> <urn:x:p> 1 .", headers)[0] in (
        201,
        204,
    )
    status, _, body = update(port, text)
    assert status == 204, body
    assert catalogue_label(port) == before
    assert call(port, "GET", "/graph-store?graph=urn:x:data")[0] == 404


@pytest.mark.parametrize(
    ("media", "body"),
    [
        ("application/trig", f"<{CAT}> {{ <urn:x:a> <urn:x:p> 1 . }}"),
        ("application/n-quads", f'<urn:x:a> <urn:x:p> "1" <{CAT}> .\n'),
        ("application/ld+json", json.dumps({"@id": CAT, "@graph": [{"@id": "urn:x:a", "urn:x:p": 1}]})),
    ],
)
def test_quad_uploads_cannot_name_the_catalogue(port: int, media: str, body: str) -> None:
    """A Graph Store request writes the graph it names: graph names inside the body are dropped,
    so the triples land in that graph and the catalogue keeps its content."""
    before = catalogue_label(port)
    graph = "urn:x:upload-" + media.rsplit("/", 1)[-1]
    status, _, _ = call(
        port, "PUT", "/graph-store?graph=" + urllib.parse.quote(graph), body, {**AUTH, "Content-Type": media}
    )
    assert status in (201, 204)
    assert catalogue_label(port) == before
    status, _, data = call(
        port,
        "GET",
        "/graph-store?graph=" + urllib.parse.quote(graph),
        headers={"Accept": "application/n-triples"},
    )
    assert status == 200 and b"<urn:x:a> <urn:x:p>" in data


@pytest.mark.parametrize(
    "graph",
    [CAT, "urn:aims:staging:00000000-0000-0000-0000-000000000000", "https://w3id.org/aims/graph/registry"],
)
def test_internal_graph_names_are_reserved(port: int, graph: str) -> None:
    """Before, a graph named like the store's staging graphs was accepted (201) and then dropped at the next start."""
    status, _, body = call(
        port,
        "PUT",
        "/graph-store?graph=" + urllib.parse.quote(graph),
        "<urn:x:a> <urn:x:p> 1 .",
        {**AUTH, "Content-Type": "text/turtle"},
    )
    assert status == 403, body
    status, _, _ = update(port, f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:x:a> <urn:x:p> 1 }} }}")
    assert status == 403


def test_anonymous_update_is_401_before_any_parsing(port: int) -> None:
    status, _, _ = call(
        port, "POST", "/sparql", "this is not SPARQL", {"Content-Type": "application/sparql-update"}
    )
    assert status == 401


# ---------------------------------------------------------------------- parser bombs

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"> <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"> <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"> <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="urn:x:bomb"><rdf:value>&g;</rdf:value></rdf:Description>
</rdf:RDF>"""


def _put(port: int, graph: str, media: str, body: bytes):  # type: ignore[no-untyped-def]
    return call(
        port, "PUT", "/graph-store?graph=" + urllib.parse.quote(graph), body, {**AUTH, "Content-Type": media}
    )


def test_rdfxml_entity_bomb_is_refused(port: int) -> None:
    """Under 1 KB that expands to a 100 MB literal: refused at the DTD, with its line."""
    assert len(BILLION_LAUGHS) < 1024
    before = count(port)
    status, media, body = _put(port, "urn:x:bomb", "application/rdf+xml", BILLION_LAUGHS)
    problem = json.loads(body)
    assert status == 400 and media == "application/problem+json"
    assert "DTD" in problem["detail"] and problem["line"] == 2
    assert count(port) == before


def test_deep_json_ld_is_refused(port: int) -> None:
    """JSON-LD nested a few thousand deep used to kill the server without a log line."""
    deep = b'{"@id": "urn:x:deep", "urn:x:p": ' + b"[" * 5000 + b"1" + b"]" * 5000 + b"}"
    before = count(port)
    status, _, body = _put(port, "urn:x:deep", "application/ld+json", deep)
    assert status == 413 and f"nested more than {MAX_NESTING}" in json.loads(body)["detail"]
    assert count(port) == before


def test_deep_rdfxml_is_refused(port: int) -> None:
    nested = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:x="urn:x:">'
    nested += b'<rdf:Description rdf:about="urn:x:n"><x:p rdf:parseType="Resource">' * 3000
    nested += b"</x:p></rdf:Description>" * 3000 + b"</rdf:RDF>"
    status, _, _ = _put(port, "urn:x:deep-xml", "application/rdf+xml", nested)
    assert status == 413


def test_huge_literal_is_413(port: int) -> None:
    big = f'<urn:x:big> <urn:x:p> "{"x" * (MAX_LITERAL_CHARS + 1)}" .\n'.encode()
    before = count(port)
    status, _, body = _put(port, "urn:x:big", "application/n-triples", big)
    assert status == 413 and "literal" in json.loads(body)["detail"]
    assert count(port) == before


def test_truncated_rdfxml_does_not_replace_a_graph(port: int) -> None:
    """A PUT with an unclosed document used to replace the graph with the fragment."""
    graph = "urn:x:kept"
    whole = b'<urn:x:a> <urn:x:p> "1" .\n<urn:x:b> <urn:x:p> "2" .\n'
    assert _put(port, graph, "application/n-triples", whole)[0] in (201, 204)
    truncated = (
        b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        b'<rdf:Description rdf:about="urn:x:c"><rdf:value>3</rdf:value></rdf:Description>\n'
    )
    status, _, body = _put(port, graph, "application/rdf+xml", truncated)
    assert status == 400 and "line" in json.loads(body)
    status, _, data = call(
        port,
        "GET",
        "/graph-store?graph=" + urllib.parse.quote(graph),
        headers={"Accept": "application/n-triples"},
    )
    assert set(Graph().parse(data=data, format="nt")) == set(Graph().parse(data=whole, format="nt"))


def test_catalogue_checked_by_content_at_start(tmp_path: Path) -> None:
    """A change to the catalogue that keeps its triple count survived a restart: it no longer does."""
    from service.store.embedded import EmbeddedStore

    folder = tmp_path / "serve"
    with aims_server(folder) as p:
        original = catalogue_label(p)
    store = EmbeddedStore(folder / "data")
    store.update(
        f"DELETE {{ GRAPH <{CAT}> {{ <{A_2_2}> <{SKOS.prefLabel}> ?l }} }} "
        f"INSERT {{ GRAPH <{CAT}> {{ <{A_2_2}> <{SKOS.prefLabel}> {Literal('tampered').n3()} }} }} "
        f"WHERE {{ GRAPH <{CAT}> {{ <{A_2_2}> <{SKOS.prefLabel}> ?l }} }}"
    )
    assert not store.catalogue_intact()
    store.close()
    with aims_server(folder) as p:
        assert catalogue_label(p) == original


# ---------------------------------------------------------------------- the command line


def aims(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )


def one_clear_line(stderr: str) -> bool:
    return "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1 and stderr.startswith("aims: ")


def test_reading_commands_work_while_serve_holds_the_store(folder: Path, port: int) -> None:
    """Before, any other command failed while `aims serve` held the embedded store."""
    assert call(
        port,
        "PUT",
        "/graph-store?graph=urn:x:live",
        "<urn:x:live> <urn:x:p> 1 .",
        {**AUTH, "Content-Type": "text/turtle"},
    )[0] in (201, 204)
    exported = aims("export", "--data", str(folder / "data"), "--format", "nt", "--graph", "urn:x:live")
    assert exported.returncode == 0, exported.stderr
    assert "<urn:x:live> <urn:x:p>" in exported.stdout
    listed = aims("query", "--data", str(folder / "data"), "statement-of-applicability", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    checked = aims(
        "validate", "--store", "--data", str(folder / "data"), "--format", "json", "--as-of", "2026-11-20"
    )
    assert checked.returncode == 1, checked.stderr  # the store holds no AIMS: violations
    assert any(r["shape"].endswith("#AIMSExists") for r in json.loads(checked.stdout)["results"])
    # a write still gets the clear message, not a second writer
    written = aims("load", "--data", str(folder / "data"), "examples/organisation.ttl")
    assert written.returncode == 2 and one_clear_line(written.stderr) and "aims serve" in written.stderr


def test_busy_port_is_one_line(port: int, tmp_path: Path) -> None:
    done = aims("serve", "--data", str(tmp_path / "d"), "--port", str(port))
    assert done.returncode == 2 and one_clear_line(done.stderr) and str(port) in done.stderr


def test_unwritable_output_is_one_line(tmp_path: Path) -> None:
    done = aims("export", "--data", str(tmp_path / "d"), "-o", str(tmp_path / "no-such-folder" / "x.ttl"))
    assert done.returncode == 2 and one_clear_line(done.stderr)


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = f"{sys.executable} -m service.cli validate --format json examples/*.ttl | head -c 10"
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_files_with_one_name_are_not_silently_merged(tmp_path: Path) -> None:
    """`aims load a/org.ttl b/org.ttl` kept only one of them: both would be the graph source/org.ttl."""
    for sub, n in (("a", 1), ("b", 2)):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "org.ttl").write_text(f"<urn:x:{n}> <urn:x:p> {n} .\n")
    done = aims(
        "load",
        "--data",
        str(tmp_path / "d"),
        "--replace",
        str(tmp_path / "a" / "org.ttl"),
        str(tmp_path / "b" / "org.ttl"),
    )
    assert done.returncode == 2 and one_clear_line(done.stderr) and "same graph" in done.stderr


def test_huge_literal_in_a_file_is_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.nt"
    big.write_text(f'<urn:x:big> <urn:x:p> "{"x" * (MAX_LITERAL_CHARS + 1)}" .\n')
    done = aims("load", "--data", str(tmp_path / "d"), str(big))
    assert done.returncode == 2 and one_clear_line(done.stderr) and "literal" in done.stderr


@pytest.mark.parametrize("tokens", ["=editor", " =editor", "good=editor, =admin"])
def test_blank_tokens_are_refused_at_start(tmp_path: Path, tokens: str) -> None:
    """An empty token in the settings granted its role to an `Authorization: Bearer ` header."""
    done = aims("serve", "--data", str(tmp_path / "d"), "--port", "1", env={"AIMS_TOKENS": tokens})
    assert done.returncode == 2 and one_clear_line(done.stderr) and "token" in done.stderr


def test_401_says_how_to_authenticate(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        "/sparql",
        body="INSERT DATA { <urn:x:a> <urn:x:p> 1 }",
        headers={"Content-Type": "application/sparql-update"},
    )
    response = conn.getresponse()
    assert response.status == 401 and response.getheader("WWW-Authenticate", "").startswith("Bearer")


# ---------------------------------------------------------------------- logs

ADMIN = "hardening-admin"


def test_audit_trail_and_access_log(tmp_path: Path) -> None:
    """Every write is in the trail (who by role and token fingerprint, when, which graph, triples
    before and after), admins read it at /audit-log, and no token appears in it or in the log."""
    folder = tmp_path / "audited"
    with aims_server(folder, env={"AIMS_TOKENS": f"{TOKEN}=editor,{ADMIN}=admin"}) as p:
        body = "<urn:x:a> <urn:x:p> 1 .\n<urn:x:b> <urn:x:p> 2 .\n"
        assert _put(p, "urn:x:audited", "text/turtle", body.encode())[0] == 201
        assert update(p, "INSERT DATA { GRAPH <urn:x:audited> { <urn:x:c> <urn:x:p> 3 } }")[0] == 204
        assert call(p, "DELETE", "/graph-store?graph=urn:x:audited", headers=AUTH)[0] == 204
        assert call(p, "GET", "/audit-log", headers=AUTH)[0] == 403  # editors do not read it
        status, _, data = call(p, "GET", "/audit-log", headers={"Authorization": f"Bearer {ADMIN}"})
        assert status == 200
        trail = json.loads(data)
        assert [e["action"] for e in trail] == ["graph-store PUT", "sparql update", "graph-store DELETE"]
        put, insert, delete = trail
        assert (put["graph"], put["triples_before"], put["triples_after"]) == ("urn:x:audited", 0, 2)
        assert insert["triples_after"] - insert["triples_before"] == 1
        assert (delete["triples_before"], delete["triples_after"]) == (3, 0)
        assert all(e["who"].startswith("editor token ") for e in trail)
    written = (folder / "data-audit.jsonl").read_text() + (folder / "serve.log").read_text()
    assert TOKEN not in written and ADMIN not in written
    assert "PUT /graph-store 201" in (folder / "serve.log").read_text()  # the access log


# ---------------------------------------------------------------------- queries that stop

SLOW = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # billions of rows over the catalogue
)


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its descendants (from /proc), in seconds."""
    import os

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf(
                "SC_CLK_TCK"
            )
            for task in Path(f"/proc/{p}/task").iterdir():
                children = Path(f"/proc/{p}/task/{task.name}/children")
                if children.exists():
                    todo += [int(c) for c in children.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def test_a_query_past_its_limit_is_stopped_and_its_cpu_released(tmp_path: Path) -> None:
    """Before, the client got 503 and the query kept two cores busy until a restart."""
    import time

    with aims_server(tmp_path / "slow", env={"AIMS_QUERY_TIMEOUT": "1"}) as p:
        started = time.monotonic()
        status, _, body = call(p, "GET", "/sparql?query=" + urllib.parse.quote(SLOW))
        assert status == 503 and json.loads(body)["type"].endswith("query-timeout")
        assert time.monotonic() - started < 10
        pid = listening_pid(p)
        before = _cpu_seconds(pid)
        time.sleep(2)
        assert _cpu_seconds(pid) - before < 0.5  # nothing is still computing


# a flood: as many slow queries as may run and wait for one client, and four more
FLOOD = query_process.MAX_RUNNING + query_process._slots.per_client + 4


def test_a_flood_of_slow_queries_does_not_starve_the_others(tmp_path: Path) -> None:
    """A dozen slow anonymous queries used to fill the worker pool: every later query got 503
    until a restart. Now MAX_RUNNING run, a client's room in the queue waits, the rest (four) get
    503 with Retry-After at once, and a quick query is answered as soon as the slow ones are
    stopped."""
    import threading
    import time

    with aims_server(tmp_path / "flood", env={"AIMS_QUERY_TIMEOUT": "2"}) as p:
        answers: list[tuple[int, str]] = []

        def slow() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", p, timeout=60)
            conn.request("GET", "/sparql?query=" + urllib.parse.quote(SLOW))
            response = conn.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Retry-After") or ""))

        threads = [threading.Thread(target=slow) for _ in range(FLOOD)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(status == 503 for status, _ in answers)
        assert any(retry == "5" for _, retry in answers)  # refused at once, told when to come back
        time.sleep(0.5)
        quick = "ASK { ?s a <https://w3id.org/aims#ReferenceControl> }"
        status, _, body = call(
            p,
            "GET",
            "/sparql?query=" + urllib.parse.quote(quick),
            headers={"Accept": "application/sparql-results+json"},
        )
        assert status == 200 and json.loads(body)["boolean"] is True


@pytest.mark.timing
@pytest.mark.parametrize("user", ["root", "nobody"])
def test_one_clients_flood_does_not_starve_another_client(tmp_path: Path, user: str) -> None:
    """Client A (its own token) floods the endpoint with FLOOD queries that cannot finish; client B
    asks one quick query while they run. Before, B got 503 "busy" at once (every slot taken).
    Now B waits in the queue and gets the first slot that frees, ahead of A's waiting queries
    (B has none running): answered 200 once A's first queries are stopped (a time limit of 2 s, plus
    starting the query processes), before anything of A's that waited could have run its 2 s."""
    import threading
    import time

    env = {"AIMS_QUERY_TIMEOUT": "2", "AIMS_TOKENS": "token-a=reader,token-b=reader"}
    with server_as(user, tmp_path / "fair", env) as p:  # as deployed (an ordinary user) and as CI runs
        flood: list[tuple[int, float]] = []
        started = time.monotonic()

        def slow() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", p, timeout=60)
            conn.request("GET", "/sparql?query=" + urllib.parse.quote(SLOW),
                         headers={"Authorization": "Bearer token-a"})  # fmt: skip
            response = conn.getresponse()
            response.read()
            flood.append((response.status, time.monotonic() - started))

        threads = [threading.Thread(target=slow) for _ in range(FLOOD)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # A's first MAX_RUNNING run, its room in the queue waits, four were refused at once
        quick = "ASK { ?s a <https://w3id.org/aims#ReferenceControl> }"
        status, _, body = call(
            p,
            "GET",
            "/sparql?query=" + urllib.parse.quote(quick),
            headers={"Accept": "application/sparql-results+json", "Authorization": "Bearer token-b"},
        )
        answered = time.monotonic() - started
        for t in threads:
            t.join()
        assert status == 200 and json.loads(body)["boolean"] is True, (status, body, answered, sorted(flood))
        assert answered < 2 * 2.0, (answered, sorted(flood))
        # A's own excess is refused at once (per-client room in the queue), told when to come back
        assert sum(1 for status, at in flood if status == 503 and at < 1.0) >= 4, (answered, sorted(flood))


def test_the_query_engine_itself_cannot_leave_the_machine(tmp_path: Path) -> None:
    """Whatever a parser makes of the text, the process that runs a query has no network: a
    SERVICE call to a server on this very machine never arrives. (Before, a crafted query that
    the refusing parser read differently from Oxigraph made the service fetch a loopback URL.)"""
    import http.server
    import threading

    from service.http import query_process
    from service.store.embedded import EmbeddedStore

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = EmbeddedStore(tmp_path / "store")
    store.close()
    query = (
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{server.server_address[1]}/sparql> {{ ?s ?p ?o }} }}"
    )
    try:
        with pytest.raises(query_process.FederatedQuery):
            query_process.run(store, query, 10, None)
    finally:
        server.shutdown()
    assert hits == []


def test_an_update_past_its_limit_is_stopped_before_it_writes(tmp_path: Path) -> None:
    """Updates had no time limit and held the write lock. Now each WHERE is counted first in a
    query process that is killed at the limit: the update is refused, nothing is written, no CPU
    is left busy, and the next write goes through at once."""
    import time

    tokens = {"AIMS_QUERY_TIMEOUT": "1", "AIMS_TOKENS": f"{TOKEN}=editor"}
    with aims_server(tmp_path / "slow-update", env=tokens) as p:
        before = count(p)
        started = time.monotonic()
        slow = "INSERT { GRAPH <urn:x:slow> { ?a <urn:x:p> ?g } } WHERE { GRAPH ?x { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } }"
        status, _, body = update(p, slow)
        assert status == 503 and json.loads(body)["type"].endswith("update-timeout"), body
        assert time.monotonic() - started < 10
        pid = listening_pid(p)
        cpu = _cpu_seconds(pid)
        time.sleep(2)
        assert _cpu_seconds(pid) - cpu < 0.5
        assert count(p) == before
        assert update(p, "INSERT DATA { GRAPH <urn:x:after> { <urn:x:a> <urn:x:p> 1 } }")[0] == 204


def test_an_update_that_would_insert_past_the_triple_limit_is_refused(port: int) -> None:
    """The count of a WHERE's solutions times its INSERT template's triples bounds what an update
    adds: 1,500 x 1,500 solutions of one triple each is past the 2,000,000 a request may add."""
    values = " ".join(str(n) for n in range(1500))
    text = f"INSERT {{ GRAPH <urn:x:many> {{ ?a <urn:x:p> ?b }} }} WHERE {{ VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} }}"
    before = count(port)
    status, _, body = update(port, text)
    assert status == 413 and "2,250,000" in json.loads(body)["detail"]
    assert count(port) == before


def test_a_where_hidden_from_the_counter_is_counted_all_the_same(port: int) -> None:
    """From an independent review: `ex:z\\#` (an escaped '#' in a prefixed name) and `1<2)}#>` (a
    comparison, not an IRI) made the counter read a decoy `WHERE {}` while Oxigraph ran the real
    one, unbounded. The counter now reads SPARQL's lexical grammar, and what it counts must have the
    same triple patterns as rdflib's parse of the update: here it counts 2,250,000 solutions."""
    values = " ".join(str(n) for n in range(1500))
    text = (
        "PREFIX ex: <http://ex/>\n"
        "INSERT { GRAPH <urn:x:hidden> { [] <urn:x:q> ?a, ?b } ex:s ex:p ex:z\\# } WHERE {\n"
        f"VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} FILTER(1<2)}}#>}}WHERE{{}}"
    )
    before = count(port)
    status, _, body = update(port, text)
    assert status in (413, 503), body  # held to the triple limit, or stopped at the time limit
    assert count(port) == before


def test_a_where_after_a_write_in_one_request_is_refused(port: int) -> None:
    """From the review: a second operation's WHERE was counted against the store before the first
    wrote (40 triples inserted, then a three-way join over them: 187,280 triples, unbounded). Such
    a request is refused whole; the same operations sent one by one are each held to the limit."""
    before = count(port)
    text = (
        "INSERT DATA { GRAPH <urn:x:seq> { <urn:x:a> <urn:x:p> 1 } } ;\n"
        "INSERT { GRAPH <urn:x:seq> { ?a <urn:x:q> ?b } } WHERE { GRAPH <urn:x:seq> { ?a ?p ?b } }"
    )
    status, _, body = update(port, text)
    assert status == 400 and "separate requests" in json.loads(body)["detail"]
    assert count(port) == before
    merged = "PREFIX where: <urn:x:> DELETE { GRAPH <urn:x:seq> { ?a where:p ?b } } INSERT { GRAPH <urn:x:seq> { ?a where:q ?b } } WHERE { GRAPH <urn:x:seq> { ?a where:p ?b } }"
    assert update(port, merged)[0] == 204  # one operation, and a prefix named `where` is no keyword


def test_the_update_engine_itself_cannot_leave_the_machine(tmp_path: Path) -> None:
    """Updates run on a writer thread with no network: LOAD and SERVICE, however a parser reads
    the text, fail in Oxigraph itself, and a server on this machine never sees the request."""
    import http.server
    import threading

    from service.http import query_process
    from service.store.embedded import EmbeddedStore

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/turtle")
            self.end_headers()
            self.wfile.write(b"<urn:x:a> <urn:x:p> 1 .")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/data.ttl"
    store = EmbeddedStore()
    try:
        with pytest.raises(OSError):
            query_process.update(store, f"LOAD <{url}> INTO GRAPH <urn:x:loaded>")
        query_process.update(store, f"LOAD SILENT <{url}> INTO GRAPH <urn:x:loaded>")
        store.update(f"LOAD <{url}> INTO GRAPH <urn:x:control>")  # the same LOAD on this thread does reach it
    finally:
        server.shutdown()
    assert hits == ["/data.ttl"]


# ---------------------------------------------------------------------- smaller defects


def test_sparql_error_line_is_the_callers(port: int) -> None:
    """The service puts a BASE line before the text; the line it reports was one too high."""
    text = "SELECT * WHERE {\n  ?s ?p ?o\n  FOO }"  # the stray word is on line 3
    status, _, body = call(port, "GET", "/sparql?query=" + urllib.parse.quote(text))
    assert status == 400 and json.loads(body)["line"] == 3


def test_an_update_that_is_not_utf8_is_refused(port: int) -> None:
    """Before, the bytes were stored as U+FFFD."""
    before = count(port)
    body = b'INSERT DATA { GRAPH <urn:x:latin1> { <urn:x:a> <urn:x:p> "caf\xe9" } }'
    status, _, problem = call(
        port, "POST", "/sparql", body, {**AUTH, "Content-Type": "application/sparql-update"}
    )
    assert status == 400 and "UTF-8" in json.loads(problem)["detail"]
    assert count(port) == before


def test_a_remote_server_that_fails_is_502() -> None:
    """The status came from matching the error message's text; it comes from the error's kind:
    a server that cannot be reached is a ServerError, answered 502; other store errors 400."""
    from flask import Flask

    from service.http import errors
    from service.store.base import ServerError, StoreError
    from service.store.remote import RemoteStore

    from .servers import free_port

    with pytest.raises(ServerError):
        RemoteStore(f"http://127.0.0.1:{free_port()}/sparql").query("ASK { ?s ?p ?o }")
    app = Flask(__name__)
    errors.register(app)

    @app.route("/down")
    def down() -> None:
        raise ServerError("the server said nothing")

    @app.route("/bad")
    def bad() -> None:
        raise StoreError("a message that mentions failed on nothing")

    client = app.test_client()
    assert client.get("/down").status_code == 502
    assert client.get("/bad").status_code == 400


# ---------------------------------------------------------------------- one dataset model


def test_default_graph_is_one_graph_however_reached(port: int) -> None:
    """`INSERT DATA` without GRAPH was visible to /sparql but not at `?default`, and `CLEAR
    DEFAULT` did not clear what was PUT to `?default`: they are now the same graph."""
    assert update(port, "INSERT DATA { <urn:x:in-default> <urn:x:p> 1 }")[0] == 204
    status, _, data = call(port, "GET", "/graph-store?default", headers={"Accept": "application/n-triples"})
    assert status == 200 and b"<urn:x:in-default>" in data
    put = "<urn:x:put-default> <urn:x:p> 2 ."
    assert call(port, "PUT", "/graph-store?default", put, {**AUTH, "Content-Type": "text/turtle"})[0] in (
        201,
        204,
    )
    status, _, data = call(port, "GET", "/graph-store?default", headers={"Accept": "application/n-triples"})
    assert b"<urn:x:put-default>" in data and b"<urn:x:in-default>" not in data  # PUT replaced it
    ask = "ASK { <urn:x:put-default> <urn:x:p> 2 }"
    status, _, body = call(
        port,
        "GET",
        "/sparql?query=" + urllib.parse.quote(ask),
        headers={"Accept": "application/sparql-results+json"},
    )
    assert json.loads(body)["boolean"] is True
    assert update(port, "CLEAR DEFAULT")[0] == 204
    assert call(port, "GET", "/graph-store?default")[0] == 404


def test_ctrl_c_stops_the_service_after_a_stopped_query(tmp_path: Path) -> None:
    """Ctrl-C stopped working once a query had been stopped at its limit (its thread ran on)."""
    import os
    import signal
    import subprocess
    import sys

    from .servers import free_port, wait_until_up

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--data", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "AIMS_QUERY_TIMEOUT": "1"},
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, 60)
        assert call(port, "GET", "/sparql?query=" + urllib.parse.quote(SLOW))[0] == 503
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode in (0, 130)
        assert "Traceback" not in stderr.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_review_findings_on_updates(port: int) -> None:
    """A relative second BASE could make rdflib check one graph name while Oxigraph wrote another
    (the catalogue); a `PREFIX ALL:` made the restore silent; the default graph's IRI named a
    second graph of its own."""
    before = catalogue_label(port)
    sneaky = "BASE <https://w3id.org/aims/graph/x/> BASE <../> INSERT DATA { GRAPH <catalogue> { <urn:x:a> <urn:x:p> 1 } }"
    assert update(port, sneaky)[0] == 400
    assert (
        update(port, f"PREFIX ALL: <urn:x:> INSERT DATA {{ GRAPH <{CAT}> {{ <urn:x:a> <urn:x:p> 1 }} }}")[0]
        == 403
    )
    assert (
        update(port, "INSERT DATA { GRAPH <https://w3id.org/aims/graph/default> { <urn:x:a> <urn:x:p> 1 } }")[
            0
        ]
        == 400
    )
    assert catalogue_label(port) == before


def test_review_findings_in_the_compiler() -> None:
    """`?a<?b` is not an IRI: the EXISTS it sits in stays correlated (a rewrite to MINUS gave a
    false violation); a blank-node subclass and `$this rdfs:subClassOf*` are left as written."""
    from rdflib import BNode, URIRef

    from service.validation.compiler import Compiler, exists_as_joins

    text = "SELECT $this WHERE {\n{ SELECT ?this WHERE { ?this a <urn:x:C> } }\n$this <urn:x:min> ?min . FILTER NOT EXISTS { $this <urn:x:val> ?v . FILTER(?v<?min&&?v>0) } }"
    assert "MINUS" not in exists_as_joins(text, focus_first=True)
    compiler = Compiler(Graph(), subclasses=lambda c: [BNode()])
    assert "subClassOf*" in compiler._subclass_paths_listed(
        "SELECT ?k WHERE { ?x a ?k . ?k rdfs:subClassOf* <urn:x:C> . }"
    )
    compiler = Compiler(Graph(), subclasses=lambda c: [URIRef("urn:x:D")])
    listed = compiler._subclass_paths_listed("SELECT ?k WHERE { ?x a ?k . ?k rdfs:subClassOf* <urn:x:C> . }")
    assert "VALUES ?k { <urn:x:C> <urn:x:D> }" in listed  # an IRI class is listed too
    assert "subClassOf*" in compiler._subclass_paths_listed(
        "SELECT $this WHERE { $this rdfs:subClassOf* <urn:x:C> . }"
    )
