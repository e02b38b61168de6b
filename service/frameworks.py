"""Crosswalks: the EU AI Act and the NIST AI RMF judged from the same graph as ISO/IEC 42001.

A framework requirement's status comes, with a reason for every step, from
- its own rules, where the framework asks for more than ISO/IEC 42001 (shapes/frameworks/), and
- the ISO/IEC 42001 requirements the project maps to it (ontology/mappings/, SSSOM): an exact or
  close match carries the requirement's gap-analysis status; a broad, narrow or related match only
  supports one, so it never makes an item "met" on its own.
An AI Act obligation applies to an AI system when the organisation has one of its roles for it
and the system has one of its classes (or the obligation names no class); one that applies to no
system is "not applicable". The chain of each status: item -> mapping and its reason -> ISO/IEC
42001 requirement and its status -> the validation results and resources behind that.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields

from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from . import reports, resources, validation
from .namespaces import AIMS, PREFIXES
from .store.base import Rows, Store
from .validation.compiler import Compiler, hoist_prefixes
from .validation.store_engine import subclasses_in

CARRY = {SKOS.exactMatch, SKOS.closeMatch}  # the two sides ask for the same: a status carries
SUPPORT = {SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch}  # part of it, or related: support
NO_TERM = "https://w3id.org/sssom/NoTermFound"
RANK = {reports.NOT_MET: 0, reports.PARTLY: 1, reports.NOT_ASSESSED: 2, reports.MET: 3}


# Every item of a framework other than ISO/IEC 42001 (an AI Act article or obligation, a NIST AI RMF
# function, category or subcategory) in document order: its id as written, short title, what it
# asks, what it is part of, whether it asks for something (a requirement), and for AI Act
# obligations the roles and classes of system it applies to (one row per role and class).
ITEMS = """
PREFIX aims: <https://w3id.org/aims#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>

SELECT ?item ?notation ?label ?definition ?partOf ?ordinal ?requirement ?role ?class
WHERE {
  ?item aims:inFramework $framework ; skos:notation ?notation ; aims:ordinal ?ordinal .
  OPTIONAL { ?item rdfs:label ?label }
  OPTIONAL { ?item skos:definition ?definition }
  OPTIONAL { ?item dcterms:isPartOf ?partOf }
  BIND (EXISTS { ?item a aims:FrameworkRequirement } AS ?requirement)
  OPTIONAL { ?item aims:appliesToRole ?role }
  OPTIONAL { ?item aims:appliesToClass ?class }
}
ORDER BY ?ordinal ?item ?role ?class
"""

# The project's crosswalk rows (ontology/mappings/, SSSOM) that lead to items of a framework: the
# ISO/IEC 42001 requirement (none for an item ISO/IEC 42001 does not address), the SKOS predicate,
# the item (none for an ISO/IEC 42001 requirement with no counterpart) and why.
MAPPINGS = """
PREFIX aims: <https://w3id.org/aims#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>

SELECT ?mapping ?subject ?subjectNotation ?predicate ?object ?reason
WHERE {
  ?mapping a aims:Mapping ; aims:inFramework $framework ; aims:mappingSubject ?subject ;
    aims:mappingPredicate ?predicate ; aims:mappingObject ?object .
  OPTIONAL { ?mapping rdfs:comment ?reason }
  OPTIONAL { ?subject skos:notation ?subjectNotation }
}
ORDER BY ?object ?subject
"""

# Every AI system with its AI Act classification(s), Annex III area and the organisation's operator
# role(s) for it (one row per class and role; none stated: no class or role in the row).
SYSTEMS = """
PREFIX aims: <https://w3id.org/aims#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

