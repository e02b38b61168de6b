"""The store engine: compiled SHACL run by the store that holds the data (embedded Oxigraph or a
remote SPARQL 1.1 server), and the W3C validation report built from its rows."""

from __future__ import annotations

import dataclasses
import re
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Identifier, Node

from ..store.base import Rows, Store
from .compiler import Check, Compiler, hoist_prefixes, substitute_this

_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")


@dataclass(frozen=True)
class Violation:
    """One validation result as the W3C report states it."""

    focus: Identifier
    shape: Node
    component: URIRef
    severity: URIRef
    path: Node | None  # a shape's path node, or the IRI a SHACL-SPARQL row names
    value: Identifier | None
    messages: tuple[Literal, ...]
    constraint: Node | None
    # what else tells two results of one constraint apart when the fields above agree: a row's
    # ?key (the language of sh:uniqueLang, the other value of sh:lessThan), the node above a
    # nested property shape's focus node (SHACL validates the value nodes once per parent)
    distinct: tuple[Identifier, ...] = ()

    def __post_init__(self) -> None:
        # hashed once: re-validation looks up every kept result (66,000 at 10,000 systems) a few
        # times, and hashing its rdflib terms again each time was a third of its time
        object.__setattr__(self, "_hash", hash(tuple(self.__dict__.values())))  # the fields, in order

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined,no-any-return]


def run(
    store: Store,
    shapes: Graph,
    focus: set[Identifier] | None = None,
    timeout: float | None = None,
    only: set[Node] | None = None,
) -> list[Violation]:
    """Every violation of the targeted shapes in `shapes` (or of those `only` names) over the
    store's data, one query per constraint. `focus` limits the run to those focus nodes (a VALUES
    block in each query): only they are evaluated."""
    scope = ""
    if focus is not None:
        if not focus:
            return []
        scope = "VALUES ?this { " + " ".join(sorted(t.n3() for t in focus)) + " }\n"
    compiled_shapes, target_classes, _ = _compiled(store, shapes, scoped=bool(scope))
    types_in_scope = _types(store, scope) if scope else set()

    def in_scope(shape: Node) -> bool:
        """A scoped run skips shapes with no focus node in scope: nothing to ask the store."""
        classes = target_classes[shape]
        return not scope or classes is None or bool(classes & types_in_scope)

    todo = [
        [_scoped(c, scope) for c in compiled]
        for shape, compiled in compiled_shapes.items()
        if (only is None or shape in only) and in_scope(shape)
    ]
    if scope:  # a few focus nodes: quick queries, where handing them to threads costs more than it saves
        return [v for checks in todo for v in _run_shape(store, checks, timeout)]
    # two shapes at a time: the store evaluates one query while Python reads another's rows
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = [
            v for part in pool.map(lambda checks: _run_shape(store, checks, timeout), todo) for v in part
        ]
    return found


def _run_shape(store: Store, checks: list[Check], timeout: float | None) -> list[Violation]:
    return [v for part in run_checks(store, checks, timeout) for v in part]


def run_checks(store: Store, checks: list[Check], timeout: float | None = None) -> list[list[Violation]]:
    """The violations of each of some checks of one shape (in their order), its core constraints
    asked in one query (incremental.py re-runs some checks and keeps the others' results)."""
    found: dict[int, list[Violation]] = {i: [] for i in range(len(checks))}
    # a shape's core constraints as one query (a UNION, each branch tagged): one round trip
    batched = [c for c in checks if c.body is not None]
    if batched:
        branches = " UNION ".join(f"{{ {c.body} BIND ({i} AS ?check) }}" for i, c in enumerate(batched))
        rows = store.select(
            hoist_prefixes(f"SELECT DISTINCT ?this ?value ?path ?key ?via ?check WHERE {{ {branches} }}"),
            timeout=timeout,
        )
        by_check: dict[int, list[dict[str, Identifier]]] = {}
        for row in rows:
            by_check.setdefault(int(str(row["check"])), []).append(row)
        at = [i for i, c in enumerate(checks) if c.body is not None]
        for i, check in enumerate(batched):
            found[at[i]].extend(_violations(check, Rows(rows.variables, by_check.get(i, []))))
    for n, check in enumerate(checks):
        if check.body is not None:
            continue
        if check.focus_query is None:
            rows = store.select(hoist_prefixes(check.query), timeout=timeout)
            found[n].extend(_violations(check, rows))
            continue
        nodes = store.select(hoist_prefixes(check.focus_query), timeout=timeout)
        for node in (row["this"] for row in nodes):
            rows = store.select(hoist_prefixes(substitute_this(check.query, node.n3())), timeout=timeout)
            found[n].extend(_violations(check, Rows(rows.variables, [{**r, "this": node} for r in rows])))
    return [found[i] for i in range(len(checks))]


