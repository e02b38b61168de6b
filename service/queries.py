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
from .store.base import Rows, Store, StoreError
from .store.sparql_text import RDFLIB_PARSER, query_form
from .store.terms import check_iri

PARAM_TYPES = {"IRI", "date", "string", "integer", "boolean"}
_HEADER = re.compile(r"^#\s*(title|description|param):\s*(.*)$")
_PARAM = re.compile(
    r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<type>\w+)(?:=(?P<default>\S+))?\s*(?P<doc>.*)$"
)


class QueryError(ValueError):
    """A named query or its parameters are wrong (unknown name, bad value, syntax error)."""


# Definitions written once and used by the named queries and the rules alike: `%name(?a, ...)` in
# a query or a rule's SPARQL is replaced by the definition with its variables filled in (our own
# text, never user input); a definition may use others. Left unexpanded, `%` is a syntax error,
# so a typo fails loudly. Each is one parenthesised expression (`!%passed(?d)` must parse),
# but %content, %currentevidence and %inscope are graph patterns.
# $asOf is the day judged on, $lookbackStart the day twelve months before.
#
# Dates may be given to the day (xsd:date, xsd:dateTime), the month (xsd:gYearMonth) or the year
# (xsd:gYear). A "from" date (made, performed, approved, issued) counts from the start of its
# period, an "until" or "due" date to its end: each is compared with the day cut to its own
# precision, so no month's end is ever computed. An unbound date reads as "": it has not passed
# and has begun. !(a < b), not a >= b: Virtuoso 7.2 drops rows on >= and <= between dates, and
# COALESCE, not BOUND: Virtuoso evaluates both sides of && and fails on STRLEN of an unbound value.
_DAY = 'SUBSTR(STR(COALESCE({0}, "")), 1, 10)'
_TRIMMED = 'REPLACE(STR({0}), "^\\\\s+|[\\\\s.!]+$", "")'
DEFINITIONS = {
    # an until or due date that has passed by $asOf (due on the day itself is still in time)
    "passed": "%passedon({date}, $asOf)",
    # the same by another day (the evidence register's "expiring": passed by the window's end)
    "passedon": "({d} < SUBSTR(STR({{day}}), 1, STRLEN({d})))".format(d=_DAY.format("{date}")),
    # a from date that has come by $asOf (made on the day itself has)
    "begun": "(!(SUBSTR(STR($asOf), 1, STRLEN({d})) < {d}))".format(d=_DAY.format("{date}")),
    # the first day of a date's period, as text (a year's 1 January, a month's first day)
    "start": (
        '(IF(STRLEN({d}) = 4, CONCAT({d}, "-01-01"), IF(STRLEN({d}) = 7, CONCAT({d}, "-01"), {d})))'
    ).format(d=_DAY.format("{date}")),
    # a from date in the twelve months up to $asOf, its period counted from its start
    "recent": "(%begun({date}) && !(%start({date}) < STR($lookbackStart)))",
    # evidence current on $asOf: not expired by then (?until, its aims:validUntil), and not made
    # after it (?made, its prov:generatedAtTime)
    "current": "(!%passed({until}) && %begun({made}))",
    # the same as a graph pattern on the evidence item itself, for rules (Virtuoso cannot compile
    # OPTIONAL inside the FILTER EXISTS where rules test it)
    "currentevidence": (
        "FILTER NOT EXISTS { {evidence} <https://w3id.org/aims#validUntil> ?until . FILTER (%passed(?until)) }"
        " FILTER NOT EXISTS { {evidence} <http://www.w3.org/ns/prov#generatedAtTime> ?made . FILTER (!%begun(?made)) }"
    ),
    # a risk the AIMS must treat: carried by no system (an organisation-wide risk), or by at least
    # one system not excluded from the AIMS scope (a graph pattern)
    "inscope": (
        "FILTER NOT EXISTS { ?carrier <https://w3id.org/aims#hasRisk> {risk} ."
        " FILTER NOT EXISTS { ?kept <https://w3id.org/aims#hasRisk> {risk} ."
        " FILTER NOT EXISTS { ?excluded <https://w3id.org/aims#scopeSubject> ?kept ;"
        " <https://w3id.org/aims#inScope> false } } }"
    ),
    # a day as a number (the Julian day of a YYYY-MM-DD date, by integer arithmetic every engine
    # has), so that deadlines in days can be compared: %daynumber(?b) - %daynumber(?a) > 15
    "daynumber": (
        "({d} + FLOOR((153 * ({m} + 12 * FLOOR((14 - {m}) / 12) - 3) + 2) / 5)"
        " + 365 * ({y} + 4800 - FLOOR((14 - {m}) / 12)) + FLOOR(({y} + 4800 - FLOOR((14 - {m}) / 12)) / 4)"
        " - FLOOR(({y} + 4800 - FLOOR((14 - {m}) / 12)) / 100) + FLOOR(({y} + 4800 - FLOOR((14 - {m}) / 12)) / 400) - 32045)"
    ).format(
        y="xsd:integer(SUBSTR(STR({date}), 1, 4))",
        m="xsd:integer(SUBSTR(STR({date}), 6, 2))",
        d="xsd:integer(SUBSTR(STR({date}), 9, 2))",
    ),
    # a text that says something: not blank, and not a placeholder of the vocabulary's list
    # (aims:PlaceholderText), compared ignoring case and surrounding spaces, dots and "!". A graph
    # pattern (two filters), not an expression: Virtuoso cannot compile NOT EXISTS inside && there
    "content": (
        "FILTER (STRLEN({t}) > 0) FILTER NOT EXISTS {{ <https://w3id.org/aims#PlaceholderText>"
        " <https://w3id.org/aims#placeholder> ?placeholder . FILTER (LCASE({t}) = ?placeholder) }}"
    ).format(t=_TRIMMED.format("{text}")),
}
_USE = re.compile(r"%(?P<name>[a-z]+)\((?P<args>[^()%]*)\)")
_SLOT = re.compile(r"\{(\w+)\}")  # a variable's place in a definition


