"""What changed between two states of the organisation: two snapshots, or a snapshot and today
("now"). Resources added, removed and changed (each property's values before and after, grouped by
the resource's kind), and the verdicts that moved: requirements whose gap-analysis status changed,
risks whose trace verdict changed, evidence that expired between the two days. Each side is judged
on its own day (a snapshot's as-of day; "now" on the day asked for, else today).

The triples are compared by the store, not in Python: a SPARQL MINUS between the two sides' graphs
answers only the differences (0.5-1 s each way at 1,000 systems; writing both sides out as
N-Triples took 3-4 s each). A triple that moved between graphs is no change. A snapshot copies blank
nodes with their ids; when the MINUS finds triples with a blank node (a graph loaded again gives new
ids), those are compared apart, each blank node folded into the triple of the named subject that
holds it (history.folded), so a blank node that only got another id is no change.

Verdicts are not worked out again: each side's validation report gives its gap analysis, and every
risk's trace verdict is as traces.every judges it (all risks in one query, 3-4 s at 1,000 systems);
a snapshot's are kept beside it, worked out once (snapshots.risk_verdicts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, URIRef
from rdflib.term import Identifier

from . import history, queries, reports, snapshots, traces, validation
from .browse import Label, labels, local_name, plain
from .history import PropertyChange
from .namespaces import AIMS_IRI, CATALOGUE_GRAPH, DEFAULT_GRAPH
from .store.base import QueryDataset, Store
from .store.sparql_text import values_blocks

NOW = "now"  # the name of today's data as a side of a diff
ADDED, REMOVED, CHANGED = "added", "removed", "changed"
# the triples of the named graphs not in the default graph, and the other way round
_ONLY_NAMED = "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } MINUS { ?s ?p ?o } }"
_ONLY_DEFAULT = "SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o MINUS { GRAPH ?g { ?s ?p ?o } } }"
_BLANK = "SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) }"
_TYPES = "SELECT ?s ?type WHERE { VALUES ?s { %s } ?s a ?type }"
_PRESENT = "SELECT DISTINCT ?s WHERE { VALUES ?s { %s } ?s ?p ?o }"
# the class tree, followed in Python: Virtuoso refuses a path (subClassOf+) whose start is bound by VALUES
_BROADER = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"
    " SELECT DISTINCT ?type ?broader WHERE { ?type rdfs:subClassOf ?broader FILTER (isIRI(?broader)) }"
)


class DiffError(snapshots.SnapshotError):
    """A side that cannot be: no snapshot of that name (404), or a bad name (400)."""


@dataclass(frozen=True)
class Side:
    """One side of a diff: a snapshot (its read-only view) or today's store, and its day."""

    name: str
    store: Store
    day: dt.date
    snapshot: snapshots.Snapshot | None = None

    def graphs(self) -> tuple[URIRef, ...]:
        """The graphs of the organisation's data on this side, as the base store names them."""
        if self.snapshot is not None:
            return tuple(sorted(self.snapshot.graphs))
        return tuple(g for g in self.store.graphs() if g != CATALOGUE_GRAPH)

    def to_json(self) -> dict[str, Any]:
        taken = self.snapshot
        return {
            "name": self.name,
            "as_of": self.day.isoformat(),
            "created": taken.created.isoformat() if taken else None,
            "note": taken.note if taken else None,
        }


def side(store: Store, name: str, day: dt.date | None = None) -> Side:
    """`name` of `store`: a snapshot (judged on its day) or "now" (judged on `day`, else today)."""
    if name == NOW:
        return Side(NOW, store, day or dt.date.today())
    try:
        taken = snapshots.get(store, name)
    except snapshots.SnapshotError as e:
        raise DiffError(str(e), e.status) from None
    return Side(name, snapshots.SnapshotView(store, taken), taken.as_of, taken)


@dataclass
class ResourceChange:
    iri: str  # an IRI, or _:h… for a blank node no named subject holds (named by what it holds)
    change: str  # added, removed or changed
    kind: str  # its most specific aims: class ("" when it has none)
    properties: list[PropertyChange]


@dataclass
class VerdictChange:
    iri: str
    before: str
    after: str
    id: str | None = None  # a requirement's clause or control number
    group: str | None = None  # a requirement's clause group


@dataclass
class Expiry:
    evidence: str
    valid_until_before: Any  # as plain() gives it: an ISO date, or None
    valid_until_after: Any
    state_before: str
    state_after: str


