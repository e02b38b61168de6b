"""Incremental validation: after a write, only the checks the write can reach are asked again,
and the results kept for the others stand.

What a check can read is worked out from its SPARQL text (the compiled query, as the store runs
it): every IRI in it, as a predicate or a class it may read. A check whose text puts a variable
(or a negated property set) where a predicate goes can read anything: it runs after every write.
One where rdf:type is followed by anything but a constant IRI (`?this a ?kind`, a path) reads any
type. A change (s, p, o) reaches a check when p is among its IRIs (for rdf:type: and o too,
unless it reads any type); a blank node written into a change as a text (history._folded) reaches
it through the IRIs in that text. This over-approximates what SPARQL can read, so re-running the
reached checks and keeping the rest gives what a full run would.

Finer, for the core constraints of a shape's own properties that read only the focus node's own
triples (sh:minCount, sh:datatype ... on a simple path, targets by class, node or subjects-of; or
any targets, SPARQL ones too, that read nothing the write changed): a write is asked again only
for the subjects it changed (the store engine's scope).

Rules that read the day ($asOf, $lookbackStart) compile to a different text each day: on a new
day only the checks whose text changed run again. What the results say about their focus nodes
(labels, controls, requirements) is worked out again for the nodes the write changed.

A write it cannot reason about (changes not listed, a subclass changed, a blank node's text cut
short) is validated in full, and the log says so."""

from __future__ import annotations

import datetime as dt
import logging
import re
from bisect import insort
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Identifier, Node

from .. import history
from ..store.base import Store
from . import (
    Report,
    Result,
    RuleAssessed,
    assessed_requirements,
    checked_shapes,
    dated_shapes,
    in_standard_order,
    records,
    standard_order,
    store_engine,
)
from .compiler import Check
from .store_engine import Violation

log = logging.getLogger(__name__)

Key = tuple[Node, int]  # a targeted shape and a check's place among its checks

# ---------------------------------------------------------------------- what a check reads

_TOKENS = re.compile(
    r"""(?P<iri><[^<>"{}|^`\\\s]*>)
    |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<comment>\#[^\n]*)
    |(?P<var>[?$]\w+)
    |(?P<pname>(?:[A-Za-z][\w\-.]*)?:(?:[\w\-:%]|\.(?=[\w\-:%]))*)
    |(?P<blank>_:\w+)
    |(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    |(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<word>[A-Za-z_]\w*)
    |(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].;,/|^*+?!=<>\-])
    |(?P<space>\s+)""",
    re.VERBOSE,
)
_PREFIX = re.compile(r"PREFIX\s+([A-Za-z][\w\-.]*)?:\s*<([^>]*)>", re.IGNORECASE)
# where a triple starts: a token after which the next term is a subject
_STARTS = {"{", "}", ".", ")"}  # a triple begins after these
_TERM_KINDS = {"iri", "pname", "var", "blank"}
_ENDS = {".", ";", ",", "}", "]", ")"}


@dataclass(frozen=True)
class Reads:
    """What a check's text can read: these predicates; rdf:type only with these classes (None:
    any class)."""

    predicates: frozenset[URIRef]
    classes: frozenset[URIRef] | None


class Unreadable(ValueError):
    """A text whose reads cannot be told: the check runs again after every write."""


