"""SPARQL text: reading it as the SPARQL lexer does (comments, strings and IRIs blanked), the
limits on a client's text, the form of a query, the WHERE clauses of an update, and values bound
inline."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from rdflib.term import Identifier

from .base import InputRefused, StoreError
from .terms import sparql_term

# The lexical grammar of SPARQL 1.1 (section 19.8) for what can hide a brace, a keyword or a '#':
# an escape in a prefixed name (ex:z\#, not a comment), comments, the four kinds of string, and an
# IRI as the grammar allows one (no spaces, braces or quotes: 1<2)}#> is a comparison, not an IRI).
_COMMENT_OR_STRING = re.compile(
    r"\\."
    r"|#[^\n\r]*"
    r'|"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'
    r"|'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
    r'|"(?:\\.|[^"\\\n\r])*"'
    r"|'(?:\\.|[^'\\\n\r])*'"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
)


VALUES_SIZE = 400  # terms per VALUES block: Virtuoso refuses a block of some thousands (SP030)


def values_blocks(terms: Iterable[Identifier]) -> list[str]:
    """The terms, sorted and each once, as the bodies of VALUES blocks of at most VALUES_SIZE
    terms each (a query per block): written as checked RDF terms, never as text."""
    written = sorted({sparql_term(t) for t in terms})
    return [" ".join(written[i : i + VALUES_SIZE]) for i in range(0, len(written), VALUES_SIZE)]


def sparql_code(text: str) -> str:
    """SPARQL text with its comments, strings and IRIs blanked (same length), so that keywords
    and braces can be found in what is left."""
    return _COMMENT_OR_STRING.sub(lambda m: " " * len(m.group(0)), text)


# keywords, not the same letters in a prefixed name (PREFIX where: <...>, ex:where)
_UPDATE_TOKEN = re.compile(r"[{}]|(?<![\w:.-])(?:PREFIX|BASE|WHERE)(?![\w:.-])", re.IGNORECASE)
RDFLIB_PARSER = threading.Lock()  # rdflib's SPARQL parser (pyparsing) is not safe on two threads at once

# Limits on SPARQL text from clients, checked before any parser sees it (see sparql_text): rdflib's
# parser takes about a millisecond per term of an expression and overflows Python's stack near 24
# nested parentheses; Oxigraph's crashed on blank nodes nested 10,000 deep.
MAX_SPARQL_CHARS = 256 * 1024  # bulk data goes through the Graph Store protocol
MAX_SPARQL_NESTING = 20  # ( [ { open at once
MAX_SPARQL_OPERATORS = 1_000  # operators inside parentheses (expressions and paths), in all
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# an operator; a hyphen before a letter is part of a name (ex:risk-owner)
_OPERATOR = re.compile(r"\|\||&&|!=|<=|>=|[-+*/|=<>!](?![A-Za-z_])")
_KEYWORD_RUN = re.compile(r"(?<![\w:.?$@-])(SERVICE|LOAD)(?![\w:.-])", re.IGNORECASE)


def sparql_text(text: str) -> str:
    """A client's SPARQL text as every parser here reads it alike, or InputRefused (413 past a
    limit, 400 otherwise). Codepoint escapes (\\uXXXX) are expanded first, as SPARQL 1.1 section
    19.2 says and rdflib does (Oxigraph does not); then every line end Oxigraph accepts (CR, CRLF)
    becomes LF, the only one rdflib's comments end at: a '#' comment hides the same text from both,
    and what the checks read is what Oxigraph runs. A CR inside a long string is kept as the
    escape \\r. Oxigraph's lexer ends comments at LF and CR only and takes only space, tab, LF and
    CR as white space (every code point was tried with pyoxigraph 0.5)."""
    if len(text) > MAX_SPARQL_CHARS:
        raise InputRefused(
            f"the SPARQL text has {len(text):,} characters; at most {MAX_SPARQL_CHARS:,} "
            "(send data through /graph-store)", 413,
        )  # fmt: skip

    def codepoint(m: re.Match[str]) -> str:
        value = int(m.group(1) or m.group(2), 16)
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise InputRefused(f"{m.group(0)} is not a Unicode code point")
        return chr(value)

    text = _CODEPOINT.sub(codepoint, text)
    if re.search(r"\\u[0-9a-f]{4}", text, re.IGNORECASE):  # what rdflib would expand
        # an escape that spells another escape would be expanded once more by rdflib, not by Oxigraph
        raise InputRefused("a codepoint escape (\\u) that writes another escape is refused")

    def line_ends(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.startswith(('"""', "'''")):
            return token.replace("\r", "\\r")
        return "\n" if token.startswith("\r") else token

    text = re.sub(_COMMENT_OR_STRING.pattern + r"|\r\n?", line_ends, text).replace("\r", "\n")
    code = sparql_code(text)
    depth = deepest = operators = 0
    for char in code:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_SPARQL_NESTING:
        raise InputRefused(f"brackets nested {deepest} deep; at most {MAX_SPARQL_NESTING}", 413)
    depth = 0
    for m in re.finditer(r"[()]|" + _OPERATOR.pattern, code):
        token = m.group(0)
        if token in "()":
            depth += 1 if token == "(" else -1
        elif depth > 0:
            operators += 1
    if operators > MAX_SPARQL_OPERATORS:
        raise InputRefused(f"{operators:,} operators in expressions; at most {MAX_SPARQL_OPERATORS:,}", 413)
    return text


