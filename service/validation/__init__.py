"""Validation of organisation data against the conformance rules, and the facts verdicts need.

Two engines give the same results: the store engine (the default) compiles every shape to SPARQL
and lets the store that holds the data run it, embedded or remote, with no copy of the data into
Python; pySHACL (`engine="pyshacl"`) is the reference it is tested against. Rules about dates read
$asOf and $lookbackStart, which are put into the rules' SPARQL as xsd:date literals for the day a
report is judged on (today by default), so a report can be reproduced for the day of an audit.

Each result says which requirement it counts against: the clause or control its rule checks, or
what a finding was raised against (aims:requirementPath), and the control its focus node is about.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import cache, cached_property, lru_cache
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SH, SKOS, XSD
from rdflib.term import Identifier, Node

from .. import queries, resources
from ..browse import Label, labels
from ..namespaces import AIMS, AIMS_IRI, ISO_IRI
from ..store.base import Store
from ..store.catalogue import catalogue_graph
from ..store.formats import FORMATS
from ..store.sparql_text import values_blocks
from . import pyshacl_engine, store_engine
from .compiler import Compiler, ShapeError, hoist_prefixes
from .store_engine import Violation

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
STAGES = (1, 2)
INFERENCE = ("none", "rdfs", "owlrl")
ENGINES = ("store", "pyshacl")
LOOKBACK = dt.timedelta(days=365)
# every term of the ontology and the catalogue starts so; an organisation's data never does
VOCABULARY_PREFIX = AIMS_IRI.removesuffix("#")

__all__ = ["ShapeError", "Report", "Result", "ValidationError", "validate"]


class ValidationError(ValueError):
    """Bad validation options (unknown stage, engine or inference, or an unknown AI system)."""


@dataclass(frozen=True)
class Result:
    focus: str
    path: str | None
    value: str | None
    severity: str
    message: str
    shape: str
    requirement: str | None
    requirement_id: str | None
    stage: int | None
    control: str | None = None  # the control the focus node is, or is the SoA entry or implementation of
    control_id: str | None = None
    # every leaf clause and control the result tells against (its requirement, all of them when the
    # rule reports against what a finding was raised against, leaves for a parent clause; its control)
    against: tuple[str, ...] = ()
    label: str | None = None  # what a person calls the focus node: its label, and its identifier
    id: str | None = None

    @property
    def key(self) -> str:
        """A stable name for the result (its anchor on the validation page, a trace's link to it)."""
        text = "\x1f".join((self.shape, self.focus, self.path or "", self.value or "", self.message))
        return "r-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]

    def counts_against(self) -> set[str]:
        """The requirements this result tells against: its own, and the control it is about."""
        return set(self.against)

    def as_dict(self) -> dict[str, object]:
        """Its fields as a dict (dataclasses.asdict, without its deep copy: every field is
        immutable; a gap analysis at 1,000 systems spent 1.4 s in asdict's copying). A copy of
        the instance's dict, which holds its fields and nothing else (no slots, nothing cached on
        it): a field at a time took 1.3 s of a dashboard at 10,000 systems."""
        return self.__dict__.copy()


# what one rule evaluated: the text of the query that asked (what a write must not reach for it
# to stand), the leaf requirements and the controls of its focus nodes
RuleAssessed = tuple[str, frozenset[str], frozenset[str]]


@dataclass
class Report:
    conforms: bool
    as_of: dt.date
    results: list[Result] = field(default_factory=list)
    # how to build the W3C SHACL validation report graph: built when first asked for (a JSON
    # report does not need it)
    make_graph: Callable[[], Graph] = field(default=Graph, repr=False, compare=False)
    stage: int | None = None
    # how to find the requirements some rule of the run evaluated on at least one focus node (only
    # these can be "met"): asked of the store only when a verdict needs it
    assess: Callable[[], frozenset[str]] = field(default=frozenset, repr=False, compare=False)
    # what each rule assessed, by rule, where the run keeps it (incremental validation): a
    # stage's report drawn from this one (of_stage) starts from it
    parts: dict[str, RuleAssessed] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def graph(self) -> Graph:
        """The W3C SHACL validation report (SHACL 3.6)."""
        return self.make_graph()

    @cached_property
    def assessed(self) -> frozenset[str]:
        return self.assess()

    def counts(self) -> dict[str, int]:
        counts = {name: 0 for name in SEVERITIES.values()}
        for r in self.results:
            counts[r.severity] = counts.get(r.severity, 0) + 1
        return counts

    def to_json(self, assessed: bool = False) -> dict[str, object]:
        """The report as JSON; with `assessed`, also what the rules evaluated, so that from_json
        gives back a report a gap analysis can be drawn from."""
        found: dict[str, object] = {
            "conforms": self.conforms,
            "as_of": self.as_of.isoformat(),
            "stage": self.stage,
            "counts": self.counts(),
            "results": [{**r.as_dict(), "key": r.key} for r in self.results],
        }
        if assessed:
            found["assessed"] = sorted(self.assessed)
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        """A report kept as JSON (to_json(assessed=True)); its W3C report graph is not kept."""
        names = {f.name for f in fields(Result)}

        def result(kept: dict[str, Any]) -> Result:
            given: dict[str, Any] = {k: v for k, v in kept.items() if k in names}
            given["against"] = tuple(given.get("against", ()))
            return Result(**given)

        results = [result(r) for r in data["results"]]
        assessed = frozenset(data.get("assessed", ()))
        return cls(
            bool(data["conforms"]),
            dt.date.fromisoformat(data["as_of"]),
            results,
            stage=data.get("stage"),
            assess=lambda: assessed,
        )


# ---------------------------------------------------------------------- the rules


@cache
def shapes_graph() -> Graph:
    """The built-in rules as written (with $asOf and $lookbackStart unresolved)."""
    g = Graph()
    for path in resources.shape_files():
        g.parse(path)
    return g


@lru_cache(maxsize=8)
def dated_shapes(as_of: dt.date, extra: Graph | None = None, builtin: bool = True) -> Graph:
    """The rules for one day: shared definitions (`%current(...)`, queries.DEFINITIONS) expanded and
    $asOf and $lookbackStart replaced by xsd:date literals in every SPARQL text (terms our code
    makes, never user input), plus any organisation's own rules."""
    g = Graph()
    if builtin:
        g += shapes_graph()
    if extra is not None:
        g += extra
    days = {
        "$asOf": Literal(as_of.isoformat(), datatype=XSD.date).n3(),
        "$lookbackStart": Literal((as_of - LOOKBACK).isoformat(), datatype=XSD.date).n3(),
    }
    for prop in (SH.select, SH.ask):
        for node, text in list(g.subject_objects(prop)):
            dated = queries.expand(str(text))  # the definitions rules share with the queries
            for name, day in days.items():
                dated = dated.replace(name, day)
            if dated != str(text):
                g.set((node, prop, Literal(dated)))
    return g


def checked_shapes(stage: int | None = None, shapes: Graph | None = None) -> list[URIRef]:
    """The rules that matter for an audit stage: stage 1 is the documented system, stage 2 is
    everything (a stage 2 audit also looks at what stage 1 did); None is every rule. A rule of
    an organisation's own that names no stage counts at both."""
    if stage is not None and stage not in STAGES:
        raise ValidationError(f"stage must be 1 or 2, not {stage!r}")
    g = shapes if shapes is not None else shapes_graph()
    wanted = {AIMS.Stage1} if stage == 1 else {AIMS.Stage1, AIMS.Stage2}
    targeted = set(Compiler(g).shapes())
    return sorted(
        s
        for s in targeted
        if isinstance(s, URIRef)
        and (g.value(s, AIMS.auditStage) in wanted or (s, AIMS.auditStage, None) not in g)
    )


def _helper_shapes(shapes: Graph) -> list[URIRef]:
    """Named shapes with no targets that rules reference (sh:node): pySHACL's use_shapes needs them."""
    targeted = set(Compiler(shapes).shapes())
    return sorted(
        s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef) and s not in targeted
    )


