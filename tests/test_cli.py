"""The `aims` command line: exit codes, formats, errors naming file, line and column."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main

from .conftest import DATA, EXAMPLE_FILES, ROOT

CONFORMANCE = DATA / "conformance"

FILES = [str(p) for p in EXAMPLE_FILES]
AS_OF = ["--as-of", "2026-11-20"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary(capsys) -> None:
    code, out, _ = run(capsys, "summary", *FILES)
    assert code == 0
    # examples/README.md: 18 risks; one SoA entry per Annex A control plus one for OC-01
    assert "    18  risks" in out and "    39  Statement of Applicability entries" in out


def test_validate_json_exit_1_on_violations(capsys) -> None:
    code, out, _ = run(capsys, "validate", *AS_OF, "--format", "json", *FILES)
    assert code == 1
    report = json.loads(out)
    assert report["conforms"] is False
    # the 17 planted gaps of examples/README.md give 17 Violations; the three controls only partly in
    # place (A.3.3, A.6.2.8, A.8.4), clause 10.2 not yet audited in the running 2026 cycle, and the
    # two A.6.2.4 test reports each reached from the other system's risk (R01, R13) are the 6
    # Warnings examples/README.md lists as "not gaps"
    assert report["counts"] == {"Violation": 17, "Warning": 6, "Info": 0}
    first = report["results"][0]
    assert set(first) >= {
        "focus",
        "path",
        "value",
        "severity",
        "message",
        "shape",
        "requirement",
        "requirement_id",
        "stage",
        "control",
    }


def test_validate_exit_0_when_conforming(capsys) -> None:
    code, out, _ = run(capsys, "validate", *AS_OF, str(CONFORMANCE / "minimal-conforming.ttl"))
    assert code == 0, out


def test_no_aims_does_not_conform(capsys, tmp_path) -> None:
    """Absence is a finding: data with roles and people but no AIMS is not conforming."""
    data = tmp_path / "no-aims.ttl"
    data.write_text(
        "@prefix aims: <https://w3id.org/aims#> .\n<urn:x:r> a aims:Role ; "
        'aims:responsibility "x" .\n<urn:x:m> <http://www.w3.org/ns/org#role> <urn:x:r> ; '
        "<http://www.w3.org/ns/org#member> <urn:x:p> .\n<urn:x:c> aims:competenceOf <urn:x:p> .\n"
    )
    code, out, _ = run(capsys, "validate", *AS_OF, str(data))
    assert code == 1 and "no AI management system" in out


def test_validate_turtle_is_a_shacl_report(capsys) -> None:
    from rdflib import Graph
    from rdflib.namespace import RDF, SH

    code, out, _ = run(capsys, "validate", *AS_OF, "--stage", "2", "--format", "turtle", *FILES)
    assert code == 1
    g = Graph().parse(data=out, format="turtle")
    # stage 2 includes every stage 1 rule: all 23 results of the example (17 gaps, 6 Warnings)
    assert len(set(g.subjects(RDF.type, SH.ValidationResult))) == 23


def test_validate_system(capsys) -> None:
    code, out, _ = run(
        capsys,
        "validate",
        *AS_OF,
        "--format",
        "json",
        "--system",
        "https://aurora-lending.example/aims/support-assistant",
        *FILES,
    )
    foci = {r["focus"].rsplit("/", 1)[-1] for r in json.loads(out)["results"]}
    # the planted gaps that hang off Ask Aurora: G2, G11, G15 and G16
    assert foci == {"risk-07", "ia-support-2026", "treat-18", "data-help-articles"}


def test_syntax_error_names_file_line_column(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix : <http://x/> .\n:a :b :c .\n:a :b "unterminated .\n')
    code, _, err = run(capsys, "validate", str(bad))
    assert code == 2
    assert "bad.ttl" in err and "line 3" in err and "column" in err


def test_missing_file(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.ttl"))
    assert code == 2 and "no such file" in err


def test_bad_date_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["validate", "--as-of", "2026-13-01", *FILES])
    assert e.value.code == 2


def test_gap_csv(capsys) -> None:
    code, out, _ = run(capsys, "gap", *AS_OF, "--format", "csv", *FILES)
    assert code == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert len(rows) == 32 + 38 + 1  # leaf clauses, Annex A, OC-01
    assert rows["6.1.3"]["status"] == "not met"
    assert rows["A.8.5"]["status"] == "not applicable"  # excluded with a justification
    assert rows["A.7.6"]["status"] == "not met"  # excluded without one (G8)
    assert rows["A.6.2.8"]["status"] == "partly met"
    assert rows["A.2.2"]["status"] == "met"
    assert rows["OC-01"]["status"] == "met" and rows["OC-01"]["kind"] == "control"
    assert rows["10.1"]["status"] == "not assessed"  # no rule checks continual improvement
    assert list(rows)[30:34] == ["10.1", "10.2", "A.2.2", "A.2.3"]  # the standard's order


def test_readiness_json(capsys) -> None:
    code, out, _ = run(capsys, "readiness", "--stage", "1", *AS_OF, "--format", "json", *FILES)
    assert code == 1  # not ready
    result = json.loads(out)
    assert result["ready"] is False
    # stage 1 gaps block; stage 2 ones (expired evidence, A.6.2.6) wait for stage 2
    assert {b["requirement_id"] for b in result["blocking"]} == {
        "5.2",
        "6.1.2",
        "6.1.3",
        "6.1.4",
        "7.5.2",
        "A.5.5",
        "A.7.4",
    }
    assert set(result["groups"]) == {
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "A.2",
        "A.3",
        "A.4",
        "A.5",
        "A.6",
        "A.7",
        "A.8",
        "A.9",
        "A.10",
        "own",
    }


def test_every_setting_is_documented() -> None:
    from dataclasses import fields

    from service.config import Settings

    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"AIMS_{f.name.upper()}" not in readme]
    assert not missing, f"settings not in README.md: {missing}"


def test_settings_from_environment() -> None:
    from service import config

    s = config.load(
        {"port": 9},
        environ={"AIMS_PORT": "8123", "AIMS_QUERY_TIMEOUT": "2.5", "AIMS_READ_REQUIRES_TOKEN": "true"},
    )
    assert s.port == 9 and s.query_timeout == 2.5 and s.read_requires_token is True
    with pytest.raises(ValueError):
        config.load({"colour": "red"})


def test_validate_own_rules_only_runs_a_w3c_case(capsys) -> None:
    """`--engine store --no-builtin --shapes F --format turtle F`: one W3C SHACL case end to end."""
    from rdflib import Graph, Literal
    from rdflib.namespace import RDF, SH

    case = str(ROOT / "vendor" / "w3c" / "shacl" / "core" / "node" / "class-001.ttl")
    code, out, _ = run(
        capsys, "validate", "--engine", "store", "--no-builtin", "--shapes", case, "--format", "turtle", case
    )
    report = Graph().parse(data=out, format="turtle")
    # the case expects two results on a shape asking for instances of ex:Person (class-001.ttl)
    assert code == 1 and (None, SH.conforms, Literal(False)) in report
    assert len(set(report.subjects(RDF.type, SH.ValidationResult))) == 2


def test_unsupported_shape_is_refused_naming_it(capsys, tmp_path) -> None:
    """An ill-formed shape is refused with exit 2, naming the shape and the construct."""
    shapes = tmp_path / "mine.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<urn:x:Shape> a sh:NodeShape ; sh:targetNode <urn:x:a> ; sh:nodeKind <urn:x:NotAKind> .\n"
    )
    code, _, err = run(capsys, "validate", "--shapes", str(shapes), *FILES)
    assert code == 2 and "urn:x:Shape" in err and "sh:nodeKind" in err


def test_trace_by_identifier(capsys: pytest.CaptureFixture[str]) -> None:
    """`aims trace KIND ID` takes an identifier (risks.ttl line 34: R01) and prints the chain with
    labels (controls.ttl: the implementations and evidence behind R01's treatment); an unknown
    identifier is one line and exit 2."""
    files = [arg for path in EXAMPLE_FILES for arg in ("--file", str(path))]
    code, out, _ = run(capsys, "trace", "risk", "R01", "--as-of", "2026-11-20", *files)
    assert code == 0 and out.startswith("Risk: R01 Scores disadvantage a protected group")
    assert "Fairness test report for scoring model v4" in out and "Valid: yes" in out
    code, _, err = run(capsys, "trace", "risk", "R99", *files)
    assert code == 2 and "R99" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- any input, no traceback

ILL_FORMED_DATA = """@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
ex:a ex:n "abc"^^xsd:integer ; ex:d "2026-13-45"^^xsd:date , "2026-12-07"^^xsd:date ; ex:b "none"^^xsd:boolean .
"""
ILL_FORMED_SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
ex:S sh:targetNode ex:a ;
  sh:property [ sh:path ex:n ; sh:datatype xsd:integer ] , [ sh:path ex:d ; sh:datatype xsd:date ] .
"""


def aims(*argv: str) -> subprocess.CompletedProcess[str]:
    """The installed `aims` command in a process of its own: what a person sees on the terminal."""
    command = Path(sys.executable).with_name("aims")
    return subprocess.run([str(command), *argv], capture_output=True, text=True, timeout=120, cwd=ROOT)


def quiet(err: str) -> bool:
    """No traceback and no library log or warning line (rdflib logs ill-formed literals so)."""
    noise = ("Traceback", "Failed to convert", "Warning:", "WARNING", "ERROR:", "warnings.warn", "rdflib")
    return not any(n in err for n in noise)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    (d / "ill-formed.ttl").write_text(ILL_FORMED_DATA)
    (d / "shapes.ttl").write_text(ILL_FORMED_SHAPES)
    (d / "syntax.ttl").write_text('@prefix ex: <http://example.org/> .\nex:a ex:b "x" ;\n  ex:c .\n')
    (d / "junk.ttl").write_bytes(bytes(range(256)) * 4)
    (d / "junk.xlsx").write_bytes(bytes(range(256)) * 4)
    (d / "empty.ttl").write_bytes(b"")
    return d


@pytest.mark.parametrize("engine", ["store", "pyshacl"])
def test_ill_formed_literals_are_data_the_datatype_rule_reports(bad_inputs: Path, engine: str) -> None:
    """An ill-formed literal in good Turtle is not a syntax error: "abc" is not in the lexical space
    of xsd:integer and month 13 not in that of xsd:date, so each fails sh:datatype (SHACL 4.1.1:
    an ill-formed literal does not conform); the well-formed date does not. Nothing on stderr."""
    p = aims(
        "validate", "--engine", engine, "--no-builtin", "--shapes", str(bad_inputs / "shapes.ttl"),
        "--format", "json", str(bad_inputs / "ill-formed.ttl"),
    )  # fmt: skip
    assert (p.returncode, p.stderr) == (1, "")
    assert sorted(r["value"] for r in json.loads(p.stdout)["results"]) == ["2026-13-45", "abc"]


# (arguments, exit code): 2 for bad input or usage, as the module docstring of service/cli.py says
BAD: dict[str, tuple[list[str], int] | tuple[list[str], int, int]] = {
    "bad Turtle": (["validate", "{d}/syntax.ttl"], 2),
    "unknown file": (["validate", "{d}/no-such-file.ttl"], 2),
    "binary junk": (["validate", "{d}/junk.ttl"], 2),
    "binary junk as shapes": (["validate", "--no-builtin", "--shapes", "{d}/junk.ttl", "{d}/empty.ttl"], 2),
    "bad Turtle as shapes": (["validate", "--shapes", "{d}/syntax.ttl", "{d}/empty.ttl"], 2),
    # an empty file is an empty graph: no AIMS at all, a Violation (absence is a finding)
    "empty file": (["validate", "{d}/empty.ttl"], 1),
    "ill-formed literals, built-in rules": (["validate", "--format", "turtle", "{d}/ill-formed.ttl"], 1),
    "bad --as-of": (["validate", "--as-of", "2026-13-45", "{d}/empty.ttl"], 2),
    "29 February of a common year": (["gap", "--as-of", "2026-02-29", "{d}/empty.ttl"], 2),
    "bad --stage": (["readiness", "--stage", "3", "{d}/empty.ttl"], 2),
    "junk to summary": (["summary", "{d}/junk.ttl"], 2),
    "junk to gap": (["gap", "{d}/junk.ttl"], 2),
    "junk to readiness": (["readiness", "--stage", "1", "{d}/junk.ttl"], 2),
    "unknown kind": (["trace", "bogus", "R01", "{d}/empty.ttl"], 2),
    "unknown id": (["trace", "risk", "R99", "{d}/ill-formed.ttl"], 2),
    "junk to trace": (["trace", "risk", "R01", "{d}/junk.ttl"], 2),
    "bad trace --as-of": (["trace", "risk", "R01", "--as-of", "tomorrow", "{d}/empty.ttl"], 2),
    # a file that is no workbook is one problem: one line, with what became of the import
    "junk workbook": (["import", "--data", "{d}/store", "{d}/junk.xlsx"], 2),
    "junk to load": (["load", "--data", "{d}/store", "{d}/junk.ttl"], 2),
    "bad graph IRI": (["load", "--data", "{d}/store", "--graph", "not an iri", "{d}/empty.ttl"], 2),
    "bad port": (["serve", "--data", "{d}/store", "--port", "99999"], 2),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_no_traceback_on_any_input(bad_inputs: Path, case: str) -> None:
    """Every bad input gets its exit code and one line of its own on stderr (argparse adds its
    usage lines), never a traceback or a library's log line."""
    argv, code, *lines = BAD[case]
    p = aims(*(a.format(d=bad_inputs) for a in argv))
    assert p.returncode == code, p.stderr
    assert quiet(p.stderr), p.stderr
    if code == 2 and not p.stderr.startswith("usage:"):
        assert len(p.stderr.strip().splitlines()) == (lines or [1])[0], p.stderr
        assert p.stderr.strip().splitlines()[-1].startswith("aims: "), p.stderr
    if code != 2:
        assert p.stderr == ""


def test_syntax_error_line_is_one_line_naming_file_line_column(bad_inputs: Path) -> None:
    """syntax.ttl line 3 column 3 is `ex:c .`: a predicate with no object."""
    p = aims("validate", str(bad_inputs / "syntax.ttl"))
    assert p.returncode == 2
    assert "syntax.ttl" in p.stderr and "line 3" in p.stderr and "column" in p.stderr


def test_trace_takes_files_like_validate(capsys: pytest.CaptureFixture[str]) -> None:
    """`aims trace KIND ID FILES...`: files after the id, as `aims validate FILES`; the same chain
    as the older `--file F` spelling (risks.ttl: R01 is "Scores disadvantage a protected group")."""
    code, out, _ = run(capsys, "trace", "risk", "R01", "--as-of", "2026-11-20", *FILES)
    assert code == 0 and out.startswith("Risk: R01 Scores disadvantage a protected group")
    # issue 17: R01's A.7.4 implementation has no evidence, so the risk is not covered, and the
    # FraudGuard report reached through the shared A.6.2.4 implementation is about another system
    lines = out.splitlines()
    assert "Verdict: not covered (as of 2026-11-20)" in lines
    assert any("Data quality checks" in line and "[no evidence]" in line for line in lines)
    assert any("for FraudGuard [about another system]" in line for line in lines)
    older = [arg for path in FILES for arg in ("--file", path)]
    assert run(capsys, "trace", "risk", "R01", "--as-of", "2026-11-20", *older) == (0, out, "")
    code, _, err = run(capsys, "trace", "risk", "R99", *FILES)
    assert code == 2 and "R99" in err and len(err.strip().splitlines()) == 1
