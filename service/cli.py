"""The `aims` command line. Thin: it parses arguments and calls the modules that do the work.

Exit codes: 0 success, 1 the answer is "not conformant" (validate), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, queries
from .store import LoadError, Rows, StoreError
from .store.embedded import EmbeddedStore


class UsageError(Exception):
    """Bad input from the user: reported on stderr with exit code 2."""


def _memory_store(files: Sequence[Path]) -> EmbeddedStore:
    """An in-memory store with the catalogue and the given files, each in its own graph."""
    store = EmbeddedStore()
    store.ensure_catalogue()
    for path in files:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        store.load_file(path)
    return store


def _print_table(rows: Rows, out=sys.stdout) -> None:  # type: ignore[no-untyped-def]
    cells = [[str(r.get(v, "")) for v in rows.variables] for r in rows]
    widths = [max([len(v)] + [len(c[i]) for c in cells]) for i, v in enumerate(rows.variables)]
    print("  ".join(v.ljust(w) for v, w in zip(rows.variables, widths)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths)), file=out)


def cmd_summary(args: argparse.Namespace) -> int:
    store = _memory_store(args.files)
    result = store.query(queries.get("summary").text)
    assert isinstance(result, Rows)
    print(f"aims-graph {__version__}: {len(args.files)} file(s), {store.count() - store.count(_catalogue())} "
          "triples of organisation data")
    for row in result:
        print(f"  {int(row['count']):5d}  {row['label']}")
    return 0


def _catalogue():  # type: ignore[no-untyped-def]
    from .namespaces import CATALOGUE_GRAPH

    return CATALOGUE_GRAPH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aims", description="ISO/IEC 42001 AI management system graph")
    parser.add_argument("--version", action="version", version=f"aims-graph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("summary", help="load RDF files and print what they hold")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except LoadError as e:
        print(f"aims: RDF syntax error: {e}", file=sys.stderr)
        return 2
    except (UsageError, StoreError, queries.QueryError) as e:
        print(f"aims: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
