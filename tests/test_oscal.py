"""The OSCAL export (service/oscal.py): a component definition that compliance-trestle's OSCAL models
accept, holding the example organisation's Statement of Applicability and control implementations,
with the same UUIDs on every export of the same data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from rdflib import URIRef

from service import oscal
from service.store.embedded import EmbeddedStore
from service.store.formats import FORMATS

from .conftest import load_example

AS_OF = dt.date(2026, 11, 20)
WHEN = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
EX = "https://aurora-lending.example/aims/"

# The applicable controls of examples/controls.ttl, counted by hand: the SoA has an entry for each
# of the 38 Annex A controls and excludes two of them (A.7.6, without a justification: gap G8;
# A.8.5, with one), so 36 Annex A controls apply; the organisation-defined OC-01 applies too: 37.
APPLICABLE = {
    *("a.2.2", "a.2.3", "a.2.4", "a.3.2", "a.3.3"),
    *("a.4.2", "a.4.3", "a.4.4", "a.4.5", "a.4.6", "a.5.2", "a.5.3", "a.5.4", "a.5.5"),
    *("a.6.1.2", "a.6.1.3", "a.6.2.2", "a.6.2.3", "a.6.2.4", "a.6.2.5", "a.6.2.6", "a.6.2.7", "a.6.2.8"),
    *("a.7.2", "a.7.3", "a.7.4", "a.7.5", "a.8.2", "a.8.3", "a.8.4"),
    *("a.9.2", "a.9.3", "a.9.4", "a.10.2", "a.10.3", "a.10.4"),
    "oc-01",
}
EXCLUDED = {"a.7.6", "a.8.5"}
A85_JUSTIFICATION = (
    "No law, regulator or contract obliges Aurora to report AI system information to interested "
    "parties beyond the incident duties covered by A.8.4."
)


@pytest.fixture(scope="module")
def store() -> EmbeddedStore:
    return load_example(EmbeddedStore())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def doc(store: EmbeddedStore) -> dict[str, Any]:
    return oscal.export(store, AS_OF, last_modified=WHEN)


# ------------------------------------------------------------------------------ helpers


def body(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["component-definition"]  # type: ignore[no-any-return]


def control_implementations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    (component,) = body(doc)["components"]
    return component.get("control-implementations", [])  # type: ignore[no-any-return]


def requirements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Implemented requirements by control id; fails on a control id given twice."""
    found: dict[str, dict[str, Any]] = {}
    for ci in control_implementations(doc):
        for req in ci["implemented-requirements"]:
            assert req["control-id"] not in found, f"two implemented requirements for {req['control-id']}"
            found[req["control-id"]] = req
    return found


def props(item: dict[str, Any], name: str, group: str | None = None) -> list[dict[str, Any]]:
    return [
        p
        for p in item.get("props", [])
        if p["name"] == name and p.get("ns") == oscal.NS and p.get("group") == group
    ]


def value(item: dict[str, Any], name: str, group: str | None = None) -> str:
    (prop,) = props(item, name, group)
    return prop["value"]  # type: ignore[no-any-return]


def status(req: dict[str, Any]) -> str:
    return value(req, "implementation-status")


def resource(doc: dict[str, Any], href: str) -> dict[str, Any]:
    """The back-matter resource a "#uuid" reference points to."""
    assert href.startswith("#"), href
    (found,) = [r for r in body(doc)["back-matter"]["resources"] if r["uuid"] == href[1:]]
    return found  # type: ignore[no-any-return]


def party(doc: dict[str, Any], uuid: str) -> dict[str, Any]:
    (found,) = [p for p in body(doc)["metadata"]["parties"] if p["uuid"] == uuid]
    return found  # type: ignore[no-any-return]