@dataclass
class Diff:
    before: Side
    after: Side
    resources: list[ResourceChange]
    requirements: list[VerdictChange]
    risks: list[VerdictChange]
    expired: list[Expiry]
    names: dict[str, Label] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.resources or self.requirements or self.risks or self.expired)

    def kinds(self) -> list[tuple[str, list[ResourceChange]]]:
        """The resources grouped by kind, kinds by label (those of no aims: class last)."""
        grouped: dict[str, list[ResourceChange]] = defaultdict(list)
        for r in self.resources:
            grouped[r.kind].append(r)
        return sorted(grouped.items(), key=lambda item: (not item[0], self.label(item[0]).lower()))

    def label(self, iri: str) -> str:
        if not iri:
            return "Other"
        found = self.names.get(iri)
        return found.text if found else local_name(iri)

    def to_json(self) -> dict[str, Any]:
        """The diff as JSON: values as in other answers (IRIs as strings), with their labels."""
        return {
            "from": self.before.to_json(),
            "to": self.after.to_json(),
            "resources": [
                {
                    "kind": kind or None,
                    "label": self.label(kind),
                    "added": sum(r.change == ADDED for r in changes),
                    "removed": sum(r.change == REMOVED for r in changes),
                    "changed": sum(r.change == CHANGED for r in changes),
                    "items": [
                        {
                            "iri": r.iri,
                            "label": self.label(r.iri),
                            "change": r.change,
                            "properties": [
                                {
                                    "property": p.predicate,
                                    "label": self.label(p.predicate),
                                    "before": [plain(v) for v in p.before],
                                    "after": [plain(v) for v in p.after],
                                }
                                for p in r.properties
                            ],
                        }
                        for r in changes
                    ],
                }
                for kind, changes in self.kinds()
            ],
            "requirements": [vars(v) for v in self.requirements],
            "risks": [
                {"iri": v.iri, "label": self.label(v.iri), "before": v.before, "after": v.after}
                for v in self.risks
            ],
            "expired": [vars(e) | {"label": self.label(e.evidence)} for e in self.expired],
            "labels": {i: label.to_json() for i, label in sorted(self.names.items())},
        }

    def text_lines(self) -> list[str]:
        """The diff for the command line: what changed, then the verdicts that moved."""
        a, b = self.before, self.after
        lines = [f"{a.name} (as of {a.day}) -> {b.name} (as of {b.day})"]
        if self.empty():
            return [*lines, "no changes"]

        def shown(values: list[Identifier]) -> str:
            return ", ".join(self.label(str(v)) if isinstance(v, URIRef) else str(v) for v in values) or "-"

        for kind, changes in self.kinds():
            lines.append(f"{self.label(kind)}:")
            for r in changes:
                lines.append(f"  {r.change:8s} {self.label(r.iri)} <{r.iri}>")
                for p in r.properties if r.change == CHANGED else []:
                    lines.append(
                        f"           {self.label(p.predicate)}: {shown(p.before)} -> {shown(p.after)}"
                    )
        for title, moved in (("Requirements", self.requirements), ("Risks", self.risks)):
            if moved:
                lines.append(f"{title} whose verdict changed:")
                lines += [f"  {v.id or self.label(v.iri)}: {v.before} -> {v.after}" for v in moved]
        if self.expired:
            lines.append("Evidence expired between the two days:")
            lines += [
                f"  {self.label(e.evidence)}: valid until {e.valid_until_before} -> {e.valid_until_after}"
                for e in self.expired
            ]
        return lines


# ------------------------------------------------------------------------------ the triples


def _only(store: Store, mine: tuple[URIRef, ...], theirs: tuple[URIRef, ...]) -> set[tuple[Identifier, ...]]:
    """The triples in `mine` and in none of `theirs`, asked of the store in one MINUS. The side that may hold the embedded store's default graph (which no GRAPH pattern
    reaches) is put as the default graph."""
    if DEFAULT_GRAPH in mine:
        rows = store.select(_ONLY_DEFAULT, dataset=QueryDataset(mine or (_NONE,), theirs))
    else:
        rows = store.select(_ONLY_NAMED, dataset=QueryDataset(theirs or (_NONE,), mine))
    return {(r["s"], r["p"], r["o"]) for r in rows}


_NONE = URIRef("urn:aims:snapshot:none")  # a graph nobody has: an empty side (snapshots._EMPTY)


def _ground(triples: set[tuple[Identifier, ...]]) -> set[tuple[Identifier, ...]]:
    return {t for t in triples if not isinstance(t[0], BNode) and not isinstance(t[2], BNode)}