# ---------------------------------------------------------------------- facts asked of the store


class Facts:
    """What the verdicts need to know about some nodes of the data, asked of the store in a few
    queries: the control each is about, what a finding was raised against, identifiers."""

    PROPERTIES = (
        AIMS.forControl,
        AIMS.implements,
        AIMS.against,
        RDF.type,
        DCTERMS.identifier,
    )

    def __init__(self, store: Store, nodes: set[Identifier]) -> None:
        self.values: dict[tuple[Identifier, URIRef], list[Identifier]] = {}
        self.in_soa: set[Identifier] = set()
        self._ask(store, {n for n in nodes if isinstance(n, URIRef)})
        controls = {
            c for (_, p), vs in self.values.items() if p in (AIMS.forControl, AIMS.implements) for c in vs
        }
        self._ask(store, {c for c in controls if isinstance(c, URIRef)} - nodes)
        for values in values_blocks(c for c in controls | nodes if isinstance(c, URIRef)):
            rows = store.select(
                f"SELECT DISTINCT ?c WHERE {{ VALUES ?c {{ {values} }} ?entry <{AIMS.forControl}> ?c }}"
            )
            self.in_soa |= {r["c"] for r in rows}

    def _ask(self, store: Store, nodes: set[URIRef]) -> None:
        # the properties as a FILTER, not a second VALUES block: Oxigraph 0.5 joins two VALUES
        # blocks as a cross product first (7.4 s for 3,000 nodes, against 0.06 s this way)
        wanted = ", ".join(p.n3() for p in self.PROPERTIES)
        for values in values_blocks(nodes):
            rows = store.select(
                f"SELECT ?n ?p ?o WHERE {{ VALUES ?n {{ {values} }} ?n ?p ?o FILTER (?p IN ({wanted})) }}"
            )
            for row in rows:
                self.values.setdefault((row["n"], row["p"]), []).append(row["o"])  # type: ignore[arg-type]

    def objects(self, node: Identifier, prop: URIRef) -> list[Identifier]:
        return sorted(self.values.get((node, prop), []), key=str)

    def control_of(self, node: Identifier) -> Identifier | None:
        """The control an SoA entry or a control implementation is about."""
        found = self.objects(node, AIMS.forControl) or self.objects(node, AIMS.implements)
        return found[0] if found else None

    def is_control(self, node: Identifier) -> bool:
        types = set(self.objects(node, RDF.type)) | set(catalogue_graph().objects(node, RDF.type))  # type: ignore[arg-type]
        return bool(types & {AIMS.ReferenceControl, AIMS.OrganisationControl})

    def identifier(self, requirement: Identifier | None) -> str | None:
        """A clause or Annex A number from the catalogue, or an own control's identifier."""
        if requirement is None:
            return None
        number = catalogue_graph().value(requirement, SKOS.notation)  # type: ignore[arg-type]
        if number is not None:
            return str(number)
        own = self.objects(requirement, DCTERMS.identifier)
        return str(own[0]) if own else str(requirement)


