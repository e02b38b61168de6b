"""Traceability chains: from a risk, a control, a requirement, an AI system or a piece of evidence
to everything that hangs off it, nested, labelled, and with a verdict that answers the auditor's
question ("is this risk covered by valid evidence today?"). Built once here from the trace-* named
queries and the validation report, for the JSON answers, the pages and `aims trace`.

Verdicts are not worked out again here: the traced thing's verdict is drawn from the validation
results on the chain's nodes (the same results as the gap analysis), and each link's verdict from
the facts the rules read, judged by the same definitions (queries.DEFINITIONS for current evidence,
aims:about for what evidence is about). See the README's "Verdicts" section and docs/rules.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Identifier

from . import queries, reports, validation
from .browse import Label, heading, labels, plain
from .namespaces import AIMS_IRI
from .store.base import Store, StoreError
from .store.sparql_text import values_blocks
from .store.terms import check_iri

# what a risk's trace answers, and what each implementation on it shows
COVERED, PARTLY_COVERED, NOT_COVERED, ACCEPTED, NOT_APPLICABLE = (
    "covered",
    "partly covered",
    "not covered",
    "accepted",
    "not applicable",
)
EVIDENCED, PARTLY_IMPLEMENTED, NO_EVIDENCE, EXPIRED, PLANNED, ANOTHER_SYSTEM = (
    "evidenced",
    "partly implemented",
    "no evidence",
    "expired",
    "planned",
    "evidence about another system",
)
# what each evidence item shows
VALID, NOT_YET_VALID, ABOUT_ANOTHER_SYSTEM = "valid", "not yet valid", "about another system"
# what a trace answers at the top: a risk's cover, the gap-analysis status of a control, a
# requirement or a system, an evidence item's validity
# how each verdict reads at a glance (pages colour it so)
TONES = {
    **dict.fromkeys((COVERED, reports.MET, VALID, EVIDENCED, ACCEPTED), "good"),
    **dict.fromkeys((PARTLY_COVERED, reports.PARTLY, PLANNED, PARTLY_IMPLEMENTED, NOT_YET_VALID), "warn"),
    **dict.fromkeys(
        (NOT_COVERED, reports.NOT_MET, EXPIRED, NO_EVIDENCE, ANOTHER_SYSTEM, ABOUT_ANOTHER_SYSTEM), "bad"
    ),
    **dict.fromkeys((NOT_APPLICABLE, reports.NOT_ASSESSED), "neutral"),
}
VERDICTS = (
    COVERED,
    PARTLY_COVERED,
    NOT_COVERED,
    ACCEPTED,
    NOT_APPLICABLE,
    *reports.STATUSES,
    VALID,
    EXPIRED,
    NOT_YET_VALID,
)


@dataclass(frozen=True)
class Level:
    """One level of a trace: the list's key, the column naming its items, the columns kept on
    each item, and the levels nested under each item."""

    key: str
    id_column: str
    columns: tuple[str, ...] = ()
    children: tuple[Level, ...] = ()


_EVIDENCE = ("generatedAt", "validUntil", "valid", "unexpired", "about")
_FINDINGS = Level(
    "findings", "finding", ("findingType",), (Level("actions", "action", ("actionStatus", "dueDate")),)
)


@dataclass(frozen=True)
class Kind:
    name: str
    query: str
    parameter: str
    title: str
    classes: tuple[str, ...]  # what a thing of this kind is (aims: local names), to tell one with
    # nothing hanging off it (an empty trace: absence is a finding) from no such thing (404)
    levels: tuple[Level, ...]
    top_columns: tuple[str, ...] = ()
    # the chain as the diagram draws it: (column title, the levels whose items it shows; "@top" is
    # the traced thing itself)
    diagram: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # levels shown for context, whose own results do not sit on the chain the verdict judges (a
    # risk's systems and incidents: a system's missing impact assessment does not uncover a risk)
    context: tuple[str, ...] = ()


KINDS = {
    k.name: k
    for k in (
        Kind(
            "risk",
            "trace-risk",
            "risk",
            "Risk",
            ("Risk",),
            (
                Level(
                    "treatments",
                    "treatment",
                    ("option", "residualRiskLevel", "approvedBy", "approvalDate"),
                    (
                        Level("approverRoles", "approverRole", ("authority",)),
                        Level(
                            "implementations",
                            "implementation",
                            ("status", "control", "controlId"),
                            (Level("evidence", "evidence", _EVIDENCE, (Level("supports", "supports"),)),),
                        ),
                    ),
                ),
                Level("incidents", "incident", ("occurredOn",)),
                Level("systems", "system", ("inScope",)),  # a risk may be carried by several
            ),
            ("riskLevel", "likelihood", "severity"),
            (
                ("Risk", ("@top",)),
                ("Treatment", ("treatments",)),
                ("Implementation", ("implementations",)),
                ("Control", ("control",)),
                ("Evidence", ("evidence",)),
            ),
            context=("systems", "incidents"),
        ),
        Kind(
            "control",
            "trace-control",
            "control",
            "Control",
            ("ReferenceControl", "OrganisationControl"),
            (
                Level("entries", "entry", ("applicable", "justification")),
                Level(
                    "implementations",
                    "implementation",
                    ("status",),
                    (Level("risks", "risk"), Level("evidence", "evidence", _EVIDENCE)),
                ),
                _FINDINGS,
            ),
            ("controlId",),
            (
                ("Risk", ("risks",)),
                ("Implementation", ("implementations",)),
                ("Control", ("@top",)),
                ("Evidence", ("evidence",)),
                ("Finding", ("findings",)),
            ),
        ),
        Kind(
            "requirement",
            "trace-requirement",
            "requirement",
            "Requirement",
            ("ClauseRequirement", "ReferenceControl"),
            (
                Level(
                    "answered",
                    "answered",
                    ("answeredId",),
                    (Level("resources", "resource", ("kind",)), _FINDINGS),
                ),
            ),
            (),
            (
                ("Requirement", ("@top",)),
                ("Clause or control answered", ("answered",)),
                ("Answered by", ("resources",)),
                ("Finding", ("findings",)),
            ),
        ),
        Kind(
            "system",
            "trace-system",
            "system",
            "AI system",
            ("AISystem",),
            (
                Level("risks", "risk", ("riskLevel", "option")),
                Level("assessments", "assessment", ("assessmentKind", "performedOn")),
                Level(
                    "implementations",
                    "implementation",
                    ("status", "control"),
                    (Level("evidence", "evidence", ("valid", "unexpired", "about")),),
                ),
                Level("dataSets", "dataSet"),
                Level("incidents", "incident", ("occurredOn",)),
                Level("findings", "finding"),
            ),
            ("inScope", "rationale", "lifecycleStage"),
            (
                ("AI system", ("@top",)),
                ("Risks", ("risks",)),
                ("Assessments", ("assessments",)),
                ("Implementations", ("implementations",)),
                ("Evidence", ("evidence",)),
                ("Data sets", ("dataSets",)),
                ("Incidents and findings", ("incidents", "findings")),
            ),
        ),
        Kind(
            "evidence",
            "trace-evidence",
            "evidence",
            "Evidence",
            ("Evidence", "CompetenceRecord", "TrainingRecord"),
            (Level("reliedOnBy", "resource", ("relation",)),),
            ("generatedAt", "validUntil", "valid", "unexpired", "about"),
            (("Evidence", ("@top",)), ("Relied on by", ("reliedOnBy",))),
        ),
    )
}


class TraceNotFound(LookupError):
    """No such kind of trace, or nothing of that kind with that IRI or identifier."""


@dataclass(frozen=True)
class Gap:
    """A validation result on one of the chain's nodes, where it sits and what it says."""

    key: str  # the result's anchor on the validation page
    about: str
    label: str
    id: str | None
    requirement: str | None
    severity: str
    message: str
    path: str | None
    value: str | None
    # whether it counts against what a control or requirement trace traces (a gap on a document
    # behind 9.1 may count against 7.5.2 only); always so on other traces
    counts: bool = True