def _blank(store: Store, graphs: tuple[URIRef, ...]) -> set[tuple[Identifier, ...]]:
    """The triples with a blank node, each blank node folded into the triple that holds it (a text
    of what it holds), so the two sides compare by structure, not by the blank nodes' ids."""
    if not graphs:
        return set()
    rows = store.select(_BLANK, dataset=QueryDataset(graphs, ()))
    folded = history.folded({(DEFAULT_GRAPH, r["s"], r["p"], r["o"]) for r in rows})  # type: ignore[misc]
    # a blank node no named subject holds stands for itself: named after what it holds
    held: dict[Identifier, list[str]] = defaultdict(list)
    for _, s, p, o in folded:
        if isinstance(s, BNode):
            held[s].append(f"{p.n3()} {o.n3()}")
    name = {
        s: BNode("h" + hashlib.sha1("\n".join(sorted(v)).encode()).hexdigest()[:16]) for s, v in held.items()
    }
    return {(name.get(s, s), p, o) for _, s, p, o in folded}


def _values(terms: set[Identifier] | list[Identifier]) -> list[str]:
    return values_blocks(t for t in terms if isinstance(t, URIRef))


def _present(store: Store, subjects: set[Identifier]) -> set[Identifier]:
    found: set[Identifier] = set()
    for values in _values(subjects):
        rows = store.select(_PRESENT % values)
        found |= {r["s"] for r in rows}
    return found


def _kinds(store: Store, subjects: set[Identifier]) -> dict[Identifier, str]:
    """Each subject's most specific aims: class: one of its types no other of its types is a
    subclass of (the catalogue's class tree)."""
    types: dict[Identifier, set[str]] = defaultdict(set)
    for values in _values(subjects):
        rows = store.select(_TYPES % values)
        for r in rows:
            if str(r["type"]).startswith(AIMS_IRI):
                types[r["s"]].add(str(r["type"]))
    if not types:
        return {}
    rows = store.select(_BROADER)
    parents: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        parents[str(r["type"])].add(str(r["broader"]))

    def broader(t: str) -> set[str]:
        found, todo = set(), [t]
        while todo:
            for up in parents.get(todo.pop(), ()):
                if up not in found:
                    found.add(up)
                    todo.append(up)
        return found

    kinds = {}
    for s, held in types.items():
        specific = sorted(t for t in held if not any(t in broader(other) for other in held if other != t))
        kinds[s] = specific[0] if specific else ""
    return kinds


def resource_changes(a: Side, b: Side) -> list[ResourceChange]:
    """Resources added, removed and changed from `a` to `b`, each with its properties' values
    removed (before) and added (after)."""
    base = b.store.base if isinstance(b.store, snapshots.SnapshotView) else b.store
    mine, theirs = a.graphs(), b.graphs()
    removed, added = _only(base, mine, theirs), _only(base, theirs, mine)
    if any(isinstance(t, BNode) for s, _, o in removed | added for t in (s, o)):
        # blank nodes that differ by id (a snapshot copies them with theirs: only a graph loaded
        # again gives new ones) are compared by what they hold, folded into their holders
        removed, added = _ground(removed), _ground(added)
        blank_a, blank_b = _blank(base, mine), _blank(base, theirs)
        removed |= blank_a - blank_b
        added |= blank_b - blank_a
    by_subject: dict[Identifier, dict[str, PropertyChange]] = defaultdict(dict)
    for triples, after in ((removed, False), (added, True)):
        for subject, predicate, value in triples:
            change = by_subject[subject].setdefault(str(predicate), PropertyChange(str(predicate), [], []))
            (change.after if after else change.before).append(value)
    subjects = set(by_subject)
    before, now = _present(a.store, subjects), _present(b.store, subjects)
    kinds = _kinds(a.store, subjects - now) | _kinds(b.store, subjects & now)
    found = []
    for subject, properties in by_subject.items():
        if isinstance(subject, BNode):  # named by what it holds: it is there on one side only
            what = ADDED if any(p.after for p in properties.values()) else REMOVED
        else:
            what = CHANGED if subject in before and subject in now else ADDED if subject in now else REMOVED
        for values in properties.values():
            values.before.sort(key=_order)
            values.after.sort(key=_order)
        ordered = sorted(properties.values(), key=lambda p: (p.predicate != _TYPE, p.predicate))
        name = str(subject) if isinstance(subject, URIRef) else subject.n3()
        found.append(ResourceChange(name, what, kinds.get(subject, ""), ordered))
    return sorted(found, key=lambda r: r.iri)


_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _order(term: Identifier) -> tuple[str, str]:
    return (type(term).__name__, str(term))


# ------------------------------------------------------------------------------ the verdicts


