"""The Statement of Applicability and the control implementations as an OSCAL component definition.

One component stands for the organisation's AI management system. Its control implementations
hold one implemented requirement per control the Statement of Applicability decides on: the
ISO/IEC 42001 Annex A controls under one control implementation (control ids after OSCAL's token
rules, "A.6.2.4" as "a.6.2.4"), the organisation's own controls under another, each with a
back-matter resource naming its catalogue as `source`. Controls with no SoA entry, or an entry
that does not say whether the control applies, are left out: the SoA has not decided on them.

An implemented requirement carries
- `implementation-status` (a prop in this project's namespace, `NS`; OSCAL reserves names in its own
  namespace, and a component definition defines no status of its own): implemented, partial,
  planned, not-implemented, or not-applicable for a control the SoA excludes. It is the SoA
  entry's status, else the weakest of the implementations' statuses;
- the SoA justification as its remarks (for an exclusion, the reason it is excluded);
- per implementation, a group of props: its IRI and label, its own status, the AI systems it
  applies to, and how many of its evidence items are valid on the `as_of` day;
- responsible-roles: each implementation owner under the roles the owner holds in the role
  register (org:member / org:role), or under `control-owner` for an owner who holds none; the
  people and the organisation are metadata parties, the roles metadata roles;
- links with rel "evidence" to back-matter resources ("#uuid"), one per evidence item, whose
  rlink is the evidence IRI and whose props give when it was generated, until when it is valid
  and whether it is valid on the `as_of` day.

UUIDs are version-5 UUIDs of the IRIs they stand for, so the same data exports with the same
UUIDs; the document's own UUID is one of its content (less `last-modified`), so it changes when
the data or the `as_of` day does, as OSCAL asks of a revised document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from rdflib import Literal
from rdflib.namespace import XSD
from rdflib.term import Identifier

from . import queries
from .browse import labels, local_name
from .namespaces import AIMS_IRI, ISO_IRI
from .store.base import Store

# The OSCAL version the document declares: the one compliance-trestle's models (5.2.x) are
# generated from, which tests/test_oscal.py validates the document with.
OSCAL_VERSION = "1.2.1"
# Namespace of the props this export defines (OSCAL's own namespace allows only its own names).
NS = "https://w3id.org/aims/oscal"
# Every UUID here is uuid5(UUID_NAMESPACE, "<kind> <IRI>").
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)

ANNEX_A = ISO_IRI + "AnnexA"
CONTROL_OWNER = "control-owner"  # the role of an implementation owner with no role in the register

# aims: implementation statuses -> OSCAL implementation-status states, strongest first.
STATES = {
    AIMS_IRI + "Implemented": "implemented",
    AIMS_IRI + "PartiallyImplemented": "partial",
    AIMS_IRI + "Planned": "planned",
    AIMS_IRI + "NotImplemented": "not-implemented",
}
NOT_APPLICABLE = "not-applicable"
_STRENGTH = {state: rank for rank, state in enumerate(STATES.values())}

_PREFIXES = """PREFIX aims: <https://w3id.org/aims#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX dpv: <https://w3id.org/dpv#>
"""

_AIMS_QUERY = (
    _PREFIXES
    + """SELECT ?aims ?organisation ?soa ?version WHERE {
  { ?aims a aims:AIManagementSystem . OPTIONAL { ?aims aims:ofOrganisation ?organisation } }
  UNION
  { ?soa a aims:StatementOfApplicability . OPTIONAL { ?soa dcat:version ?version } }
}
ORDER BY ?aims ?organisation ?soa ?version"""
)

_EVIDENCE_QUERY = _PREFIXES + queries.expand(
    """SELECT ?implementation ?evidence ?generatedAt ?validUntil ?current WHERE {
  ?implementation a aims:ControlImplementation .
  ?evidence aims:supports ?implementation .
  OPTIONAL { ?evidence prov:generatedAtTime ?generatedAt }
  OPTIONAL { ?evidence aims:validUntil ?validUntil }
  BIND (%current(?validUntil, ?generatedAt) AS ?current)
}
ORDER BY ?implementation ?evidence ?generatedAt ?validUntil"""
)

# Implementation owners: whether each is an organisation or a role rather than a person, and the
# roles each holds with the organisation the role is held in.
_OWNERS_QUERY = (
    _PREFIXES
    + """SELECT ?owner ?organisationLike ?roleLike ?role ?responsibility ?organisation WHERE {
  { SELECT DISTINCT ?owner WHERE { ?implementation a aims:ControlImplementation ; aims:owner ?owner } }
  OPTIONAL {
    ?owner a ?organisationLike .
    FILTER (?organisationLike IN (org:Organization, org:FormalOrganization, org:OrganizationalUnit, dpv:Organisation))
  }
  OPTIONAL { ?owner a ?roleLike . ?roleLike rdfs:subClassOf* aims:Role }
  OPTIONAL {
    ?assignment org:member ?owner ; org:role ?role .
    OPTIONAL { ?role aims:responsibility ?responsibility }
    OPTIONAL { ?assignment org:organization ?organisation }
  }
}
ORDER BY ?owner ?role ?organisation ?responsibility"""
)


def export(
    store: Store, as_of: dt.date | None = None, *, last_modified: dt.datetime | None = None
) -> dict[str, Any]:
    """The Statement of Applicability and the control implementations in `store` as an OSCAL
    component definition (JSON-ready, under its root key "component-definition"). Evidence is
    judged valid or not on `as_of` (default today); `last_modified` (default now) is the
    metadata's last-modified time."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    day = as_of or dt.date.today()
    return _Builder(store, day).build(last_modified or dt.datetime.now(dt.timezone.utc))


