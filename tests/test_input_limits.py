"""Issue 18, items 2, 8 and 10: limits on RDF sent to the service, checked before any parser of the
store sees it and before the write lock is taken, through a real `aims serve` run as root and as
the user nobody. Before: Turtle nested 1,000,000 deep held the write lock 44 s and 1.8 GB, RDF 1.2
triple terms nested 30,000 deep crashed Oxigraph's parser (the service with it), a 20 MB literal
got 500 (Oxigraph's parser stops at a 16 MiB token with MemoryError) and `aims load` of one
printed a traceback; the pages and reports that can answer 429 did not say so in /openapi.json."""

from __future__ import annotations

import ast
import datetime as dt
import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import resources, traces
from service.store import FORMATS, InputRefused
from service.store.input_limits import MAX_LITERAL_CHARS, MAX_NESTING, check_input

from .servers import ROOT, aims_server, call, server_as

TOKEN = "limits-editor-token"
EDITOR = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 30 * 1024 * 1024  # AIMS_MAX_BODY_BYTES for these servers: a 20 MB literal fits, 40 MB does not
S, P, OBJ = b"<urn:s> ", b"<urn:p> ", b"<urn:o>"


def nested(opening: bytes, inside: bytes, closing: bytes, depth: int, fmt: str = "turtle") -> bytes:
    """One triple whose object is `depth` levels of opening ... closing."""
    body = S + P + opening * depth + inside + closing * depth + b" ."
    return b"GRAPH <urn:g> { " + body + b" }" if fmt == "trig" else body


def refused(data: bytes, fmt: str = "turtle") -> InputRefused | None:
    try:
        check_input(data, FORMATS[fmt])
    except InputRefused as e:
        return e
    return None


# ------------------------------------------------------------------------------ the nesting scan


# Each bracket of Turtle that nests, and RDF 1.2's triple terms (in N-Triples too). Expected depth:
# MAX_NESTING levels are read; one more is refused at the opening that goes past it.
NESTINGS = [
    ("blank node property lists", b"[ <urn:p> ", OBJ, b" ]", "turtle"),
    ("collections", b"( ", OBJ, b" )", "turtle"),
    ("blank nodes in a TriG graph", b"[ <urn:p> ", OBJ, b" ]", "trig"),
    ("triple terms", b"<<( <urn:s> <urn:p> ", OBJ, b" )>>", "turtle"),
    ("triple terms in N-Triples", b"<<( <urn:s> <urn:p> ", OBJ, b" )>>", "nt"),
    ("reified triples", b"<< <urn:s> <urn:p> ", OBJ, b" >>", "turtle"),
]


@pytest.mark.parametrize(
    "opening,inside,closing,fmt", [n[1:] for n in NESTINGS], ids=[n[0] for n in NESTINGS]
)
def test_nesting_past_the_limit_is_refused_where_it_goes_past(
    opening: bytes, inside: bytes, closing: bytes, fmt: str
) -> None:
    allowed = MAX_NESTING - (fmt == "trig")  # TriG's graph block { } is one level
    assert refused(nested(opening, inside, closing, allowed, fmt), fmt) is None
    error = refused(nested(opening, inside, closing, allowed + 1, fmt), fmt)
    assert error is not None and error.status == 413
    # where the opening past the limit begins: after any graph block, the subject, the predicate
    # and `allowed` openings (a triple term's "<<(" is one)
    prefix = len(b"GRAPH <urn:g> { " if fmt == "trig" else b"") + len(S + P)
    assert (error.line, error.column) == (1, prefix + allowed * len(opening) + 1), error
    assert f"more than {MAX_NESTING} deep" in str(error)


# Brackets where the lexer reads no bracket: in each of the four kinds of string (with escaped
# quotes), in an IRI, in a comment, and escaped in a prefixed name (ex:a\( is a name). A document
# with 300 of them in any of these places nests no deeper than 1.
HIDDEN = 300
HIDERS = {
    "short string": b'"\\"' + b"[" * HIDDEN + b'"',
    "short single-quoted string": b"'\\'" + b"(" * HIDDEN + b"'",
    "long string": b'"""a "" \\""" ' + b"[\n" * HIDDEN + b'"""',
    "long single-quoted string": b"'''a '' \\''' " + b"(\r" * HIDDEN + b"'''",
    "IRI": b"<urn:" + b"((" * HIDDEN + b">",
    "comment": b"<urn:o> # " + b"[" * HIDDEN + b"\n",
    "escape in a name": b"e:a" + b"\\(" * HIDDEN,
}


