"""The graph stores: all-or-nothing loads, export round trips read by a second RDF library,
persistence, the single-writer lock, and a load killed half way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

from service.namespaces import CATALOGUE_GRAPH
from service.store import FORMATS, LoadError, StoreError, StoreLocked, format_for
from service.store.embedded import EmbeddedStore
from service.store.terms import source_graph

from .conftest import EXAMPLE_FILES, ROOT, load_example, parse_all

G = URIRef("https://example.org/graph/test")


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    return load_example(EmbeddedStore())


def data_graphs(store) -> list[URIRef]:  # type: ignore[no-untyped-def]
    return [g for g in store.graphs() if g != CATALOGUE_GRAPH]


def test_one_graph_per_source_and_catalogue_apart(store) -> None:  # type: ignore[no-untyped-def]
    assert set(store.graphs()) == {CATALOGUE_GRAPH} | {source_graph(p) for p in EXAMPLE_FILES}
    assert len(store.rdflib_graph()) == len(parse_all(EXAMPLE_FILES))
    with pytest.raises(StoreError, match="read-only"):
        store.load_file(EXAMPLE_FILES[0], graph=CATALOGUE_GRAPH)


def test_syntax_error_names_line_and_column_and_changes_nothing(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = store.count()
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n')
    with pytest.raises(LoadError) as e:
        store.load_files([EXAMPLE_FILES[0], bad], graph=G)
    assert (e.value.line, e.value.source) == (3, str(bad)) and e.value.column
    assert store.count() == before and G not in store.graphs()


def test_replace_swaps_the_graph(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "one.nt"
    f.write_text("<urn:x:a> <urn:x:b> <urn:x:c> .\n")
    store.load_file(EXAMPLE_FILES[0], graph=G)
    assert store.load_file(f, graph=G, replace=True) == 1
    assert store.count(G) == 1


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_export_round_trip_and_rdflib_reads_it(store, name) -> None:  # type: ignore[no-untyped-def]
    fmt = FORMATS[name]
    data = store.export(fmt, with_catalogue=True)  # the whole dataset, the catalogue too
    fresh = EmbeddedStore()
    # a load writes the graph it names: a quad format's graph names are dropped (one dataset model
    # on every store, and no upload can write the catalogue or an internal graph through them)
    fresh.load(data, fmt, G)
    union = store.rdflib_graph(store.graphs())
    assert fresh.graphs() == [G]
    assert isomorphic(fresh.rdflib_graph([G]), union)
    # a second RDF library reads what Oxigraph wrote
    if fmt.quads:
        ds = Dataset()
        ds.parse(data=data, format=name)
        assert {URIRef(str(c.identifier)) for c in ds.contexts() if len(c)} >= set(data_graphs(store))
        assert sum(len(c) for c in ds.contexts()) == store.count()
    else:
        assert isomorphic(Graph().parse(data=data, format=name), union)


def canonical(g: Graph) -> Graph:
    """Decimals in canonical form: Oxigraph stores 95.0 as 95, the same value."""
    out = Graph()
    for s, p, o in g:
        if isinstance(o, Literal) and o.datatype == XSD.decimal:
            o = Literal(format(Decimal(str(o)).normalize(), "f"), datatype=XSD.decimal)
        out.add((s, p, o))
    return out


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_oxigraph_reads_what_rdflib_writes(name) -> None:  # type: ignore[no-untyped-def]
    original = parse_all(EXAMPLE_FILES)
    if FORMATS[name].quads:
        dataset = Dataset()
        target = dataset.graph(G)
        for triple in original:
            target.add(triple)
        written = dataset.serialize(format=name, encoding="utf-8")
    else:
        written = original.serialize(format=name, encoding="utf-8")
    store = EmbeddedStore()
    store.load(written, FORMATS[name], G)
    assert isomorphic(canonical(store.rdflib_graph([G])), canonical(original))


def test_format_from_name_path_and_media_type() -> None:
    assert format_for(path="x.jsonld").name == "json-ld"
    assert format_for(media_type="application/n-quads; charset=utf-8").name == "nquads"
    assert format_for(name="ttl").name == "turtle"
    with pytest.raises(StoreError):
        format_for(path="x.docx")


def test_persistence_and_single_writer(tmp_path) -> None:
    folder = tmp_path / "data"
    first = EmbeddedStore(folder)
    first.load_file(EXAMPLE_FILES[0])
    count = first.count()
    with pytest.raises(StoreLocked, match="in use by another process"):
        EmbeddedStore(folder)
    first.close()
    again = EmbeddedStore(folder)
    assert again.count() == count
    again.close()


KILL_SCRIPT = """
import sys
from pathlib import Path
from rdflib import URIRef
from service.store.embedded import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
print("open", flush=True)
store.load_file(Path(sys.argv[2]), graph=URIRef("https://example.org/graph/big"), replace=sys.argv[3] == "replace")
print("done", flush=True)
"""


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_load_killed_half_way_leaves_all_or_nothing(tmp_path, mode) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from bench.generate import generate

    big = tmp_path / "big.ttl"
    big.write_text(generate(300))
    expected = len(Graph().parse(big))
    seen = set()
    for delay in (0.05, 0.2, 0.4, 0.8):
        folder = tmp_path / f"store-{mode}-{delay}"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        child = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, str(folder), str(big), mode],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout and child.stdout.readline().strip() == "open"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        store = EmbeddedStore(folder)  # opens after the kill
        held = store.count(URIRef("https://example.org/graph/big"))
        assert held in (0, expected), f"killed after {delay} s: {held} of {expected} triples"
        assert [g for g in store.graphs() if "staging" in str(g)] == []
        seen.add(held)
        store.close()
    assert 0 in seen, "no kill landed during the load; make the file bigger"


def test_remote_store_basics(request, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for kind in ("oxigraph", "virtuoso"):
        store = request.getfixturevalue(f"{kind}_remote")
        store.load_file(EXAMPLE_FILES[0], graph=G, replace=True)
        assert store.count(G) == len(Graph().parse(EXAMPLE_FILES[0])) and G in store.graphs()
        bad = tmp_path / "bad.ttl"
        bad.write_text('<urn:x:a> <urn:x:b> "open .\n')
        with pytest.raises(LoadError) as e:
            store.load_file(bad, graph=G, replace=True)
        assert e.value.line == 1
        assert store.count(G) == len(Graph().parse(EXAMPLE_FILES[0])), kind
        exported = Graph().parse(data=store.export(FORMATS["nt"], G), format="nt")
        assert isomorphic(exported, Graph().parse(EXAMPLE_FILES[0])), kind
        store.drop(G)
        assert G not in store.graphs() and store.count(G) == 0


@pytest.mark.servers
@pytest.mark.parametrize("kind", ["oxigraph", "virtuoso"])
def test_remote_query_form_and_construct(request, kind: str) -> None:  # type: ignore[no-untyped-def]
    """The query form is read past comments and strings (a comment saying "construct" made a
    SELECT look like a CONSTRUCT), and CONSTRUCT results come as Turtle: in RDF/XML a property
    whose IRI ends in a digit cannot be written, and the query failed."""
    store = request.getfixturevalue(f"{kind}_remote")
    store.load(b"<urn:x:a> <http://example.org/p/1> <urn:x:b> .\n", FORMATS["nt"], G, replace=True)
    try:
        rows = store.query(
            '# construct a table\nSELECT ?o WHERE { ?s <http://example.org/p/1> ?o FILTER (STR(?o) != "CONSTRUCT") }'
        )
        assert [str(r["o"]) for r in rows] == ["urn:x:b"]  # type: ignore[union-attr]
        graph = store.query(
            "CONSTRUCT { ?s <http://example.org/p/1> ?o } WHERE { ?s <http://example.org/p/1> ?o }"
        )
        assert isinstance(graph, Graph) and len(graph) == 1
    finally:
        store.drop(G)