def _tokens(text: str, prefixes: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The text's tokens (kind, text), IRIs written out in full (`<...>`), without spaces,
    comments or strings' contents."""
    known = dict(prefixes or {})
    known.update({p or "": iri for p, iri in _PREFIX.findall(text)})
    out: list[tuple[str, str]] = []
    at, declaring = 0, 0  # a PREFIX or BASE declaration's terms name no data
    while at < len(text):
        m = _TOKENS.match(text, at)
        if m is None:
            raise Unreadable(f"unexpected text at {text[at : at + 20]!r}")
        at = m.end()
        kind = m.lastgroup or ""
        token = m.group()
        if kind in ("space", "comment"):
            continue
        if kind == "word" and token.upper() in ("PREFIX", "BASE"):
            declaring = 2 if token.upper() == "PREFIX" else 1
            continue
        if declaring:
            declaring -= 1
            continue
        if kind == "pname":
            prefix, _, local = token.partition(":")
            if prefix not in known or "\\" in local:
                raise Unreadable(f"unknown prefix in {token}")
            kind, token = "iri", f"<{known[prefix]}{local}>"
        elif kind == "iri" and ":" not in token:
            raise Unreadable(f"relative IRI {token}")
        elif kind == "word" and token == "a":
            kind, token = "iri", f"<{RDF.type}>"
        out.append((kind, token))
    return out


@lru_cache(maxsize=2048)
def reads(text: str) -> Reads | None:
    """What a query text can read, or None when that cannot be told (a variable or a negated
    property set in a predicate's place, a text this reader does not know)."""
    try:
        tokens = _tokens(text)
    except Unreadable:
        return None
    iris = frozenset(URIRef(t[1:-1]) for kind, t in tokens if kind == "iri")
    any_class = False
    kinds = [kind if kind in _TERM_KINDS else t for kind, t in tokens]
    kinds.append("}")
    kinds.append("}")
    for i, (kind, token) in enumerate(tokens):
        before = kinds[i - 1] if i else "{"
        two_before = kinds[i - 2] if i > 1 else "{"
        # a variable where a predicate goes (`{ ?s ?p ?o`, `; ?p`, `[ ?p`, `] ?p`): reads any predicate
        if kind == "var" and (before in (";", "[", "]") or (before in _TERM_KINDS and two_before in _STARTS)):
            return None
        # a negated property set (`!<p>`, `!(<p>|^<q>)`): reads every other predicate
        if token == "!" and (
            kinds[i + 1] in ("iri", "^") or (kinds[i + 1] == "(" and kinds[i + 2] in ("iri", "^"))
        ):
            return None
        if kind == "word" and token.upper() == "SERVICE":
            return None
        # rdf:type followed by anything but a constant class (`?this a ?kind`, a path): any type
        if token == f"<{RDF.type}>" and (
            kinds[i + 1] != "iri" or kinds[i + 2] not in _ENDS or before in ("/", "|", "^", "(")
        ):
            any_class = True
    return Reads(iris, None if any_class else iris)


def _check_reads(check: Check) -> Reads | None:
    text = check.query + "\n" + (check.focus_query or "")
    return reads(text)


# the core constraints that read the focus node's own triples only (a value's own properties,
# sh:class, sh:node, logical and qualified constraints read further)
_LOCAL = {
    SH.MinCountConstraintComponent, SH.MaxCountConstraintComponent, SH.DatatypeConstraintComponent,
    SH.NodeKindConstraintComponent, SH.MinExclusiveConstraintComponent, SH.MinInclusiveConstraintComponent,
    SH.MaxExclusiveConstraintComponent, SH.MaxInclusiveConstraintComponent, SH.MinLengthConstraintComponent,
    SH.MaxLengthConstraintComponent, SH.PatternConstraintComponent, SH.LanguageInConstraintComponent,
    SH.InConstraintComponent, SH.HasValueConstraintComponent, SH.UniqueLangConstraintComponent,
    SH.EqualsConstraintComponent, SH.DisjointConstraintComponent, SH.LessThanConstraintComponent,
    SH.LessThanOrEqualsConstraintComponent, SH.ClosedConstraintComponent,
}  # fmt: skip


def local(shapes: Graph, shape: Node, check: Check, same_targets: bool = False) -> bool:
    """Whether a check's results for a focus node depend on that node's own triples only: a core
    constraint above of the targeted shape or of one of its property shapes with a predicate for
    a path, the shape's targets all of the focus node's own triples (a class, a node, subjects of),
    or any targets when the write cannot reach what they read (`same_targets`: the focus nodes
    are the ones they were)."""
    if check.body is None or check.component not in _LOCAL:
        return False
    if not same_targets and any(shapes.value(shape, p) is not None for p in (SH.targetObjectsOf, SH.target)):
        return False
    if check.shape != shape and (
        (shape, SH.property, check.shape) not in shapes or shapes.value(shape, SH.path) is not None
    ):
        return False  # a property shape's own property shapes: their focus nodes are its values
    return check.path is None or isinstance(check.path, URIRef)


# ---------------------------------------------------------------------- what a write changed


@dataclass(frozen=True)
class Touch:
    """One change as the checks see it: its subject (None: a node without a name) and the IRIs
    of its predicate and object (with those of a blank node written into it as a text)."""

    subject: URIRef | None
    predicate: URIRef
    object: Identifier
    inner: frozenset[URIRef]  # IRIs inside a blank node written as a text, at unnamed subjects


_PREFIXES = {p: str(ns) for p, ns in history._names.namespaces()}


def touches(changes: Iterable[history.Change]) -> list[Touch]:
    """The changes as Touch records; Unreadable for one that cannot be reasoned about."""
    out = []
    for c in changes:
        if c.predicate == RDFS.subClassOf:
            raise Unreadable("a subclass relation changed: the rules' targets are compiled from them")
        inner: frozenset[URIRef] = frozenset()
        if isinstance(c.object, Literal) and str(c.object).startswith("[ ") and c.object.datatype is None:
            if "[ … ]" in str(c.object):
                raise Unreadable("a blank node nested too deep for the history to list")
            inner = frozenset(
                URIRef(t[1:-1]) for kind, t in _tokens(str(c.object), _PREFIXES) if kind == "iri"
            )
        subject = c.subject if isinstance(c.subject, URIRef) else None
        out.append(Touch(subject, c.predicate, c.object, inner))
    return out


def reach(r: Reads | None, touched: list[Touch]) -> set[URIRef] | None:
    """The subjects whose changes reach a check that reads `r`; None when the check must run on
    every focus node (it reads anything, or a change at a node without a name reaches it)."""
    if r is None:
        return None if touched else set()
    subjects: set[URIRef] = set()
    for t in touched:
        if t.inner & r.predicates:
            return None  # a blank node's own triples changed: no name to scope a run by
        if t.predicate not in r.predicates:
            continue
        if t.predicate == RDF.type and r.classes is not None and t.object not in r.classes:
            continue
        if t.subject is None:
            return None
        subjects.add(t.subject)
    return subjects


# ---------------------------------------------------------------------- kept results


@dataclass
class Kept:
    """One validation's report and what an incremental one needs of it."""

    report: Report
    shapes: Graph
    pairs: frozenset[tuple[Node, Node]]
    checks: dict[Key, Check]
    found: dict[Key, list[Violation]]
    results: dict[Violation, Result]
    rerun: int = 0  # checks asked again (all of them for a full run)
    scoped: int = 0  # of which for some focus nodes only
    # what each rule evaluated, for the report's assessed requirements (filled when first asked)
    assessed: dict[str, RuleAssessed] = field(default_factory=dict)


def _keyed(store: Store, shapes: Graph, stage: int | None) -> tuple[dict[Key, Check], frozenset]:  # type: ignore[type-arg]
    only = set(checked_shapes(stage, shapes))
    compiled = store_engine._compiled(store, shapes, scoped=False)[0]
    checks = {(shape, i): c for shape, cs in compiled.items() if shape in only for i, c in enumerate(cs)}
    return checks, store_engine.subclass_pairs(store)


def _by_shape(keys: Iterable[Key]) -> dict[Node, list[int]]:
    grouped: dict[Node, list[int]] = {}
    for shape, i in keys:
        grouped.setdefault(shape, []).append(i)
    return grouped


def _run(
    store: Store, checks: dict[Key, Check], keys: Iterable[Key], timeout: float | None
) -> dict[Key, list[Violation]]:
    """The violations of the given checks over every focus node, a shape's checks in one query."""
    grouped = list(_by_shape(keys).items())

    def one(item: tuple[Node, list[int]]) -> dict[Key, list[Violation]]:
        shape, places = item
        found = store_engine.run_checks(store, [checks[(shape, i)] for i in places], timeout)
        return {(shape, i): f for i, f in zip(places, found, strict=True)}

    if len(grouped) <= 2:
        parts = [one(item) for item in grouped]
    else:  # as store_engine.run: the store evaluates one query while Python reads another's rows
        with ThreadPoolExecutor(max_workers=2) as pool:
            parts = list(pool.map(one, grouped))
    return {k: v for part in parts for k, v in part.items()}


def _paired(scoped: dict[Node, list[Check]], key: Key, check: Check) -> bool:
    """Whether the check compiled for a scoped run at the same place is the same constraint."""
    others = scoped.get(key[0], [])
    other = others[key[1]] if key[1] < len(others) else None
    return other is not None and (other.shape, other.component, other.path) == (
        check.shape,
        check.component,
        check.path,
    )


def _run_scoped(
    store: Store, shapes: Graph, scopes: dict[Key, set[URIRef]], timeout: float | None
) -> dict[Key, list[Violation]]:
    """The violations of local checks on some focus nodes each, checks with the same nodes together."""
    compiled = store_engine._compiled(store, shapes, scoped=True)[0]
    together: dict[tuple[Node, frozenset[URIRef]], list[int]] = {}
    for (shape, i), nodes in scopes.items():
        together.setdefault((shape, frozenset(nodes)), []).append(i)
    out: dict[Key, list[Violation]] = {}
    for (shape, scope_nodes), places in together.items():
        scope = "VALUES ?this { " + " ".join(sorted(n.n3() for n in scope_nodes)) + " }\n"
        checks = [store_engine._scoped(compiled[shape][i], scope) for i in places]
        for i, found in zip(places, store_engine.run_checks(store, checks, timeout), strict=True):
            out[(shape, i)] = found
    return out


def _report(
    store: Store,
    shapes: Graph,
    stage: int | None,
    as_of: dt.date,
    found: dict[Key, list[Violation]],
    results: dict[Violation, Result],
    assessed: dict[str, RuleAssessed],
    before: list[Result] | tuple[()] = (),
) -> tuple[Report, dict[Violation, Result]]:
    """The report of the violations (Result records for any not in `results` worked out now);
    its assessed requirements from the rules' parts in `assessed`, which it fills. `before`: the
    last report's results, in order, which most of these are."""
    every = [v for key in sorted(found, key=lambda k: (str(k[0]), k[1])) for v in found[key]]
    new = list(dict.fromkeys(v for v in every if v not in results))
    results = {**results, **dict(zip(new, records(store, shapes, new), strict=True))}
    listed = _in_order([results[v] for v in every], before)
    rules = checked_shapes(stage, shapes)
    conforms = not any(r.severity == "Violation" for r in listed)
    report = Report(
        conforms,
        as_of,
        listed,
        lambda: store_engine.report_graph(every, shapes, store),
        stage,
        lambda: assessed_requirements(store, shapes, rules, "", assessed),
        assessed,
    )
    return report, results


def _in_order(results: list[Result], before: list[Result] | tuple[()]) -> list[Result]:
    """`results` in the standard's order, given the last report's in that order: those kept keep
    their places and the new ones are put in theirs (sorting all again, 66,000 at 10,000 systems,
    was a third of a re-validation)."""
    left = Counter(map(id, results))  # the same result objects are kept from report to report
    ordered = []
    for r in before:
        if left[id(r)]:
            left[id(r)] -= 1
            ordered.append(r)
    new = []
    for r in results:
        if left[id(r)]:
            left[id(r)] -= 1
            new.append(r)
    if len(new) > len(results) // 8:  # mostly new: sorting them all is the quicker
        return in_standard_order(results)
    for r in new:
        insort(ordered, r, key=standard_order)
    return ordered


def validate(store: Store, as_of: dt.date, stage: int | None = None, timeout: float | None = None) -> Kept:
    """A full validation (as validation.validate with the store engine) with what is kept of it."""
    shapes = dated_shapes(as_of)
    checks, pairs = _keyed(store, shapes, stage)
    found = _run(store, checks, checks, timeout)
    store_engine._compiled(store, shapes, scoped=True)  # compiled now, not on the first write
    assessed: dict[str, RuleAssessed] = {}
    report, results = _report(store, shapes, stage, as_of, found, {}, assessed)
    return Kept(report, shapes, pairs, checks, found, results, len(checks), assessed=assessed)


def revalidate(
    store: Store,
    kept: Kept,
    as_of: dt.date,
    changes: list[history.Change] | None,
    stage: int | None = None,
    timeout: float | None = None,
) -> Kept:
    """The validation after `changes` (the writes since `kept` was worked out, in order) on the day
    `as_of`, from the results kept: only the checks the changes (or the new day) reach run again.
    `changes` None or history.TooMany (not listed): a full run."""
    if changes is None or isinstance(changes, history.TooMany):
        log.info("full validation: a write's changes were not listed")
        return validate(store, as_of, stage, timeout)
    try:
        touched = touches(changes)
    except Unreadable as e:
        log.info("full validation: %s", e)
        return validate(store, as_of, stage, timeout)
    shapes = dated_shapes(as_of)
    checks, pairs = _keyed(store, shapes, stage)
    if pairs != kept.pairs:
        log.info("full validation: the store's subclass relations changed")
        return validate(store, as_of, stage, timeout)
    whole: list[Key] = []
    scopes: dict[Key, set[URIRef]] = {}
    scoped = store_engine._compiled(store, shapes, scoped=True)[0]
    targets = store_engine._compiled(store, shapes, scoped=False)[2]
    for key, check in checks.items():
        before = kept.checks.get(key)
        if before is None or before.query != check.query or before.focus_query != check.focus_query:
            whole.append(key)  # a rule that reads the day, on another day (or a rule not kept)
            continue
        subjects = reach(_check_reads(check), touched)
        if subjects is None or (
            subjects
            and not (
                local(shapes, key[0], check, reach(reads(targets[key[0]]), touched) == set())
                and _paired(scoped, key, check)
            )
        ):
            whole.append(key)
        elif subjects:
            scopes[key] = subjects
    found = {key: kept.found[key] for key in checks if key not in whole and key not in scopes}
    found.update(_run(store, checks, whole, timeout))
    for key, fresh in _run_scoped(store, shapes, scopes, timeout).items():
        found[key] = [v for v in kept.found[key] if v.focus not in scopes[key]] + fresh
    # what a result says of its nodes (labels, controls, requirements, the IRIs its message names)
    # is asked again when a write changed them
    changed = {str(t.subject) for t in touched if t.subject is not None}

    results = kept.results
    if changed:
        results = {
            v: r
            for v, r in results.items()
            if not (
                r.focus in changed
                or r.control in changed
                or r.requirement in changed
                or (v.messages and any(c in v.messages[0] for c in changed))
            )
        }
    # a rule's assessed part stands when no change reaches the query that found it
    assessed = {rule: part for rule, part in kept.assessed.items() if reach(reads(part[0]), touched) == set()}
    report, results = _report(store, shapes, stage, as_of, found, results, assessed, kept.report.results)
    return Kept(
        report, shapes, pairs, checks, found, results, len(whole) + len(scopes), len(scopes), assessed
    )


__all__ = ["Kept", "Reads", "reach", "reads", "revalidate", "touches", "validate"]
