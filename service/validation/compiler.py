"""SHACL compiled to SPARQL: each constraint of each shape becomes one SELECT over all its focus
nodes at once, so the store that holds the data does the validation (SHACL 1.0, W3C REC 2017:
targets 2.1.3, paths 2.3.1, the core constraint components 4 with their SPARQL definitions, and
SHACL-SPARQL 5, 6).

A query returns one row per violation: ?this (the focus node), ?value, and for SHACL-SPARQL
constraints ?path and any variable a message names. Each core constraint is a boolean test that
is true when it is violated; shapes nested in sh:node, sh:not, sh:and, sh:or, sh:xone and
qualified value shapes become such tests too ("the node violates S"), inside the same query, so
the store decides their conformance as well. What cannot be compiled is refused with ShapeError,
naming the shape and the construct.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from ..store.sparql_text import sparql_code

_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
# XSD types whose lexical form SPARQL can check with a cast (an ill-formed literal fails the cast)
CASTABLE = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.boolean, XSD.dateTime, XSD.date, XSD.string}
INTEGER_RANGES = {
    XSD.byte: (-128, 127), XSD.short: (-32768, 32767), XSD.int: (-(2**31), 2**31 - 1),
    XSD.long: (-(2**63), 2**63 - 1), XSD.unsignedByte: (0, 255), XSD.unsignedShort: (0, 65535),
    XSD.unsignedInt: (0, 2**32 - 1), XSD.unsignedLong: (0, 2**64 - 1),
    XSD.nonNegativeInteger: (0, None), XSD.positiveInteger: (1, None),
    XSD.nonPositiveInteger: (None, 0), XSD.negativeInteger: (None, -1),
}  # fmt: skip
COUNT_LIMIT = 8  # min/max counts up to this are checked with distinct variables, beyond with COUNT


class ShapeError(ValueError):
    """A shape is ill-formed or uses something this engine does not compile; names both."""

    def __init__(self, shape: Node, construct: str) -> None:
        super().__init__(f"shape {_label(shape)}: {construct}")
        self.shape, self.construct = shape, construct


def _label(node: Node) -> str:
    return f"<{node}>" if isinstance(node, URIRef) else f"_:{node}" if isinstance(node, BNode) else node.n3()


@dataclass(frozen=True)
class Check:
    """One compiled constraint: its query and what each result row means."""

    shape: Node  # the source shape
    component: URIRef  # sh:sourceConstraintComponent
    severity: URIRef
    query: str
    messages: tuple[Literal, ...] = ()
    path: Node | None = None  # the shape's sh:path node, reported as sh:resultPath
    constraint: Node | None = None  # sh:sourceConstraint (SHACL-SPARQL)
    reports_value: bool = True
    # a SHACL-SPARQL query that reads $this inside a nested group: run once per focus node (the
    # focus nodes come from `focus_query`) with $this replaced by the node, as SHACL 5.3.1 says
    focus_query: str | None = None
    # a core constraint's group pattern (binding ?this ?value ?path ?key ?via), so that the constraints
    # of a shape can run as one query
    body: str | None = None


@dataclass(frozen=True)
class Constraint:
    """A core constraint as a boolean SPARQL test that is true when it is violated."""

    component: URIRef
    test: str
    per_value: bool  # the test reads the value node variable; otherwise the focus node only
    top: str | None = None  # a pattern for a top-level query whose rows need more bindings (?key ...)
    reports_value: bool | None = None  # sh:value in results: by default, for per-value tests

    def pattern(self, values: str) -> str:
        if self.top is not None:
            return self.top
        return f"{values} FILTER ({self.test})" if self.per_value else f"FILTER ({self.test})"


def term(node: Node) -> str:
    """A node as SPARQL text (rdflib escapes literals; blank nodes in shapes cannot be matched)."""
    if isinstance(node, BNode):
        raise ValueError("blank node")
    return node.n3()


class Compiler:
    """Compiles the shapes of one shapes graph. `focus` optionally limits every query to given nodes."""

    def __init__(
        self,
        shapes: Graph,
        subclasses: Callable[[Node], list[Node]] | None = None,
        many_focus_nodes: bool = True,
        oxigraph: bool = False,
    ) -> None:
        """`subclasses(cls)` gives a class's subclasses, direct or not, as the data states them (an
        ontology loaded with it). With `many_focus_nodes`, correlated EXISTS filters become joins
        (see `exists_as_joins`); a run over a few focus nodes is faster with them as written.
        `oxigraph`: the engine is Oxigraph, where more EXISTS filters become joins (`exists_as_joins`)."""
        self.g = shapes
        self._many = many_focus_nodes
        self._oxigraph = oxigraph
        self._fresh = itertools.count()
        self._stack: list[Node] = []
        self._subclasses = subclasses
        self._classes: dict[Node, list[str]] = {}

    def instance_of(self, var: str, cls: Node) -> str:
        """A pattern: `var` is an instance of `cls` or of one of its subclasses (SHACL 1.5). The
        subclasses are listed, not followed with rdfs:subClassOf*: Virtuoso 7 gets that path wrong
        inside EXISTS, and a list is as fast everywhere."""
        if cls not in self._classes:
            subs = self._subclasses(cls) if self._subclasses else []
            self._classes[cls] = sorted({term(cls), *(term(s) for s in subs if isinstance(s, URIRef))})
        # one pattern per class, not `?t IN (...)` over every rdf:type triple of the store
        classes = self._classes[cls]
        if len(classes) == 1:
            return f"{var} {_TYPE} {classes[0]} ."
        return " UNION ".join(f"{{ {var} {_TYPE} {c} }}" for c in classes)

    # ------------------------------------------------------------------ entry points

    def shapes(self) -> list[Node]:
        """Shapes that have targets (SHACL 2.1.3), in a stable order; deactivated ones left out."""
        g = self.g
        found: set[Node] = set()
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
            found.update(g.subjects(p, None))
        for s in g.subjects(RDF.type, RDFS.Class):
            if (s, RDF.type, SH.NodeShape) in g or (s, RDF.type, SH.PropertyShape) in g:
                found.add(s)
        return sorted((s for s in found if not self._deactivated(s)), key=str)

    def checks(self, shape: Node, scope: str = "") -> list[Check]:
        """Every constraint of a targeted shape (and of its property shapes) as one Check each;
        `scope` (a VALUES ?this block) limits them to some focus nodes."""
        return list(self._shape_checks(shape, self.focus_pattern(shape, scope)))

    def focus_pattern(self, shape: Node, scope: str = "") -> str:
        """A group pattern binding ?this to each focus node of a shape's targets; a `scope` goes
        first inside it, so only the focus nodes in scope are ever looked at."""
        return self._targets(shape, scope)

    def target_classes(self, shape: Node) -> set[Node] | None:
        """The classes (with subclasses) whose instances are a shape's only focus nodes; None when
        it has other kinds of targets."""
        g = self.g
        if any(
            g.value(shape, p) is not None
            for p in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
        ):
            return None
        classes = set(g.objects(shape, SH.targetClass)) | (
            {shape} if (shape, RDF.type, RDFS.Class) in g else set()
        )
        subs = self._subclasses or (lambda c: [])
        return {c for cls in classes for c in (cls, *subs(cls))}

    # ------------------------------------------------------------------ targets

    def _targets(self, shape: Node, scope: str = "") -> str:
        g, parts = self.g, []
        nodes = list(g.objects(shape, SH.targetNode))
        if nodes:
            parts.append("VALUES ?this { " + " ".join(term(n) for n in nodes) + " }")
        classes = list(g.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in g:
            classes.append(shape)
        parts += [self.instance_of("?this", c) for c in classes]
        parts += [f"?this {term(p)} ?any ." for p in g.objects(shape, SH.targetSubjectsOf)]
        parts += [f"?any {term(p)} ?this ." for p in g.objects(shape, SH.targetObjectsOf)]
        for target in g.objects(shape, SH.target):
            select = g.value(target, SH.select)
            if select is None:
                raise ShapeError(
                    shape, "sh:target without sh:select (only SPARQL-based targets are supported)"
                )
            # the scope goes first in the target's own query too: only nodes in scope are looked at
            parts.append("{ " + self._subselect(shape, target, str(select), scope) + " }")
        if not parts:
            raise ShapeError(shape, "no target")
        union = " UNION ".join("{ " + p + " }" for p in parts)
        return "{ SELECT DISTINCT ?this WHERE { " + scope + union + " } }\n"

    # ------------------------------------------------------------------ shapes

    def _deactivated(self, shape: Node) -> bool:
        return self.g.value(shape, SH.deactivated) == Literal(True)

    def _severity(self, shape: Node) -> URIRef:
        severity = self.g.value(shape, SH.severity)
        return severity if isinstance(severity, URIRef) else SH.Violation

    def _shape_checks(self, shape: Node, focus: str) -> Iterator[Check]:
        """Checks of a shape on focus nodes bound by `focus` (a pattern binding ?this)."""
        if self._deactivated(shape):
            return
        g = self.g
        path = g.value(shape, SH.path)
        messages = tuple(m for m in g.objects(shape, SH.message) if isinstance(m, Literal))
        if path is not None:
            values = f"?this {self.path(shape, path)} ?value ."
        else:
            values = "BIND (?this AS ?value)"
        p = self.path(shape, path) if path is not None else None
        for c in self._constraints(shape, "?this", "?value", p):
            body = f"{focus}{c.pattern(values)}"
            query = f"SELECT DISTINCT ?this ?value ?path ?key ?via WHERE {{\n{body}\n}}"
            reports_value = c.per_value if c.reports_value is None else c.reports_value
            yield Check(
                shape,
                c.component,
                self._severity(shape),
                query,
                messages,
                path,
                None,
                reports_value,
                body=body,
            )
        for sparql in g.objects(shape, SH.sparql):
            yield self._sparql_check(shape, sparql, focus, path)
        yield from self._component_checks(shape, focus, path, values)
        if path is not None:  # a property shape's own property shapes apply to its value nodes,
            # once for each node they are values of (?via): SHACL reports a result for each
            focus = (
                "{ SELECT DISTINCT ?this (?parent AS ?via) WHERE { { SELECT DISTINCT (?this AS ?parent) WHERE { "
                + focus
                + f" }} }} ?parent {self.path(shape, path)} ?this }} }}\n"
            )
        for prop in g.objects(shape, SH.property):
            if not self._deactivated(prop):
                yield from self._shape_checks(prop, focus)

    def _sparql_check(self, shape: Node, constraint: Node, focus: str, path: Node | None) -> Check:
        g = self.g
        if g.value(constraint, SH.deactivated) == Literal(True):
            return Check(shape, SH.SPARQLConstraintComponent, self._severity(shape), "", (), path, constraint)
        select = g.value(constraint, SH.select)
        if select is None:
            raise ShapeError(shape, "sh:sparql constraint without sh:select")
        text = str(select)
        if path is not None:
            text = text.replace("$PATH", self.path(shape, path))
        messages = tuple(m for m in g.objects(constraint, SH.message) if isinstance(m, Literal)) or tuple(
            m for m in g.objects(shape, SH.message) if isinstance(m, Literal)
        )
        if reads_this_in_nested_group(text):
            template = self._subselect(shape, constraint, text, substituted=True)
            focus_query = f"SELECT DISTINCT ?this WHERE {{ {focus} }}"
            return Check(
                shape, SH.SPARQLConstraintComponent, self._severity(shape), template, messages, path, constraint,
                focus_query=focus_query,
            )  # fmt: skip
        body = self._subselect(shape, constraint, text, focus)
        messages = tuple(m for m in g.objects(constraint, SH.message) if isinstance(m, Literal)) or tuple(
            m for m in g.objects(shape, SH.message) if isinstance(m, Literal)
        )
        return Check(
            shape, SH.SPARQLConstraintComponent, self._severity(shape), body, messages, path, constraint
        )

    # ------------------------------------------------------------------ SPARQL-based components (SHACL 6)

    def _components(self) -> list[Node]:
        g = self.g
        kinds = set(g.transitive_subjects(RDFS.subClassOf, SH.ConstraintComponent))
        return sorted({c for k in kinds for c in g.subjects(RDF.type, k)}, key=str)

    def _component_checks(self, shape: Node, focus: str, path: Node | None, values: str) -> Iterator[Check]:
        """A SPARQL-based constraint component a shape uses (it has every mandatory parameter):
        its validator with the parameter values substituted as RDF terms."""
        g = self.g
        for component in self._components():
            bindings: dict[str, Node] = {}
            usable = True
            for parameter in g.objects(component, SH.parameter):
                name_path = g.value(parameter, SH.path)
                value = g.value(shape, name_path) if name_path is not None else None
                if value is None:
                    usable = usable and g.value(parameter, SH.optional) == Literal(True)
                elif isinstance(name_path, URIRef):
                    bindings[_local_name(name_path)] = value
            if not usable or not bindings:
                continue
            kind = SH.propertyValidator if path is not None else SH.nodeValidator
            validator = g.value(component, kind) or g.value(component, SH.validator)
            if validator is None:
                raise ShapeError(
                    shape, f"constraint component {_label(component)} has no validator for this shape"
                )
            messages = (
                tuple(m for m in g.objects(validator, SH.message) if isinstance(m, Literal))
                or tuple(m for m in g.objects(component, SH.message) if isinstance(m, Literal))
                or tuple(m for m in g.objects(shape, SH.message) if isinstance(m, Literal))
            )
            ask, select = g.value(validator, SH.ask), g.value(validator, SH.select)
            if ask is not None:
                text = self._with_parameters(shape, str(ask), bindings, path)
                problem = prebinding_violations(text, ("this", "shapesGraph", "currentShape", "value"))
                if problem:
                    raise ShapeError(shape, problem)
                body = _group_body(text)
                if body is None:
                    raise ShapeError(shape, "ASK validator without a group pattern")
                prefixes = self._prefix_lines(shape, validator)
                query = f"{prefixes}\nSELECT DISTINCT ?this ?value WHERE {{\n{focus}{values} FILTER NOT EXISTS {{ {body} }}\n}}"
                yield Check(shape, component, self._severity(shape), query, messages, path, None, True)  # type: ignore[arg-type]
            elif select is not None:
                text = self._with_parameters(shape, str(select), bindings, path)
                if path is None:
                    text = re.sub(r"[?$]value\b", "?this", text)
                query = self._subselect(shape, validator, text, focus)
                yield Check(shape, component, self._severity(shape), query, messages, path, None, True)  # type: ignore[arg-type]
            else:
                raise ShapeError(shape, f"validator of {_label(component)} has neither sh:ask nor sh:select")

    def _with_parameters(self, shape: Node, text: str, bindings: dict[str, Node], path: Node | None) -> str:
        for name, value in bindings.items():
            text = re.sub(rf"[?$]{name}\b", term(value).replace("\\", "\\\\"), text)
        if path is not None:
            text = text.replace("$PATH", self.path(shape, path))
        return text

    # ------------------------------------------------------------------ SHACL-SPARQL text

    def _prefix_lines(self, shape: Node, owner: Node) -> str:
        """PREFIX lines from sh:declare of the sh:prefixes nodes and of what they owl:import."""
        lines = []
        seen: set[Node] = set()
        todo = list(self.g.objects(owner, SH.prefixes))
        while todo:
            ontology = todo.pop()
            if ontology in seen:
                continue
            seen.add(ontology)
            todo += list(self.g.objects(ontology, OWL.imports))
            for declaration in self.g.objects(ontology, SH.declare):
                prefix, namespace = (
                    self.g.value(declaration, SH.prefix),
                    self.g.value(declaration, SH.namespace),
                )
                if prefix is None or namespace is None:
                    raise ShapeError(shape, "sh:declare without sh:prefix and sh:namespace")
                lines.append(f"PREFIX {prefix}: <{namespace}>")
        return "\n".join(sorted(set(lines)))

    def _subselect(
        self, shape: Node, owner: Node, select: str, focus: str = "", substituted: bool = False
    ) -> str:
        """A SHACL-SPARQL SELECT with its prefixes resolved and the focus pattern put first in its
        WHERE clause: pre-binding $this (SHACL 5.3.1) by joining it before anything else runs.
        A query that will have $this `substituted` by each node is left as written."""
        checked = prebinding_violations(select)
        if checked:
            raise ShapeError(shape, checked)
        prefixes = self._prefix_lines(shape, owner)
        text = (prefixes + "\n" + select) if prefixes else select
        text = text.replace("$currentShape", term(shape) if not isinstance(shape, BNode) else "?currentShape")
        open_brace = _where_brace(text)
        if open_brace < 0:
            raise ShapeError(shape, "SPARQL query without a WHERE clause")
        text = text[: open_brace + 1] + "\n" + focus + text[open_brace + 1 :]
        text = self._subclass_paths_listed(text)
        if substituted or not self._many:
            return text
        return exists_as_joins(text, focus_first=bool(focus), oxigraph=self._oxigraph)

    def _subclass_paths_listed(self, query: str) -> str:
        """A triple `?kind rdfs:subClassOf* C .` replaced by `VALUES ?kind { C and its subclasses }`,
        the subclasses read from the store. The same meaning, and it keeps Virtuoso 7 from its
        wrong answers for that path inside NOT EXISTS. (VALUES, not FILTER IN: the filter would
        scan every rdf:type triple of the store.) Left as written for `$this` (substituted by a
        node in some runs) and when a subclass is a blank node (VALUES cannot match one)."""
        if self._subclasses is None:
            return query
        namespaces = {(m.group(1) or ""): m.group(2) for m in _PREFIX.finditer(query)}
        code = sparql_code(query)
        for m in reversed(list(_SUBCLASS_STAR.finditer(query))):
            var, cls = m.group(1), m.group(2)
            if code[m.start()] == " " or var[1:] == "this":
                continue  # inside a comment or string, or the focus node
            if cls.startswith("<"):
                iri = cls[1:-1]
            elif cls.split(":", 1)[0] in namespaces:
                prefix, local = cls.split(":", 1)
                iri = namespaces[prefix] + local
            else:
                continue
            subs = self._subclasses(URIRef(iri))
            if not all(isinstance(c, URIRef) for c in subs):
                continue
            listed = " ".join(sorted({term(URIRef(iri)), *(term(c) for c in subs)}))
            query = query[: m.start()] + f"VALUES {var} {{ {listed} }}" + query[m.end() :]
        return query

    # ------------------------------------------------------------------ paths (SHACL 2.3.1)

    def path(self, shape: Node, path: Node) -> str:
        g = self.g
        if isinstance(path, URIRef):
            return term(path)
        if (path, RDF.first, None) in g:
            members = list(Collection(g, path))
            if len(members) < 2:
                raise ShapeError(shape, "a sequence path needs at least two members")
            return "(" + "/".join(self.path(shape, m) for m in members) + ")"
        for predicate, wrap in (
            (SH.inversePath, "^({})"),
            (SH.zeroOrMorePath, "({})*"),
            (SH.oneOrMorePath, "({})+"),
            (SH.zeroOrOnePath, "({})?"),
        ):
            inner = g.value(path, predicate)
            if inner is not None:
                return wrap.format(self.path(shape, inner))
        alternatives = g.value(path, SH.alternativePath)
        if alternatives is not None:
            members = list(Collection(g, alternatives))
            if len(members) < 2:
                raise ShapeError(shape, "an alternative path needs at least two members")
            return "(" + "|".join(self.path(shape, m) for m in members) + ")"
        raise ShapeError(shape, f"unsupported or ill-formed path {_label(path)}")

    # ------------------------------------------------------------------ components (SHACL 4)

    def _var(self) -> str:
        return f"?v{next(self._fresh)}"

    def _int(self, shape: Node, node: Node) -> int:
        if not isinstance(node, Literal) or not isinstance(node.value, int) or node.value < 0:
            raise ShapeError(shape, f"{_label(node)} is not a non-negative integer")
        return node.value

    def _list(self, shape: Node, node: Node) -> list[Node]:
        if node != RDF.nil and (node, RDF.first, None) not in self.g:
            raise ShapeError(shape, f"{_label(node)} is not an RDF list")
        return list(Collection(self.g, node))

    def violates(self, shape: Node, x: str) -> str:
        """A boolean expression, true iff the node in variable `x` does not conform to `shape`.

        Nested shapes are expressions, not groups: a FILTER in a group of its own cannot see the
        variables of the group around it (SPARQL evaluates groups bottom up), so each test sits in
        a FILTER or an EXISTS next to the pattern that binds what it reads."""
        g = self.g
        if self._deactivated(shape):
            return "false"
        if shape in self._stack:
            raise ShapeError(shape, "recursive shape (its conformance depends on itself)")
        if list(g.objects(shape, SH.sparql)):
            raise ShapeError(
                shape,
                "SHACL-SPARQL constraint in a shape used by sh:node, sh:not, sh:and, sh:or, sh:xone "
                "or a qualified value shape",
            )
        self._stack.append(shape)
        path = g.value(shape, SH.path)
        p = self.path(shape, path) if path is not None else None
        v = self._var() if p is not None else x  # a node shape's value node is the node itself
        terms = []
        for c in self._constraints(shape, x, v, p, nested=True):
            terms.append(f"EXISTS {{ {x} {p} {v} . FILTER ({c.test}) }}" if c.per_value and p else c.test)
        for prop in g.objects(shape, SH.property):
            inner = self._var() if p is not None else None
            if inner is None:
                terms.append(self.violates(prop, x))
            else:
                terms.append(f"EXISTS {{ {x} {p} {inner} . FILTER ({self.violates(prop, inner)}) }}")
        self._stack.pop()
        return "(" + " || ".join(terms) + ")" if terms else "false"

    def _constraints(
        self, shape: Node, f: str, v: str, p: str | None, nested: bool = False
    ) -> Iterator[Constraint]:
        """Each core constraint of a shape (SHACL 4) as a test on focus `f`, value `v`, path `p`."""
        g = self.g

        def value_test(component: URIRef, test: str) -> Constraint:
            return Constraint(component, test, per_value=True)

        def focus_test(
            component: URIRef, test: str, top: str | None = None, reports_value: bool = False
        ) -> Constraint:
            return Constraint(
                component, test, per_value=False, top=None if nested else top, reports_value=reports_value
            )

        for c in g.objects(shape, SH["class"]):
            yield value_test(SH.ClassConstraintComponent, f"NOT EXISTS {{ {self.instance_of(v, c)} }}")
        for d in g.objects(shape, SH.datatype):
            typed = f"isLiteral({v}) && datatype({v}) = {term(d)}"
            lexical = []
            if d in CASTABLE and d != XSD.string:
                # an ill-formed literal fails the cast, and the error makes the whole test false
                lexical.append(
                    f"COALESCE({term(d)}({v}) = {term(d)}({v}) || {term(d)}({v}) != {term(d)}({v}), false)"
                )
            if isinstance(d, URIRef) and d in INTEGER_RANGES:
                low, high = INTEGER_RANGES[d]
                number = f"<{XSD.integer}>(STR({v}))"
                lexical.append(f"COALESCE({number} = {number}, false)")
                lexical += [f"COALESCE({number} >= {low}, false)"] if low is not None else []
                lexical += [f"COALESCE({number} <= {high}, false)"] if high is not None else []
            # the casts only under IF, once the datatype is right: Virtuoso evaluates both sides of
            # && and a failed cast there (xsd:dateTime("January")) fails the whole query
            check = f"IF({typed}, {' && '.join(lexical)}, false)" if lexical else typed
            yield value_test(SH.DatatypeConstraintComponent, f"!({check})")
        for kind in g.objects(shape, SH.nodeKind):
            test = {
                SH.IRI: "isIRI({v})",
                SH.BlankNode: "isBlank({v})",
                SH.Literal: "isLiteral({v})",
                SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
                SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
                SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
            }.get(kind)  # type: ignore[call-overload]
            if test is None:
                raise ShapeError(shape, f"sh:nodeKind {_label(kind)} is not a node kind")
            yield value_test(SH.NodeKindConstraintComponent, "!" + test.format(v=v))
        for prop, op, component in (
            (SH.minExclusive, ">", SH.MinExclusiveConstraintComponent),
            (SH.minInclusive, ">=", SH.MinInclusiveConstraintComponent),
            (SH.maxExclusive, "<", SH.MaxExclusiveConstraintComponent),
            (SH.maxInclusive, "<=", SH.MaxInclusiveConstraintComponent),
        ):
            for bound in g.objects(shape, prop):
                yield value_test(component, f"!COALESCE({v} {op} {term(bound)}, false)")
        for prop, op, component in (
            (SH.minLength, ">=", SH.MinLengthConstraintComponent),
            (SH.maxLength, "<=", SH.MaxLengthConstraintComponent),
        ):
            for n in g.objects(shape, prop):
                yield value_test(
                    component,
                    f"(isBlank({v}) || !COALESCE(STRLEN(STR({v})) {op} {self._int(shape, n)}, false))",
                )
        for pattern in g.objects(shape, SH.pattern):
            flags = g.value(shape, SH.flags)
            args = f"STR({v}), {Literal(str(pattern)).n3()}" + (
                f", {Literal(str(flags)).n3()}" if flags else ""
            )
            yield value_test(
                SH.PatternConstraintComponent, f"(isBlank({v}) || !COALESCE(REGEX({args}), false))"
            )
        for languages in g.objects(shape, SH.languageIn):
            tags = " || ".join(
                f"LANGMATCHES(LANG({v}), {Literal(str(t)).n3()})" for t in self._list(shape, languages)
            )
            yield value_test(SH.LanguageInConstraintComponent, f"(!isLiteral({v}) || !({tags or 'false'}))")
        for members in g.objects(shape, SH["in"]):
            listed = self._list(shape, members)
            # IRIs with IN (term equality for IRIs, and what Virtuoso evaluates right inside
            # EXISTS); literals with sameTerm, since IN compares literals by value
            iris = [term(m) for m in listed if isinstance(m, URIRef)]
            tests = [f"(isIRI({v}) && {v} IN ({', '.join(iris)}))"] if iris else []
            tests += [f"sameTerm({v}, {term(m)})" for m in listed if not isinstance(m, URIRef)]
            yield value_test(SH.InConstraintComponent, f"!({' || '.join(tests) or 'false'})")
        for node_shape in g.objects(shape, SH.node):
            yield value_test(SH.NodeConstraintComponent, self.violates(node_shape, v))
        for negated in g.objects(shape, SH["not"]):
            yield value_test(SH.NotConstraintComponent, f"!{self.violates(negated, v)}")
        for members in g.objects(shape, SH["and"]):
            tests = [self.violates(m, v) for m in self._list(shape, members)]
            yield value_test(SH.AndConstraintComponent, "(" + (" || ".join(tests) or "false") + ")")
        for members in g.objects(shape, SH["or"]):
            tests = [self.violates(m, v) for m in self._list(shape, members)]
            yield value_test(SH.OrConstraintComponent, "(" + (" && ".join(tests) or "true") + ")")
        for members in g.objects(shape, SH.xone):
            tests = [self.violates(m, v) for m in self._list(shape, members)]
            count = " + ".join(f"IF({t}, 0, 1)" for t in tests) or "0"
            yield value_test(SH.XoneConstraintComponent, f"(({count}) != 1)")

        # Over many focus nodes, "has no such value" runs as MINUS (one anti-join) rather than as a
        # NOT EXISTS evaluated for each focus node: at 10,000 systems 32 s against a fraction of one.
        def anti_join(pattern: str) -> str | None:
            return f"MINUS {{ {pattern} }}" if self._many and pattern else None

        for node_value in g.objects(shape, SH.hasValue):
            if p is None:
                yield focus_test(SH.HasValueConstraintComponent, f"!sameTerm({f}, {term(node_value)})")
            else:
                has = f"{f} {p} {term(node_value)} ."
                yield focus_test(SH.HasValueConstraintComponent, f"NOT EXISTS {{ {has} }}", anti_join(has))
        if p is not None:
            for n in g.objects(shape, SH.minCount):
                # over one value only: for more, the pattern lists every tuple of distinct values,
                # which an EXISTS stops at the first of, and a store-wide join would enumerate
                minimum = self._int(shape, n)
                enough = self._distinct(f, p, minimum)
                yield focus_test(
                    SH.MinCountConstraintComponent,
                    f"NOT EXISTS {{ {enough} }}",
                    anti_join(enough) if minimum == 1 else None,
                )
            for n in g.objects(shape, SH.maxCount):
                maximum = self._int(shape, n)
                too_many = self._distinct(f, p, maximum + 1)
                # joined over many focus nodes: one row per offending pair, deduplicated
                yield focus_test(
                    SH.MaxCountConstraintComponent,
                    f"EXISTS {{ {too_many} }}",
                    too_many if self._many and maximum <= 1 else None,
                )
            if g.value(shape, SH.uniqueLang) == Literal(True):
                a, b = self._var(), self._var()
                same = f'{f} {p} {a} . {f} {p} {b} . FILTER (!sameTerm({a}, {b}) && LANG({a}) != "" && LANG({a}) = LANG({b}))'
                # one result for each language used more than once: the language is the row's key
                yield focus_test(
                    SH.UniqueLangConstraintComponent,
                    f"EXISTS {{ {same} }}",
                    top=f"{same} BIND (LANG({a}) AS ?key)",
                )
            yield from self._qualified(shape, f, p, nested)
        for other in g.objects(shape, SH.equals):
            # a value node missing from the other property's values, and the other way round
            yield value_test(SH.EqualsConstraintComponent, f"NOT EXISTS {{ {f} {term(other)} {v} }}")
            o = self._var()
            mine = f"{f} {p} {o}" if p is not None else f"FILTER (sameTerm({o}, {f}))"
            yield focus_test(
                SH.EqualsConstraintComponent,
                f"EXISTS {{ {f} {term(other)} {o} . FILTER NOT EXISTS {{ {mine} }} }}",
                top=f"{f} {term(other)} ?value . FILTER NOT EXISTS {{ {mine.replace(o, '?value')} }}",
                reports_value=True,
            )
        for other in g.objects(shape, SH.disjoint):
            yield value_test(SH.DisjointConstraintComponent, f"EXISTS {{ {f} {term(other)} {v} }}")
        for other, op, component in (
            *((o, "<", SH.LessThanConstraintComponent) for o in g.objects(shape, SH.lessThan)),
            *(
                (o, "<=", SH.LessThanOrEqualsConstraintComponent)
                for o in g.objects(shape, SH.lessThanOrEquals)
            ),
        ):
            if p is None:
                raise ShapeError(shape, f"{component.fragment} needs a property shape")
            o = self._var()
            test = f"EXISTS {{ {f} {term(other)} {o} . FILTER (!COALESCE({v} {op} {o}, false)) }}"
            # a result for each pair of values that fails (SHACL 4.4.3): the other value is the row's key
            pair = f"{f} {p} {v} . {f} {term(other)} ?key . FILTER (!COALESCE({v} {op} ?key, false))"
            yield Constraint(component, test, per_value=True, top=None if nested else pair)
        if g.value(shape, SH.closed) == Literal(True):
            allowed = [
                known
                for prop in g.objects(shape, SH.property)
                if isinstance(known := g.value(prop, SH.path), URIRef)
            ]
            for ignored in g.objects(shape, SH.ignoredProperties):
                allowed += [i for i in self._list(shape, ignored) if isinstance(i, URIRef)]
            q, o = self._var(), self._var()
            outside = f"NOT IN ({', '.join(term(a) for a in allowed)})" if allowed else "NOT IN ()"
            yield focus_test(
                SH.ClosedConstraintComponent,
                f"EXISTS {{ {f} {q} {o} . FILTER ({q} {outside}) }}",
                # the property not allowed is the result's path, its object the value
                top=f"{f} ?path ?value . FILTER (?path {outside})",
                reports_value=True,
            )

    def _distinct(self, f: str, p: str, n: int) -> str:
        """A pattern with solutions iff `f` has at least n distinct values on path p."""
        if n <= 0:
            return ""
        if n > COUNT_LIMIT:
            c = self._var()
            return f"{{ SELECT {f} (COUNT(DISTINCT {c}) AS {c}n) WHERE {{ {f} {p} {c} }} GROUP BY {f} }} FILTER ({c}n >= {n})"
        vs = [self._var() for _ in range(n)]
        triples = " ".join(f"{f} {p} {x} ." for x in vs)
        pairs = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(vs, 2)]
        return triples + (f" FILTER ({' && '.join(pairs)})" if pairs else "")

    def _qualified(self, shape: Node, f: str, p: str, nested: bool) -> Iterator[Constraint]:
        g = self.g
        qualified = g.value(shape, SH.qualifiedValueShape)
        if qualified is None:
            return
        siblings: list[Node] = []
        if g.value(shape, SH.qualifiedValueShapesDisjoint) == Literal(True):
            for parent in g.subjects(SH.property, shape):
                for prop in g.objects(parent, SH.property):
                    sibling = g.value(prop, SH.qualifiedValueShape)
                    if sibling is not None and sibling != qualified:
                        siblings.append(sibling)

        def conforming(n: int) -> str:
            """A pattern with solutions iff at least n distinct values conform (and no sibling)."""
            vs = [self._var() for _ in range(n)]
            parts = []
            for x in vs:
                tests = [f"!{self.violates(qualified, x)}"] + [self.violates(s, x) for s in siblings]
                parts.append(f"{f} {p} {x} . FILTER ({' && '.join(tests)})")
            pairs = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(vs, 2)]
            return " ".join(parts) + (f" FILTER ({' && '.join(pairs)})" if pairs else "")

        for n in g.objects(shape, SH.qualifiedMinCount):
            if self._int(shape, n) > COUNT_LIMIT:
                raise ShapeError(shape, f"sh:qualifiedMinCount above {COUNT_LIMIT}")
            if self._int(shape, n) > 0:
                yield Constraint(
                    SH.QualifiedMinCountConstraintComponent,
                    f"NOT EXISTS {{ {conforming(self._int(shape, n))} }}",
                    False,
                )
        for n in g.objects(shape, SH.qualifiedMaxCount):
            if self._int(shape, n) + 1 > COUNT_LIMIT:
                raise ShapeError(shape, f"sh:qualifiedMaxCount above {COUNT_LIMIT - 1}")
            yield Constraint(
                SH.QualifiedMaxCountConstraintComponent,
                f"EXISTS {{ {conforming(self._int(shape, n) + 1)} }}",
                False,
            )


# ---------------------------------------------------------------------- SHACL-SPARQL text checks


def _local_name(iri: URIRef) -> str:
    return re.split(r"[/#]", str(iri))[-1]


def _group_body(text: str) -> str | None:
    """What is between the outermost braces of an ASK query."""
    plain = sparql_code(text)
    start, end = plain.find("{"), plain.rfind("}")
    return text[start + 1 : end] if 0 <= start < end else None


def _matching_brace(plain: str, start: int) -> int:
    depth = 0
    for i in range(start, len(plain)):
        depth += {"{": 1, "}": -1}.get(plain[i], 0)
        if depth == 0:
            return i
    return len(plain)


def _where_brace(text: str) -> int:
    """The position of the brace that opens the outermost WHERE group of a SELECT."""
    plain = sparql_code(text)
    m = re.search(r"\bSELECT\b", plain, re.IGNORECASE)
    return plain.find("{", m.end()) if m else -1


_PREFIX = re.compile(r"(?<![\w:?$])PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>\s]*)>", re.IGNORECASE)


def hoist_prefixes(query: str) -> str:
    """PREFIX declarations moved to the top: a SHACL-SPARQL text brings its own, but once it is
    nested in a larger query (a SPARQL target, a focus pattern) they must open the whole query."""
    found = {(m.group(1) or "", m.group(2)) for m in _PREFIX.finditer(query)}
    if not found:
        return query
    body = _PREFIX.sub("", query)
    return "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in sorted(found)) + "\n" + body


_SUBCLASS_STAR = re.compile(
    r"(?<![\w?$])([?$]\w+)\s+(?:rdfs:subClassOf|<http://www\.w3\.org/2000/01/rdf-schema#subClassOf>)\*\s+"
    r"(<[^<>\s]+>|[A-Za-z][\w-]*:[\w-]+)\s*\."
)
_LESS_THAN_A_VARIABLE = re.compile(r"<[^<>\s]*[?$][A-Za-z_]")
_EXISTS_FILTER = re.compile(r"\bFILTER\s*(NOT\s+)?EXISTS\s*\{", re.IGNORECASE)
_VARIABLE = re.compile(r"[?$]([A-Za-z_][\w]*)")
_NOT_FLAT = re.compile(r"\b(OPTIONAL|UNION|GRAPH|SERVICE|BIND|VALUES|MINUS|SELECT|EXISTS)\b", re.IGNORECASE)


def _filters_removed(plain: str) -> str:
    """A flat group's text without its FILTER and BIND expressions: what is left are its triple
    patterns (and VALUES blocks)."""
    out, i = [], 0
    for m in re.finditer(r"\b(FILTER|BIND)\b", plain, re.IGNORECASE):
        if m.start() < i:
            continue
        out.append(plain[i : m.start()])
        j = plain.find("(", m.end())
        depth = 0
        while j < len(plain):
            depth += {"(": 1, ")": -1}.get(plain[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    out.append(plain[i:])
    return "".join(out)


def _exists_removed(plain: str) -> str:
    """A group's text without its FILTER EXISTS and FILTER NOT EXISTS filters, at any depth."""
    while m := _EXISTS_FILTER.search(plain):
        close = _matching_brace(plain, m.end() - 1)
        plain = plain[: m.start()] + " " + plain[close + 1 :]
    return plain