# a placeholder for the VALUES block of a scoped run: queries are compiled once per shapes graph,
# store vocabulary and kind of run (whole store or scoped), and the scope is filled in per run
_SCOPE = "VALUES ?this { <urn:aims-graph:scope> }\n"
# checks, target classes, and the pattern that binds each shape's focus nodes (incremental reads it)
Compiled = tuple[dict[Node, list[Check]], dict[Node, set[Node] | None], dict[Node, str]]
# keyed by (scoped, Oxigraph): on Oxigraph (embedded or `oxigraph serve`) more EXISTS filters
# become joins
_COMPILED: weakref.WeakKeyDictionary[
    Graph, dict[tuple[bool, bool], tuple[frozenset[tuple[Node, Node]], Compiled]]
]
_COMPILED = weakref.WeakKeyDictionary()


def _compiled(store: Store, shapes: Graph, scoped: bool) -> Compiled:
    """Every targeted shape's checks (with queries) and target classes, compiled once and kept
    while the shapes graph lives, for the store's subclass relations as they are now."""
    pairs = subclass_pairs(store)
    cache = _COMPILED.setdefault(shapes, {})
    oxigraph = store.engine == "oxigraph"
    key = (scoped, oxigraph)
    if key not in cache or cache[key][0] != pairs:
        compiler = Compiler(shapes, subclasses_from(pairs), many_focus_nodes=not scoped, oxigraph=oxigraph)
        scope = _SCOPE if scoped else ""
        checks = {shape: [c for c in compiler.checks(shape, scope) if c.query] for shape in compiler.shapes()}
        classes = {shape: compiler.target_classes(shape) for shape in checks}
        cache[key] = (
            pairs,
            (checks, classes, {shape: compiler.focus_pattern(shape, scope) for shape in checks}),
        )
    return cache[key][1]


def _types(store: Store, scope: str) -> set[Node]:
    rows = store.select(f"SELECT DISTINCT ?type WHERE {{ {scope} ?this {RDF.type.n3()} ?type }}")
    return {row["type"] for row in rows}


def _scoped(check: Check, scope: str) -> Check:
    if not scope:
        return check
    fill = lambda text: text.replace(_SCOPE, scope) if text else text  # noqa: E731
    return dataclasses.replace(
        check, query=fill(check.query), body=fill(check.body), focus_query=fill(check.focus_query)
    )


def subclass_pairs(store: Store) -> frozenset[tuple[Node, Node]]:
    """The store's rdfs:subClassOf statements, read in one query (no property path: Virtuoso 7
    follows subClassOf+ wrongly in places)."""
    rows = store.select(f"SELECT ?sub ?super WHERE {{ ?sub {RDFS.subClassOf.n3()} ?super }}")
    return frozenset((row["sub"], row["super"]) for row in rows)