@dataclass
class Trace:
    kind: Kind
    top: dict[str, Any]
    items: dict[str, list[dict[str, Any]]]
    as_of: dt.date
    verdict: str
    gaps: list[Gap] = field(default_factory=list)
    names: dict[str, Label] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON answer: the verdict, the gaps, the traced thing, its nested lists (each link with
        its own verdict where it has one), and a label for every IRI in them."""
        return {
            "verdict": self.verdict,
            "gaps": [asdict(g) for g in self.gaps],
            self.kind.name: self.top,
            **self.items,
            "as_of": self.as_of.isoformat(),
            "labels": {iri: label.to_json() for iri, label in self.names.items()},
        }

    def gaps_on(self, iri: str) -> list[Gap]:
        """The gaps that sit on one node of the chain (its focus node, or the value it names)."""
        return self._gaps_by_node.get(iri, [])

    @cached_property
    def _gaps_by_node(self) -> dict[str, list[Gap]]:
        # a page asks once per node shown: a control's trace at 10,000 systems asked 8,542 times
        # of 1,500 gaps, and spent 2 s in it (the gaps are all found before a page shows them)
        found: dict[str, list[Gap]] = {}
        for g in self.gaps:
            for node in dict.fromkeys((g.about, g.value)):
                if node is not None:
                    found.setdefault(node, []).append(g)
        return found

    def columns(self) -> list[tuple[str, list[str]]]:
        """The diagram's columns: the traced thing, then each step of the chain, items listed once."""
        found: dict[str, list[str]] = {"@top": [self.top["iri"]]}

        def walk(nodes: list[dict[str, Any]], key: str) -> None:
            for node in nodes:
                found.setdefault(key, [])
                if node["iri"] not in found[key]:
                    found[key].append(node["iri"])
                if (
                    key == "implementations"
                    and node.get("control")
                    and node["control"] not in found.setdefault("control", [])
                ):
                    found["control"].append(node["control"])
                for child_key, value in node.items():
                    if isinstance(value, list):
                        walk(value, child_key)

        for key, nodes in self.items.items():
            walk(nodes, key)
        return [
            (title, [iri for key in keys for iri in found.get(key, [])]) for title, keys in self.kind.diagram
        ]

    def text_lines(self) -> list[str]:
        """The trace as plain text for the command line: the verdict first, then the chain indented,
        each link with its verdict, and the gaps with what to do."""

        def name(iri: Any) -> str:
            label = self.names.get(str(iri))
            if label is None:
                return _text(iri)
            return f"{label.id} {label.text}" if label.id and label.id not in label.text else label.text

        lines = [
            f"{self.kind.title}: {name(self.top['iri'])}",
            f"Verdict: {self.verdict} (as of {self.as_of})",
        ]
        facts = [
            f"{heading(k)}: {name(v)}"
            for k, v in self.top.items()
            if k not in ("iri", "verdict") and v is not None
        ]
        lines += [f"  {fact}" for fact in facts]
        lines += [
            f"  ! {g.severity} {g.requirement or ''}: {g.message}" for g in self.gaps_on(self.top["iri"])
        ]

        def show(nodes: list[dict[str, Any]], depth: int) -> None:
            for node in nodes:
                verdict = f" [{node['verdict']}]" if node.get("verdict") else ""
                attrs = [
                    f"{heading(k)}: {name(v)}"
                    for k, v in node.items()
                    if k not in ("iri", "verdict", "unexpired") and v is not None and not isinstance(v, list)
                ]
                lines.append(
                    "  " * depth
                    + f"- {name(node['iri'])}{verdict}"
                    + (f" ({'; '.join(attrs)})" if attrs else "")
                )
                for gap in self.gaps_on(node["iri"]):
                    lines.append(
                        "  " * (depth + 1) + f"! {gap.severity} {gap.requirement or ''}: {gap.message}"
                    )
                for key, value in node.items():
                    if isinstance(value, list) and value:
                        lines.append("  " * (depth + 1) + f"{heading(key)}:")
                        show(value, depth + 2)

        for key, nodes in self.items.items():
            lines.append(f"{heading(key)}:" if nodes else f"{heading(key)}: none")
            show(nodes, 1)
        if self.gaps:
            lines.append(f"Gaps ({len(self.gaps)}):")
            lines += [f"  {g.severity} {g.requirement or ''} on {g.label}: {g.message}" for g in self.gaps]
        else:
            lines.append("Gaps: none")
        return lines


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _nest(rows: list[dict[str, Any]], level: Level) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        ident = row.get(level.id_column)
        if ident is None:
            continue
        if ident not in groups:
            groups[ident] = {"iri": ident, **{c: row.get(c) for c in level.columns}}
            members[ident] = []
        members[ident].append(row)
    for ident, node in groups.items():
        for child in level.children:
            node[child.key] = _nest(members[ident], child)
    return list(groups.values())