SELECT ?system ?label ?class ?area ?role
WHERE {
  ?system a aims:AISystem .
  OPTIONAL { ?system rdfs:label ?label }
  OPTIONAL { ?system aims:aiActClass ?class }
  OPTIONAL { ?system aims:annexIIIArea ?area }
  OPTIONAL { ?system aims:aiActRole ?role }
}
ORDER BY ?system ?class ?role
"""


class FrameworkError(ValueError):
    """An unknown framework."""


@dataclass(frozen=True)
class Framework:
    key: str  # as the command line and ?framework= name it
    iri: URIRef
    title: str
    rules: str | None = None  # its own rules: a file of shapes/frameworks/


FRAMEWORKS = {
    f.key: f
    for f in (
        Framework("iso42001", AIMS.ISO42001, "ISO/IEC 42001:2023"),
        Framework("eu-ai-act", AIMS.EUAIAct, "EU AI Act (Regulation (EU) 2024/1689)", "eu-ai-act.ttl"),
        Framework("nist-ai-rmf", AIMS.NISTAIRMF, "NIST AI RMF 1.0"),
    )
}


NAMESPACES = {"eu-ai-act": PREFIXES["euaia"], "nist-ai-rmf": PREFIXES["nistrmf"]}


def key_of(iri: str) -> str | None:
    """The framework an item's IRI belongs to, by its namespace."""
    return next((key for key, ns in NAMESPACES.items() if iri.startswith(ns)), None)


def get(key: str) -> Framework:
    try:
        return FRAMEWORKS[key]
    except KeyError:
        raise FrameworkError(f"no framework {key!r}; known: {', '.join(FRAMEWORKS)}") from None


@dataclass
class Step:
    """One link of a status's chain: a mapping, its reason, and the ISO/IEC 42001 requirement it
    leads to with that requirement's status and what is behind it."""

    requirement: str
    notation: str
    predicate: str  # skos:exactMatch ...
    reason: str
    carries: bool  # exact or close: the requirement's status carries to the item
    status: str
    findings: list[dict[str, object]] = field(default_factory=list)
    resources: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ItemStatus:
    item: str
    notation: str
    label: str
    part_of: str | None
    requirement: bool  # it asks for something (else a heading: an article, a category)
    status: str  # one of reports.STATUSES ("" for a heading)
    why: str  # how the status was reached, in a sentence
    systems: list[str] = field(default_factory=list)  # the AI systems it applies to (AI Act)
    roles: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    findings: list[dict[str, object]] = field(default_factory=list)  # its own rules' results
    not_addressed: str = ""  # why ISO/IEC 42001 does not address it, when it does not
    definition: str = ""

    def to_json(self) -> dict[str, object]:
        """As dataclasses.asdict, without its deep copy of the findings (plain dicts already, and
        the same ones for every item mapped to a requirement: 9 s of a pack at 1,000 systems)."""
        found = {f.name: getattr(self, f.name) for f in fields(self)}
        found["steps"] = [dict(vars(step)) for step in self.steps]
        return found


def rules(framework: Framework) -> Graph | None:
    """A framework's own rules with the shared prefixes, or None."""
    if framework.rules is None:
        return None
    g = Graph()
    for path in (
        *resources.files("shapes", "prefixes.ttl"),
        resources.folder("shapes") / "frameworks" / framework.rules,
    ):
        g.parse(path)
    return g