def subclasses_from(pairs: frozenset[tuple[Node, Node]]) -> Callable[[Node], list[Node]]:
    """A class's subclasses, direct or not, from subClassOf pairs."""
    direct: dict[Node, set[Node]] = {}
    for sub, sup in pairs:
        direct.setdefault(sup, set()).add(sub)

    def subclasses(cls: Node) -> list[Node]:
        seen: set[Node] = set()
        todo = [cls]
        while todo:
            for sub in direct.get(todo.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        return sorted(seen - {cls}, key=str)

    return subclasses


def subclasses_in(store: Store) -> Callable[[Node], list[Node]]:
    return subclasses_from(subclass_pairs(store))


def _violations(check: Check, rows: Rows) -> list[Violation]:
    """A check's results, each once however many rows gave it; results of different checks are
    kept apart even when they look alike (two sh:class constraints of one shape, a property shape
    reached through two parent shapes: SHACL reports each)."""
    out = []
    for row in rows:
        focus = row.get("this")
        if focus is None:
            continue
        if check.constraint is not None:  # SHACL-SPARQL: ?path and ?value come from the row
            path: Node | None = row.get("path") or check.path
            value = row.get("value", focus if check.path is None else None)
        else:
            path = row.get("path") or check.path
            value = row.get("value") if check.reports_value else None
        messages = tuple(_substitute(m, row) for m in check.messages)
        distinct = tuple(row[k] for k in ("key", "via") if k in row) if check.constraint is None else ()
        out.append(
            Violation(
                focus, check.shape, check.component, check.severity, path, value, messages, check.constraint,
                distinct,
            )
        )  # fmt: skip
    return list(dict.fromkeys(out))


def _substitute(message: Literal, row: dict[str, Identifier]) -> Literal:
    """{?name} and {$name} in a message replaced by the row's value (SHACL 5.3.2)."""

    def value(m: re.Match[str]) -> str:
        term = row.get(m.group(1))
        return str(term) if term is not None else m.group(0)

    return Literal(_PLACEHOLDER.sub(value, str(message)), lang=message.language)


def report_graph(violations: list[Violation], shapes: Graph, store: Store | None = None) -> Graph:
    """The W3C SHACL validation report (SHACL 3.6) of the violations. A blank focus node or value
    comes with its triples from the store's data, as pySHACL gives them: a blank node's label means
    nothing outside the store, its triples tell a reader which node it is (the W3C suite compares
    reports so)."""
    g = Graph()
    g.bind("sh", SH)
    report = BNode()
    g.add((report, RDF.type, SH.ValidationReport))
    g.add((report, SH.conforms, Literal(not violations)))  # SHACL 3.6.1: any result, whatever its severity
    for v in violations:
        result = BNode()
        g.add((report, SH.result, result))
        g.add((result, RDF.type, SH.ValidationResult))
        g.add((result, SH.focusNode, v.focus))
        g.add((result, SH.resultSeverity, v.severity))
        g.add((result, SH.sourceConstraintComponent, v.component))
        g.add((result, SH.sourceShape, v.shape))
        if v.constraint is not None:
            g.add((result, SH.sourceConstraint, v.constraint))
        if v.value is not None:
            g.add((result, SH.value, v.value))
        if store is not None:
            for node in (v.focus, v.value):
                _copy_blank(store, node, g)
        if v.path is not None:
            g.add((result, SH.resultPath, v.path))
            _copy_path(shapes, v.path, g)
        for message in v.messages:
            g.add((result, SH.resultMessage, message))
    return g


def _copy_blank(store: Store, node: Node | None, into: Graph, seen: set[Node] | None = None) -> None:
    """A blank node's triples (and those of the blank nodes they lead to) copied from the store.
    Only the embedded store can name a blank node it gave out; a remote server's blank node labels
    hold for one response, so its blank nodes stay bare."""
    import pyoxigraph as ox

    from ..store.embedded import EmbeddedStore, to_rdflib

    seen = set() if seen is None else seen
    if not isinstance(node, BNode) or node in seen or not isinstance(store, EmbeddedStore):
        return
    seen.add(node)
    for quad in store._store.quads_for_pattern(ox.BlankNode(str(node)), None, None):
        obj = to_rdflib(quad.object)
        into.add((node, to_rdflib(quad.predicate), obj))
        _copy_blank(store, obj, into, seen)


_PATH_KINDS = (SH.inversePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath, SH.alternativePath)


def _copy_path(shapes: Graph, node: Node, into: Graph) -> None:
    """A path given by blank nodes (sequence, inverse ...) copied from the shapes graph: only the
    triples the path was read from, in the compiler's order (a node that is a list is a sequence,
    whatever else it says), so the report states the path that was followed."""
    if not isinstance(node, BNode):
        return
    if (node, RDF.first, None) in shapes:
        for p in (RDF.first, RDF.rest):
            for o in shapes.objects(node, p):
                into.add((node, p, o))
                _copy_path(shapes, o, into)
        return
    for p in _PATH_KINDS:
        inner = shapes.value(node, p)
        if inner is not None:
            into.add((node, p, inner))
            _copy_path(shapes, inner, into)
            return