def export_json(
    store: Store,
    as_of: dt.date | None = None,
    *,
    last_modified: dt.datetime | None = None,
    indent: int | None = 2,
) -> str:
    """`export` as OSCAL JSON text."""
    doc = export(store, as_of, last_modified=last_modified)
    return json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"


def stable_uuid(kind: str, key: str) -> str:
    """The UUID of the `kind` of OSCAL object that stands for `key` (an IRI): the same every run."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{kind} {key}"))


def token(text: str) -> str:
    """`text` as an OSCAL token (a letter or "_", then letters, digits, "_", "-" and ".")."""
    t = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")
    return t if re.match(r"[A-Za-z_]", t) else "_" + t


# ------------------------------------------------------------------------------ reading the store


def _str(term: Identifier | None) -> str | None:
    return str(term) if term is not None else None


def _true(term: Identifier | None) -> bool | None:
    if term is None:
        return None
    return str(term).strip().lower() in ("true", "1")


@dataclass
class _Evidence:
    iri: str
    generated: str | None = None
    valid_until: str | None = None
    expired: bool = False


@dataclass
class _Implementation:
    iri: str
    label: str | None = None
    status: str | None = None
    owners: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    evidence: list[_Evidence] = field(default_factory=list)


@dataclass
class _Control:
    iri: str
    notation: str
    title: str
    own: bool
    applicable: bool
    justification: str | None
    status: str | None
    implementations: list[_Implementation] = field(default_factory=list)


@dataclass
class _Owner:
    iri: str
    organisation_like: bool = False
    role_like: bool = False
    roles: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    responsibilities: dict[str, str] = field(default_factory=dict)  # role -> aims:responsibility


def _append(items: list[str], value: Identifier | None) -> None:
    if value is not None and str(value) not in items:
        items.append(str(value))


class _Builder:
    """Reads the store once and lays out the document."""

    def __init__(self, store: Store, day: dt.date) -> None:
        self.store, self.day = store, day
        self.tokens: dict[str, str] = {}  # "<kind> <token>" -> the IRI given it, to keep tokens unique
        self.names: dict[str, str] = {}
        self.owners: dict[str, _Owner] = {}
        self.role_ids: dict[str, str] = {}  # role IRI -> role-id

    def unique_token(self, kind: str, iri: str, wanted: str) -> str:
        """`wanted`, or `wanted-2`, ... if another IRI of this kind already has it."""
        t, n = wanted, 2
        while self.tokens.get(f"{kind} {t}", iri) != iri:
            t, n = f"{wanted}-{n}", n + 1
        self.tokens[f"{kind} {t}"] = iri
        return t

    def name(self, iri: str) -> str:
        return self.names.get(iri) or local_name(iri)

    # -------------------------------------------------------------------------- the data

    def controls(self) -> list[_Control]:
        """The controls the SoA decides on, in the SoA's order, each with its implementations."""
        controls: dict[str, _Control] = {}
        for row in queries.run(self.store, "statement-of-applicability"):
            iri, applicable = str(row["control"]), _true(row.get("applicable"))
            if applicable is None or iri in controls:
                continue  # no decision (no entry, or none in it); or a second entry for it
            notation = str(row.get("notation") or local_name(iri))
            controls[iri] = _Control(
                iri,
                notation,
                str(row.get("title") or notation),
                bool(_true(row.get("own"))),
                applicable,
                _str(row.get("justification")),
                _str(row.get("status")),
            )
        implementations: dict[str, _Implementation] = {}
        rows = queries.run(self.store, "register-implementations", {"asOf": self.day.isoformat()})
        for row in rows:
            control = controls.get(str(row.get("control")))
            if control is None:
                continue
            iri = str(row["implementation"])
            impl = implementations.setdefault(iri, _Implementation(iri))
            if impl not in control.implementations:
                control.implementations.append(impl)
            impl.label = impl.label or _str(row.get("label"))
            impl.status = impl.status or _str(row.get("status"))
            _append(impl.owners, row.get("owner"))
            _append(impl.systems, row.get("system"))
        seen: set[tuple[str, str]] = set()
        day = Literal(self.day.isoformat(), datatype=XSD.date)
        for row in self.store.select(_EVIDENCE_QUERY, {"asOf": day}):
            key = (str(row["implementation"]), str(row["evidence"]))
            impl_or_none = implementations.get(key[0])
            if impl_or_none is None or key in seen:
                continue
            seen.add(key)
            until, generated = row.get("validUntil"), row.get("generatedAt")
            not_current = not _true(row.get("current"))
            impl_or_none.evidence.append(_Evidence(key[1], _str(generated), _str(until), not_current))
        return list(controls.values())

    def read_owners(self) -> None:
        for row in self.store.select(_OWNERS_QUERY):
            iri = str(row["owner"])
            owner = self.owners.setdefault(iri, _Owner(iri))
            owner.organisation_like |= row.get("organisationLike") is not None
            owner.role_like |= row.get("roleLike") is not None
            _append(owner.roles, row.get("role"))
            _append(owner.organisations, row.get("organisation"))
            if row.get("role") is not None and row.get("responsibility") is not None:
                owner.responsibilities.setdefault(str(row["role"]), str(row["responsibility"]))

    def owner(self, iri: str) -> _Owner:
        return self.owners.get(iri) or _Owner(iri)

    def responsible(self, owner: str) -> list[tuple[str, str | None]]:
        """(role-id, the owner as a party, or None for an owner that is a role itself) for each
        role under which an implementation owner answers for it."""
        info = self.owner(owner)
        if info.role_like:
            return [(self.role_ids[owner], None)]
        return [(self.role_ids[r], owner) for r in info.roles] or [(CONTROL_OWNER, owner)]

    # -------------------------------------------------------------------------- the document

    def build(self, last_modified: dt.datetime) -> dict[str, Any]:
        controls = self.controls()
        self.read_owners()
        aims_rows = self.store.select(_AIMS_QUERY)
        aims = next((str(r["aims"]) for r in aims_rows if r.get("aims") is not None), None)
        organisation = next(
            (
                str(r["organisation"])
                for r in aims_rows
                if r.get("aims") is not None and r.get("organisation")
            ),
            None,
        )
        soa = next((r for r in aims_rows if r.get("soa") is not None), None)

        impls = [i for c in controls for i in c.implementations]
        evidence = {e.iri: e for i in impls for e in i.evidence}
        systems = {s for i in impls for s in i.systems}
        owners = {o for i in impls for o in i.owners}
        organisations = {g for o in owners for g in self.owner(o).organisations}
        organisations |= {organisation} if organisation else set()
        roles = {r for o in owners for r in self.owner(o).roles}
        roles |= {o for o in owners if self.owner(o).role_like}
        wanted = {ANNEX_A, *evidence, *systems, *owners, *organisations, *roles}
        wanted |= {x for x in (aims, _str(soa.get("soa")) if soa else None) if x}
        self.names = {iri: label.text for iri, label in labels(self.store, wanted).items()}
        for role in sorted(roles):
            self.role_ids[role] = self.unique_token("role", role, token(local_name(role)))

        control_implementations = []
        resources: list[dict[str, Any]] = []
        for own in (False, True):
            chosen = [c for c in controls if c.own == own]
            if not chosen:
                continue
            resource = self.catalogue(own, organisation or aims)
            resources.append(resource)
            control_implementations.append(
                {
                    "uuid": stable_uuid(
                        "control-implementation", f"{'own' if own else 'annex-a'} {aims or ''}"
                    ),
                    "source": "#" + resource["uuid"],
                    "description": (
                        "The organisation-defined controls" if own else "The ISO/IEC 42001 Annex A controls"
                    )
                    + " the Statement of Applicability decides on: one implemented requirement for each "
                    "control it includes or excludes.",
                    "implemented-requirements": [self.requirement(c) for c in chosen],
                }
            )
        resources += [self.evidence(e) for e in sorted(evidence.values(), key=lambda e: e.iri)]

        responsible: dict[str, list[str]] = {}  # role-id -> party IRIs, in order of appearance
        for impl in impls:
            for owner in impl.owners:
                for rid, party in self.responsible(owner):
                    holders = responsible.setdefault(rid, [])
                    if party and party not in holders:
                        holders.append(party)

        title = self.name(aims) if aims else "AI management system"
        metadata: dict[str, Any] = {
            "title": f"Statement of Applicability and control implementations: {title}",
            "last-modified": _timestamp(last_modified),
            "version": str(soa["version"]) if soa and soa.get("version") else self.day.isoformat(),
            "oscal-version": OSCAL_VERSION,
            "props": [
                _prop("as-of", self.day.isoformat(), remarks="The day evidence validity is judged on.")
            ],
        }
        if soa:
            metadata["props"].append(
                _prop("statement-of-applicability", str(soa["soa"]), remarks=self.name(str(soa["soa"])))
            )
        roles_used = [self.role(iri) for iri in sorted(self.role_ids, key=self.role_ids.__getitem__)]
        roles_used = [r for r in roles_used if r["id"] in responsible]
        if CONTROL_OWNER in responsible:
            roles_used.append(
                {
                    "id": CONTROL_OWNER,
                    "title": "Control implementation owner",
                    "description": "Accountable for a control implementation (aims:owner): the role "
                    "given to an owner who holds none in the organisation's role register.",
                }
            )
        if roles_used:
            metadata["roles"] = roles_used
        parties = [self.party(o, "organization") for o in sorted(organisations)]
        parties += [
            self.party(o, "organization" if self.owner(o).organisation_like else "person")
            for o in sorted(owners - organisations)
            if not self.owner(o).role_like
        ]
        if parties:
            metadata["parties"] = parties
        assigned = [
            {"role-id": rid, "party-uuids": [stable_uuid("party", p) for p in holders]}
            for rid, holders in sorted(responsible.items())
            if holders
        ]
        if assigned:
            metadata["responsible-parties"] = assigned

        whose = f" of {self.name(organisation)}" if organisation else ""
        component: dict[str, Any] = {
            "uuid": stable_uuid("component", aims or "aims"),
            "type": "process-procedure",
            "title": title,
            "description": f"The AI management system{whose} (ISO/IEC 42001): the controls its Statement "
            "of Applicability includes, how each is carried out, by whom and on what evidence, and the "
            "controls it excludes, with the reason.",
        }
        if aims:
            component["props"] = [_prop("iri", aims)]
        if control_implementations:
            component["control-implementations"] = control_implementations

        body: dict[str, Any] = {"metadata": metadata, "components": [component]}
        if resources:
            body["back-matter"] = {"resources": resources}
        content = {**body, "metadata": {**metadata, "last-modified": None}}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        return {"component-definition": {"uuid": stable_uuid("component-definition", digest), **body}}

    def requirement(self, control: _Control) -> dict[str, Any]:
        """The implemented requirement for one control the SoA includes or excludes."""
        impls = control.implementations
        props = []
        if not control.applicable:
            props.append(
                _prop(
                    "implementation-status",
                    NOT_APPLICABLE,
                    remarks="Excluded in the Statement of Applicability.",
                )
            )
        else:
            status, source = _state(control.status), "the Statement of Applicability"
            if status is None:
                known = [s for s in (_state(i.status) for i in impls) if s]
                status = max(known, key=_rank) if known else None
                source = "its implementations (the weakest of their statuses)"
            if status:
                props.append(_prop("implementation-status", status, remarks=f"As recorded in {source}."))
        props.append(
            _prop(
                "applicability",
                "applicable" if control.applicable else "excluded",
                remarks=control.justification,
            )
        )
        props.append(_prop("control", control.iri, remarks=control.title))
        links: list[dict[str, Any]] = []
        responsible: dict[str, list[str]] = {}
        for n, impl in enumerate(impls, 1):
            group = token(f"implementation-{n}")
            props.append(_prop("implementation", impl.iri, group=group, remarks=impl.label))
            state = _state(impl.status)
            if state:
                props.append(_prop("implementation-status", state, group=group))
            props += [_prop("applies-to", s, group=group, remarks=self.name(s)) for s in sorted(impl.systems)]
            if impl.evidence:
                valid = sum(not e.expired for e in impl.evidence)
                props.append(
                    _prop(
                        "valid-evidence-items",
                        str(valid),
                        group=group,
                        remarks=f"Of {len(impl.evidence)}, valid on {self.day.isoformat()}.",
                    )
                )
            for ev in impl.evidence:
                href = "#" + stable_uuid("evidence", ev.iri)
                if all(link["href"] != href for link in links):
                    links.append({"href": href, "rel": "evidence", "text": _line(self.name(ev.iri))})
            for owner in impl.owners:
                for rid, party in self.responsible(owner):
                    holders = responsible.setdefault(rid, [])
                    if party and stable_uuid("party", party) not in holders:
                        holders.append(stable_uuid("party", party))
        if control.applicable:
            done = [f"{impl.label or self.name(impl.iri)}" for impl in impls]
            description = "\n\n".join(done) or "No implementation of this control is recorded."
            remarks = (
                control.justification
                or "The Statement of Applicability gives no justification for including it."
            )
        else:
            description = f"{control.notation} is excluded from the Statement of Applicability."
            remarks = (
                control.justification
                or "The Statement of Applicability gives no justification for excluding it."
            )
        requirement: dict[str, Any] = {
            "uuid": stable_uuid("implemented-requirement", control.iri),
            "control-id": self.unique_token("control", control.iri, token(control.notation.lower())),
            "description": description,
            "props": props,
        }
        if links:
            requirement["links"] = links
        if responsible:
            requirement["responsible-roles"] = [
                {"role-id": rid, **({"party-uuids": parties} if parties else {})}
                for rid, parties in responsible.items()
            ]
        requirement["remarks"] = remarks
        return requirement

    def catalogue(self, own: bool, owner: str | None) -> dict[str, Any]:
        """The back-matter resource that names the catalogue of the Annex A or the own controls."""
        if not own:
            return {
                "uuid": stable_uuid("catalogue", ANNEX_A),
                "title": _line(self.name(ANNEX_A))
                if self.name(ANNEX_A) != local_name(ANNEX_A)
                else "ISO/IEC 42001:2023 Annex A",
                "description": "The reference controls of ISO/IEC 42001:2023 Annex A, by the identifiers "
                "of the aims-graph catalogue. Control ids are the Annex A numbers in lower case "
                "(A.6.2.4 as a.6.2.4).",
                "props": [{"name": "type", "value": "standard"}],
                "rlinks": [{"href": ANNEX_A}],
            }
        whose = f" of {self.name(owner)}" if owner else ""
        return {
            "uuid": stable_uuid("catalogue", f"organisation-defined controls {owner}"),
            "title": f"Organisation-defined controls{whose}",
            "description": "Controls the organisation defined beyond ISO/IEC 42001 Annex A. Control ids are "
            "their identifiers in lower case; each implemented requirement gives its control's IRI in "
            "a prop named control.",
            "props": [{"name": "type", "value": "standard"}],
        }

    def evidence(self, ev: _Evidence) -> dict[str, Any]:
        """The back-matter resource for one evidence item."""
        props: list[dict[str, Any]] = [{"name": "type", "value": "evidence"}]
        if ev.generated:
            props.append(_prop("generated-at", ev.generated))
        if ev.valid_until:
            props.append(_prop("valid-until", ev.valid_until))
        judged = f"On {self.day.isoformat()}"
        props.append(
            _prop(
                "valid",
                "no" if ev.expired else "yes",
                remarks=f"{judged}, against its end of validity {ev.valid_until}."
                if ev.valid_until
                else f"{judged}; it has no end of validity.",
            )
        )
        return {
            "uuid": stable_uuid("evidence", ev.iri),
            "title": _line(self.name(ev.iri)),
            "props": props,
            "rlinks": [{"href": ev.iri}],
        }

    def role(self, iri: str) -> dict[str, Any]:
        role: dict[str, Any] = {"id": self.role_ids[iri], "title": _line(self.name(iri))}
        text = next(
            (o.responsibilities[iri] for o in self.owners.values() if iri in o.responsibilities), None
        )
        if text:
            role["description"] = text
        role["props"] = [_prop("iri", iri)]
        return role

    def party(self, iri: str, kind: str) -> dict[str, Any]:
        party: dict[str, Any] = {
            "uuid": stable_uuid("party", iri),
            "type": kind,
            "name": _value(self.name(iri)),
            "props": [_prop("iri", iri)],
        }
        member_of = [stable_uuid("party", o) for o in self.owner(iri).organisations]
        if member_of and kind == "person":
            party["member-of-organizations"] = member_of
        return party


def _prop(name: str, value: str, group: str | None = None, remarks: str | None = None) -> dict[str, Any]:
    """A prop in this export's namespace."""
    prop: dict[str, Any] = {"name": name, "ns": NS, "value": _value(value)}
    if group:
        prop["group"] = group
    if remarks:
        prop["remarks"] = remarks
    return prop


def _value(text: str) -> str:
    """A prop value or name: OSCAL wants no space at either end (and something in between)."""
    return " ".join(text.split()) or "-"


def _line(text: str) -> str:
    """A title or link text: one line."""
    return " ".join(text.split()) or "-"


def _state(status: str | None) -> str | None:
    """The OSCAL implementation-status state of an aims: status IRI (its local name, kebab-cased,
    for one this module does not know)."""
    if status is None:
        return None
    return STATES.get(status) or token(re.sub(r"(?<!^)(?=[A-Z])", "-", local_name(status)).lower())


def _rank(state: str) -> int:
    """How weak a state is: implemented 0, partial 1, planned 2, not-implemented 3, others 4."""
    return _STRENGTH.get(state, len(_STRENGTH))


def _timestamp(moment: dt.datetime) -> str:
    """An OSCAL date-time-with-timezone: UTC when `moment` has no zone, to the second."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
