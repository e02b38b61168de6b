"""Every 4xx and 5xx as an RFC 9457 problem-details JSON body: type, title, status, detail."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json
from rdflib import URIRef
from werkzeug.exceptions import HTTPException

from ..queries import QueryError
from ..snapshots import ReadOnlySnapshot
from ..store import InputRefused, LoadError, QueryTimeout, StoreError, StoreLocked
from ..store.base import ServerError
from ..store.terms import check_iri
from ..validation import ValidationError

PROBLEM = "application/problem+json"
TYPE_BASE = "https://w3id.org/aims/problems/"


class Problem(Exception):
    """An error answered as problem details; `extra` adds members (line, column, ...)."""

    def __init__(
        self, status: int, title: str, detail: str, kind: str | None = None,
        headers: dict[str, str] | None = None, **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind, self.extra = status, title, detail, kind, extra
        self.headers = headers or {}


def checked_iri(value: str, title: str = "Bad graph", kind: str = "bad-graph") -> URIRef:
    """A request's IRI as a term, or a 400 problem naming what is wrong with it."""
    try:
        return check_iri(value)
    except StoreError as e:
        raise Problem(400, title, str(e), kind) from None


def problem_response(status: int, title: str, detail: str, kind: str | None = None, **extra: Any) -> Response:
    body = {
        "type": TYPE_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    if status == 401:  # RFC 9110: a 401 says how to authenticate
        response.headers["WWW-Authenticate"] = 'Bearer realm="aims-graph"'
    return response


def register(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(e: Problem) -> Response:
        response = problem_response(e.status, e.title, e.detail, e.kind, **e.extra)
        response.headers.update(e.headers)
        return response

    @app.errorhandler(LoadError)
    def _load(e: LoadError) -> Response:
        if isinstance(e, InputRefused):
            title = "Content Too Large" if e.status == 413 else "RDF refused"
            return problem_response(e.status, title, str(e), "rdf-refused", line=e.line, column=e.column)
        return problem_response(400, "Bad RDF", str(e), "rdf-syntax", line=e.line, column=e.column)

    @app.errorhandler(QueryError)
    def _query(e: QueryError) -> Response:
        return problem_response(400, "Bad query parameters", str(e), "bad-parameter")

    @app.errorhandler(ValidationError)
    def _validation(e: ValidationError) -> Response:
        return problem_response(400, "Bad validation options", str(e), "bad-parameter")

    @app.errorhandler(StoreLocked)
    def _locked(e: StoreLocked) -> Response:
        return problem_response(503, "Store busy", str(e), "store-locked")

    @app.errorhandler(ReadOnlySnapshot)
    def _read_only(e: ReadOnlySnapshot) -> Response:
        return problem_response(403, "Forbidden", str(e), "read-only-snapshot")

    @app.errorhandler(QueryTimeout)
    def _timeout(e: QueryTimeout) -> Response:  # a validation's query past AIMS_QUERY_TIMEOUT
        found = problem_response(
            503, "Time limit", f"{e} (AIMS_QUERY_TIMEOUT); nothing was changed", "time-limit"
        )
        found.headers["Retry-After"] = "60"
        return found

    @app.errorhandler(StoreError)
    def _store(e: StoreError) -> Response:
        return problem_response(
            502 if isinstance(e, ServerError) else 400, "Store error", str(e), "store-error"
        )

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Response:
        if e.code == 413:  # the body is over MAX_CONTENT_LENGTH: say the limit and the setting
            limit = app.config["MAX_CONTENT_LENGTH"]
            detail = f"the request body is over the limit of {limit:,} bytes (AIMS_MAX_BODY_BYTES); nothing was read"
            return problem_response(413, "Content Too Large", detail, "body-limit")
        return problem_response(e.code or 500, e.name, e.description or e.name)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        app.logger.exception("unexpected error")
        return problem_response(500, "Internal Server Error", "the service failed; see its log")