def status(
    store: Store,
    key: str,
    as_of: dt.date | None = None,
    iso: list[reports.RequirementStatus] | None = None,
) -> list[ItemStatus]:
    """Every item of a framework, in document order, with its status and the chain behind it."""
    framework = get(key)
    as_of = as_of or dt.date.today()
    if framework.key == "iso42001":
        raise FrameworkError("ISO/IEC 42001's own statuses are the gap analysis (reports.gap_analysis)")
    iso_by_iri = {s.requirement: s for s in (iso if iso is not None else reports.gap_analysis(store, as_of))}
    own_rules = rules(framework)
    own: dict[str, list[validation.Result]] = defaultdict(list)
    checked: set[str] = set()
    if own_rules is not None:
        report = validation.validate(store, as_of=as_of, extra_shapes=own_rules, builtin=False)
        for r in report.results:
            for target in r.counts_against():
                own[target].append(r)
        checked = _assessed(store, own_rules)
    systems = _systems(store)
    mappings, not_addressed = _mappings(store, framework)
    items: dict[str, ItemStatus] = {}
    for row in _rows(store, ITEMS, framework.iri):
        iri = str(row["item"])
        item = items.get(iri)
        if item is None:
            item = items[iri] = ItemStatus(
                iri,
                str(row["notation"]),
                str(row.get("label", "")),
                str(row["partOf"]) if "partOf" in row else None,
                reports._true(row.get("requirement")),
                "",
                "",
                definition=str(row.get("definition", "")),
            )
        for name, values in (("role", item.roles), ("class", item.classes)):
            if name in row and str(row[name]) not in values:
                values.append(str(row[name]))
    # a system with no class or role yet: only what binds every system of a role applies to it (a
    # system with no role: nothing), but the rules' results about it (its classification is
    # missing) are reported wherever they count
    unclassified = {s for s, held in systems.items() if not held["class"] or not held["role"]}
    for item in items.values():
        if not item.requirement:
            continue
        item.not_addressed = not_addressed.get(item.item, "")
        item.steps = [_step(m, iso_by_iri) for m in mappings.get(item.item, [])]
        found = own.get(item.item, [])
        if framework.key == "eu-ai-act":
            item.systems = [s for s, held in systems.items() if _applies(item, held)]
            # a result about an AI system counts only where the obligation applies to that system
            # (a provider's duty is not failed by a system the organisation only deploys)
            found = [
                r
                for r in found
                if r.focus not in systems or r.focus in item.systems or r.focus in unclassified
            ]
            item.systems += [s for s in sorted(unclassified) if any(r.focus == s for r in found)]
        item.findings = [r.as_dict() for r in found]
        if framework.key == "eu-ai-act" and not item.systems:
            item.status = reports.NOT_APPLICABLE
            item.why = (
                "no AI system has a class and an organisation role this obligation applies to"
                f" (roles: {_names(item.roles) or 'any'}; classes: {_names(item.classes) or 'any'})"
            )
            continue
        item.status, item.why = _verdict(item, found, item.item in checked)
    return list(items.values())


def _assessed(store: Store, shapes: Graph) -> set[str]:
    """The items some rule of the framework had something to look at: a focus node of its targets
    (the systems, incidents ... the obligation binds). A rule with none judges nothing: its item is
    not "met" by it."""
    compiler = Compiler(shapes, subclasses_in(store))
    found: set[str] = set()
    for shape in compiler.shapes():
        item = shapes.value(shape, AIMS.checksRequirement)
        if item is not None and str(item) not in found:
            if store.ask(hoist_prefixes(f"ASK {{ {compiler.focus_pattern(shape)} }}")):
                found.add(str(item))
    return found


def _verdict(item: ItemStatus, own: list[validation.Result], ruled: bool) -> tuple[str, str]:
    """A requirement's status from its own rules and the statuses its mappings carry or support."""
    parts: list[str] = []
    reasons: list[str] = []
    if ruled:
        parts.append(reports.verdict(own, True, False))
        reasons.append(f"its own rules: {parts[-1]}")
    carried = [s for s in item.steps if s.carries and s.status != reports.NOT_APPLICABLE]
    parts += [s.status for s in carried]
    reasons += [f"{s.notation} ({_short(s.predicate)}): {s.status}" for s in carried]
    supports = [s for s in item.steps if not s.carries and s.status != reports.NOT_APPLICABLE]
    if parts:
        worst = min(parts, key=RANK.__getitem__)
        if worst == reports.NOT_ASSESSED and reports.MET in parts:
            worst = reports.PARTLY  # some of it shown, some not looked at
        broader = [s for s in supports if s.predicate == "skos:broadMatch" and s.status == reports.NOT_MET]
        if worst == reports.MET and not carried and broader:
            # its own rules hold, but the part of it an ISO/IEC 42001 requirement answers is not met
            worst = reports.PARTLY
            reasons += [f"{s.notation} ({_short(s.predicate)}): {s.status}" for s in broader]
        return worst, "; ".join(reasons)
    if supports:
        said = "; ".join(f"{s.notation} ({_short(s.predicate)}): {s.status}" for s in supports)
        if all(s.status == reports.NOT_ASSESSED for s in supports):
            return reports.NOT_ASSESSED, f"only supporting matches, none assessed: {said}"
        if any(s.status in (reports.MET, reports.PARTLY) for s in supports):
            return reports.PARTLY, (
                f"supported only (broad, narrow or related matches never make it met alone): {said}"
            )
        return reports.NOT_MET, f"no supporting requirement is met: {said}"
    if item.not_addressed:
        return (
            reports.NOT_ASSESSED,
            f"not addressed by ISO/IEC 42001 and no rule of its own: {item.not_addressed}",
        )
    return reports.NOT_ASSESSED, "no mapping and no rule of its own"


