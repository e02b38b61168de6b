"""Named-query results as comparable rows, and the parameters each query is tested with."""

from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Identifier

from service import queries
from service.store.base import Rows, Store

EX = "https://aurora-lending.example/aims/"
ISO = "https://w3id.org/aims/iso42001#"
PARAMS: dict[str, dict[str, str]] = {
    "summary": {},
    "requirement-coverage": {},
    "statement-of-applicability": {},
    "system-resources": {"system": EX + "fraud-detector"},
    "open-nonconformities": {"asOf": "2026-11-20"},
    "trace-risk": {"risk": EX + "risk-01", "asOf": "2026-11-20"},
    "trace-control": {"control": ISO + "A.6.2.4", "asOf": "2026-11-20"},
    "trace-requirement": {"requirement": ISO + "clause-6.1.3"},
    "trace-system": {"system": EX + "support-assistant", "asOf": "2026-11-20"},
    "trace-evidence": {"evidence": EX + "ev-supplier-contract", "asOf": "2026-11-20"},
    "untreated-risks": {},
    "evidence-expiring": {"until": "2026-12-31"},
    "audit-coverage": {"asOf": "2026-11-20"},
    "documents-due-for-review": {"asOf": "2026-11-20"},
    "organisation": {},
    "register-systems": {},
    "register-risks": {},
    "register-implementations": {"asOf": "2026-11-20"},
    "register-documents": {"asOf": "2026-11-20"},
    "register-audits": {},
    "register-findings": {"asOf": "2026-11-20"},
    "register-parties": {},
    "register-roles": {},
    "risk-levels": {},
    # a 30-day window from 2026-12-20 (soon: the day after it): ev-policy-calendar (controls.ttl line
    # 105, valid until 2027-01-10) expiring, ev-monitoring-export (line 188, until 2026-06-30) expired
    "register-evidence": {"asOf": "2026-12-20", "soon": "2027-01-20"},
    # Li Wei's work: until 2027-03-12 reaches her risks' yearly review (assessed 2026-03-10) and
    # the impact assessment evidence valid until that day (controls.ttl lines 146, 151)
    "my-work": {"person": EX + "li-wei", "asOf": "2026-11-20", "until": "2027-03-12"},
}


def normal(term: Identifier, boolean: bool = False) -> str:
    """One text per value whatever the server: Virtuoso's 1/0 booleans, canonical decimals and
    time zones written differently all compare equal."""
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, BNode):
        return "_:b"
    assert isinstance(term, Literal)
    if boolean or term.datatype == XSD.boolean:
        return "true" if str(term) in ("true", "1") else "false"
    value = term.toPython()
    if term.datatype in (XSD.dateTime, XSD.date):
        return value.isoformat() if hasattr(value, "isoformat") else str(term)
    if term.datatype in (XSD.decimal, XSD.double, XSD.float):
        return str(float(value))
    return str(value)


def run(store: Store, name: str, booleans: set[str] | None = None) -> list[dict[str, str]]:
    query = queries.get(name)
    result = store.query(query.text, query.bindings(PARAMS[name]))
    assert isinstance(result, Rows)
    rows = [{k: normal(v, k in (booleans or set())) for k, v in row.items()} for row in result]
    return sorted(rows, key=lambda r: sorted(r.items()))


def boolean_columns(store: Store, name: str) -> set[str]:
    query = queries.get(name)
    result = store.query(query.text, query.bindings(PARAMS[name]))
    assert isinstance(result, Rows)
    return {
        k for row in result for k, v in row.items() if isinstance(v, Literal) and v.datatype == XSD.boolean
    }
