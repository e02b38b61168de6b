"""Readable exports: Turtle and TriG with prefixes, JSON-LD compacted with the vocabulary's
context (read back to the same graph by rdflib, pyoxigraph and PyLD), and that context accepted
on upload by its IRI, without fetching it."""

from __future__ import annotations

import json
from decimal import Decimal

import pyoxigraph as ox
import pytest
from pyld import jsonld as pyld
from rdflib import Dataset, Graph, Literal
from rdflib.compare import isomorphic

from service import jsonld
from service.http import create_app
from service.store import FORMATS
from service.store.embedded import EmbeddedStore

from .conftest import EXAMPLE_FILES, load_example


@pytest.fixture(scope="module")
def store() -> EmbeddedStore:
    return load_example(EmbeddedStore())


def by_value(quads: object) -> Graph:
    """The triples of (s, p, o, ...) tuples, decimals written one way (88 and 88.0 are one value)."""
    out = Graph()
    for s, p, o, *_ in quads:  # type: ignore[attr-defined]
        if isinstance(o, Literal) and isinstance(o.value, Decimal):
            o = Literal(format(o.value.normalize(), "f"), datatype=o.datatype)
        out.add((s, p, o))
    return out


def keys(node: object) -> list[str]:
    if isinstance(node, dict):
        return [k for k, v in node.items() if k != "@context" for k in [k, *keys(v)]]
    if isinstance(node, list):
        return [k for item in node for k in keys(item)]
    return []


def test_json_ld_export_is_compact_and_reads_the_same_everywhere(
    store: EmbeddedStore, example: Graph
) -> None:
    data = store.export(FORMATS["json-ld"])
    document = json.loads(data)
    found = keys(document)
    full = [k for k in found if "://" in k]
    assert len(full) <= len(found) / 10, sorted(set(full))[:10]  # the bar: a tenth at most
    assert "riskLevel" in found and "label" not in found  # aims: terms by name, rdfs:label as a CURIE
    expected = by_value(example.triples((None, None, None)))
    # rdflib
    assert isomorphic(by_value(Dataset().parse(data=data, format="json-ld").quads()), expected)
    # pyoxigraph (its own JSON-LD parser, the context inline)
    quads = ox.parse(data, format=ox.RdfFormat.JSON_LD)
    nquads = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    assert isomorphic(by_value(Dataset().parse(data=nquads, format="nquads").quads()), expected)
    # PyLD, a JSON-LD processor of its own
    from_pyld = pyld.to_rdf(document, {"format": "application/n-quads"})
    assert isomorphic(by_value(Dataset().parse(data=from_pyld, format="nquads").quads()), expected)


def test_turtle_and_trig_use_the_prefixes(store: EmbeddedStore) -> None:
    for name in ("turtle", "trig"):
        text = store.export(FORMATS[name]).decode()
        assert "@prefix aims: <https://w3id.org/aims#> ." in text and "aims:riskLevel" in text
        assert "<https://w3id.org/aims#riskLevel>" not in text


def test_an_upload_may_name_the_context_by_iri() -> None:
    """An upload that names the context by its IRI is read with the shipped file: nothing fetched."""
    app = create_app({"tokens": "ed=editor"}, store=load_example(EmbeddedStore()))
    client = app.test_client()
    served = client.get("/context.jsonld")
    assert served.status_code == 200 and served.get_json()["@context"]["riskLevel"]["@id"] == "aims:riskLevel"
    body = {
        "@context": jsonld.CONTEXT_IRI,
        "@id": "https://example.org/risk-9",
        "@type": "aims:Risk",
        "riskLevel": 12,
        "owner": "https://example.org/someone",
    }
    put = client.put(
        "/graph-store?graph=urn:x:jsonld",
        data=json.dumps(body),
        headers={"Authorization": "Bearer ed", "Content-Type": "application/ld+json"},
    )
    assert put.status_code == 201, put.get_data(as_text=True)
    back = Graph().parse(
        data=client.get("/graph-store?graph=urn:x:jsonld", headers={"Accept": "text/turtle"}).data,
        format="turtle",
    )
    assert {str(p).rsplit("#", 1)[-1] for p in back.predicates()} == {"type", "riskLevel", "owner"}
    assert any(str(o) == "https://example.org/someone" for o in back.objects())  # "@type": "@id" applied


def test_oscal_over_http_and_the_command_line(store: EmbeddedStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """/export?format=oscal and `aims export --format oscal` give the same OSCAL component
    definition, valid against compliance-trestle's OSCAL models."""
    import subprocess
    import sys

    from trestle.oscal.component import Model

    client = create_app({}, store=store).test_client()
    answer = client.get("/export", query_string={"format": "oscal", "as_of": "2026-11-20"})
    assert answer.status_code == 200
    document = answer.get_json()
    Model.model_validate(document)
    assert client.get("/export", query_string={"format": "oscal", "as_of": "soon"}).status_code == 400
    folder = tmp_path / "store"
    subprocess.run(
        [sys.executable, "-m", "service.cli", "load", "--data", str(folder), *map(str, EXAMPLE_FILES)],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "export", "--data", str(folder), "--format", "oscal", "--as-of", "2026-11-20"],
        check=True, capture_output=True,
    )  # fmt: skip
    from_cli = json.loads(out.stdout)
    Model.model_validate(from_cli)
    same = ("component-definition", "components")
    assert from_cli[same[0]][same[1]] == document[same[0]][same[1]]  # last-modified aside