@dataclass
class _Judged:
    """What one side's verdicts are: its gap analysis, every risk's trace verdict, the evidence
    register's states."""

    statuses: list[reports.RequirementStatus]
    risks: dict[str, str]  # risk -> its trace verdict
    evidence: dict[str, tuple[str, Any]]  # evidence -> (state, valid until)


def _judge(s: Side, report: validation.Report) -> _Judged:
    """`s` judged by `report` (every rule on its day). A snapshot's risk verdicts are kept beside it
    (worked out once); today's are traced, every risk in one query."""
    statuses = reports.gap_analysis(s.store, s.day, report)
    if isinstance(s.store, snapshots.SnapshotView):  # always judged on its own day (side)
        risks = snapshots.risk_verdicts(s.store)
    else:
        risks = traces.verdicts(s.store, "risk", s.day, report)
    register = queries.run(
        s.store, "register-evidence", {"asOf": s.day.isoformat(), "soon": s.day.isoformat()}
    )
    evidence = {str(r["evidence"]): (str(r["state"]), plain(r.get("validUntil"))) for r in register}
    return _Judged(statuses, risks, evidence)


def _requirements(a: _Judged, b: _Judged) -> list[VerdictChange]:
    before = {s.requirement: s for s in a.statuses}
    return [
        VerdictChange(s.requirement, before[s.requirement].status, s.status, s.id, s.group)
        for s in b.statuses  # in the standard's order
        if s.requirement in before and before[s.requirement].status != s.status
    ]


def _risks(a: _Judged, b: _Judged) -> list[VerdictChange]:
    """The risks on both sides whose verdict moved."""
    return [
        VerdictChange(risk, a.risks[risk], verdict)
        for risk, verdict in sorted(b.risks.items())
        if risk in a.risks and a.risks[risk] != verdict
    ]


def _expired(a: _Judged, b: _Judged) -> list[Expiry]:
    """Evidence on both sides that is expired on the later side's day and was not on the other's."""
    return [
        Expiry(e, a.evidence[e][1], valid_until, a.evidence[e][0], state)
        for e, (state, valid_until) in sorted(b.evidence.items())
        if e in a.evidence and state == "expired" and a.evidence[e][0] != "expired"
    ]


# ------------------------------------------------------------------------------ the whole


def diff(store: Store, before: str, after: str, day: dt.date | None = None) -> Diff:
    """What changed from `before` to `after` (snapshot names, or "now", judged on `day`, else
    today). DiffError when a side names no snapshot."""
    return compare(side(store, before, day), side(store, after, day))


def compare(a: Side, b: Side, report: Callable[[Side], validation.Report] | None = None) -> Diff:
    """What changed from side `a` to side `b`; `report` gives a side's validation report of every
    rule on its day (the service keeps them: a snapshot's never changes), else it is worked out."""
    if a.name == b.name and a.day == b.day:  # the same data on the same day: nothing moved
        return Diff(a, b, [], [], [], [])
    changes = resource_changes(a, b)
    if not changes and a.day == b.day:  # verdicts are drawn from the data and the day alone
        return Diff(a, b, [], [], [], [], _labels(a, b, Diff(a, b, [], [], [], [])))
    validate = report or _report
    ja, jb = _judge(a, validate(a)), _judge(b, validate(b))
    found = Diff(a, b, changes, _requirements(ja, jb), _risks(ja, jb), _expired(ja, jb))
    found.names = _labels(a, b, found)
    return found


def _report(s: Side) -> validation.Report:
    """A side's report of every rule on its day: a snapshot's as kept beside it (worked out once)."""
    if isinstance(s.store, snapshots.SnapshotView) and s.day == s.store.snapshot.as_of:
        return snapshots.report(s.store)
    return validation.validate(s.store, as_of=s.day)


def _labels(a: Side, b: Side, found: Diff) -> dict[str, Label]:
    """A label for every IRI the diff names: as the later side has it, else as the earlier one
    had it (a removed resource)."""
    iris = {r.iri for r in found.resources} | {r.kind for r in found.resources if r.kind}
    for r in found.resources:
        for p in r.properties:
            iris.add(p.predicate)
            iris |= {str(v) for v in (*p.before, *p.after) if isinstance(v, URIRef)}
    iris |= {v.iri for v in (*found.requirements, *found.risks)} | {e.evidence for e in found.expired}
    iris = {i for i in iris if not i.startswith("_:")}
    later, earlier = labels(b.store, iris), labels(a.store, iris)
    return {i: later[i] if later[i].text != local_name(i) else earlier[i] for i in iris}