def uuids(node: Any, path: str = "") -> dict[str, str]:
    """Every UUID in the document by where it is (a path of keys and list positions)."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, child in node.items():
            if key in ("uuid", "party-uuids", "member-of-organizations") or key.endswith("-uuid"):
                for i, u in enumerate(child if isinstance(child, list) else [child]):
                    found[f"{path}/{key}[{i}]"] = u
            else:
                found.update(uuids(child, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found.update(uuids(child, f"{path}[{i}]"))
    return found


def without_last_modified(doc: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    del copy["component-definition"]["metadata"]["last-modified"]
    return copy  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ OSCAL validity


def test_the_document_is_a_valid_oscal_component_definition(doc: dict[str, Any]) -> None:
    component = pytest.importorskip("trestle.oscal.component", reason="compliance-trestle validates OSCAL")
    model = component.ComponentDefinition.model_validate(body(doc))
    assert component.Model.model_validate(doc).component_definition.uuid == body(doc)["uuid"]
    # the models dropped or changed nothing: the document is what they read (but for the form of
    # the UTC offset in last-modified)
    again = json.loads(model.oscal_serialize_json(pretty=False, wrapped=True))
    assert dt.datetime.fromisoformat(again["component-definition"]["metadata"]["last-modified"]) == WHEN
    assert without_last_modified(again) == without_last_modified(doc)
    assert body(doc)["metadata"]["last-modified"] == "2026-11-20T12:00:00Z"


def test_it_declares_the_oscal_version_trestle_targets(doc: dict[str, Any]) -> None:
    trestle_oscal = pytest.importorskip("trestle.oscal", reason="compliance-trestle validates OSCAL")
    assert body(doc)["metadata"]["oscal-version"] == oscal.OSCAL_VERSION == trestle_oscal.OSCAL_VERSION


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    """What NIST's OSCAL constraints ask and the trestle models do not check: role ids are
    metadata roles, party UUIDs metadata parties, "#uuid" references back-matter resources."""
    metadata = body(doc)["metadata"]
    role_ids = {r["id"] for r in metadata["roles"]}
    parties = {p["uuid"]: p for p in metadata["parties"]}
    assert len(role_ids) == len(metadata["roles"]) and len(parties) == len(metadata["parties"])
    for rp in metadata["responsible-parties"]:
        assert rp["role-id"] in role_ids
        assert set(rp["party-uuids"]) <= set(parties)
    for p in parties.values():
        for org in p.get("member-of-organizations", []):
            assert parties[org]["type"] == "organization"
    for ci in control_implementations(doc):
        assert resource(doc, ci["source"])
        for req in ci["implemented-requirements"]:
            for rr in req.get("responsible-roles", []):
                assert rr["role-id"] in role_ids
                assert set(rr.get("party-uuids", [])) <= set(parties)
            for link in req.get("links", []):
                assert resource(doc, link["href"])
    all_uuids = list(uuids(doc).items())
    defined = [u for where, u in all_uuids if where.endswith("/uuid[0]")]
    assert len(defined) == len(set(defined)), "two objects share a UUID"


# ------------------------------------------------------------------------------ the SoA in it


def test_one_implemented_requirement_per_applicable_control(doc: dict[str, Any]) -> None:
    reqs = requirements(doc)
    applicable = {cid for cid, req in reqs.items() if status(req) != "not-applicable"}
    assert len(applicable) == 37  # see APPLICABLE
    assert applicable == APPLICABLE
    assert set(reqs) - applicable == EXCLUDED
    for cid in applicable:
        assert value(reqs[cid], "applicability") == "applicable"
    annex_a, own = control_implementations(doc)
    assert "Annex A" in resource(doc, annex_a["source"])["title"]
    assert resource(doc, annex_a["source"])["rlinks"] == [{"href": "https://w3id.org/aims/iso42001#AnnexA"}]
    assert {r["control-id"] for r in annex_a["implemented-requirements"]} == (APPLICABLE | EXCLUDED) - {
        "oc-01"
    }
    assert [r["control-id"] for r in own["implemented-requirements"]] == ["oc-01"]
    assert value(reqs["oc-01"], "control") == EX + "oc-human-handover"


def test_a_6_2_4_carries_status_owner_and_evidence(doc: dict[str, Any]) -> None:
    req = requirements(doc)["a.6.2.4"]
    assert value(req, "control") == "https://w3id.org/aims/iso42001#A.6.2.4"
    assert status(req) == "implemented"
    # its one implementation, with its own status and the systems it applies to
    assert value(req, "implementation", "implementation-1") == EX + "impl-A6-2-4"
    assert value(req, "implementation-status", "implementation-1") == "implemented"
    assert {p["value"] for p in props(req, "applies-to", "implementation-1")} == {
        EX + "credit-scorer",
        EX + "fraud-detector",
    }
    assert value(req, "valid-evidence-items", "implementation-1") == "2"
    # the owner, Li Wei, under the role Li Wei holds: machine learning lead
    (responsible,) = req["responsible-roles"]
    assert responsible["role-id"] == "role-ml-lead"
    (li_wei,) = responsible["party-uuids"]
    assert party(doc, li_wei)["name"] == "Li Wei"
    assert party(doc, li_wei)["type"] == "person"
    assert {"name": "iri", "ns": oscal.NS, "value": EX + "li-wei"} in party(doc, li_wei)["props"]
    metadata = body(doc)["metadata"]
    (role,) = [r for r in metadata["roles"] if r["id"] == "role-ml-lead"]
    assert role["title"] == "Machine learning lead"
    assert {"role-id": "role-ml-lead", "party-uuids": [li_wei]} in metadata["responsible-parties"]
    # the two evidence items, as links to back-matter resources naming their IRIs, labels and dates
    assert [link["rel"] for link in req["links"]] == ["evidence", "evidence"]
    evidence = {resource(doc, link["href"])["rlinks"][0]["href"]: link for link in req["links"]}
    assert set(evidence) == {EX + "ev-adversarial-tests", EX + "ev-fairness-tests"}
    fairness = resource(doc, evidence[EX + "ev-fairness-tests"]["href"])
    assert fairness["title"] == evidence[EX + "ev-fairness-tests"]["text"]
    assert fairness["title"] == "Fairness test report for scoring model v4"
    assert {"name": "type", "value": "evidence"} in fairness["props"]
    generated = dt.datetime.fromisoformat(value(fairness, "generated-at").replace("Z", "+00:00"))
    assert generated == dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.timezone.utc)
    assert value(fairness, "valid-until") == "2027-03-05"
    assert value(fairness, "valid") == "yes"
    adversarial = resource(doc, evidence[EX + "ev-adversarial-tests"]["href"])
    assert adversarial["title"] == "Adversarial evasion test report for FraudGuard"
    assert value(adversarial, "valid-until") == "2027-05-20"
    assert req["remarks"] == "Needed to treat the risks in the AI risk register."


def test_partial_and_planned_statuses(doc: dict[str, Any]) -> None:
    reqs = requirements(doc)
    assert status(reqs["a.3.3"]) == "partial"
    assert status(reqs["a.6.2.8"]) == "partial"
    assert status(reqs["a.8.4"]) == "planned"
    assert value(reqs["a.8.4"], "implementation-status", "implementation-1") == "planned"
    assert "links" not in reqs["a.8.4"]  # a plan has no evidence yet


def test_evidence_validity_is_judged_on_the_day_asked(store: EmbeddedStore, doc: dict[str, Any]) -> None:
    # A.6.2.6's only evidence ran out on 2026-06-30 (gap G3)
    req = requirements(doc)["a.6.2.6"]
    (link,) = req["links"]
    assert value(req, "valid-evidence-items", "implementation-1") == "0"
    assert value(resource(doc, link["href"]), "valid") == "no"
    earlier = oscal.export(store, dt.date(2026, 6, 30), last_modified=WHEN)
    req = requirements(earlier)["a.6.2.6"]
    assert value(req, "valid-evidence-items", "implementation-1") == "1"
    assert value(resource(earlier, req["links"][0]["href"]), "valid") == "yes"
    assert value(body(earlier)["metadata"], "as-of") == "2026-06-30"


def test_excluded_controls_carry_their_justification(doc: dict[str, Any]) -> None:
    reqs = requirements(doc)
    a85 = reqs["a.8.5"]
    assert status(a85) == "not-applicable"
    assert value(a85, "applicability") == "excluded"
    assert props(a85, "applicability")[0]["remarks"] == A85_JUSTIFICATION
    assert a85["remarks"] == A85_JUSTIFICATION
    assert "responsible-roles" not in a85 and "links" not in a85
    a76 = reqs["a.7.6"]  # excluded without a justification (gap G8): the document says so
    assert status(a76) == "not-applicable"
    assert "remarks" not in props(a76, "applicability")[0]
    assert "no justification" in a76["remarks"]


# ------------------------------------------------------------------------------ stable UUIDs


def test_uuids_are_the_same_on_a_second_export(doc: dict[str, Any]) -> None:
    second = oscal.export(load_example(EmbeddedStore()), AS_OF, last_modified=WHEN + dt.timedelta(days=3))
    assert uuids(second) == uuids(doc)
    assert without_last_modified(second) == without_last_modified(doc)
    # another day changes what the document says of evidence, so its own UUID, and nothing else's
    other_day = uuids(oscal.export(load_example(EmbeddedStore()), dt.date(2026, 6, 30)))
    changed = {where for where in uuids(doc) if other_day[where] != uuids(doc)[where]}
    assert changed == {"/component-definition/uuid[0]"}


def test_export_json_is_the_document_as_json(store: EmbeddedStore, doc: dict[str, Any]) -> None:
    text = oscal.export_json(store, AS_OF, last_modified=WHEN)
    assert json.loads(text) == doc
    assert text.startswith('{\n  "component-definition": {')


# ------------------------------------------------------------------------------ beyond the example

EDGE = b"""
@prefix ex: <https://example.org/edge/> .
@prefix aims: <https://w3id.org/aims#> .
@prefix iso42001: <https://w3id.org/aims/iso42001#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .

