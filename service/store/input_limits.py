"""Limits on RDF documents, checked before any parser of the store sees them: no DTD, bounded
nesting and literal length, at most so many triples a request."""

from __future__ import annotations

import re

import pyoxigraph as ox

from .base import InputRefused, LoadError
from .formats import RDFFormat

# Limits on what a document may hold, checked before it is stored (see check_input).
MAX_NESTING = 200  # elements in RDF/XML, objects and arrays in JSON-LD, brackets in Turtle and its kin
MAX_LITERAL_CHARS = 1 << 20  # a literal over a million characters is not AIMS data
MAX_TRIPLES_PER_REQUEST = 2_000_000


class CheckedInput(bytes):
    """Data that check_input has passed, for one format and bound on triples: checking it again
    (a store's load checks what it is given) costs nothing, so a request can be checked before it
    takes the write lock and not again under it."""

    checked: tuple[str, int | None]


# Oxigraph's parsers hold one token (a literal, IRI, name or comment) in a buffer of at most 16 MiB
# and fail past it with MemoryError; a literal within MAX_LITERAL_CHARS takes at most 10 bytes a
# character (\UXXXXXXXX) and its quotes, so a longer string is refused, with where it is, first.
_LONGEST_STRING = 10 * MAX_LITERAL_CHARS + 6


def check_input(
    data: bytes, fmt: RDFFormat, source: str | None = None, max_triples: int | None = None
) -> bytes:
    """Refuse, before any parser of the store sees it, what could exhaust it or be read as less
    than it is: RDF/XML with a DTD (entity expansion), documents nested deeper than MAX_NESTING,
    truncated RDF/XML; then, reading the triples as a stream, literals over MAX_LITERAL_CHARS and
    more than `max_triples` triples. InputRefused says which, with the line and column. Returns
    the data to parse (a CheckedInput): JSON-LD that names the vocabulary's context gets the
    context inline (no parser fetches it)."""
    if isinstance(data, CheckedInput) and data.checked == (fmt.name, max_triples):
        return data
    if fmt.name == "xml":
        _check_xml(data, source)
    elif fmt.name in ("turtle", "trig", "nt", "nquads"):
        _check_turtle(data, source)
    elif fmt.name == "json-ld":
        from .. import jsonld

        _check_json(data, source)
        data = jsonld.inline_context(data)
    count = 0
    try:
        for quad in ox.parse(data, format=fmt.ox, base_iri="urn:aims:check:"):
            value = quad.object
            while isinstance(value, ox.Triple):  # RDF 1.2: a triple term's literal is a literal too
                value = value.object
            if isinstance(value, ox.Literal) and len(value.value) > MAX_LITERAL_CHARS:
                raise InputRefused(
                    f"a literal of {len(value.value):,} characters (the limit is {MAX_LITERAL_CHARS:,})",
                    413, source,
                )  # fmt: skip
            count += 1
            if max_triples is not None and count > max_triples:
                raise InputRefused(f"more than {max_triples:,} triples in one request", 413, source)
    except SyntaxError as e:
        raise LoadError(e.msg, source=source, line=e.lineno, column=e.offset) from e
    except MemoryError:  # a token past the parser's 16 MiB buffer
        raise InputRefused(
            f"a literal, IRI, name or comment over 16 MiB (a literal may have {MAX_LITERAL_CHARS:,} characters)",
            413, source,
        ) from None  # fmt: skip
    checked = CheckedInput(data)
    checked.checked = (fmt.name, max_triples)
    return checked


def _check_xml(data: bytes, source: str | None) -> None:
    """RDF/XML read once by expat: no DTD, bounded depth, and the document must be complete."""
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0

    def refuse(message: str, status: int = 400) -> None:
        raise InputRefused(message, status, source, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

    def start(name: str, attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            refuse(f"elements nested more than {MAX_NESTING} deep", 413)

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = lambda *a: refuse(
        "RDF/XML with a DTD (<!DOCTYPE>) is refused: entities could expand it without bound"
    )
    parser.EntityDeclHandler = lambda *a: refuse("RDF/XML with entity declarations is refused")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise InputRefused(
            f"not well-formed XML: {expat.ErrorString(e.code)}", 400, source, e.lineno, e.offset + 1
        ) from None


def _check_json(data: bytes, source: str | None) -> None:
    """JSON-LD nested no deeper than MAX_NESTING, measured without recursion."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_NESTING:
                raise InputRefused(f"JSON nested more than {MAX_NESTING} deep", 413, source)
        elif byte in (0x5D, 0x7D):
            depth -= 1


# Turtle, TriG, N-Triples and N-Quads as Oxigraph's lexer reads them: what can hide a bracket (an
# escape in a prefixed name, ex:a\( ; a comment, which ends at LF or CR; the four kinds of string;
# an IRI), then the brackets ([ ( { and RDF 1.2's << and <<(, and their ends) and a quote that begins no
# string. Each form is written so that it cannot backtrack (linear), and each begins with a fixed
# character, which lets the regex engine skip the text between them fast (0.3 s for an
# organisation of 50 MB).
_TURTLE_TOKEN = re.compile(
    rb"\\[_~.!$&'()*+,;=/?#@%-]"
    rb"|#[^\n\r]*"
    rb'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    rb"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    rb'|"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"'
    rb"|'[^'\\\n\r]*(?:\\.[^'\\\n\r]*)*'"
    rb"|<[^<>\"{}|^`\\\x00-\x20]*(?:\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})[^<>\"{}|^`\\\x00-\x20]*)*>"
    rb"|<<\(|<<|\[|\(|\{|\)>>|>>|\]|\)|\}|\"|'"
)
_OPENS = {b"[", b"(", b"{", b"<<", b"<<("}  # a triple term <<( )>> is one level
_CLOSES, _QUOTES = {b"]", b")", b"}", b">>", b")>>"}, {b'"', b"'"}


def _check_turtle(data: bytes, source: str | None) -> None:
    """Turtle and its kin nested no deeper than MAX_NESTING: blank nodes [ ], collections ( ),
    TriG's graphs { } and triple terms << >> (Oxigraph's parser took 44 s and 1.8 GB for blank
    nodes nested 1,000,000 deep, and crashed on triple terms nested 30,000 deep). A string that
    does not end is refused too: past it, this count and the parser would read the text apart."""
    depth = 0
    for m in _TURTLE_TOKEN.finditer(data):
        if m.end() - m.start() > 3:  # a string, an IRI or a comment
            if m.end() - m.start() > _LONGEST_STRING and data[m.start()] in b"\"'":
                raise InputRefused(f"a literal of more than {MAX_LITERAL_CHARS:,} characters (the limit)", 413,
                                   source, *_line_column(data, m.start()))  # fmt: skip
            continue
        token = m[0]
        if token in _OPENS:
            depth += 1
            if depth > MAX_NESTING:
                raise InputRefused(
                    f"nested more than {MAX_NESTING} deep", 413, source, *_line_column(data, m.start())
                )
        elif token in _CLOSES:
            depth = max(depth - 1, 0)  # a stray end must not make room for deeper nesting
        elif token in _QUOTES:
            raise InputRefused("a string that does not end (a short string ends on its line)", 400, source,
                               *_line_column(data, m.start()))  # fmt: skip


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """The line (ended by LF, CR or CRLF, as Oxigraph counts them) and the column in characters."""
    before = data[:offset]
    start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
    line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
    return line, len(before[start:].decode("utf-8", "replace")) + 1