_FIND = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?thing WHERE {
  { ?thing dcterms:identifier ?key } UNION { ?thing skos:notation ?key } UNION { ?thing rdfs:label ?key }
  UNION { ?thing skos:prefLabel ?key }
} ORDER BY ?thing"""

# when nothing matches to the letter: the same ignoring case, an IRI's last part (ev-lineage), or
# the start of a label ("CopyPilot" for "CopyPilot (pilot)"); only things of the kind count
_FIND_LOOSELY = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?thing ?exact WHERE {
  ?thing a ?type .
  VALUES ?type { %s }
  OPTIONAL { ?thing dcterms:identifier|skos:notation|rdfs:label|skos:prefLabel ?name }
  # ?key only in top-level expressions: a nested group would be evaluated before it is bound
  BIND (STRENDS(STR(?thing), CONCAT("/", ?key)) || STRENDS(STR(?thing), CONCAT("#", ?key)) AS ?named)
  FILTER (?named || STRSTARTS(LCASE(STR(COALESCE(?name, ""))), LCASE(?key)))
  BIND (?named || LCASE(STR(COALESCE(?name, ""))) = LCASE(?key) AS ?exact)
} ORDER BY ?thing"""


def resolve(store: Store, kind: str, key: str) -> URIRef:
    """The IRI of the thing to trace, from an IRI, an identifier (R01), a clause or control number
    (9.1, A.5.5) or a label (bound as a literal, plain or English), else the same ignoring case,
    the last part of its IRI or the start of its label when that names one thing of the kind:
    TraceNotFound when nothing of this kind matches. A thing with nothing linked resolves too."""
    if kind not in KINDS:
        raise TraceNotFound(f"no trace for {kind!r}; use one of {', '.join(KINDS)}")
    if ":" in key:
        try:
            return check_iri(key)
        except StoreError:
            pass
    found: list[URIRef] = []
    for literal in (Literal(key), Literal(key, lang="en")):
        rows = store.select(_FIND, {"key": literal})
        found += [row["thing"] for row in rows if isinstance(row["thing"], URIRef)]
    for iri in dict.fromkeys(found):  # the first that is of this kind
        if _is_a(store, iri, KINDS[kind].classes):
            return iri
    types = " ".join(f"<{AIMS_IRI}{c}>" for c in KINDS[kind].classes)  # our own names, not input
    rows = store.select(_FIND_LOOSELY % types, {"key": Literal(key)})
    exact = list(dict.fromkeys(r["thing"] for r in rows if _true(r.get("exact"))))
    near = list(dict.fromkeys(r["thing"] for r in rows))
    if len(exact) == 1 or (not exact and len(near) == 1):
        return (exact or near)[0]  # type: ignore[return-value]
    if near:
        names = labels(store, {str(n) for n in near[:5]})
        listed = "; ".join(f"{n.id + ' ' if n.id else ''}{n.text}" for n in names.values())
        raise TraceNotFound(f"{key!r} names more than one {kind}: {listed}")
    if found:
        raise TraceNotFound(
            f"{key!r} is not a {kind} (a {kind} trace starts from a {KINDS[kind].title.lower()})"
        )
    raise TraceNotFound(f"nothing has the identifier, number or label {key!r}")