@cache
def _leaves(requirement: Node) -> list[Node]:
    """A leaf clause or control itself; a parent clause (6.1, 9.2) as its leaf clauses."""
    catalogue = catalogue_graph()
    if (requirement, RDF.type, AIMS.ClauseRequirement) not in catalogue:
        return [requirement]
    if (requirement, RDF.type, AIMS.LeafClause) in catalogue:
        return [requirement]
    return [
        leaf
        for leaf in catalogue.transitive_subjects(SKOS.broader, requirement)
        if leaf is not None and (leaf, RDF.type, AIMS.LeafClause) in catalogue
    ]


def _node_shape(shapes: Graph, source: Node | None) -> Node | None:
    """The named node shape behind a result's source shape (a property shape is usually a blank node)."""
    if (source, RDF.type, SH.NodeShape) in shapes or source is None:
        return source
    parent = shapes.value(None, SH.property, source)
    return _node_shape(shapes, parent) if parent is not None else source


def assessed_requirements(
    store: Store, shapes: Graph, rules: list[URIRef], scope: str, kept: dict[str, RuleAssessed] | None = None
) -> frozenset[str]:
    """The leaf clauses and controls the given rules evaluated on at least one focus node of the
    organisation's data: only these can be "met".

    Focus nodes of the vocabulary or the catalogue (the 38 Annex A controls "is it in the SoA?")
    do not count, and a control counts only once the SoA has an entry for it, whatever rule
    looked at it: with no SoA, no control is assessed. With no AIMS at all nothing is: absence is
    a finding, not a pass. `kept`: each rule's part found before, by rule, taken where its query
    text is the same (incremental validation keeps those no write since could change), and
    filled with the rest."""
    if not store.ask(f"ASK {{ ?aims a <{AIMS.AIManagementSystem}> }}"):
        return frozenset()
    entries = store.select(f"SELECT DISTINCT ?control WHERE {{ ?entry <{AIMS.forControl}> ?control }}")
    in_soa = {str(row["control"]) for row in entries}
    compiler = Compiler(shapes, store_engine.subclasses_in(store))
    assessed: set[str] = set()
    for rule in rules:
        via = shapes.value(rule, AIMS.requirementPath)
        checks = shapes.value(rule, AIMS.checksRequirement)
        if checks is None:
            continue
        about = f"<{AIMS.forControl}>|<{AIMS.implements}>"
        text = hoist_prefixes(
            f"""SELECT DISTINCT ?req ?control WHERE {{
              {compiler.focus_pattern(rule, scope)}
              FILTER (!STRSTARTS(STR(?this), "{VOCABULARY_PREFIX}"))
              {f"OPTIONAL {{ ?this <{via}> ?req }}" if via is not None else ""}
              OPTIONAL {{ ?this {about} ?control }}
            }}"""
        )
        part = kept.get(str(rule)) if kept is not None else None
        if part is None or part[0] != text:
            rows = store.select(text)
            leaves = {str(leaf) for row in rows for leaf in _leaves(row.get("req") or checks)}  # type: ignore[arg-type]
            controls = {str(row["control"]) for row in rows if row.get("control") is not None}
            part = (text, frozenset(leaves), frozenset(controls))
            if kept is not None:
                kept[str(rule)] = part
        assessed |= part[1] | (part[2] & in_soa)
    catalogue = catalogue_graph()
    # a control, whichever rule looked at it, counts only with an SoA entry
    return frozenset(
        a for a in assessed if a in in_soa or (URIRef(a), RDF.type, AIMS.ReferenceControl) not in catalogue
    )