@pytest.mark.parametrize("hider", HIDERS.values(), ids=HIDERS.keys())
def test_brackets_that_are_not_brackets_are_not_counted(hider: bytes) -> None:
    data = b"@prefix e: <urn:e:> .\n" + S + P + hider + b" .\n"
    assert refused(data) is None


def test_a_comment_ends_at_a_carriage_return_too() -> None:
    # Oxigraph ends a comment at CR as at LF: what follows `# x\r` is read, so it is counted
    deep = b"[ <urn:p> " * (MAX_NESTING + 1) + OBJ + b" ]" * (MAX_NESTING + 1)
    error = refused(S + P + b"# x\r" + deep + b" .")
    assert error is not None and error.status == 413 and error.line == 2


def test_stray_closing_brackets_make_no_room_for_deeper_nesting() -> None:
    # the parser refuses the first stray "]"; were it counted, 300 of them would let 500 "[" by
    error = refused(S + P + b"] " * 300 + b"[ <urn:p> " * 500 + OBJ + b" ]" * 500 + b" .")
    assert error is not None and error.status == 413


def test_a_string_that_does_not_end_is_refused_with_where_it_begins() -> None:
    # past an unended quote the count and the parser would read the text apart
    error = refused(S + P + b'"abc\n' + b"[ " * 300)
    assert error is not None and error.status == 400 and (error.line, error.column) == (1, 17)


def test_a_literal_past_the_parsers_buffer_is_refused_with_where_it_is() -> None:
    # 17 MB, past the 16 MiB that Oxigraph's parser holds (it raised MemoryError)
    error = refused(S + P + b'"' + b"x" * (17 << 20) + b'" .')
    assert error is not None and error.status == 413 and (error.line, error.column) == (1, 17)
    assert f"{MAX_LITERAL_CHARS:,}" in str(error)


def test_checked_data_is_not_checked_again() -> None:
    # a request is checked before the write lock; the store's own check under it is then free
    data = check_input(S + P + OBJ + b" .", FORMATS["turtle"], max_triples=10)
    assert check_input(data, FORMATS["turtle"], max_triples=10) is data
    assert check_input(data, FORMATS["turtle"], max_triples=None) is not data  # another bound: checked again


# ------------------------------------------------------------------------------ through HTTP


@pytest.fixture(scope="module", params=["root", "nobody"])
def port(request, tmp_path_factory) -> Iterator[int]:  # type: ignore[no-untyped-def]
    env = {"AIMS_TOKENS": f"{TOKEN}=editor", "AIMS_MAX_BODY_BYTES": str(MAX_BODY)}
    with server_as(request.param, tmp_path_factory.mktemp("limits"), env) as p:
        yield p


def triples(port: int) -> int:
    return int(json.loads(call(port, "GET", "/health")[2])["triples"])


def put(port: int, body: bytes, media: str, method: str = "PUT") -> tuple[int, str, bytes]:
    return call(port, method, "/graph-store?graph=urn:limits", body, {**EDITOR, "Content-Type": media})


def assert_problem(answer: tuple[int, str, bytes], status: int, *words: str) -> dict[str, object]:
    code, media, body = answer
    assert (code, media) == (status, "application/problem+json"), answer[:2] + (body[:300],)
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"] and problem["title"]
    for word in words:
        assert word in problem["detail"], problem
    return problem  # type: ignore[no-any-return]


LITERAL_20MB = S + P + b'"' + b"x" * (20 << 20) + b'" .\n'
OVER_LITERAL_LIMIT = {
    "Turtle": (LITERAL_20MB, "text/turtle"),
    "N-Triples": (LITERAL_20MB, "application/n-triples"),
    "JSON-LD": (json.dumps({"@id": "urn:s", "urn:p": "x" * (20 << 20)}).encode(), "application/ld+json"),
}


