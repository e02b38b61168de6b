"""Isolation: a reader never sees half a write. A graph replaced by a load (Graph Store PUT,
`aims load`) appears at once: while it is swapped, every reader counts either the old graph or the
new one, never both (a staging graph beside it showed in the union every query reads: twice the
triples) and never neither."""

from __future__ import annotations

import threading

from rdflib import URIRef

from service.store.base import FORMATS
from service.store.embedded import EmbeddedStore

GRAPH = URIRef("https://example.org/isolation/org")
N = 20_000


def data(version: int) -> bytes:
    return "".join(f"<urn:x:s{i}> <urn:x:p> \"v{version} {i}\" .\n" for i in range(N)).encode()


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
