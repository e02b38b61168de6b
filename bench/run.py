"""Print aims-graph's benchmark figures (`make bench`).

Each measurement runs in its own process so that peak memory (ru_maxrss) is its own.
    python bench/run.py                      # everything: store, HTTP, validation at 100, 1,000, 10,000, pages, soak
    python bench/run.py --only validation --sizes 100 1000   # a quicker run
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = dt.date(2026, 11, 20)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def result_keys(report_graph) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """(focus, named node shape, path, severity, component) per result: what the engines must agree
    on. Jena's report names property shapes by blank nodes of its own, so its shape is ""."""
    from rdflib import BNode
    from rdflib.namespace import RDF, SH

    from service import validation

    keys = []
    for node in report_graph.subjects(RDF.type, SH.ValidationResult):
        shape = validation._node_shape(validation.shapes_graph(), report_graph.value(node, SH.sourceShape))
        path = report_graph.value(node, SH.resultPath)
        keys.append(
            [
                str(report_graph.value(node, SH.focusNode)),
                "" if shape is None or isinstance(shape, BNode) else str(shape),
                str(path) if path else "",
                str(report_graph.value(node, SH.resultSeverity)),
                str(report_graph.value(node, SH.sourceConstraintComponent)),
            ]
        )
    return sorted(keys)


def without_shape(keys: list[list[str]]) -> list[list[str]]:
    return sorted([k[0], *k[2:]] for k in keys)


def child_validate_store(path: Path) -> dict[str, object]:
    """The default route: Oxigraph loads the file; the rules, compiled to SPARQL, run in the store."""
    from service import validation
    from service.store.embedded import EmbeddedStore
    from service.validation import store_engine

    t0 = time.perf_counter()
    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load_file(path)
    t1 = time.perf_counter()
    report = validation.validate(store, as_of=AS_OF)
    t2 = time.perf_counter()
    system = next(iter(store.select("SELECT ?s WHERE { ?s a <https://w3id.org/aims#AISystem> } LIMIT 1")))[
        "s"
    ]
    scoped = _median_ms(lambda: validation.validate(store, as_of=AS_OF, system=system), 5)
    # the five slowest rules: each rule's queries timed on their own
    shapes = validation.dated_shapes(AS_OF)
    timings = []
    for rule in validation.checked_shapes(None, shapes):
        t = time.perf_counter()
        store_engine.run(store, shapes, only={rule})
        timings.append((time.perf_counter() - t, str(rule).rsplit("#", 1)[-1]))
    return {
        "load_s": t1 - t0,
        "validate_s": t2 - t1,
        "scoped_ms": scoped,
        "keys": result_keys(report.graph),
        "peak_mb": peak_mb(),
        "slowest": sorted(timings, reverse=True)[:5],
    }


def child_validate_pyshacl(path: Path) -> dict[str, object]:
    """The reference route: Oxigraph parses; pySHACL validates an rdflib copy with the catalogue."""
    from service import validation
    from service.store.embedded import EmbeddedStore

    t0 = time.perf_counter()
    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load_file(path)
    t1 = time.perf_counter()
    report = validation.validate(store, as_of=AS_OF, engine="pyshacl")
    t2 = time.perf_counter()
    return {"load_s": t1 - t0, "validate_s": t2 - t1, "keys": result_keys(report.graph), "peak_mb": peak_mb()}


JENA_JARS = Path("/usr/share/java")


def jena_classpath(workdir: Path) -> str:
    """Debian's jars, plus a fix: Debian relocated Jena's bundled Xerces classes from
    org.apache.jena.ext.xerces to xerces but left their message bundles behind, so the first XSD
    datatype fails with "internal error". Copying the bundles to the new package path fixes it."""
    import zipfile

    fix = workdir / "jena-xerces-bundles"
    with zipfile.ZipFile(JENA_JARS / "jena-core.jar") as jar:
        for name in jar.namelist():
            if name.startswith("org/apache/jena/ext/xerces/") and name.endswith(".properties"):
                target = fix / name.removeprefix("org/apache/jena/ext/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    jars = [
        str(p)
        for p in sorted(JENA_JARS.glob("*.jar"))
        if ("log4j" not in p.name and "slf4j-" not in p.name) or p.name in ("slf4j-api.jar", "slf4j-nop.jar")
    ]
    return ":".join([str(fix), *jars])


