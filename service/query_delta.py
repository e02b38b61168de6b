"""A query's rows after a write, from its rows before: only the rows of the items the write
reached are asked again. An item is what the query's first variable names (a register's risk,
implementation, document), with one row or several.

Worked out from the query's algebra (rdflib's), and sound because of what it declines:
- a change reaches an item only through a triple pattern with the item at one end (the item's
  own properties, or what points at it); a change a pattern further out can match (a treatment's
  option, an evidence item's date) gives None;
- the rows are ordered by the item (an ORDER BY naming it) and by nothing a changed pattern can
  bind, in its optional group too, so an item's rows keep their place: they are put back where
  they were, and its old rows must have been next to each other;
- an item with no rows before gives None: where its rows go is for the query's ORDER BY to say;
- grouping must be by the item; a subquery, VALUES, LIMIT or OFFSET, a SERVICE, FILTER EXISTS
  or NOT EXISTS, or a predicate that is a variable give None.
None means: run the query whole."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdflib import BNode, URIRef, Variable
from rdflib.paths import Path
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Identifier

from .namespaces import PREFIXES
from .store.base import Rows, Store
from .store.sparql_text import RDFLIB_PARSER
from .validation.incremental import Touch

MOST_ITEMS = 50  # items asked again one by one; past that, the whole query is the quicker
# a subquery or VALUES, LIMIT/OFFSET, SERVICE; and EXISTS, whose pattern rdflib keeps as it was
# parsed (translated only when evaluated), where these patterns would be missed
_DECLINED = {
    "ToMultiSet",
    "Slice",
    "ServiceGraphPattern",
    "Builtin_EXISTS",
    "Builtin_NOTEXISTS",
    "TriplesBlock",
}
_OUTERMOST = {"SelectQuery", "Project"}  # the query's own; below it, a subquery


@dataclass(frozen=True)
class _Plan:
    item: str
    at: dict[URIRef, frozenset[str]]  # predicate -> where the item is in the patterns: "s", "o", "far"
    ordering: frozenset[URIRef]  # predicates whose patterns can change what the rows are ordered by


def updated(
    store: Store, text: str, bindings: dict[str, Identifier], before: Rows, touched: list[Touch]
) -> Rows | None:
    """The rows of the query `text` (with `bindings`) now, from `before` and the changes since
    (incremental.touches); None when that cannot be told (see the module's text)."""
    plan = _plan(text)
    if plan is None or plan.item in bindings:  # a parameter naming the item: one item's query
        return None
    items: set[Identifier] = set()
    for t in touched:
        where = plan.at.get(t.predicate)
        if t.inner or (where is not None and t.subject is None):
            return None  # a blank node's triples: no name to ask its rows by
        if where is None:
            continue
        if "far" in where or t.predicate in plan.ordering:
            return None
        if "s" in where:
            items.add(t.subject)  # type: ignore[arg-type]
        if "o" in where:
            if isinstance(t.object, BNode):
                return None
            items.add(t.object)  # an IRI, or a literal a query groups by (a risk level)
    if len(items) > MOST_ITEMS:
        return None
    fresh = {item: store.select(text, {**bindings, plan.item: item}).rows for item in items}
    rows: list[dict[str, Any]] = []
    placed: set[Identifier] = set()
    previous = None
    for row in before.rows:
        item = row.get(plan.item)
        if item is None:
            return None
        if item in items:
            if item in placed and item != previous:
                return None  # its rows were apart: where each goes is not known here
            if item not in placed:
                rows.extend(fresh[item])
                placed.add(item)
        else:
            rows.append(row)
        previous = item
    if any(fresh[item] for item in items - placed):
        return None
    return Rows(before.variables, rows)


@lru_cache(maxsize=256)
def _plan(text: str) -> _Plan | None:
    try:
        with RDFLIB_PARSER:
            root = translateQuery(parseQuery(text), initNs=PREFIXES).algebra
    except Exception:  # noqa: BLE001 - rdflib raises pyparsing errors and others: the query runs whole
        return None
    if root.name != "SelectQuery" or not root.get("PV"):
        return None
    item = root["PV"][0]
    found = _Walk(item)
    try:
        found.visit(root.p, frozenset(), top=True)
    except _Declined:
        return None
    order = found.closure(found.ordered)
    if item not in found.ordered or found.grouped is not None and item not in found.grouped:
        return None
    at: dict[URIRef, set[str]] = {}
    ordering: set[URIRef] = set()
    for predicate, where, group in found.patterns:
        at.setdefault(predicate, set()).add(where)
        if (group & order) - {item}:
            ordering.add(predicate)
    return _Plan(str(item), {p: frozenset(w) for p, w in at.items()}, frozenset(ordering))


class _Declined(Exception):
    pass


class _Walk:
    """The triple patterns of an algebra, with where the item is in each and the variables of
    the optional group each sits in; what the rows are ordered and grouped by; what BIND and
    aggregates make of which variables."""

    def __init__(self, item: Variable) -> None:
        self.item = item
        self.patterns: list[tuple[URIRef, str, frozenset[Variable]]] = []
        self.ordered: set[Variable] = set()
        self.grouped: set[Variable] | None = None
        self.made: dict[Variable, set[Variable]] = {}

    def visit(self, node: Any, group: frozenset[Variable], top: bool = False) -> None:
        if isinstance(node, CompValue):
            if node.name in _DECLINED or (node.name in _OUTERMOST and not top):
                raise _Declined(node.name)
            if node.name == "BGP":
                for s, p, o in node["triples"]:
                    self._pattern(s, p, o, group)
                return
            if node.name == "LeftJoin":  # an OPTIONAL: its own group, whose variables it may leave unbound
                self.visit(node.p1, group)
                self.visit(node.p2, group | frozenset(node.p2.get("_vars", ())))
                self.visit(node.get("expr"), group)
                return
            if node.name == "OrderBy":
                for condition in node["expr"]:
                    self.ordered |= _variables(condition)
            elif node.name == "Group":
                self.grouped = set(node.get("expr") or ())
            elif node.name == "Extend":
                self.made.setdefault(node["var"], set()).update(_variables(node["expr"]))
            elif node.name.startswith("Aggregate_"):
                self.made.setdefault(node["res"], set()).update(_variables(node.get("vars")))
            for key, value in node.items():
                if key != "_vars":
                    self.visit(value, group, top=top and key == "p")
        elif isinstance(node, list | tuple):
            for value in node:
                self.visit(value, group)

    def _pattern(self, s: Any, p: Any, o: Any, group: frozenset[Variable]) -> None:
        own = frozenset(v for v in (s, o) if isinstance(v, Variable))
        if isinstance(p, Path):  # each IRI of a path: a pattern whose ends are not known here
            for iri in _path_iris(p):
                self.patterns.append((iri, "far", group | own))
            return
        if not isinstance(p, URIRef):
            raise _Declined("a variable predicate")
        where = "s" if s == self.item else "o" if o == self.item else "far"
        self.patterns.append((p, where, group | own))

    def closure(self, variables: set[Variable]) -> frozenset[Variable]:
        """The variables these are made from, through BIND and aggregates, and themselves."""
        seen, todo = set(variables), list(variables)
        while todo:
            for source in self.made.get(todo.pop(), ()):
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return frozenset(seen)


def _variables(node: Any) -> set[Variable]:
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        found = set(node.get("_vars") or ())
        for key, value in node.items():
            if key != "_vars":
                found |= _variables(value)
        return found
    if isinstance(node, list | tuple):
        return set().union(*(_variables(v) for v in node)) if node else set()
    return set()


def _path_iris(path: Any) -> set[URIRef]:
    if isinstance(path, URIRef):
        return {path}
    found: set[URIRef] = set()
    for value in vars(path).values():
        for part in value if isinstance(value, list | tuple) else [value]:
            if isinstance(part, URIRef | Path):
                found |= _path_iris(part)
    return found
