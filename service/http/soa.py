"""The Statement of Applicability: JSON, CSV or a page with the evidence behind each control."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from flask import Response, current_app, g
from rdflib import URIRef

from .. import browse
from ..browse import Label
from ..store.base import Rows
from . import formats
from .api import RegisterParams, RowList, operation
from .pages import HTML_JSON_CSV, _csv, _page, as_of, bp, cached, labels, query_rows


@bp.route("/soa")
@operation(
    "get",
    "The Statement of Applicability in the standard's order: JSON, CSV or a page",
    "registers",
    params=RegisterParams,
    answer=RowList,
    media=("application/json", "text/csv", "text/html"),
    others={406: "Format not offered"},
    role="reader",
)
def soa() -> Response:
    media = formats.choose(HTML_JSON_CSV)
    day = as_of(from_cookie=media == "text/html")
    rows = query_rows("statement-of-applicability")
    if media == "application/json":
        return Response(
            current_app.json.dumps([{v: browse.plain(r.get(v)) for v in rows.variables} for r in rows]),
            mimetype="application/json",
        )
    if media == "text/csv":
        return _csv(rows, "statement-of-applicability")
    evidence, organisation, names = cached(lambda: _soa_page(rows, day), "soa page", day)
    g.names = names
    return _page("soa.html", rows=rows.rows, evidence=evidence, organisation=organisation)


def _soa_page(
    rows: Rows, day: dt.date
) -> tuple[dict[URIRef, list[int]], list[dict[str, Any]], dict[str, Label]]:
    """What the SoA page adds to the rows: evidence valid and all per control on the day, the
    organisation, and the labels."""
    evidence: dict[URIRef, list[int]] = defaultdict(lambda: [0, 0])  # control -> [valid, all]
    counted: set[tuple[str, str]] = set()  # the register has a row per implementation, control and system
    for r in query_rows("register-implementations", {"asOf": day.isoformat()}):
        key = (str(r["implementation"]), str(r.get("control")))
        if r.get("control") is not None and key not in counted:
            counted.add(key)
            counts = evidence[r["control"]]  # keyed by term: an rdflib URIRef is not equal to its str
            counts[0] += int(r["validEvidenceItems"].toPython())
            counts[1] += int(r["evidenceItems"].toPython())
    organisation = query_rows("organisation").rows
    iris = {str(r["status"]) for r in rows if r.get("status") is not None}
    iris |= {str(v) for r in organisation for v in r.values() if isinstance(v, URIRef)}
    return dict(evidence), organisation, labels(iris)