def _groups_removed(plain: str) -> str:
    """A group's text without its nested groups (and so without OPTIONAL, UNION, EXISTS parts)."""
    out, depth = [], 0
    for ch in plain:
        depth += ch == "{"
        if depth == 0:
            out.append(ch)
        depth -= ch == "}"
    return "".join(out)


def exists_as_joins(query: str, focus_first: bool = False, oxigraph: bool = False) -> str:
    """Top-level `FILTER NOT EXISTS { C }` and `FILTER EXISTS { C }` of a query whose rows all
    bind ?this (its WHERE clause starts with the focus pattern, or a triple pattern of its own
    top level binds ?this), rewritten as `MINUS { C }` and as a join with
    `{ SELECT DISTINCT ?this WHERE { C } }` where they mean the same: C is a group of triple
    patterns and filters (FILTER EXISTS and NOT EXISTS among them, at any depth) whose only
    variable shared with the rest of the query is ?this (a variable only inside another EXISTS
    filter is that filter's own), which the focus pattern binds in every row and which C's own
    triple patterns bind in every solution. Only for Oxigraph (`oxigraph`: the embedded store or
    `oxigraph serve`, Store.engine): C with EXISTS filters of its own, and C that shares no
    variable at all (the same test for every row), asked once as a count joined to every row;
    Virtuoso 7 overflows its cost model on either ("SQ200 Stack Overflow in cost model", now and
    then, with several graphs in the dataset), so other servers are sent flat groups only.

    Why: Oxigraph 0.5 evaluates a correlated EXISTS afresh for each row (about half a millisecond
    each), and MINUS or a join once: at 1,000 systems one rule took 19 s one way and a tenth of a
    second the other. SHACL forbids MINUS in the rule's own text (pre-binding), not in what the
    engine runs."""
    plain = sparql_code(query)
    start = _where_brace(query)
    if start < 0 or _LESS_THAN_A_VARIABLE.search(query):
        return query  # `?a<?b` could have been read as an IRI, hiding a shared variable
    if not focus_first:
        end = _matching_brace(plain, start)
        top = _filters_removed(_groups_removed(plain[start + 1 : end]))
        if "this" not in _VARIABLE.findall(top):
            return query
    spans: list[tuple[int, int, int, bool]] = []  # (FILTER start, group open, group close, negated)
    depth, i, opened, negated = 0, start, -1, False
    while i < len(plain):
        ch = plain[i]
        if depth == 1 and ch in "Ff" and (m := _EXISTS_FILTER.match(plain, i)):
            opened, negated, i = i, bool(m.group(1)), m.end() - 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 1 and opened >= 0:
                spans.append((opened, plain.index("{", opened), i, negated))
                opened = -1
            if depth == 0:
                break
        i += 1
    for begin, brace, close, negated in reversed(spans):
        inner = plain[brace + 1 : close]
        if not oxigraph and ("{" in inner or _NOT_FLAT.search(inner)):
            continue  # a flat group only: Virtuoso 7 overflows its cost model on the others
        if _NOT_FLAT.search(_groups_removed(_exists_removed(inner))) or re.search(
            r"\bSERVICE\b", inner, re.I
        ):
            continue  # its own level: triple patterns, filters, and FILTER (NOT) EXISTS groups
        # a variable only inside another EXISTS filter is that filter's own: not shared
        rest = _exists_removed(plain[:begin] + plain[close + 1 :])
        shared = set(_VARIABLE.findall(inner)) & set(_VARIABLE.findall(rest))
        group = query[brace + 1 : close]
        if not shared and oxigraph:  # the same test for every row (is there a risk matrix?)
            found = f"?exists{begin}"
            rewritten = (
                f"{{ SELECT (COUNT(*) AS {found}) WHERE {{ {{ SELECT * WHERE {{{group}}} LIMIT 1 }} }} }}"
                f" FILTER ({found} {'=' if negated else '>'} 0)"
            )
            query = query[:begin] + rewritten + query[close + 1 :]
            continue
        if shared != {"this"} or "this" not in _VARIABLE.findall(_filters_removed(_exists_removed(inner))):
            continue
        rewritten = f"MINUS {{{group}}}" if negated else f"{{ SELECT DISTINCT ?this WHERE {{{group}}} }}"
        query = query[:begin] + rewritten + query[close + 1 :]
    return query