# ---------------------------------------------------------------------- validation


def system_resources(store: Store, system: URIRef) -> set[Identifier]:
    """The AI system and everything that hangs off it (the `system-resources` named query)."""
    return {row["resource"] for row in queries.run(store, "system-resources", {"system": str(system)})}


def validate(
    source: Store | Graph,
    *,
    as_of: dt.date | None = None,
    stage: int | None = None,
    system: URIRef | None = None,
    focus_nodes: list[Identifier] | None = None,
    inference: str = "none",
    engine: str = "store",
    extra_shapes: Graph | None = None,
    builtin: bool = True,
    timeout: float | None = None,
) -> Report:
    """Validate the data in a store (or an rdflib Graph, put into an in-memory store with the
    catalogue) against the rules; results limited to a stage, a system or focus nodes."""
    if inference not in INFERENCE:
        raise ValidationError(f"inference must be one of {', '.join(INFERENCE)}, not {inference!r}")
    if engine not in ENGINES:
        raise ValidationError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if inference != "none" and engine == "store":
        engine = "pyshacl"  # the store engine does not infer: inference is the reference engine's
    store = _as_store(source, catalogue=builtin)
    as_of = as_of or dt.date.today()
    shapes = dated_shapes(as_of, extra_shapes, builtin)
    rules = checked_shapes(stage, shapes)
    focus: set[Identifier] | None = set(focus_nodes) if focus_nodes is not None else None
    if system is not None:
        if not store.ask(f"ASK {{ {system.n3()} ?p ?o }}"):
            raise ValidationError(f"no AI system {system} in the data")
        within = system_resources(store, system)
        focus = within if focus is None else focus & within
    scope = "" if focus is None else "VALUES ?this { " + " ".join(sorted(t.n3() for t in focus)) + " }\n"

    if engine == "store":
        found = store_engine.run(store, shapes, focus, timeout=timeout, only=set(rules))
        graph = None
    else:
        data = store.rdflib_graph()
        if builtin:
            data += catalogue_graph()
        found, graph = pyshacl_engine.run(
            data, shapes, [*rules, *_helper_shapes(shapes)], None if inference == "none" else inference
        )
        # only the rules' results: pySHACL also reports on helper shapes it was given to follow
        # sh:node references, and a scope keeps the focus nodes within it
        kept = [
            v
            for v in found
            if _node_shape(shapes, v.shape) in set(rules) and (focus is None or v.focus in focus)
        ]
        if len(kept) != len(found):
            found, graph = kept, None
    results = _results(store, shapes, found)
    conforms = not any(r.severity == "Violation" for r in results)
    assess = (lambda: assessed_requirements(store, shapes, rules, scope)) if builtin else frozenset
    make_graph = (
        (lambda: store_engine.report_graph(found, shapes, store)) if graph is None else (lambda: graph)
    )
    return Report(conforms, as_of, results, make_graph, stage, assess)