def expand(text: str) -> str:
    """`text` with every `%name(?a, ...)` replaced by its definition (DEFINITIONS)."""

    def one(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in DEFINITIONS:
            raise QueryError(f"no definition %{name}; known: {', '.join(sorted(DEFINITIONS))}")
        definition = DEFINITIONS[name]
        names = list(dict.fromkeys(_SLOT.findall(definition)))
        args = [a.strip() for a in m["args"].split(",")]
        if len(args) != len(names):
            raise QueryError(f"%{name} takes {len(names)} variables, not {m['args']!r}")
        given = dict(zip(names, args, strict=True))
        return _SLOT.sub(lambda slot: given[slot[1]], definition)

    for _ in range(5):  # definitions use definitions, a few levels deep
        expanded = _USE.sub(one, text)
        if expanded == text:
            return text
        text = expanded
    raise QueryError("definitions nest too deep")


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

    def default_term(self, today: dt.date | None = None) -> Identifier | None:
        if self.default is None:
            return None
        if self.default == "today":  # the day the caller judges on (a snapshot's), else today
            return Literal((today or dt.date.today()).isoformat(), datatype=XSD.date)
        return self.to_term(self.default)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    description: str
    text: str
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    def bindings(self, values: dict[str, str], today: dt.date | None = None) -> dict[str, Identifier]:
        """Checked RDF terms for every parameter: the given value, else the default; QueryError
        for an unknown or missing parameter."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryError(f"query {self.name!r} has no parameter {', '.join(unknown)}")
        terms: dict[str, Identifier] = {}
        for p in self.parameters:
            term = p.to_term(values[p.name]) if p.name in values else p.default_term(today)
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


def parse(path: Path, check: bool = True) -> NamedQuery:
    """Read one query file; QueryError if its header or (`check`) its SPARQL is malformed."""
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
    if check:
        try:
            with RDFLIB_PARSER:
                prepareQuery(text, initNs=PREFIXES)
        except Exception as e:  # rdflib raises pyparsing errors and others
            raise QueryError(f"{path.name}: SPARQL syntax error: {e}") from e
    return NamedQuery(path.stem, header["title"], header.get("description", ""), text, tuple(params))


@cache
def catalogue() -> dict[str, NamedQuery]:
    """Every named query, its header read once. Their SPARQL is checked by `checked()` (the
    service's start, the tests): rdflib takes 0.2-0.3 s a query, which a command naming one query
    should not pay for all of them."""
    return {q.name: q for q in (parse(path, check=False) for path in resources.query_files())}


@cache
def checked() -> dict[str, NamedQuery]:
    """Every named query with its SPARQL checked: QueryError names the first that is malformed."""
    return {q.name: q for q in map(parse, resources.query_files())}


def get(name: str) -> NamedQuery:
    try:
        return catalogue()[name]
    except KeyError:
        raise QueryError(f"no named query {name!r}; known: {', '.join(sorted(catalogue()))}") from None


def run(
    store: Store,
    name: str,
    params: dict[str, str] | None = None,
    timeout: float | None = None,
    today: dt.date | None = None,
) -> Rows:
    """The rows of a named query with its parameters checked and bound as RDF terms: the one way
    the service, the pages, the reports and the command line run one. A date parameter whose
    default is today takes `today` (a snapshot's day) when given."""
    query = get(name)
    if query_form(query.text) != "SELECT":
        raise QueryError(f"query {name!r} is not a SELECT query")
    return store.select(query.text, query.bindings(params or {}, today), timeout)