def _step(row: dict[str, object], iso: dict[str, reports.RequirementStatus]) -> Step:
    requirement = str(row["subject"])
    found = iso.get(requirement)
    predicate = URIRef(str(row["predicate"]))
    return Step(
        requirement,
        str(row.get("subjectNotation", found.id if found else requirement)),
        _short(str(predicate)),
        str(row.get("reason", "")),
        predicate in CARRY,
        found.status if found else reports.NOT_ASSESSED,
        found.findings if found else [],
        found.resources if found else {},
    )


def _rows(store: Store, text: str, framework: URIRef | None = None) -> Rows:
    return store.select(text, {"framework": framework} if framework is not None else None)


def _short(iri: str) -> str:
    return "skos:" + iri.rsplit("#", 1)[-1] if iri.startswith(str(SKOS)) else iri


def _names(iris: list[str]) -> str:
    return ", ".join(i.rsplit("#", 1)[-1] for i in iris)


def _mappings(
    store: Store, framework: Framework
) -> tuple[dict[str, list[dict[str, object]]], dict[str, str]]:
    """The mappings leading to each item, and the reason for each item ISO/IEC 42001 does not address."""
    leading: dict[str, list[dict[str, object]]] = defaultdict(list)
    not_addressed: dict[str, str] = {}
    for row in _rows(store, MAPPINGS, framework.iri):
        subject, target = str(row["subject"]), str(row["object"])
        if subject == NO_TERM:
            not_addressed[target] = str(row.get("reason", ""))
        elif target != NO_TERM:
            leading[target].append(dict(row))
    return leading, not_addressed


def _systems(store: Store) -> dict[str, dict[str, set[str]]]:
    """Each AI system's AI Act classes and the organisation's roles for it."""
    held: dict[str, dict[str, set[str]]] = {}
    for row in _rows(store, SYSTEMS):
        system = held.setdefault(str(row["system"]), {"class": set(), "role": set()})
        for name in ("class", "role"):
            if name in row:
                system[name].add(str(row[name]))
    return held


def _applies(item: ItemStatus, held: dict[str, set[str]]) -> bool:
    roles = not item.roles or bool(held["role"] & set(item.roles))
    classes = not item.classes or bool(held["class"] & set(item.classes))
    return roles and classes and bool(held["role"])


def readiness(items: list[ItemStatus]) -> dict[str, object]:
    """Counts of the framework's requirements by status, and the share met of those that apply."""
    counts = {s: 0 for s in reports.STATUSES}
    for item in items:
        if item.requirement:
            counts[item.status] += 1
    applicable = sum(counts.values()) - counts[reports.NOT_APPLICABLE]
    return {
        **counts,
        "applicable": applicable,
        "percent_met": round(100 * counts[reports.MET] / applicable, 1) if applicable else None,
        "not_met": [i.notation for i in items if i.requirement and i.status == reports.NOT_MET],
    }