def of_stage(report: Report, stage: int, store: Store) -> Report:
    """The report of one stage's rules drawn from a report of every rule on the same data and
    day, as validate(stage=...) gives it, without running the rules again (a snapshot's kept
    report gives both stages of its trend point). Its W3C report graph is not drawn."""
    shapes = dated_shapes(report.as_of)
    rules = checked_shapes(stage, shapes)
    wanted = {str(rule) for rule in rules}
    results = [r for r in report.results if r.shape in wanted]
    conforms = not any(r.severity == "Violation" for r in results)
    return Report(
        conforms,
        report.as_of,
        results,
        stage=stage,
        assess=lambda: assessed_requirements(store, shapes, rules, "", report.parts),
        parts=report.parts,
    )


def _as_store(source: Store | Graph, catalogue: bool) -> Store:
    if isinstance(source, Store):
        return source
    from ..store.embedded import EmbeddedStore

    store = EmbeddedStore()
    if catalogue:
        store.ensure_catalogue()
    store.load(source.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], URIRef("urn:aims:validated"))
    return store


_IRI = re.compile(r"https?://[^\s<>\"{}|\\^`]*[^\s<>\"{}|\\^`.,;:)]")  # trailing punctuation is the text's


def _iris_in(messages: Sequence[Node]) -> list[URIRef]:
    """The IRIs a rule put into the result's message (the first message is the one shown)."""
    return [URIRef(m) for text in messages[:1] for m in _IRI.findall(str(text))]