def refused_keyword(text: str) -> str | None:
    """SERVICE or LOAD written as a keyword in `text` (outside comments, strings and IRIs), read
    by this module's own lexer: a second reading, independent of rdflib's, that must also miss it."""
    m = _KEYWORD_RUN.search(sparql_code(text))
    return m.group(1).upper() if m else None


_DECLARED = re.compile(r"\s*(?:[^\s:<]*:)?\s*<[^<>\s]*>")


def where_clauses(update: str) -> list[tuple[str, str]]:
    """For each WHERE of an update's operations, in order: the prologue (PREFIX and BASE lines)
    in force there, and the group `{ ... }` it reads. Read from the text with comments, strings
    and IRIs blanked, so that neither can hide a brace or a keyword."""
    code = sparql_code(update)
    prologue: list[str] = []
    found: list[tuple[str, str]] = []
    depth = 0
    for m in _UPDATE_TOKEN.finditer(code):
        token = m.group(0)
        if token in "{}":
            depth += 1 if token == "{" else -1
            continue
        if depth:
            continue  # a subquery's WHERE, or a keyword inside a group
        if token.upper() in ("PREFIX", "BASE"):
            declared = _DECLARED.match(update, m.end())
            if declared:
                prologue.append(update[m.start() : declared.end()])
            continue
        start = m.end() + len(code[m.end() :]) - len(code[m.end() :].lstrip())
        if code[start : start + 1] != "{":
            raise StoreError("a WHERE without its group { ... }")
        level = 0
        for end in range(start, len(code)):
            level += {"{": 1, "}": -1}.get(code[end], 0)
            if level == 0:
                found.append(("\n".join(prologue), update[start : end + 1]))
                break
        else:
            raise StoreError("a WHERE group that is never closed")
    return found


# a query form's keyword, not the same letters in a name (?select, ex:ask, PREFIX select: <...>)
_FORM = re.compile(r"(?<![\w:.?$@-])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:.-])", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first of these keywords outside comments, strings
    and IRIs; StoreError for text that is none of them (an update, say)."""
    m = _FORM.search(sparql_code(sparql))
    if not m:
        raise StoreError("not a SPARQL query (no SELECT, ASK, CONSTRUCT or DESCRIBE)")
    return m.group(1).upper()


_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def inline_values(sparql: str, bindings: dict[str, Identifier] | None) -> str:
    """The query with `VALUES (?a ?b) { (<iri> "lit"^^xsd:date) }` opening its WHERE clause.

    The values are RDF terms (IRIs checked, literals escaped by rdflib's n3()), so no user text
    reaches the query. One mechanism for every store: Virtuoso rejects rdflib's trailing VALUES
    and Oxigraph's substitutions need the variable projected.
    """
    if not bindings:
        return sparql
    names = list(bindings)
    block = (
        "VALUES ("
        + " ".join(f"?{n}" for n in names)
        + ") { ("
        + " ".join(sparql_term(bindings[n]) for n in names)
        + ") }\n"
    )
    offset = 0
    for line in sparql.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            m = _WHERE.search(line)
            if m:
                at = offset + m.end()
                return sparql[:at] + "\n  " + block + sparql[at:]
        offset += len(line)
    raise StoreError("a query with parameters needs an explicit WHERE { ... } clause")
