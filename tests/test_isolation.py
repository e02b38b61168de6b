"""Isolation: a reader never sees half a write. A graph replaced by a load (Graph Store PUT,
`aims load`) appears at once: while it is swapped, every reader counts either the old graph or the
new one, never both (a staging graph beside it showed in the union every query reads: twice the
triples) and never neither."""

from __future__ import annotations

import threading

from rdflib import URIRef

from service.store.embedded import EmbeddedStore
from service.store.formats import FORMATS

GRAPH = URIRef("https://example.org/isolation/org")
N = 20_000


def data(version: int) -> bytes:
    return "".join(f'<urn:x:s{i}> <urn:x:p> "v{version} {i}" .\n' for i in range(N)).encode()


def test_readers_see_the_old_graph_or_the_new_one_never_both() -> None:
    store = EmbeddedStore()
    store.load(data(0), FORMATS["nt"], GRAPH)
    seen: set[int] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            rows = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s <urn:x:p> ?o }")
            seen.add(int(rows.rows[0]["n"]))  # type: ignore[union-attr]

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(1, 6):
            assert store.load(data(version), FORMATS["nt"], GRAPH, replace=True) == N
    finally:
        done.set()
        reader.join()
    assert seen == {N}, f"a reader counted {sorted(seen)} triples where the graph always has {N}"
    assert store.count(GRAPH) == N


# ---------------------------------------------------------------- a write is acknowledged only if recorded


def test_a_service_that_cannot_record_its_writes_does_not_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from service.http import create_app

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # even root cannot make a folder inside a file
    with pytest.raises(ValueError, match="audit trail"):
        create_app({"audit_log": blocker / "audit.jsonl"}, store=EmbeddedStore())


def test_a_write_the_trail_cannot_record_is_refused_before_it_is_applied(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from service.http import create_app

    trail = tmp_path / "audit.jsonl"
    store = EmbeddedStore()
    client = create_app({"audit_log": trail, "tokens": "t=editor"}, store=store).test_client()
    editor = {"Authorization": "Bearer t", "Content-Type": "application/n-triples"}
    first = client.put("/graph-store", query_string={"graph": str(GRAPH)}, data=data(1), headers=editor)
    assert first.status_code == 201 and trail.read_text().count("\n") == 1
    trail.unlink()
    trail.mkdir()  # the trail can no longer be appended to, whoever the service runs as
    refused = client.put("/graph-store", query_string={"graph": str(GRAPH)}, data=data(2), headers=editor)
    assert refused.status_code == 503 and refused.get_json()["type"].endswith("audit-trail")
    rows = store.query('SELECT (COUNT(*) AS ?n) WHERE { ?s <urn:x:p> ?o FILTER STRSTARTS(?o, "v1 ") }')
    assert int(rows.rows[0]["n"]) == N  # type: ignore[union-attr]  # still the first version, whole