def child_validate_jena(path: Path) -> dict[str, object]:
    """Apache Jena's SHACL (Debian's libapache-jena-java) on the same rules and data, from files:
    the data file plus the catalogue, and the rules with the as-of day filled in."""
    import shutil

    from rdflib import Graph

    from service import validation
    from service.store.catalogue import catalogue_graph

    if not shutil.which("java") or not (JENA_JARS / "jena-shacl.jar").exists():
        return {"skipped": "Java or Debian's libapache-jena-java is missing"}
    # shacl validate reads one --data file (a second replaces the first): the data and the
    # catalogue go into one Turtle file, as the store holds them in one dataset
    shapes, data = path.with_suffix(".shapes.ttl"), path.with_suffix(".with-catalogue.ttl")
    validation.dated_shapes(AS_OF).serialize(shapes, format="turtle")
    data.write_text(
        path.read_text(encoding="utf-8") + catalogue_graph().serialize(format="turtle"), encoding="utf-8"
    )
    classpath = jena_classpath(path.parent)
    command = [
        "java",
        "-cp",
        classpath,
        "shacl.shacl",
        "validate",
        "--shapes",
        str(shapes),
        "--data",
        str(data),
    ]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    t1 = time.perf_counter()
    if "ValidationReport" not in done.stdout:
        return {"skipped": "Jena SHACL failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:160]}
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "total_s": t1 - t0,
        "peak_mb": peak,
        "keys": result_keys(Graph().parse(data=done.stdout, format="turtle")),
    }


def _median_ms(call, n: int = 100) -> float:  # type: ignore[no-untyped-def]
    import statistics

    times = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def child_store(engine: str, path: Path) -> dict[str, object]:
    """Load, full traceability of all risks, one risk's trace (median of 100), the SoA: on the
    embedded store (Oxigraph) or on rdflib's in-memory Graph, with the same query texts."""
    from rdflib import Graph, URIRef

    from service import queries
    from service.store.catalogue import catalogue_graph
    from service.store.embedded import EmbeddedStore
    from service.store.sparql_text import inline_values

    trace, soa = queries.get("trace-risk"), queries.get("statement-of-applicability")
    as_of = trace.bindings({"risk": "urn:x", "asOf": AS_OF.isoformat()})["asOf"]
    one_risk = URIRef("https://bench.example/org/risk-7-3")
    t0 = time.perf_counter()
    if engine == "oxigraph":
        store = EmbeddedStore()
        store.ensure_catalogue()
        store.load_file(path)
        t1 = time.perf_counter()
        full = len(store.select(trace.text, {"asOf": as_of}))
        t2 = time.perf_counter()
        one = _median_ms(lambda: store.select(trace.text, {"risk": one_risk, "asOf": as_of}))
        t3 = time.perf_counter()
        soa_rows = len(store.select(soa.text))
    else:
        graph = Graph()
        graph.parse(path)
        graph += catalogue_graph()
        t1 = time.perf_counter()
        full = len(graph.query(inline_values(trace.text, {"asOf": as_of})))
        t2 = time.perf_counter()
        one = _median_ms(
            lambda: list(graph.query(inline_values(trace.text, {"risk": one_risk, "asOf": as_of}))), 20
        )
        t3 = time.perf_counter()
        soa_rows = len(graph.query(soa.text))
    t4 = time.perf_counter()
    return {
        "load_s": t1 - t0,
        "trace_all_s": t2 - t1,
        "trace_rows": full,
        "trace_one_ms": one,
        "soa_s": t4 - t3,
        "soa_rows": soa_rows,
        "peak_mb": peak_mb(),
    }


CHILDREN = {
    "validate-store": child_validate_store,
    "validate-pyshacl": child_validate_pyshacl,
    "validate-jena": child_validate_jena,
    "store-oxigraph": lambda p: child_store("oxigraph", p),
    "store-rdflib": lambda p: child_store("rdflib", p),
}


def run_child(name: str, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.splitlines()[-1])


def http_validate_ms(path: Path, workdir: Path, n: int) -> float:
    """GET /validate on `aims serve` holding the organisation: median of 5 requests (after one
    that warms the compiled-query cache), the JSON report read in full."""
    import http.client

    from tests.servers import aims_server

    with aims_server(workdir / f"validate-http-{n}", [path], timeout=900) as port:

        def get() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
            conn.request("GET", f"/validate?as_of={AS_OF.isoformat()}")
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status

        get()
        return _median_ms(get, 5)