def _for_people(message: str, named: dict[str, Label]) -> str:
    """A message with every IRI a rule put into it replaced by what a person calls the thing:
    "clause 10.2" for a clause, "A.6.2.6" for a control, else its identifier and label."""

    def name(m: re.Match[str]) -> str:
        label = named.get(m.group(0))
        if label is None:
            return m.group(0)
        if label.id and label.iri.startswith(ISO_IRI + "clause-"):
            return f"clause {label.id}"
        if label.id and (label.id in label.text or label.iri.startswith(ISO_IRI)):
            return label.id if label.iri.startswith(ISO_IRI) else label.text
        return f"{label.id} {label.text}" if label.id else label.text

    return _IRI.sub(name, message)


def _results(store: Store, shapes: Graph, found: list[Violation]) -> list[Result]:
    """Results as Result records, with the requirements each counts against, in the standard's order."""
    return in_standard_order(records(store, shapes, found))


def records(store: Store, shapes: Graph, found: list[Violation]) -> list[Result]:
    """One Result record for each violation (in their order), with the requirements it counts against."""
    facts = Facts(store, {v.focus for v in found})
    catalogue = catalogue_graph()
    results = []

    @cache
    def rule_of(source: Node) -> tuple[Node | None, Node | None, Node | None, int | None]:
        """A result's source shape -> its rule, the rule's requirement path, requirement, stage."""
        shape = _node_shape(shapes, source)
        stage_node = shapes.value(shape, AIMS.auditStage)
        stage = int(str(catalogue.value(stage_node, SKOS.notation))) if stage_node is not None else None
        return (
            shape,
            shapes.value(shape, AIMS.requirementPath),
            shapes.value(shape, AIMS.checksRequirement),
            stage,
        )

    named = labels(
        store, {str(n) for v in found for n in (v.focus, *_iris_in(v.messages)) if isinstance(n, URIRef)}
    )
    for v in found:
        shape, via, checks, stage = rule_of(v.shape)
        reported: list[Node] = [*facts.objects(v.focus, via)] if isinstance(via, URIRef) else []
        reported = reported or ([checks] if checks is not None else [])
        # the control the result is about: the focus node's, or the focus node itself (a control
        # missing from the SoA is not met, own or Annex A)
        control = v.focus if facts.is_control(v.focus) else facts.control_of(v.focus)
        against = {str(leaf) for r in reported for leaf in _leaves(r)} | (
            {str(control)} if control else set()
        )
        requirement = reported[0] if reported else None
        results.append(
            Result(
                focus=_written(v.focus),
                path=str(v.path) if isinstance(v.path, URIRef) else None,
                value=_written(v.value) if v.value is not None else None,
                severity=SEVERITIES.get(v.severity, str(v.severity)),  # type: ignore[call-overload]
                message=_for_people(str(v.messages[0]), named) if v.messages else "",
                shape=str(shape),
                requirement=str(requirement) if requirement is not None else None,
                requirement_id=facts.identifier(requirement),  # type: ignore[arg-type]
                stage=stage,
                control=str(control) if control is not None else None,
                control_id=facts.identifier(control),
                against=tuple(sorted(against)),
                label=named[str(v.focus)].text if str(v.focus) in named else None,
                id=named[str(v.focus)].id if str(v.focus) in named else None,
            )
        )
    return results


def in_standard_order(results: list[Result]) -> list[Result]:
    """Results in the standard's order: clauses, then Annex A, then own controls."""
    return sorted(results, key=standard_order)


def standard_order(r: Result) -> tuple[int, str, str, str, str, str, str]:
    return (
        _position(r.requirement),
        r.requirement_id or "",
        r.focus,
        r.path or "",
        r.message,
        r.value or "",
        r.shape,
    )


@cache
def _position(requirement: str | None) -> int:
    ordinal = catalogue_graph().value(URIRef(requirement), AIMS.ordinal) if requirement else None
    return int(str(ordinal)) if ordinal is not None else 10_000  # own controls after Annex A


def _written(node: Node) -> str:
    """An IRI or literal as its text; a blank node as _:id, so that no reader takes it for an IRI."""
    return node.n3() if isinstance(node, BNode) else str(node)
