"""Finds the project's data folders (ontology/, shapes/, queries/, examples/).

In a checkout they sit beside the `service` package; in an installed wheel they are
packaged as `service/data/<name>/` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_FOLDERS = ("ontology", "shapes", "queries", "examples")


def folder(name: str) -> Path:
    """The folder `name` (one of ontology, shapes, queries, examples), wherever it is installed."""
    if name not in _FOLDERS:
        raise ValueError(f"unknown resource folder {name!r}; expected one of {_FOLDERS}")
    for candidate in (_PACKAGE / "data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"resource folder {name!r} not found beside {_PACKAGE}")


def files(name: str, pattern: str) -> list[Path]:
    """The files of a resource folder matching `pattern`, sorted by name."""
    return sorted(folder(name).glob(pattern))


def ontology_files() -> list[Path]:
    """The vocabulary modules and the ISO/IEC 42001 catalogue."""
    return files("ontology", "*.ttl")


def shape_files() -> list[Path]:
    return files("shapes", "*.ttl")


def form_shapes_file() -> Path:
    """The form shapes (service/forms.py): in shapes/forms/, which the rules (shapes/*.ttl) leave out."""
    return folder("shapes") / "forms" / "forms.ttl"


def query_files() -> list[Path]:
    return files("queries", "*.rq")


def example_files() -> list[Path]:
    """The example organisation's data files."""
    return files("examples", "*.ttl")