def bench_validation(
    sizes: list[int], workdir: Path, reference_up_to: int = 1000, http_up_to: int = 1000
) -> None:
    from rdflib.namespace import SH

    from bench.generate import generate
    from service import validation

    rules = validation.checked_shapes()
    sparql = sum(1 for r in rules if (r, SH.sparql, None) in validation.shapes_graph())
    print(
        f"Validation ({len(rules)} rules, {sparql} with SHACL-SPARQL), as of 2026-11-20; times in seconds, from files"
    )
    print(
        f"{'systems':>8} | {'store: load':>11} {'validate':>9} {'peak MB':>8} {'1 system ms':>11} | "
        f"{'HTTP ms':>8} | {'pySHACL':>8} {'peak MB':>8} | {'Jena':>6} {'peak MB':>8} | {'results':>8} same"
    )
    for n in sizes:
        path = workdir / f"org-{n}.ttl"
        path.write_text(generate(n), encoding="utf-8")
        ours = run_child("validate-store", path)
        reference = run_child("validate-pyshacl", path) if n <= reference_up_to else None
        jena = run_child("validate-jena", path)
        same = "-" if reference is None else ("yes" if ours["keys"] == reference["keys"] else "NO")
        if "keys" in jena:
            same += " / Jena " + (
                "yes" if without_shape(ours["keys"]) == without_shape(jena["keys"]) else "NO"
            )
        ref = (
            f"{reference['validate_s']:>8.2f} {reference['peak_mb']:>8.0f}"
            if reference
            else f"{'-':>8} {'-':>8}"
        )
        jena_text = (
            f"{jena['total_s']:>6.1f} {jena['peak_mb']:>8.0f}"
            if "total_s" in jena
            else f"{'n/a':>6} {'-':>8}"
        )
        http_text = f"{http_validate_ms(path, workdir, n):>8.0f}" if n <= http_up_to else f"{'-':>8}"
        print(
            f"{n:>8} | {ours['load_s']:>11.2f} {ours['validate_s']:>9.2f} {ours['peak_mb']:>8.0f} {ours['scoped_ms']:>11.0f} "
            f"{http_text} | {ref} | {jena_text} | {len(ours['keys']):>8} {same}",
            flush=True,
        )
        if "skipped" in jena:
            print(f"         Jena: {jena['skipped']}")
        print("         slowest rules: " + ", ".join(f"{name} {t:.2f} s" for t, name in ours["slowest"]))  # type: ignore[union-attr]


def bench_store(sizes: list[int], workdir: Path) -> None:
    from bench.generate import generate

    print("Store and named queries: embedded Oxigraph vs rdflib in-memory Graph, same query texts")
    print(
        f"{'systems':>8} {'engine':>9} | {'load s':>7} {'trace all s':>11} {'rows':>7} {'1 risk ms':>9} "
        f"{'SoA s':>7} {'peak MB':>8}"
    )
    for n in sizes:
        path = workdir / f"org-{n}.ttl"
        path.write_text(generate(n), encoding="utf-8")
        results = {}
        for engine in ("oxigraph", "rdflib"):
            r = results[engine] = run_child(f"store-{engine}", path)
            print(
                f"{n:>8} {engine:>9} | {r['load_s']:>7.2f} {r['trace_all_s']:>11.2f} {r['trace_rows']:>7} "
                f"{r['trace_one_ms']:>9.1f} {r['soa_s']:>7.2f} {r['peak_mb']:>8.0f}",
                flush=True,
            )
        ox, rd = results["oxigraph"], results["rdflib"]
        print(
            f"{n:>8} {'ratio':>9} | {rd['load_s'] / ox['load_s']:>6.1f}x {rd['trace_all_s'] / ox['trace_all_s']:>10.1f}x "
            f"{'':>7} {rd['trace_one_ms'] / ox['trace_one_ms']:>8.1f}x {rd['soa_s'] / ox['soa_s']:>6.1f}x",
            flush=True,
        )


def bench_http(n: int, workdir: Path, clients: int = 8, seconds: float = 10.0) -> None:
    """Requests per second and median latency with `clients` concurrent keep-alive clients."""
    import http.client
    import statistics
    import threading

    from bench.generate import generate
    from tests.servers import aims_server

    path = workdir / f"org-{n}.ttl"
    path.write_text(generate(n), encoding="utf-8")
    with aims_server(workdir / f"http-{n}", [path], timeout=600) as port:
        print(
            f"HTTP at {n} systems, {clients} concurrent clients for {seconds:.0f} s each (aims serve, waitress)"
        )
        for label, target in (
            ("/trace/risk", lambda i: f"/trace/risk?iri=https%3A%2F%2Fbench.example%2Forg%2Frisk-{i % n}-3"),
            ("/soa", lambda i: "/soa"),
        ):
            latencies: list[float] = []
            errors = [0]
            deadline = time.monotonic() + seconds

            def client(k: int, target=target, latencies=latencies, errors=errors, deadline=deadline) -> None:  # type: ignore[no-untyped-def]
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                i = k
                while time.monotonic() < deadline:
                    t = time.perf_counter()
                    conn.request("GET", target(i))
                    response = conn.getresponse()
                    body = response.read()
                    latencies.append(time.perf_counter() - t)
                    if response.status != 200:
                        if not errors[0]:
                            print(f"  first error: {response.status} {body[:200]!r}", flush=True)
                        errors[0] += 1
                    i += clients

            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(
                f"  {label:12s} {len(latencies) / seconds:7.1f} req/s   median {statistics.median(latencies) * 1000:6.1f} ms"
                f"   p95 {sorted(latencies)[int(len(latencies) * 0.95)] * 1000:6.1f} ms   errors {errors[0]}",
                flush=True,
            )