@pytest.mark.parametrize("body,media", OVER_LITERAL_LIMIT.values(), ids=OVER_LITERAL_LIMIT.keys())
def test_a_20_mb_literal_under_the_body_limit_is_413_and_nothing_is_written(
    port: int, body: bytes, media: str
) -> None:
    assert len(body) < MAX_BODY
    before = triples(port)
    for method in ("PUT", "POST"):
        assert_problem(put(port, body, media, method), 413, f"{MAX_LITERAL_CHARS:,}")
    assert triples(port) == before


def test_a_20_mb_literal_in_a_multipart_part_is_413(port: int) -> None:
    boundary = "limits-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="big"; filename="big.ttl"\r\n'
            "Content-Type: text/turtle\r\n\r\n"
        ).encode()
        + LITERAL_20MB
        + f"\r\n--{boundary}--\r\n".encode()
    )
    before = triples(port)
    assert_problem(
        put(port, body, f"multipart/form-data; boundary={boundary}"), 413, f"{MAX_LITERAL_CHARS:,}"
    )
    assert triples(port) == before


def test_a_body_over_the_body_limit_is_413_and_nothing_is_written(port: int) -> None:
    before = triples(port)
    body = S + P + b'"' + b"x" * (MAX_BODY + (10 << 20)) + b'" .\n'
    assert_problem(put(port, body, "text/turtle"), 413)
    assert triples(port) == before


@pytest.mark.parametrize(
    "opening,inside,closing,fmt", [n[1:] for n in NESTINGS], ids=[n[0] for n in NESTINGS]
)
def test_deep_nesting_is_413_with_line_and_column_and_the_service_lives(
    port: int, opening: bytes, inside: bytes, closing: bytes, fmt: str
) -> None:
    # 30,000 deep: what crashed Oxigraph's parser for triple terms, and held the lock for blank nodes
    before = triples(port)
    body = nested(opening, inside, closing, 30_000, fmt)
    problem = assert_problem(put(port, body, FORMATS[fmt].media_type), 413, f"more than {MAX_NESTING} deep")
    assert problem["line"] == 1 and isinstance(problem["column"], int)
    assert triples(port) == before  # and the service still answers


def test_deep_json_ld_is_413(port: int) -> None:
    # the JSON depth check covers JSON-LD: objects and arrays alike
    before = triples(port)
    for opening, closing in ((b'{"urn:p": ', b"}"), (b"[", b"]")):
        body = b'{"@id": "urn:s", "urn:p": ' + opening * 5_000 + b'"x"' + closing * 5_000 + b"}"
        assert_problem(
            put(port, body, "application/ld+json"), 413, f"JSON nested more than {MAX_NESTING} deep"
        )
    assert triples(port) == before


