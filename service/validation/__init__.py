"""SHACL validation (pySHACL) of organisation data against the conformance shapes.

The ontology and catalogue are mixed into a copy of the data (the store keeps them apart); inference is
off by default (`rdfs` or `owlrl` on request). Date rules are judged "as of" a day (today by
default): the day is added to a copy of the data as an aims:ValidationContext node, so a report
can be reproduced for the day of an audit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import cache

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SH, SKOS, XSD
from rdflib.term import Identifier, Node

from .. import queries, resources
from ..namespaces import AIMS
from ..store.base import catalogue_graph


def _install_prepared_query_cache() -> None:
    """Parse each SPARQL text once per process.

    pySHACL runs a SHACL-SPARQL constraint once per focus node by handing rdflib the query *text*,
    and rdflib parses it every time: on the example that parsing was 70 % of validation. Caching
    the translated query is what rdflib's own prepareQuery does; evaluation with initBindings is
    unchanged, so results are identical (tests/test_validation.py compares both ways).
    """
    from rdflib.plugins.sparql import processor
    from rdflib.plugins.sparql.evaluate import evalQuery
    from rdflib.plugins.sparql.parser import parseQuery

    if getattr(processor.SPARQLProcessor.query, "aims_cached", False):
        return
    original = processor.SPARQLProcessor.query
    cache: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], object] = {}

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):  # type: ignore[no-untyped-def]
        if not isinstance(strOrQuery, str):
            return original(self, strOrQuery, initBindings, initNs, base, DEBUG)
        key = (strOrQuery, base, tuple(sorted((k, str(v)) for k, v in (initNs or {}).items())))
        prepared = cache.get(key)
        if prepared is None:
            prepared = processor.translateQuery(parseQuery(strOrQuery), base, initNs)
            if len(cache) < 4096:
                cache[key] = prepared
        return evalQuery(self.graph, prepared, initBindings, base)

    query.aims_cached = True  # type: ignore[attr-defined]
    query.aims_original = original  # type: ignore[attr-defined]
    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]


_install_prepared_query_cache()

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
STAGES = (1, 2)
INFERENCE = ("none", "rdfs", "owlrl")
LOOKBACK = dt.timedelta(days=365)


class ValidationError(ValueError):
    """Bad validation options (unknown stage or inference)."""


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

    def counts_against(self) -> set[str]:
        """The requirements this result tells against: its own, and the control it is about."""
        return set(self.against)


@dataclass
class Report:
    conforms: bool
    as_of: dt.date
    results: list[Result] = field(default_factory=list)
    graph: Graph = field(default_factory=Graph)  # the W3C SHACL validation report
    stage: int | None = None
    # requirements some rule of the run evaluated on at least one focus node: only these can be "met"
    assessed: frozenset[str] = frozenset()

    def counts(self) -> dict[str, int]:
        counts = {name: 0 for name in SEVERITIES.values()}
        for r in self.results:
            counts[r.severity] += 1
        return counts

    def to_json(self) -> dict[str, object]:
        return {
            "conforms": self.conforms,
            "as_of": self.as_of.isoformat(),
            "stage": self.stage,
            "counts": self.counts(),
            "results": [asdict(r) for r in self.results],
        }


@cache
def shapes_graph() -> Graph:
    g = Graph()
    for path in resources.shape_files():
        g.parse(path)
    return g


def checked_shapes(stage: int | None = None) -> list[URIRef]:
    """The rules that matter for an audit stage: stage 1 is the documented system, stage 2 is
    everything (a stage 2 audit also looks at what stage 1 did); None is every rule."""
    if stage is not None and stage not in STAGES:
        raise ValidationError(f"stage must be 1 or 2, not {stage!r}")
    g = shapes_graph()
    wanted = {AIMS.Stage1} if stage == 1 else {AIMS.Stage1, AIMS.Stage2}
    return sorted(
        s
        for s in g.subjects(AIMS.checksRequirement, None, unique=True)
        if isinstance(s, URIRef) and g.value(s, AIMS.auditStage) in wanted
    )


def _helper_shapes() -> list[URIRef]:
    """Named shapes that check nothing themselves but are referenced (sh:node) by rules."""
    g = shapes_graph()
    return sorted(
        s
        for s in g.subjects(RDF.type, SH.NodeShape)
        if isinstance(s, URIRef) and (s, AIMS.checksRequirement, None) not in g
    )


@cache
def _sparql_prefixes() -> str:
    """The PREFIX lines of aimsh:prefixes, for SPARQL-based targets run outside pySHACL."""
    g = shapes_graph()
    lines = []
    for declaration in g.objects(None, SH.declare):
        lines.append(f"PREFIX {g.value(declaration, SH.prefix)}: <{g.value(declaration, SH.namespace)}>")
    return "\n".join(sorted(set(lines)))


def focus_nodes(shape: Node, data: Graph) -> set[Node]:
    """The focus nodes of a shape's targets in `data` (SHACL 2.1.3 and SHACL-AF SPARQL targets)."""
    g = shapes_graph()
    nodes: set[Node] = set(g.objects(shape, SH.targetNode))
    for cls in g.objects(shape, SH.targetClass):
        for sub in data.transitive_subjects(RDFS.subClassOf, cls):
            nodes.update(data.subjects(RDF.type, sub))
    for p in g.objects(shape, SH.targetSubjectsOf):
        nodes.update(data.subjects(p, None, unique=True))  # type: ignore[arg-type]
    for p in g.objects(shape, SH.targetObjectsOf):
        nodes.update(data.objects(None, p, unique=True))  # type: ignore[arg-type]
    for target in g.objects(shape, SH.target):
        select = g.value(target, SH.select)
        if select is not None:
            rows = data.query(_sparql_prefixes() + "\n" + str(select))
            nodes.update(row[0] for row in rows)  # type: ignore[index]
    return nodes


