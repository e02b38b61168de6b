"""Named SPARQL queries: loads queries/*.rq, reads their headers, validates parameters.

A query file opens with `#` lines:

    # title: Trace a risk
    # description: A risk, its treatment, the controls that carry it out and their evidence.
    # param: $risk IRI  the risk to trace
    # param: $asOf date=today  the day validity is judged on

Parameters become RDF terms here (IRIs checked, literals typed); each store binds them its own
way (Oxigraph substitutions, an inline VALUES block on a remote server), never by pasting text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdflib import Literal
from rdflib.namespace import XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Identifier

from . import resources
from .namespaces import PREFIXES
from .store.base import RDFLIB_PARSER, Rows, Store, StoreError, check_iri

PARAM_TYPES = {"IRI", "date", "string", "integer", "boolean"}
_HEADER = re.compile(r"^#\s*(title|description|param):\s*(.*)$")
_PARAM = re.compile(
    r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<type>\w+)(?:=(?P<default>\S+))?\s*(?P<doc>.*)$"
)


class QueryError(ValueError):
    """A named query or its parameters are wrong (unknown name, bad value, syntax error)."""


# Definitions written once and used by the named queries and the rules alike: `%name(?a, ?b)` in a
# query or a rule's SPARQL is replaced by the definition with its variables filled in (our own
# text, never user input). Left unexpanded, `%` is a syntax error, so a typo fails loudly.
DEFINITIONS = {
    # Evidence is current on the day $asOf when it has not expired by then and was not made after
    # it. ?until is its aims:validUntil and ?made its prov:generatedAtTime (either may be unbound).
    # Dates may be given to the day, the month or the year: "valid until 2027-01" lasts to the end
    # of January and "made in 2026-12" counts from the month's first day, so each is compared with
    # the day cut to its own precision. !(a < b), not a >= b: Virtuoso 7.2 drops rows on >= and <=.
    "current": (
        "(!({u} < SUBSTR(STR($asOf), 1, STRLEN({u}))) && !(SUBSTR(STR($asOf), 1, STRLEN({m})) < {m}))".format(
            # an unbound date reads as "", which is neither expired nor in the future (COALESCE, not
            # BOUND: Virtuoso evaluates both sides of && and fails on STRLEN of an unbound value)
            u='SUBSTR(STR(COALESCE({until}, "")), 1, 10)',
            m='SUBSTR(STR(COALESCE({made}, "")), 1, 10)',
        )
    ),
}
_USE = re.compile(r"%(?P<name>[a-z]+)\((?P<args>[^()]*)\)")


def expand(text: str) -> str:
    """`text` with every `%name(?a, ?b)` replaced by its definition (DEFINITIONS)."""

    def one(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in DEFINITIONS:
            raise QueryError(f"no definition %{name}; known: {', '.join(sorted(DEFINITIONS))}")
        definition = DEFINITIONS[name]
        names = re.findall(r"{(\w+)}", definition)
        args = [a.strip() for a in m["args"].split(",")]
        if len(args) != len(dict.fromkeys(names)):
            raise QueryError(f"%{name} takes {len(dict.fromkeys(names))} variables, not {m['args']!r}")
        return definition.format(**dict(zip(dict.fromkeys(names), args, strict=True)))

    return _USE.sub(one, text)


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None
    description: str

    def to_term(self, raw: str) -> Identifier:
        """The value as an RDF term of this parameter's type, or QueryError naming the problem."""
        if self.type == "IRI":
            try:
                return check_iri(raw)
            except StoreError:
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not an absolute IRI") from None
        if self.type == "date":
            try:
                return Literal(dt.date.fromisoformat(raw).isoformat(), datatype=XSD.date)
            except ValueError:
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not a date (YYYY-MM-DD)") from None
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?\d+", raw):
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not an integer")
            return Literal(int(raw), datatype=XSD.integer)
        if self.type == "boolean":
            if raw not in ("true", "false"):
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not true or false")
            return Literal(raw == "true", datatype=XSD.boolean)
        return Literal(raw)

    def default_term(self) -> Identifier | None:
        if self.default is None:
            return None
        if self.default == "today":
            return Literal(dt.date.today().isoformat(), datatype=XSD.date)
        return self.to_term(self.default)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    description: str
    text: str
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    def bindings(self, values: dict[str, str]) -> dict[str, Identifier]:
        """Checked RDF terms for every parameter: the given value, else the default; QueryError
        for an unknown or missing parameter."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryError(f"query {self.name!r} has no parameter {', '.join(unknown)}")
        terms: dict[str, Identifier] = {}
        for p in self.parameters:
            term = p.to_term(values[p.name]) if p.name in values else p.default_term()
            if term is None:
                raise QueryError(f"query {self.name!r} needs parameter {p.name!r} ({p.type})")
            terms[p.name] = term
        return terms

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "parameters": [
                {"name": p.name, "type": p.type, "default": p.default, "description": p.description}
                for p in self.parameters
            ],
        }


def parse(path: Path) -> NamedQuery:
    """Read one query file; QueryError if its header or its SPARQL is malformed."""
    text = expand(path.read_text(encoding="utf-8"))
    header: dict[str, str] = {}
    params: list[Parameter] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        m = _HEADER.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "param":
            pm = _PARAM.match(value)
            if not pm or pm["type"] not in PARAM_TYPES:
                raise QueryError(f"{path.name}: bad parameter line {value!r}")
            params.append(Parameter(pm["name"], pm["type"], pm["default"], pm["doc"].strip()))
        else:
            header[key] = value
    if "title" not in header:
        raise QueryError(f"{path.name}: the header has no '# title:' line")
    try:
        prepareQuery(text, initNs=PREFIXES)
    except Exception as e:  # rdflib raises pyparsing errors and others
        raise QueryError(f"{path.name}: SPARQL syntax error: {e}") from e
    return NamedQuery(path.stem, header["title"], header.get("description", ""), text, tuple(params))


@cache
def catalogue() -> dict[str, NamedQuery]:
    """Every named query, parsed once (the service does it at start)."""
    with RDFLIB_PARSER:
        return {q.name: q for q in map(parse, resources.query_files())}


def get(name: str) -> NamedQuery:
    try:
        return catalogue()[name]
    except KeyError:
        raise QueryError(f"no named query {name!r}; known: {', '.join(sorted(catalogue()))}") from None


def run(store: Store, name: str, params: dict[str, str] | None = None, timeout: float | None = None) -> Rows:
    """The rows of a named query with its parameters checked and bound as RDF terms: the one way
    the service, the pages, the reports and the command line run one."""
    query = get(name)
    result = store.query(query.text, query.bindings(params or {}), timeout)
    if not isinstance(result, Rows):
        raise QueryError(f"query {name!r} is not a SELECT query")
    return result
