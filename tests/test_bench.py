"""The benchmark runs (issue 22: "a small size of it runs in make test as a smoke test, without
timing assertions"): bench/run.py's milestones (at 8 systems: its pages name system 7's risk) and
exports (at 3), as a developer runs them.
What is asserted is that each step ran and printed its row, not how long it took."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "bench/run.py", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_the_milestones_bench_runs_at_a_small_size() -> None:
    out = bench("--only", "milestones", "--milestone-sizes", "8", "--milestone-pages-up-to", "8")
    for step in ("snapshot: copy the graphs", "snapshot: keep its report", "aims diff a b", "aims pack"):
        assert re.search(rf"{re.escape(step)}.*\d+\.\d\d", out), (step, out)
    # every page of the table answered 200 for today and for the snapshot (the bench asserts it)
    assert out.count("|") >= 6, out


def test_the_exports_bench_runs_at_a_small_size() -> None:
    out = bench("--only", "exports", "--export-sizes", "3")
    assert re.search(r"\n\s+3 systems\s+\d+\.\d\d\s+\(\d+\.\d MB\)", out), out


@pytest.mark.slow
@pytest.mark.servers
def test_the_scale_bench_runs_at_a_small_size() -> None:
    """Issue 22's table at 8 systems (its pages name system 7's risk): the re-validation after a
    write equals a whole run after it (the bench compares them), every page answers after the
    write, and both SPARQL servers validate."""
    out = bench("--only", "scale", "--scale-sizes", "8", "--scale-remote-up-to", "8")
    assert re.search(
        r"re-validation after a one-resource write\s+\d+ ms .*equal to a whole run after it: yes", out
    ), out
    assert "/export?format=xlsx" in out and re.search(r"peak memory \(VmHWM\)\s+\d+ MB", out), out
    for name in ("oxigraph serve", "Virtuoso 7"):
        assert re.search(rf"{name}\s+load\s+\d+\.\d s, whole validation\s+\d+\.\d s", out), (name, out)