# The last commit before SPARQL queries ran in query processes of their own: the release the
# soak's throughput is compared with (issue 18: 144 requests/s then, 36 after, on one machine).
PREVIOUS_RELEASE = "0376099"
SOAK_SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SOAK_QUICK = (
    "PREFIX aims: <https://w3id.org/aims#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?system ?label WHERE { ?system a aims:AISystem ; rdfs:label ?label } ORDER BY ?label LIMIT 50"
)


def _soak_mix(n: int) -> list[tuple[str, str, object, int]]:
    """(name, method, target for request i, weight): reads (SoA, a named query, SPARQL, traces),
    scoped and whole validation, writes (a PUT of a small graph), and now and then a SPARQL query
    that cannot finish within the time limit."""

    def risk(i: int) -> str:
        return "/trace/risk?iri=" + urllib.parse.quote(f"https://bench.example/org/risk-{i % n}-3")

    def scoped(i: int) -> str:
        system = urllib.parse.quote(f"https://bench.example/org/sys-{i % n}")
        return f"/validate?as_of=2026-11-20&system={system}"

    return [
        ("GET /soa", "GET", lambda i: "/soa", 20),
        ("GET /queries/open-nonconformities", "GET", lambda i: "/queries/open-nonconformities", 20),
        ("GET /sparql (quick)", "GET", lambda i: "/sparql?query=" + urllib.parse.quote(SOAK_QUICK), 20),
        ("GET /trace/risk", "GET", risk, 20),
        ("GET /validate?system=", "GET", scoped, 10),
        ("GET /validate", "GET", lambda i: "/validate?as_of=2026-11-20", 1),
        ("PUT /graph-store", "PUT", lambda i: f"/graph-store?graph=urn:soak:{i}", 10),
        ("GET /sparql (slow)", "GET", lambda i: "/sparql?query=" + urllib.parse.quote(SOAK_SLOW), 2),
    ]


def _soak_run(
    n: int, path: Path, workdir: Path, clients: int, seconds: float, root: Path | None
) -> dict[str, object]:
    """One soak of `aims serve` from `root` (this checkout by default); what each request got."""
    import http.client
    import random
    import threading

    from tests.servers import aims_server, listening_pid

    token = "soak-editor"
    mix = _soak_mix(n)
    weights = [w for *_, w in mix]
    env = {"AIMS_TOKENS": f"{token}=editor", "AIMS_QUERY_TIMEOUT": "2"}
    with aims_server(workdir, [path], env=env, timeout=600, root=root) as port:
        pid = listening_pid(port)
        time.sleep(5)  # the dashboard's background verdicts, worked out after the load, out of the way
        rss_before = _rss_mb(pid)
        latencies: dict[str, list[float]] = {name: [] for name, *_ in mix}
        statuses: dict[str, dict[int, int]] = {name: {} for name, *_ in mix}
        acknowledged: list[str] = []
        started = time.monotonic()
        deadline = started + seconds

        def client(k: int) -> None:
            rng = random.Random(k)  # the same sequence of requests for each release
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            i = k
            while time.monotonic() < deadline:
                name, method, target, _ = rng.choices(mix, weights)[0]
                i += clients
                url = target(i)  # type: ignore[operator]
                body, headers = None, {}
                if method == "PUT":
                    body = f"<urn:soak:s{i}> <urn:soak:p> {i} .\n"
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
                t = time.perf_counter()
                try:
                    conn.request(method, url, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status = 0
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                latencies[name].append(time.perf_counter() - t)
                statuses[name][status] = statuses[name].get(status, 0) + 1
                if method == "PUT" and status in (200, 201, 204):
                    acknowledged.append(url.split("=", 1)[1])

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        rss_after = _rss_mb(pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s <urn:soak:p> ?o } }"
        for _ in range(30):  # asked until answered: the last requests' work may still hold every slot
            conn.request(
                "GET",
                "/sparql?query=" + urllib.parse.quote(query),
                headers={"Accept": "application/sparql-results+json"},
            )
            response = conn.getresponse()
            answer = response.read()
            if response.status == 200:
                break
            time.sleep(1)
        # None: never answered (the first release's SPARQL stayed 503 once slow queries had filled its threads)
        found = (
            {b["g"]["value"] for b in json.loads(answer)["results"]["bindings"]}
            if response.status == 200
            else None
        )
    return {
        "latencies": latencies, "statuses": statuses, "elapsed": elapsed, "rss": (rss_before, rss_after),
        "acknowledged": set(acknowledged), "found": found,
    }  # fmt: skip


