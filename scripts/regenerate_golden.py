"""Rewrite tests/data/golden/ after a deliberate change to the shapes; review the diff before committing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rdflib import Graph

from service import resources, validation

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    data = Graph()
    for path in resources.example_files():
        data.parse(path)
    report = validation.validate(data, as_of=dt.date(2026, 11, 20))
    out = ROOT / "tests" / "data" / "golden" / "example-report-2026-11-20.ttl"
    out.write_text(
        "# GOLDEN: the SHACL report on examples/ as of 2026-11-20 (scripts/regenerate_golden.py);\n"
        "# regenerate only after checking every change.\n" + report.graph.serialize(format="turtle"),
        encoding="utf-8",
    )
    print(f"wrote {out.relative_to(ROOT)}: {len(report.results)} results")