def reads_this_in_nested_group(query: str) -> bool:
    """Whether $this appears inside a group nested in the WHERE clause other than an EXISTS
    group: there a focus pattern joined at the start would not bind it (groups are evaluated
    bottom up), so the query is run with $this substituted instead."""
    plain = sparql_code(query)
    start = _where_brace(query)
    if start < 0:
        return False
    stack: list[bool] = []  # for each open group: is it nested (not EXISTS, not the WHERE itself)
    i = start
    while i < len(plain):
        ch = plain[i]
        if ch == "{":
            before = plain[:i].rstrip()
            stack.append(bool(stack) and not re.search(r"\bEXISTS$", before, re.IGNORECASE))
        elif ch == "}":
            stack.pop()
            if not stack:
                return False
        elif any(stack) and re.match(r"[?$]this\b", plain[i:]):
            return True
        i += 1
    return False


def substitute_this(query: str, node_text: str) -> str:
    """The query with $this replaced by a node (SHACL 5.3.1 pre-binding by substitution); a
    projection of $this is dropped (the caller knows the node)."""
    query = re.sub(r"\bBOUND\s*\(\s*[?$]this\s*\)", "(true)", query, flags=re.IGNORECASE)  # it is bound
    plain = sparql_code(query)
    out, last = [], 0
    for m in re.finditer(r"[?$]this\b", plain):
        out.append(query[last : m.start()])
        select = plain.rfind("SELECT", 0, m.start())
        brace = plain.find("{", select) if select >= 0 else -1
        in_projection = select >= 0 and m.start() < brace
        out.append("" if in_projection else node_text)
        last = m.end()
    out.append(query[last:])
    text = "".join(out)
    return re.sub(
        r"\bSELECT(\s+DISTINCT|\s+REDUCED)?(\s*)(WHERE\b|\{)", r"SELECT\1 *\2\3", text, flags=re.IGNORECASE
    )


def prebinding_violations(
    select: str, prebound: tuple[str, ...] = ("this", "shapesGraph", "currentShape")
) -> str | None:
    """The SHACL 5.3.1 rules a query breaks for pre-binding: no MINUS, no VALUES, no SERVICE,
    no nested SELECT that does not project $this, and no assignment (AS, BIND) to a pre-bound
    variable. None when the query may be used."""
    plain = sparql_code(select)
    for keyword in ("MINUS", "VALUES", "SERVICE"):
        if re.search(rf"\b{keyword}\b", plain, re.IGNORECASE):
            return f"SPARQL query uses {keyword}, which SHACL forbids in constraints (pre-binding)"
    if re.search(rf"\bAS\s+[?$]({'|'.join(prebound)})\b", plain):
        return "SPARQL query assigns a pre-bound variable with AS"
    selects = [m.start() for m in re.finditer(r"\bSELECT\b", plain, re.IGNORECASE)]
    for start in selects[1:]:
        projection = plain[start : plain.find("{", start)]
        if not re.search(r"[?$]this\b", projection):
            return "a nested SELECT does not project $this"
    return None
