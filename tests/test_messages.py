"""Messages for people: a validation result names the thing it is about by its label and
identifier, says the fix in plain words, keeps the vocabulary term in its own field (`path`), and
shows no IRI, even where a rule puts a node into its message ({?value})."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from service import validation
from service.store.embedded import EmbeddedStore

from .conftest import load_example

AS_OF = dt.date(2026, 11, 20)
EX = "https://aurora-lending.example/aims/"


@pytest.fixture(scope="module")
def report() -> validation.Report:
    return validation.validate(load_example(EmbeddedStore()), as_of=AS_OF)


def test_no_message_shows_an_iri_or_a_vocabulary_term(report: validation.Report) -> None:
    assert report.results
    for r in report.results:
        assert not re.search(r"https?://|\b(aims|org|prov|dcterms|skos|iso42001):\w", r.message), r.message


def test_a_clause_put_into_a_message_reads_as_its_number(report: validation.Report) -> None:
    # examples/README.md G13: the 2025 programme ended without an audit of clause 10.2; the rule
    # puts the clause (an IRI) into its message as {?value}
    g13 = [r for r in report.results if r.focus == EX + "audit-programme-2025" and r.severity == "Violation"]
    assert any("clause 10.2" in r.message for r in g13), [r.message for r in g13]


def test_each_result_names_its_thing_and_keeps_the_term_apart(report: validation.Report) -> None:
    # examples/README.md G7: R12 has no owner; risks.ttl gives it the identifier R12 and a label
    g7 = next(r for r in report.results if r.focus == EX + "risk-12" and r.requirement_id == "6.1.2")
    assert (g7.id, g7.label) == ("R12", "False positives block legitimate customers' payments")
    assert g7.path == "https://w3id.org/aims#owner"
    assert (
        "'Risks and treatments'" in g7.message and "'Owner'" in g7.message
    )  # the workbook's sheet and column
    assert all(r.label for r in report.results if not r.focus.startswith("_:"))