def bench_soak(
    n: int, workdir: Path, clients: int = 40, seconds: float = 60.0, against: str | None = None
) -> None:
    """`clients` concurrent clients for `seconds` against `aims serve` holding n systems, each
    looping over the same mix (`_soak_mix`); then the same against the release `against` (its
    code from git, run with this environment), in the same run. Afterwards every acknowledged
    write must be there. Requests/s counts the answers that are not errors: 2xx, and the slow
    queries' 503 (stopped at the limit, as they should be)."""
    import statistics

    from bench.generate import generate

    path = workdir / f"org-{n}.ttl"
    path.write_text(generate(n), encoding="utf-8")
    runs = [("this checkout", None)]
    if against:
        previous = workdir / f"release-{against}"
        previous.mkdir(exist_ok=True)
        archive = subprocess.run(["git", "archive", against], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(previous)], input=archive.stdout, check=True)
        runs.append((f"release {against}", previous))
    print(f"Soak: {clients} clients for {seconds:.0f} s on aims serve with {n} systems (query limit 2 s)")
    for label, root in runs:
        result = _soak_run(n, path, workdir / f"soak-{n}-{label.split()[-1]}", clients, seconds, root)
        latencies, statuses = result["latencies"], result["statuses"]
        print(f"  {label}:")
        print(f"    {'endpoint':36s} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8}  statuses")
        for name, times in latencies.items():  # type: ignore[attr-defined]
            times = sorted(times)
            if times:
                print(
                    f"    {name:36s} {len(times):>8} {statistics.median(times) * 1000:>8.0f} "
                    f"{times[int(len(times) * 0.95)] * 1000:>8.0f}  {dict(sorted(statuses[name].items()))}"
                )
        total = sum(len(v) for v in latencies.values())  # type: ignore[attr-defined]
        # the slow queries are meant to end in 503; anything else that is not 2xx is an error
        errors = sum(
            c
            for name, by in statuses.items()  # type: ignore[attr-defined]
            for s, c in by.items()
            if not 200 <= s < 300 and not (name.endswith("(slow)") and s == 503)
        )
        reads = sorted(
            t
            for name, times in latencies.items()
            if name.startswith("GET") and "(slow)" not in name  # type: ignore[attr-defined]
            for t in times
        )
        elapsed = float(result["elapsed"])  # type: ignore[arg-type]
        print(f"    answered (not errors): {(total - errors) / elapsed:.1f} requests/s over {elapsed:.0f} s")
        print(
            f"    reads (GET, not the slow query): p95 {reads[int(len(reads) * 0.95)] * 1000:.0f} ms"
            if reads
            else ""
        )
        print(f"    errors: {errors} of {total} requests ({100 * errors / max(total, 1):.2f} %)")
        before, after = result["rss"]  # type: ignore[misc]
        print(f"    RSS of aims serve: {before:.0f} MB before, {after:.0f} MB after")
        acknowledged, found = result["acknowledged"], result["found"]
        if found is None:
            print(
                f"    acknowledged writes: {len(acknowledged)}; not checked: /sparql answered no query afterwards"
            )  # type: ignore[arg-type]
        else:
            print(
                f"    acknowledged writes found afterwards: {len(acknowledged & found)} of {len(acknowledged)}"
            )  # type: ignore[operator]


PAGES = (
    "/",
    "/systems",
    "/systems?page=5",
    "/risks",
    "/risks?sort=riskLevel&dir=desc",
    "/controls",
    "/documents",
    "/audits",
    "/findings",
    "/parties",
    "/roles",
    "/soa",
    "/validation",
    "/gap-analysis",
    "/trace/risk?iri=https%3A%2F%2Fbench.example%2Forg%2Frisk-7-3",
    "/trace/control?iri=https%3A%2F%2Fw3id.org%2Faims%2Fiso42001%23A.6.2.4",
    "/trace/system?iri=https%3A%2F%2Fbench.example%2Forg%2Fsys-7",
    "/resource?iri=https%3A%2F%2Fbench.example%2Forg%2Fsys-7",
)