@pytest.mark.timing
def test_an_upload_is_checked_without_holding_the_write_lock(port: int) -> None:
    # A large upload refused at its very end (a literal over the limit, after 25 MB of triples)
    # takes the check a while; a small write sent meanwhile must not wait for it. Before, the
    # check ran under the write lock: the small write was answered only after the large one.
    line = b'<urn:s> <urn:p> "y" .\n'  # short: many triples, each read by the check
    big = line * ((25 << 20) // len(line)) + S + P + b'"' + b"z" * (MAX_LITERAL_CHARS + 1) + b'" .\n'
    done: dict[str, float] = {}

    def send_big() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request(
            "PUT",
            "/graph-store?graph=urn:big",
            body=big,
            headers={**EDITOR, "Content-Type": "application/n-triples"},
        )
        sent.set()
        done["big status"] = conn.getresponse().status
        done["big"] = time.monotonic()

    sent = threading.Event()
    thread = threading.Thread(target=send_big)
    thread.start()
    assert sent.wait(120)
    time.sleep(0.2)  # the server has the whole body and is checking it
    status = put(port, S + P + OBJ + b" .", "text/turtle", "POST")[0]
    done["small"] = time.monotonic()
    thread.join(300)
    assert status in (201, 204) and done["big status"] == 413
    print(f"small write answered {done['big'] - done['small']:.2f} s before the large upload's 413")
    assert done["small"] < done["big"], "the small write waited for the large upload's check"


# ------------------------------------------------------------------------------ the CLI


def aims(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)  # fmt: skip


@pytest.mark.parametrize(
    "content,words",
    [
        (S + P + b'"' + b"x" * (17 << 20) + b'" .\n', ("line 1, column 17", f"{MAX_LITERAL_CHARS:,}")),
        (
            nested(b"[ <urn:p> ", OBJ, b" ]", 100_000),
            ("line 1, column 2017", f"more than {MAX_NESTING} deep"),
        ),
    ],
    ids=["17 MB literal", "nested 100,000 deep"],
)
def test_aims_load_refuses_in_one_line(tmp_path: Path, content: bytes, words: tuple[str, ...]) -> None:
    (tmp_path / "big.ttl").write_bytes(content)
    result = aims("load", "--data", str(tmp_path / "data"), "big.ttl", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("aims: refused: big.ttl") and all(w in result.stderr for w in words)


# ------------------------------------------------------------------------------ 429 in /openapi.json


def budget_guarded() -> dict[str, str]:
    """The routes of every view in service/http that works out validation against the caller's
    budget (budget.spend), directly or through other functions there: path -> view. Read from the
    code, so that a view added later is covered."""
    calls: dict[tuple[str, str], set[tuple[str, str]]] = {}
    routes: dict[tuple[str, str], list[str]] = {}
    for path in (ROOT / "service" / "http").glob("*.py"):
        module = path.stem
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            callees = calls.setdefault((module, node.name), set())
            own = {
                a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)
            }  # cached(compute): not pages.compute
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id not in own:
                    callees.add((module, sub.func.id))
                elif (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and isinstance(sub.func.value, ast.Name)
                ):
                    callees.add((sub.func.value.id, sub.func.attr))  # pages.report(...), budget.spend(...)
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "route":
                    routes.setdefault((module, node.name), []).append(decorator.args[0].value)  # type: ignore[attr-defined]
    guarded = {("budget", "spend")}
    while True:
        more = {f for f, callees in calls.items() if callees & guarded} - guarded
        if not more:
            break
        guarded |= more
    return {
        route.replace("<", "{").replace(">", "}"): f"{module}.{name}"
        for (module, name), paths in routes.items()
        if (module, name) in guarded
        for route in paths
    }


def test_every_operation_the_budget_guards_lists_429(port: int) -> None:
    guarded = budget_guarded()
    # what reading the code must find at least (budget.py's callers, today): the dashboard, the
    # validation report and page, gap analysis, readiness and traces
    assert {"/", "/validate", "/validation", "/gap-analysis", "/readiness", "/trace/{kind}"} <= set(guarded)
    spec = json.loads(call(port, "GET", "/openapi.json")[2])
    missing = [
        f"{method.upper()} {path} ({view})"
        for path, view in sorted(guarded.items())
        for method, operation in spec["paths"][path].items()
        if "429" not in operation["responses"]
    ]
    assert not missing, f"no 429 in /openapi.json for {missing}"
    for path in guarded:
        answer = spec["paths"][path]["get"]["responses"]["429"]
        assert "application/problem+json" in answer["content"]


def test_every_operation_the_budget_guards_answers_429_past_it(tmp_path: Path) -> None:
    # what the description says is what happens: one day a minute for an anonymous reader; each
    # guarded operation asked for a day not yet worked out answers 429 with Retry-After
    env = {"AIMS_VALIDATION_DAYS": "1"}
    with aims_server(tmp_path, load=resources.example_files(), env=env) as p:
        assert call(p, "GET", "/validate?as_of=2001-01-01", headers={"Accept": "application/json"})[0] == 200
        for i, path in enumerate(sorted(budget_guarded())):
            day = dt.date(2001, 2, 1) + dt.timedelta(days=i)
            # a trace whose verdict is the gap analysis's (the others judge their own chain only)
            kind = getattr(traces, "JUDGED", ("control",))[0]
            target = path.replace("{kind}", kind) + f"?as_of={day}&stage=1&iri=urn:none"
            accept = "text/html" if path == "/" else "application/json"
            conn = http.client.HTTPConnection("127.0.0.1", p, timeout=120)
            conn.request("GET", target, headers={"Accept": accept})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 429, (target, response.status, body[:300])
            assert response.getheader("Content-Type") == "application/problem+json" and response.getheader(
                "Retry-After"
            )