def _control_of(data: Graph, node: Node) -> Node | None:
    """The control an SoA entry or a control implementation is about."""
    return data.value(node, AIMS.forControl) or data.value(node, AIMS.implements)  # type: ignore[arg-type]


def _is_control(data: Graph, node: Node) -> bool:
    return (node, RDF.type, AIMS.ReferenceControl) in data or (
        node,
        RDF.type,
        AIMS.OrganisationControl,
    ) in data


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


def _requirements(shape: Node, node: Node, data: Graph) -> list[Node]:
    """What a rule's result on `node` is reported against: the values of the shape's
    aims:requirementPath when the node has any (a finding raised against 9.2 and A.6.2.6), else the
    clause or control the shape checks."""
    g = shapes_graph()
    via = g.value(shape, AIMS.requirementPath)
    values = sorted(data.objects(node, via), key=str) if via is not None else []  # type: ignore[arg-type]
    return values or [g.value(shape, AIMS.checksRequirement)]  # type: ignore[list-item]


def assessed_requirements(data: Graph, shapes: list[URIRef], focus: set[Node] | None) -> frozenset[str]:
    """The leaf clauses and controls that the given rules evaluated on at least one focus node of
    the organisation's data (within `focus`): only these can be "met".

    Focus nodes from the catalogue alone (the 38 Annex A controls "is it in the SoA?") do not
    count, and a control counts only once the SoA has an entry for it, whatever rule looked at it:
    with no SoA, no control is assessed. With no AIMS at all nothing is: absence is a finding, not
    a pass."""
    if (None, RDF.type, AIMS.AIManagementSystem) not in data:
        return frozenset()
    catalogue = catalogue_graph()
    assessed: set[str] = set()
    for shape in shapes:
        nodes = focus_nodes(shape, data)
        if focus is not None:
            nodes &= focus
        for node in nodes:
            if (node, None, None) in catalogue:
                continue
            leaves = [leaf for r in _requirements(shape, node, data) for leaf in _leaves(r)]
            control = _control_of(data, node)
            for requirement in [*leaves, *([control] if control is not None else [])]:
                if not _is_control(data, requirement) or (None, AIMS.forControl, requirement) in data:
                    assessed.add(str(requirement))
    return frozenset(assessed)


def system_resources(data: Graph, system: URIRef) -> set[Node]:
    """The AI system and everything that hangs off it (the `system-resources` named query)."""
    query = queries.get("system-resources")
    bindings = query.bindings({"system": str(system)})
    return {row["resource"] for row in data.query(query.text, initBindings=bindings)}  # type: ignore[index,call-overload,misc]


def validate(
    data: Graph,
    *,
    as_of: dt.date | None = None,
    stage: int | None = None,
    system: URIRef | None = None,
    focus_nodes: list[Identifier] | None = None,
    inference: str = "none",
) -> Report:
    """Validate `data` against the shapes; results limited to a stage, a system or focus nodes."""
    if inference not in INFERENCE:
        raise ValidationError(f"inference must be one of {', '.join(INFERENCE)}, not {inference!r}")
    as_of = as_of or dt.date.today()
    data = _with_context(data, as_of)
    focus: set[Node] | None = set(focus_nodes) if focus_nodes is not None else None
    if system is not None:
        if (system, None, None) not in data:
            raise ValidationError(f"no AI system {system} in the data")
        within = system_resources(data, system)
        focus = within if focus is None else focus & within
    shapes = checked_shapes(stage)
    _, report_graph, _ = pyshacl.validate(
        data,
        shacl_graph=shapes_graph(),
        inference=None if inference == "none" else inference,
        advanced=True,
        allow_warnings=True,
        # pySHACL applies use_shapes to sh:node references too, so helper shapes must be named
        use_shapes=[*shapes, *_helper_shapes()],
    )
    results, report_graph = _read(report_graph, data, focus)
    conforms = not any(r.severity == "Violation" for r in results)
    return Report(conforms, as_of, results, report_graph, stage, assessed_requirements(data, shapes, focus))