def bench_pages(n: int, workdir: Path) -> None:
    """Each page as a browser asks for it (Accept: text/html) from `aims serve` holding `n`
    systems: the first load (the dashboard, validation and gap pages validate then; later loads
    reuse the verdicts until the next write) and the median of 5 loads after it."""
    import http.client

    from bench.generate import generate
    from tests.servers import aims_server

    path = workdir / f"org-{n}.ttl"
    path.write_text(generate(n), encoding="utf-8")
    with aims_server(workdir / f"pages-{n}", [path], timeout=900) as port:
        print(f"Pages at {n} systems (aims serve; first load, then median of 5; ms; size in KB)")
        for target in PAGES:
            sizes: list[int] = []

            def get(target: str = target, sizes: list[int] = sizes) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
                conn.request("GET", f"{target}{'&' if '?' in target else '?'}as_of={AS_OF.isoformat()}",
                             headers={"Accept": "text/html"})  # fmt: skip
                response = conn.getresponse()
                sizes.append(len(response.read()))
                assert response.status == 200, (target, response.status)

            started = time.perf_counter()
            get()
            first = (time.perf_counter() - started) * 1000
            print(
                f"  {target:70s} first {first:7.0f}  then {_median_ms(get, 5):7.0f}  {sizes[0] / 1024:7.0f} KB"
            )


MILESTONE_PAGES = ("/", "/risks", "/soa", "/gap-analysis", PAGES[14], PAGES[16])


def _timed(call) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def bench_milestones(sizes: list[int], workdir: Path, pages_up_to: int, pack_up_to: int = 1000) -> None:
    """Issue 20's figures: a snapshot of `n` systems against what a user would do without one (a
    TriG export of the whole dataset, kept as a file); a diff of two snapshots; a pack; and a page
    read for a snapshot against the same page for today's data, on `aims serve`."""

    from bench.generate import generate
    from service import snapshots
    from service.store.embedded import EmbeddedStore
    from service.store.formats import format_for
    from service.store.terms import source_graph
    from tests.servers import aims_server

    for n in sizes:
        path = workdir / f"org-{n}.ttl"
        path.write_text(generate(n), encoding="utf-8")
        folder = workdir / f"milestones-{n}"
        print(f"Milestones at {n} systems (seconds)")
        with EmbeddedStore(folder / "data") as store:
            store.ensure_catalogue()
            store.load_file(path)
            export, data = _timed(lambda: store.export(format_for(name="trig")))
            print(
                f"  TriG export of the dataset (the way without snapshots) {export:7.2f}  ({len(data) / 1e6:.0f} MB)"
            )  # type: ignore[arg-type]
            first, taken = _timed(lambda: snapshots.create(store, "a", "bench", as_of=AS_OF))
            kept_a, _ = _timed(
                lambda taken=taken: snapshots.keep_judgement(snapshots.SnapshotView(store, taken))
            )
            # a change between the two (in the graph the file was loaded into: an update's WHERE
            # reads the default graph, which on the embedded store is not that graph)
            store.update(
                f"DELETE WHERE {{ GRAPH <{source_graph(path)}> "
                "{ <https://bench.example/org/risk-7-3> <https://w3id.org/aims#owner> ?o } }"
            )
            second, taken = _timed(lambda: snapshots.create(store, "b", "bench", as_of=AS_OF))
            kept_b, _ = _timed(
                lambda taken=taken: snapshots.keep_judgement(snapshots.SnapshotView(store, taken))
            )
            print(
                f"  snapshot: copy the graphs                              {first:7.2f}  (a second: {second:.2f})"
            )
            print(
                f"  snapshot: keep its report and risk verdicts            {kept_a:7.2f}  (a second: {kept_b:.2f};"
                " aims snapshot create does; the service in the background)"
            )
        data_dir = str(folder / "data")
        commands = {  # run once the store is closed: the command line opens it itself
            "service.diff": ["diff", "--data", data_dir, "a", "b", "--format", "json"],
            "service.pack": ["pack", "--data", data_dir, "--snapshot", "a", "-o", str(workdir / "pack.zip")],
        }
        if n > pack_up_to:  # a PDF of thousands of pages: minutes, and not one of issue 20's goals
            del commands["service.pack"]
        for module, command in commands.items():
            try:
                __import__(module)
            except ImportError:  # not built yet
                continue
            took, done = _timed(
                lambda command=command: subprocess.run(
                    [sys.executable, "-m", "service.cli", *command], cwd=ROOT, capture_output=True
                )
            )
            assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
            shown = " ".join(c for c in command if c not in (data_dir, "--data"))
            print(f"  aims {shown[:50]:50s} {took:7.2f}")
        if n > pages_up_to:
            continue
        with aims_server(folder, timeout=900) as port:
            print(f"  pages on aims serve, first load then median of {WARM_READS} (ms): today | snapshot a")
            for target in MILESTONE_PAGES:
                gets = [_page_get(port, target, snapshot) for snapshot in ("", "a")]
                first = [_timed(get)[0] * 1000 for get in gets]
                warm: list[list[float]] = [[], []]
                for _ in range(WARM_READS):  # taken in turns, so that a drift of the machine is both sides'
                    for side, get in enumerate(gets):
                        warm[side].append(_timed(get)[0] * 1000)
                row = [f"{first[i]:7.0f} {statistics.median(warm[i]):7.1f}" for i in (0, 1)]
                print(f"  {target[:60]:60s} {row[0]} | {row[1]}")