ex:aims a aims:AIManagementSystem ; rdfs:label "Edge AIMS" ; aims:ofOrganisation ex:org .
ex:org a org:FormalOrganization ; rdfs:label "Edge Ltd" .
ex:oc a aims:OrganisationControl ; dcterms:identifier "OC 7/b" ; rdfs:label "An own control" .
ex:soa-oc a aims:SoAEntry ; aims:forControl ex:oc ; aims:isApplicable true .
ex:impl-1 a aims:ControlImplementation ; rdfs:label "First half" ; aims:implements ex:oc ;
    aims:owner ex:newcomer ; aims:implementationStatus aims:Implemented .
ex:impl-2 a aims:ControlImplementation ; rdfs:label "Second half" ; aims:implements ex:oc ;
    aims:owner ex:role-x ; aims:implementationStatus aims:Planned .
ex:newcomer a aims:Person ; rdfs:label "New Comer" .
ex:role-x a aims:Role ; rdfs:label "Role X" .
ex:soa-a22 a aims:SoAEntry ; aims:forControl iso42001:A.2.2 .
"""


def test_an_soa_without_status_and_owners_without_roles() -> None:
    """No status in the SoA: the weakest of the implementations'; an owner with no role is a
    control-owner; an owner that is a role is a role with no party; an entry that does not say
    whether the control applies is left out."""
    store = EmbeddedStore()
    store.ensure_catalogue()
    store.load(EDGE, FORMATS["turtle"], URIRef("https://example.org/edge/graph"))
    doc = oscal.export(store, AS_OF)
    (ci,) = control_implementations(doc)  # no Annex A control is decided on
    (req,) = ci["implemented-requirements"]
    assert req["control-id"] == "oc-7-b"
    assert status(req) == "planned"
    assert "implementations" in props(req, "implementation-status")[0]["remarks"]
    assert req["description"] == "First half\n\nSecond half"
    newcomer = oscal.stable_uuid("party", "https://example.org/edge/newcomer")
    assert req["responsible-roles"] == [
        {"role-id": "control-owner", "party-uuids": [newcomer]},
        {"role-id": "role-x"},
    ]
    metadata = body(doc)["metadata"]
    assert {r["id"] for r in metadata["roles"]} == {"control-owner", "role-x"}
    assert party(doc, newcomer)["name"] == "New Comer"
    assert metadata["responsible-parties"] == [{"role-id": "control-owner", "party-uuids": [newcomer]}]
    assert "Edge Ltd" in resource(doc, ci["source"])["title"]
    component = pytest.importorskip("trestle.oscal.component", reason="compliance-trestle validates OSCAL")
    component.ComponentDefinition.model_validate(body(doc))


def test_a_store_with_no_organisation_data_still_exports_valid_oscal() -> None:
    store = EmbeddedStore()
    store.ensure_catalogue()
    doc = oscal.export(store)
    assert control_implementations(doc) == []
    assert body(doc)["metadata"]["version"] == dt.date.today().isoformat()
    component = pytest.importorskip("trestle.oscal.component", reason="compliance-trestle validates OSCAL")
    component.ComponentDefinition.model_validate(body(doc))
