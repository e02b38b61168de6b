"""Readable exports: Turtle and TriG with prefixes, JSON-LD compacted with the vocabulary's
context (read back to the same graph by rdflib, pyoxigraph and PyLD), and that context accepted
on upload by its IRI, without fetching it."""

from __future__ import annotations

import json
from decimal import Decimal
from io import BytesIO
from typing import Any

import pyoxigraph as ox
import pytest
from openpyxl import load_workbook
from pyld import jsonld as pyld
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDFS

from service import jsonld, oscal, workbook
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


# ---------------------------------------------------------------- exports kept per state of the store

EDITOR = {"Authorization": "Bearer ed"}
RISK = "https://example.org/cached/risk-1"


def add_risk(client: Any, name: str) -> None:
    """A write through the Graph Store protocol: a risk named `name`, in a graph of its own."""
    body = f'<{RISK}> a <https://w3id.org/aims#Risk> ; <{RDFS.label}> "{name}" .'
    answer = client.put(
        "/graph-store?graph=urn:x:cached",
        data=body.encode(),
        headers={**EDITOR, "Content-Type": "text/turtle"},
    )
    assert answer.status_code in (201, 204), answer.get_data(as_text=True)


def risk_names(xlsx: bytes) -> set[str]:
    ws = load_workbook(BytesIO(xlsx))["Risks and treatments"]
    name = next(c.column for c in ws[1] if c.value == "Name")
    return {ws.cell(r, name).value for r in range(3, ws.max_row + 1)} - {None}


def test_the_workbook_export_is_built_once_per_state_of_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second /export?format=xlsx with no write between answers with the workbook the first
    built (the builder fails if asked again); after a write the next one builds it again, and
    it holds what was written."""
    client = create_app({"tokens": "ed=editor"}, store=load_example(EmbeddedStore())).test_client()
    real, built = workbook.export, []

    def once(store: Any) -> bytes:
        assert not built, "the workbook was built again with no write between"
        built.append(store)
        return real(store)

    monkeypatch.setattr(workbook, "export", once)
    first = client.get("/export?format=xlsx", headers=EDITOR)
    second = client.get("/export?format=xlsx", headers=EDITOR)
    assert first.status_code == second.status_code == 200, second.get_data(as_text=True)
    assert first.data == second.data and len(built) == 1
    assert "Cached risk" not in risk_names(first.data)
    add_risk(client, "Cached risk")
    built.clear()  # the write: the builder may run once more
    third = client.get("/export?format=xlsx", headers=EDITOR)
    assert third.status_code == 200 and len(built) == 1
    assert "Cached risk" in risk_names(third.data)


def test_oscal_and_json_ld_exports_are_kept_per_state_and_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """OSCAL is worked out once per state and audit day (as_of is in it), JSON-LD once per state:
    the same request again does not work it out again; another day, or a write, does."""
    store = load_example(EmbeddedStore())
    client = create_app({"tokens": "ed=editor"}, store=store).test_client()
    calls: list[str] = []
    real_oscal, real_export = oscal.export_json, store.export

    def counted_oscal(*args: Any, **kwargs: Any) -> str:
        calls.append("oscal")
        return real_oscal(*args, **kwargs)

    def counted_export(*args: Any, **kwargs: Any) -> bytes:
        calls.append(args[0].name)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(oscal, "export_json", counted_oscal)
    monkeypatch.setattr(store, "export", counted_export)
    for _ in range(2):
        for query in ("format=oscal&as_of=2026-11-20", "format=json-ld"):
            assert client.get(f"/export?{query}", headers=EDITOR).status_code == 200
    assert calls == ["oscal", "json-ld"]
    assert client.get("/export?format=oscal&as_of=2026-11-21", headers=EDITOR).status_code == 200
    assert calls == ["oscal", "json-ld", "oscal"]  # another day: worked out for it
    add_risk(client, "Another risk")
    calls.clear()
    for query in ("format=oscal&as_of=2026-11-20", "format=json-ld"):
        assert client.get(f"/export?{query}", headers=EDITOR).status_code == 200
    assert calls == ["oscal", "json-ld"]


def test_text_a_workbook_cannot_hold_is_a_409_naming_its_cell() -> None:
    """A name with a control character (U+0001: RDF allows it, XML 1.0 does not) is named by
    sheet, row and column in a 409 problem, not a broken file or a traceback."""
    store = load_example(EmbeddedStore())
    store.load(
        f'<{RISK}> a <https://w3id.org/aims#Risk> ; <{RDFS.label}> "bad\\u0001name" .'.encode(),
        FORMATS["turtle"],
        URIRef("urn:x:bad"),
    )
    answer = create_app({}, store=store).test_client().get("/export?format=xlsx")
    assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
    detail = answer.get_json()["detail"]
    assert "sheet 'Risks and treatments'" in detail and "(Name)" in detail and "bad\\x01name" in detail