WARM_READS = 15


def _page_get(port: int, target: str, snapshot: str):  # type: ignore[no-untyped-def]
    """A reader of one page on aims serve: today's on the snapshot's day, or the snapshot's."""
    import http.client

    def get() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        query = f"snapshot={snapshot}" if snapshot else f"as_of={AS_OF.isoformat()}"
        conn.request(
            "GET", f"{target}{'&' if '?' in target else '?'}{query}", headers={"Accept": "text/html"}
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (target, response.status)

    return get


def bench_exports(sizes: list[int], workdir: Path) -> None:
    """The workbook export (what /export?format=xlsx works out once per state of the store) of
    `n` systems on the embedded store; the vocabulary is read first, as the service has it."""
    from bench.generate import generate
    from service import workbook
    from service.store.embedded import EmbeddedStore

    workbook.vocab()
    print("Workbook export (seconds; goal: under 2 at 1,000 systems, under 10 at 10,000)")
    for n in sizes:
        path = workdir / f"org-{n}.ttl"
        path.write_text(generate(n), encoding="utf-8")
        with EmbeddedStore(workdir / f"exports-{n}") as store:
            store.ensure_catalogue()
            store.load_file(path)
            took, data = _timed(lambda store=store: workbook.export(store))
        print(f"  {n:>6} systems  {took:7.2f}  ({len(data) / 1e6:.1f} MB)", flush=True)  # type: ignore[arg-type]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _result_keys(report) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return sorted(
        (r.focus, r.shape, r.severity, str(r.path), str(r.value), r.message) for r in report.results
    )


_RISK = "https://bench.example/org/risk-7-3"
_OWNER = "https://w3id.org/aims#owner"


def _owner_change(graph: str, owner: str) -> str:
    """A one-resource write: risk 7.3 gets another owner (in the graph its file was loaded into)."""
    return (
        f"DELETE {{ GRAPH <{graph}> {{ <{_RISK}> <{_OWNER}> ?o }} }} "
        f"INSERT {{ GRAPH <{graph}> {{ <{_RISK}> <{_OWNER}> <{owner}> }} }} "
        f"WHERE {{ GRAPH <{graph}> {{ <{_RISK}> <{_OWNER}> ?o }} }}"
    )


def bench_scale(sizes: list[int], workdir: Path, remote_up_to: int) -> None:
    for n in sizes:
        _scale_at(n, workdir, remote_up_to)


