"""The store engine: compiled SHACL run by the store that holds the data (embedded Oxigraph or a
remote SPARQL 1.1 server), and the W3C validation report built from its rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
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
    compiler = Compiler(shapes, subclasses_in(store))
    scope = ""
    if focus is not None:
        if not focus:
            return []
        scope = "VALUES ?this { " + " ".join(sorted(t.n3() for t in focus)) + " }\n"
    found: list[Violation] = []
    for shape in compiler.shapes():
        if only is not None and shape not in only:
            continue
        checks = [c for c in compiler.checks(shape, scope) if c.query]
        # a shape's core constraints as one query (a UNION, each branch tagged): one round trip
        batched = [c for c in checks if c.body is not None]
        if batched:
            branches = " UNION ".join(f"{{ {c.body} BIND ({i} AS ?check) }}" for i, c in enumerate(batched))
            rows = store.query(
                hoist_prefixes(f"SELECT DISTINCT ?this ?value ?path ?key ?check WHERE {{ {branches} }}"),
                timeout=timeout,
            )
            assert isinstance(rows, Rows)
            by_check: dict[int, list[dict[str, Identifier]]] = {}
            for row in rows:
                by_check.setdefault(int(str(row["check"])), []).append(row)
            for i, check in enumerate(batched):
                found.extend(_violations(check, Rows(rows.variables, by_check.get(i, []))))
        for check in checks:
            if check.body is not None:
                continue
            if check.focus_query is None:
                rows = store.query(hoist_prefixes(check.query), timeout=timeout)
                assert isinstance(rows, Rows)
                found.extend(_violations(check, rows))
                continue
            nodes = store.query(hoist_prefixes(check.focus_query), timeout=timeout)
            assert isinstance(nodes, Rows)
            for node in (row["this"] for row in nodes):
                rows = store.query(hoist_prefixes(substitute_this(check.query, node.n3())), timeout=timeout)
                assert isinstance(rows, Rows)
                found.extend(_violations(check, Rows(rows.variables, [{**r, "this": node} for r in rows])))
    return list(dict.fromkeys(found))  # a result is reported once, however many rows gave it


def subclasses_in(store: Store) -> Callable[[str], list[str]]:
    def subclasses(query: str) -> list[str]:
        rows = store.query(query)
        assert isinstance(rows, Rows)
        return [row["sub"].n3() for row in rows if isinstance(row.get("sub"), URIRef)]

    return subclasses


def _violations(check: Check, rows: Rows) -> list[Violation]:
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
        out.append(
            Violation(
                focus, check.shape, check.component, check.severity, path, value, messages, check.constraint
            )
        )
    return out


def _substitute(message: Literal, row: dict[str, Identifier]) -> Literal:
    """{?name} and {$name} in a message replaced by the row's value (SHACL 5.3.2)."""

    def value(m: re.Match[str]) -> str:
        term = row.get(m.group(1))
        return str(term) if term is not None else m.group(0)

    return Literal(_PLACEHOLDER.sub(value, str(message)), lang=message.language)


def report_graph(violations: list[Violation], shapes: Graph) -> Graph:
    """The W3C SHACL validation report (SHACL 3.6) of the violations."""
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
        if v.path is not None:
            g.add((result, SH.resultPath, v.path))
            _copy_path(shapes, v.path, g)
        for message in v.messages:
            g.add((result, SH.resultMessage, message))
    return g


def _copy_path(shapes: Graph, node: Node, into: Graph) -> None:
    """A path given by blank nodes (sequence, inverse ...) copied from the shapes graph."""
    if not isinstance(node, BNode):
        return
    for p, o in shapes.predicate_objects(node):
        into.add((node, p, o))
        _copy_path(shapes, o, into)