def _with_context(data: Graph, as_of: dt.date) -> Graph:
    """A copy of the data with the catalogue mixed in (pySHACL mixes its ontology graph in only when
    it infers, but sh:class, targets on catalogue nodes and the rules need it) and the as-of day."""
    copy = Graph()
    copy += data
    copy += catalogue_graph()
    context = BNode()
    copy.add((context, RDF.type, AIMS.ValidationContext))
    copy.add((context, AIMS.asOf, Literal(as_of.isoformat(), datatype=XSD.date)))
    copy.add((context, AIMS.lookbackStart, Literal((as_of - LOOKBACK).isoformat(), datatype=XSD.date)))
    return copy


def _node_shape(shapes: Graph, source: Node | None) -> Node | None:
    """The named node shape behind a result's source shape (a property shape is usually a blank node)."""
    if (source, RDF.type, SH.NodeShape) in shapes:
        return source
    parent = shapes.value(None, SH.property, source)
    return parent if parent is not None else source


def _read(report: Graph, data: Graph, focus: set[Node] | None) -> tuple[list[Result], Graph]:
    """Results as Result records, and the report graph (pruned to the focus set when there is one)."""
    shapes, catalogue = shapes_graph(), catalogue_graph()
    results: list[Result] = []
    dropped: list[Node] = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        focus_node = report.value(node, SH.focusNode)
        if focus is not None and focus_node not in focus:
            dropped.append(node)
            continue
        shape = _node_shape(shapes, report.value(node, SH.sourceShape))
        reported = _requirements(shape, focus_node, data)  # type: ignore[arg-type]
        requirement = reported[0]
        stage_node = shapes.value(shape, AIMS.auditStage)
        # the control the result is about: the focus node's, or the focus node itself (a control
        # missing from the SoA is not met, own or Annex A)
        control = focus_node if _is_control(data, focus_node) else _control_of(data, focus_node)  # type: ignore[arg-type]
        against = {str(leaf) for r in reported for leaf in _leaves(r)} | (
            {str(control)} if control else set()
        )
        path, value = report.value(node, SH.resultPath), report.value(node, SH.value)
        results.append(
            Result(
                focus=str(focus_node),
                path=str(path) if isinstance(path, URIRef) else None,
                value=str(value) if value is not None else None,
                severity=SEVERITIES[report.value(node, SH.resultSeverity)],  # type: ignore[index]
                message=str(report.value(node, SH.resultMessage) or ""),
                shape=str(shape),
                requirement=str(requirement) if requirement is not None else None,
                requirement_id=_identifier(requirement, catalogue, data),
                stage=int(str(catalogue.value(stage_node, SKOS.notation)))
                if stage_node is not None
                else None,
                control=str(control) if control is not None else None,
                control_id=_identifier(control, catalogue, data),
                against=tuple(sorted(against)),
            )
        )
    if dropped:
        report = _prune(report, dropped)

    def standard_order(r: Result) -> tuple[int, str, str, str, str]:
        ordinal = catalogue.value(URIRef(r.requirement), AIMS.ordinal) if r.requirement else None
        position = int(str(ordinal)) if ordinal is not None else 10_000  # own controls after Annex A
        return (position, r.requirement_id or "", r.focus, r.path or "", r.message)

    results.sort(key=standard_order)
    return results, report


def _identifier(requirement: Node | None, catalogue: Graph, data: Graph) -> str | None:
    """A clause or Annex A number from the catalogue, or an own control's identifier (or label)."""
    if requirement is None:
        return None
    for graph, prop in ((catalogue, SKOS.notation), (data, DCTERMS.identifier), (data, RDFS.label)):
        value = graph.value(requirement, prop)  # type: ignore[arg-type]
        if value is not None:
            return str(value)
    return str(requirement)


def _prune(report: Graph, dropped: list[Node]) -> Graph:
    """The report without the dropped results; sh:conforms recomputed."""
    pruned = Graph()
    pruned.namespace_manager = report.namespace_manager
    drop = set(dropped)
    for s, p, o in report:
        if s in drop or o in drop:
            continue
        pruned.add((s, p, o))
    # a dropped result's own blank nodes (paths, values) are left out with it
    for r in drop:
        for s, p, o in report.triples((r, None, None)):
            pruned.remove((s, p, o))
    left = any(True for _ in pruned.subjects(RDF.type, SH.ValidationResult))
    root = pruned.value(None, RDF.type, SH.ValidationReport, any=True)
    if root is not None:
        pruned.set((root, SH.conforms, Literal(not left)))
    return pruned