def _scale_at(n: int, workdir: Path, remote_up_to: int) -> None:
    """Issue 22's figures at `n` systems: a whole validation and the re-validation after a
    one-resource write (incremental, checked equal to a whole run after it) on the embedded store;
    every page on `aims serve`, first load after a write and warm, with the server's peak memory;
    the same whole validation on `oxigraph serve` and Virtuoso (up to `remote_up_to`)."""
    import http.client

    from rdflib import URIRef

    from bench.generate import generate
    from service import history, validation
    from service.store.base import ServerError
    from service.store.embedded import EmbeddedStore
    from service.store.terms import source_graph
    from service.validation import incremental
    from tests.servers import aims_server, listening_pid, oxigraph_server, virtuoso_server

    path = workdir / f"org-{n}.ttl"
    path.write_text(generate(n), encoding="utf-8")
    folder = workdir / f"scale-{n}"
    graph = str(source_graph(path))
    print(f"At {n} systems", flush=True)
    with EmbeddedStore(folder / "data") as store:
        store.ensure_catalogue()
        load, _ = _timed(lambda store=store: store.load_file(path))
        whole, kept = _timed(lambda store=store: incremental.validate(store, AS_OF))
        engine, _ = _timed(lambda store=store: validation.validate(store, as_of=AS_OF))
        risk = [URIRef(_RISK)]
        before = history.snapshot(store, risk)
        store.update(_owner_change(graph, "https://bench.example/org/owner-8"))
        changes = history.diff(before, history.snapshot(store, risk))
        again, after = _timed(
            lambda store=store, kept=kept, changes=changes: incremental.revalidate(
                store, kept, AS_OF, changes
            )
        )
        fresh = incremental.validate(store, AS_OF)
        same = _result_keys(after.report) == _result_keys(fresh.report)  # type: ignore[attr-defined]
    print(f"  load (embedded)                                  {load:8.2f} s", flush=True)
    print(
        f"  whole validation (incremental's first run)      {whole:8.2f} s  (validation.validate: {engine:.2f} s)"
    )
    print(
        f"  re-validation after a one-resource write         {again * 1000:8.0f} ms  "
        f"({again / whole:.1%} of a whole run; {after.rerun} of {len(after.checks)} checks asked again; "  # type: ignore[attr-defined]
        f"equal to a whole run after it: {'yes' if same else 'NO'})",
        flush=True,
    )
    token = {"Authorization": "Bearer bench-editor"}
    with aims_server(folder, env={"AIMS_TOKENS": "bench-editor=editor"}, timeout=1800) as port:
        pid = listening_pid(port)

        def get(target: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
            query = f"{'&' if '?' in target else '?'}as_of={AS_OF.isoformat()}"
            conn.request("GET", target + query, headers={"Accept": "text/html", **token})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, (target, response.status)

        def write(owner: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
            body = _owner_change(graph, owner).encode()
            headers = {"Content-Type": "application/sparql-update", **token}
            conn.request("POST", "/sparql", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status in (200, 204), response.status

        pages = (*PAGES, "/export?format=xlsx")
        started = time.perf_counter()
        for target in pages:  # the state before the write: every page worked out once
            get(target)
        print(f"  aims serve: every page once after the start      {time.perf_counter() - started:8.1f} s")
        write("https://bench.example/org/owner-9")
        print("  aims serve, after a one-resource write: first load, then median of 5 (ms)")
        for target in pages:
            first = _timed(lambda target=target: get(target))[0] * 1000
            print(
                f"    {target[:66]:66s} {first:8.0f} {_median_ms(lambda target=target: get(target), 5):8.0f}"
            )
        print(f"  aims serve peak memory (VmHWM)                   {_peak_rss_mb(pid):8.0f} MB", flush=True)
    if n > remote_up_to:
        return
    for name, server in (("oxigraph serve", oxigraph_server), ("Virtuoso 7", virtuoso_server)):
        where = folder / name.split()[0].lower()
        where.mkdir(parents=True, exist_ok=True)
        with server(where) as remote:
            remote.ensure_catalogue()
            loaded, _ = _timed(lambda remote=remote: remote.load_file(path))
            try:
                took, _ = _timed(lambda remote=remote: validation.validate(remote, as_of=AS_OF))
            except ServerError as e:  # Virtuoso 7 at 10,000 systems: SQ200, its cost model overflows
                print(
                    f"  {name:14s} load {loaded:7.1f} s, whole validation FAILED: {str(e)[:300]}", flush=True
                )
                continue
        print(
            f"  {name:14s} load {loaded:7.1f} s, whole validation {took:7.1f} s ({took / engine:.1f}x the embedded store's)",
            flush=True,
        )


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("NAME", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000], help="validation sizes")
    parser.add_argument(
        "--reference-up-to",
        type=int,
        default=1000,
        help="run pySHACL up to this size (about 11 min at 1,000 systems)",
    )
    parser.add_argument("--store-sizes", type=int, nargs="*", default=[100, 1000, 10000])
    parser.add_argument(
        "--only", choices=("validation", "store", "http", "soak", "pages", "milestones", "exports", "scale")
    )
    parser.add_argument("--scale-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--scale-remote-up-to", type=int, default=10000)
    parser.add_argument("--export-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--milestone-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--milestone-pages-up-to", type=int, default=10000)
    parser.add_argument("--milestone-pack-up-to", type=int, default=1000)
    parser.add_argument("--pages-size", type=int, default=1000)
    parser.add_argument("--soak-size", type=int, default=100)
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument("--soak-clients", type=int, default=40)
    parser.add_argument(
        "--soak-against", default=PREVIOUS_RELEASE, help="git revision to run the same soak on ('' for none)"
    )
    parser.add_argument("--http-size", type=int, default=1000)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "store"):
            bench_store(args.store_sizes, Path(tmp))
        if args.only in (None, "http"):
            bench_http(args.http_size, Path(tmp))
        if args.only in (None, "validation"):
            bench_validation(args.sizes, Path(tmp), args.reference_up_to)
        if args.only in (None, "pages"):
            bench_pages(args.pages_size, Path(tmp))
        if args.only in (None, "milestones"):
            bench_milestones(
                args.milestone_sizes, Path(tmp), args.milestone_pages_up_to, args.milestone_pack_up_to
            )
        if args.only in (None, "exports"):
            bench_exports(args.export_sizes, Path(tmp))
        if args.only in (None, "scale"):
            bench_scale(args.scale_sizes, Path(tmp), args.scale_remote_up_to)
        if args.only in (None, "soak"):
            bench_soak(
                args.soak_size, Path(tmp), args.soak_clients, args.soak_seconds, args.soak_against or None
            )


if __name__ == "__main__":
    main()