def trace_rows(store: Store, kind: str, iri: URIRef | None, as_of: dt.date) -> list[dict[str, Any]]:
    """The trace query's rows, as RDF terms; with `iri` None, every start's at once (the query
    asked with its start left unbound)."""
    if kind not in KINDS:
        raise TraceNotFound(f"no trace for {kind!r}; use one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    query = queries.get(spec.query)
    params = {spec.parameter: str(iri) if iri is not None else "urn:aims:any"}  # checked, then dropped
    if any(p.name == "asOf" for p in query.parameters):
        params["asOf"] = as_of.isoformat()
    bindings = query.bindings(params)
    if iri is None:
        del bindings[spec.parameter]
    return list(store.select(query.text, bindings))


JUDGED = ("control", "requirement")  # traces whose verdict is the gap analysis's status


def trace(
    store: Store,
    kind: str,
    iri: URIRef,
    as_of: dt.date | None = None,
    report: validation.Report | None = None,
    statuses: list[reports.RequirementStatus] | None = None,
) -> Trace:
    """The whole chain from `iri` with its verdict: TraceNotFound when there is no such `kind` or
    it is not one. `report` is the validation report of every rule on that day; when not given,
    the rules are run for the chain's own nodes only (their results are the same as in a whole
    run), except for control and requirement traces, whose verdict is the gap analysis's status
    and needs every result: `statuses` is that gap analysis (worked out when not given)."""
    as_of = as_of or dt.date.today()
    rows = trace_rows(store, kind, iri, as_of)
    spec = KINDS[kind]
    if not rows and not _is_a(store, iri, spec.classes):
        raise TraceNotFound(f"no {kind} {iri} in the graph")
    records = [{k: plain(v) for k, v in row.items()} for row in rows]
    top, items, nodes = _chain(spec, iri, records)
    if report is None:
        named: list[Identifier] = [
            URIRef(n) for n in nodes if not n.startswith("_:")
        ]  # a blank node cannot be named in a query
        scoped = kind not in JUDGED and len(named) == len(nodes)
        report = validation.validate(store, as_of=as_of, focus_nodes=named if scoped else None)
    if kind in JUDGED and statuses is None:
        statuses = reports.gap_analysis(store, as_of, report)
    by_focus = _by_focus(report)
    found = _found(kind, iri, nodes, report, by_focus)
    systems = _systems(store, _about(top, items))
    names = labels(store, _named(rows, found, nodes))
    return _judged(spec, iri, top, items, as_of, found, systems, names, statuses)


def every(store: Store, kind: str, as_of: dt.date, report: validation.Report) -> list[Trace]:
    """The trace of every `kind` the trace query finds, in one query (the trace query asked with
    its start unbound), judged by `report` (every rule on `as_of`): what traces each one with
    `trace` gives, without a few queries a trace (the audit pack traces 5,000 risks at 1,000
    systems). Not for control and requirement traces (their verdict is the gap analysis's)."""
    spec = KINDS[kind]
    if kind in JUDGED:
        raise ValueError(f"{kind} traces are judged by the gap analysis: trace them one by one")
    rows = trace_rows(store, kind, None, as_of)
    kinds = " ".join(f"<{AIMS_IRI}{c}>" for c in spec.classes)
    starts = store.select(f"SELECT DISTINCT ?start WHERE {{ VALUES ?kind {{ {kinds} }} ?start a ?kind }}")
    grouped: dict[str, list[dict[str, Any]]] = {
        str(r["start"]): [] for r in starts if isinstance(r["start"], URIRef)
    }  # a query that does not ask its start's type answers for other things too
    for row in rows:
        start = row.get(spec.parameter)
        if str(start) in grouped:
            grouped[str(start)].append(row)
    chains = {}
    for start, found_rows in grouped.items():
        records = [{k: plain(v) for k, v in row.items()} for row in found_rows]
        chains[start] = (found_rows, *_chain(spec, URIRef(start), records))
    by_focus = _by_focus(report)
    found = {s: _found(kind, URIRef(s), c[3], report, by_focus) for s, c in chains.items()}
    systems = _systems(store, set().union(*(_about(c[1], c[2]) for c in chains.values())))
    named = {s: _named(c[0], found[s], c[3]) for s, c in chains.items()}
    names = labels(store, set().union(*named.values()))
    return [
        _judged(
            spec,
            URIRef(s),
            top,
            items,
            as_of,
            found[s],
            systems,
            {n: names[n] for n in named[s] if n in names},
            None,
        )
        for s, (_, top, items, _) in chains.items()
    ]


def verdicts(store: Store, kind: str, as_of: dt.date, report: validation.Report) -> dict[str, str]:
    """Every `kind`'s trace verdict, as `every` judges them."""
    return {t.top["iri"]: t.verdict for t in every(store, kind, as_of, report)}


def _chain(
    spec: Kind, iri: URIRef, records: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], set[str]]:
    """A trace's start, its levels nested from the query's records, and the nodes of its chain
    (those whose validation results count: not the context levels)."""
    top = {"iri": str(iri), **{c: _first(records, c) for c in spec.top_columns}}
    items = {level.key: _nest(records, level) for level in spec.levels}
    nodes = {str(iri)} | {n["iri"] for n in _walk({k: v for k, v in items.items() if k not in spec.context})}
    return top, items, nodes


