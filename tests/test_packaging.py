"""A wheel built from the checkout finds ontology/, shapes/ and queries/ once installed elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv

from .conftest import ROOT


def test_installed_wheel_finds_its_data(tmp_path) -> None:
    wheels = tmp_path / "wheels"
    # built from a copy: a build/ folder left in the checkout by an older build would be packed too
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "aims-data*", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("aims_graph-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # --no-deps: the check needs only the package's own files, not its libraries.
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    script = (
        "import importlib.util\n"
        "from aims_graph import resources as r\n"
        "import aims_graph\n"
        "assert 'site-packages' in aims_graph.__file__, aims_graph.__file__\n"
        "assert importlib.util.find_spec('service') is None  # no top-level name that collides\n"
        "assert (r.folder('ontology') / 'context.jsonld').is_file()\n"
        "assert {'open_store', 'validate', 'run_query', 'trace', 'workbook'} <= set(aims_graph.__all__)\n"
        "assert (r._PACKAGE / 'py.typed').is_file()\n"
        "assert r.form_shapes_file().is_file()  # the form shapes, outside the rules' shapes/*.ttl\n"
        "print(len(r.ontology_files()), len(r.shape_files()), len(r.query_files()), len(r.example_files()))\n"
    )
    out = subprocess.run([python, "-c", script], cwd=tmp_path, check=True, capture_output=True, text=True)
    counts = [int(x) for x in out.stdout.split()]
    expected = [
        len(list((ROOT / d).glob(p)))
        for d, p in (("ontology", "*.ttl"), ("shapes", "*.ttl"), ("queries", "*.rq"), ("examples", "*.ttl"))
    ]
    assert counts == expected
    assert all(counts[i] > 0 for i in (0, 2, 3))