def _by_focus(report: validation.Report) -> dict[str, list[int]]:
    """Where each focus node's results are in the report."""
    found: dict[str, list[int]] = {}
    for i, r in enumerate(report.results):
        found.setdefault(r.focus, []).append(i)
    return found


def _found(
    kind: str,
    iri: URIRef,
    nodes: set[str],
    report: validation.Report,
    by_focus: dict[str, list[int]],
) -> list[validation.Result]:
    """The results about the chain, in the report's order: a result names the node it is about
    as its focus (one naming a node of this chain only as its value is about something else:
    another risk relying on the same evidence); a control or requirement trace has too every
    result told against it."""
    if kind in JUDGED:
        return [r for r in report.results if r.focus in nodes or str(iri) in r.against]
    return [report.results[i] for i in sorted(i for n in nodes for i in by_focus.get(n, ()))]


def _about(top: dict[str, Any], items: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {str(n["about"]) for n in [top, *_walk(items)] if n.get("about")}


def _named(rows: list[dict[str, Any]], found: list[validation.Result], nodes: set[str]) -> set[str]:
    """What a trace names: its nodes, the IRIs in its rows and its results' focus nodes."""
    return (
        nodes
        | {str(v) for row in rows for v in row.values() if isinstance(v, URIRef)}
        | {r.focus for r in found if not r.focus.startswith("_:")}
    )


def _judged(
    spec: Kind,
    iri: URIRef,
    top: dict[str, Any],
    items: dict[str, list[dict[str, Any]]],
    as_of: dt.date,
    found: list[validation.Result],
    systems: set[str],
    names: dict[str, Label],
    statuses: list[reports.RequirementStatus] | None,
) -> Trace:
    """The trace from its chain and the results about it, with its verdict and each link's."""
    kind = spec.name
    judged = kind in JUDGED
    gaps = [_gap(r, names, not judged or str(iri) in r.against) for r in found]
    own = {str(iri)} if kind == "system" else {n["iri"] for n in items.get("systems", [])}
    _judge_links(items, own, systems)
    if judged:
        verdict = next((s.status for s in statuses or [] if s.requirement == str(iri)), reports.NOT_ASSESSED)
    elif kind == "risk":
        verdict = _risk_verdict(top, items, gaps)
    elif kind == "system":
        out = _false(top.get("inScope"))
        verdict = reports.verdict([r for r in found if r.severity != "Info"], True, out)
    else:
        verdict = _evidence_verdict(top, set(), systems)
    for level in items.values():  # sorted by what a person reads
        level.sort(key=lambda n: _sort_key(n, names))
    return Trace(spec, top, items, as_of, verdict, gaps, names)


def _first(records: list[dict[str, Any]], column: str) -> Any:
    return next((r[column] for r in records if r.get(column) is not None), None)


def _walk(items: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every node of the nested lists."""
    out: list[dict[str, Any]] = []

    def visit(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            out.append(node)
            for value in node.values():
                if isinstance(value, list):
                    visit(value)

    for nodes in items.values():
        visit(nodes)
    return out


def _sort_key(node: dict[str, Any], names: dict[str, Label]) -> tuple[str, str]:
    label = names.get(node["iri"])
    return ((label.id or label.text).lower() if label else node["iri"], node["iri"])


def _gap(r: validation.Result, names: dict[str, Label], counts: bool) -> Gap:
    label = names.get(r.focus)
    return Gap(
        r.key,
        r.focus,
        label.text if label else r.focus,
        label.id if label else None,
        r.requirement_id,
        r.severity,
        r.message,
        r.path,
        r.value,
        counts,
    )


def _true(value: Any) -> bool:
    """SPARQL true, also as Virtuoso's 1."""
    return value is True or value == 1 or str(value).lower() == "true"


def _false(value: Any) -> bool:
    return value is False or value == 0 or str(value).lower() == "false"


def _evidence_verdict(node: dict[str, Any], own: set[str], systems: set[str]) -> str:
    """Valid, expired, not yet valid (made after the day), or about another system than those the
    chain is about (evidence about the organisation, or about nothing named, counts for all)."""
    about = node.get("about")
    if own and about and about not in own and str(about) in systems:
        return ABOUT_ANOTHER_SYSTEM
    if _true(node.get("valid")):
        return VALID
    return EXPIRED if not _true(node.get("unexpired")) else NOT_YET_VALID


def _implementation_verdict(node: dict[str, Any]) -> str:
    """What an implementation on the chain shows, by its status first (evidence of a control not
    in place yet does not make it in place), then by its evidence on the day."""
    status = str(node.get("status") or "").removeprefix(AIMS_IRI)
    if status in ("Planned", "NotImplemented"):
        return PLANNED
    evidence = [e["verdict"] for e in node.get("evidence", [])]
    if VALID in evidence:
        return PARTLY_IMPLEMENTED if status == "PartiallyImplemented" else EVIDENCED
    if ABOUT_ANOTHER_SYSTEM in evidence:
        return ANOTHER_SYSTEM
    # made after the day, it did not exist yet: no evidence on that day
    return EXPIRED if EXPIRED in evidence else NO_EVIDENCE


def _judge_links(items: dict[str, list[dict[str, Any]]], own: set[str], systems: set[str]) -> None:
    """Each evidence item's and each implementation's verdict, judged for the chain's own systems."""
    for node in _walk(items):
        if "valid" in node:
            node["verdict"] = _evidence_verdict(node, own, systems)
    for node in _walk(items):
        if "evidence" in node and isinstance(node["evidence"], list) and "status" in node:
            node["verdict"] = _implementation_verdict(node)


def _risk_verdict(top: dict[str, Any], items: dict[str, list[dict[str, Any]]], gaps: list[Gap]) -> str:
    """Not applicable when every system carrying the risk is out of scope; not covered on any Violation on the
    chain; accepted when retained (no treatment needed, or every treatment accepts it); covered
    when every implementation is evidenced (or the risk is avoided or transferred) and nothing on
    the chain is even a Warning; else partly covered."""
    carriers = items.get("systems", [])
    if carriers and all(_false(c.get("inScope")) for c in carriers):
        return NOT_APPLICABLE
    severities = {g.severity for g in gaps}
    if "Violation" in severities:
        return NOT_COVERED
    treatments = items.get("treatments", [])
    options = {str(t.get("option")).removeprefix(AIMS_IRI) for t in treatments}
    if not treatments or options == {"Accept"}:
        return ACCEPTED
    implementations = [i for t in treatments for i in t.get("implementations", [])]
    if "Warning" not in severities and all(i.get("verdict") == EVIDENCED for i in implementations):
        if implementations or options <= {"Avoid", "Transfer", "Accept"}:
            return COVERED
    return PARTLY_COVERED


def kind_of(types: list[str]) -> str | None:
    """The trace that starts from a thing of these types, if one does (a control before a
    requirement: an Annex A control is both)."""
    for kind in KINDS.values():
        if any(t == f"{AIMS_IRI}{c}" for t in types for c in kind.classes):
            return kind.name
    return None


def _is_a(store: Store, iri: URIRef, classes: tuple[str, ...]) -> bool:
    """Whether `iri` is an instance of one of the aims: `classes`."""
    query = "SELECT ?type WHERE { ?thing a ?type }"
    rows = store.select(query, {"thing": iri})
    wanted = {f"{AIMS_IRI}{c}" for c in classes}
    return any(str(row["type"]) in wanted for row in rows)


def _systems(store: Store, iris: set[str]) -> set[str]:
    """Which of `iris` are AI systems (evidence about one of them is about that system only)."""
    named = []
    for iri in iris:
        try:
            named.append(check_iri(iri))
        except StoreError:
            continue
    found = set()
    for values in values_blocks(named):
        rows = store.select(
            f"SELECT ?thing WHERE {{ VALUES ?thing {{ {values} }} ?thing a <{AIMS_IRI}AISystem> }}"
        )
        found |= {str(row["thing"]) for row in rows}
    return found
