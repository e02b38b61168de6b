"""The `aims` command line. Thin: it parses arguments and calls the modules that do the work.

Exit codes: 0 success, 1 the answer is no (validate: not conformant; readiness: not ready), 2 bad
input or usage, told in one line on stderr (never a traceback or a library's log line).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import Graph

from . import __version__, config, frameworks, queries, reports, runtime, snapshots, validation
from .namespaces import CATALOGUE_GRAPH
from .store import (
    FORMATS,
    InputRefused,
    LoadError,
    Rows,
    Store,
    StoreError,
    StoreLocked,
    format_for,
    open_store,
)
from .store.embedded import EmbeddedStore, to_rdflib
from .store.input_limits import check_input
from .store.terms import check_iri, source_graph


class UsageError(Exception):
    """Bad input from the user: reported on stderr with exit code 2."""


def _existing(files: Sequence[Path]) -> list[Path]:
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise UsageError(f"{', '.join(missing)}: no such file")
    return list(files)


def _memory_store(files: Sequence[Path], catalogue: bool = True) -> EmbeddedStore:
    """An in-memory store with the catalogue and the given files, each in its own graph."""
    store = EmbeddedStore()
    if catalogue:
        store.ensure_catalogue()
    store.load_files(_existing(files))
    return store


def _shapes(files: Sequence[Path] | None) -> Graph | None:
    """An organisation's own rules, read from SHACL files by the store's parser (a syntax error
    names file, line and column), literals as written: "1"^^xsd:boolean is not "true" (SHACL
    reads only true as true), which rdflib's normalisation would make it."""
    if not files:
        return None
    shapes = Graph()
    normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        for path in _existing(files):
            fmt = format_for(path=path)
            data = check_input(path.read_bytes(), fmt, str(path))
            try:  # the parser, not a store: a store keeps "1"^^xsd:boolean as "true"
                for quad in ox.parse(data, format=fmt.ox, base_iri=path.resolve().as_uri()):
                    shapes.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
            except SyntaxError as e:
                raise LoadError(e.msg, source=str(path), line=e.lineno, column=e.offset) from None
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
    return shapes


def _overrides(args: argparse.Namespace, *extra: tuple[str, object]) -> dict[str, object]:
    """Settings given on the command line (the store options, and any `extra` pairs)."""
    pairs = (
        ("data_dir", args.data),
        ("endpoint", args.endpoint),
        ("update_endpoint", args.update_endpoint),
        ("graph_store_endpoint", args.graph_store_endpoint),
        *extra,
    )
    return {k: v for k, v in pairs if v is not None}


def _open(args: argparse.Namespace, read_only: bool = False) -> Store:
    """The configured store (embedded in --data, or remote at --endpoint), catalogue loaded. A
    command that only reads opens an embedded store read-only when `aims serve` holds it."""
    settings = config.load(_overrides(args))
    try:
        store = open_store(settings)
    except StoreLocked:
        if not read_only:
            raise
        return EmbeddedStore(settings.data_dir, read_only=True)  # the service keeps its catalogue
    store.ensure_catalogue()
    return store


def _read(args: argparse.Namespace) -> Store:
    """The store a reading command reads: the configured one, or its snapshot --snapshot NAME
    (read-only, and judged on the snapshot's day unless --as-of says another)."""
    store = _open(args, read_only=True)
    name = getattr(args, "snapshot", None)
    if not name:
        return store
    try:
        view = snapshots.SnapshotView(store, snapshots.get(store, name))
    except snapshots.SnapshotError:
        store.close()
        raise
    if getattr(args, "as_of", None) is None:
        args.as_of = view.snapshot.as_of
    return view


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Take, list and delete snapshots of the organisation's graphs (the store's administrator)."""
    import getpass

    if args.action == "list":
        with _open(args, read_only=True) as store:
            found = snapshots.listed(store)
        if args.format == "json":
            print(json.dumps([s.as_json() for s in found], indent=2))
        for s in found if args.format == "text" else []:
            note = f"  {s.note}" if s.note else ""
            print(f"{s.name:24s} as of {s.as_of}  taken {s.created:%Y-%m-%d %H:%M} UTC by {s.by}{note}")
        return 0
    with _open(args) as store:
        if args.action == "create":
            taken = snapshots.create(
                store, args.name, f"{getpass.getuser()} (command line)", args.note or "", args.as_of
            )
            print(
                f"snapshot {taken.name}: {len(taken.graphs)} graph(s), judged as of {taken.as_of}", flush=True
            )
            # its report and risk verdicts, kept beside it now (the service in the background): a
            # diff, the trend or a page of the snapshot then reads them instead of judging again
            started = time.monotonic()
            kept = snapshots.keep_judgement(snapshots.SnapshotView(store, taken))
            print(
                f"its validation report ({len(kept.results)} result(s)) and risk verdicts kept"
                f" ({time.monotonic() - started:.1f} s)"
            )
        else:
            snapshots.delete(store, args.name)
            print(f"snapshot {args.name} deleted")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """What changed between two snapshots, or a snapshot and now (service/diff.py)."""
    from . import diff

    with _open(args, read_only=True) as store:
        found = diff.diff(store, args.before, args.after, args.as_of)
    if args.format == "json":
        print(json.dumps(found.to_json(), indent=2))
    else:
        print("\n".join(found.text_lines()))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    files = _existing(args.files)
    graph = check_iri(args.graph) if args.graph else None
    fmt = format_for(name=args.format) if args.format else None
    with _open(args) as store:
        added = store.load_files(files, graph=graph, fmt=fmt, replace=args.replace)
        print(f"loaded {added} triples from {len(files)} file(s); the store holds {store.count()} quads")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "xlsx" or (args.format is None and args.output and args.output.suffix == ".xlsx"):
        from . import workbook

        with _read(args) as store:
            try:
                return _write(args.output, workbook.export(store))
            except workbook.WorkbookError as e:
                raise UsageError(f"the store does not fit the workbook: {e}") from None
    if args.format == "oscal":
        from . import oscal

        with _read(args) as store:
            return _write(args.output, oscal.export_json(store, args.as_of).encode("utf-8"))
    fmt = (
        format_for(name=args.format)
        if args.format
        else (format_for(path=args.output) if args.output else FORMATS["trig"])
    )
    with _read(args) as store:
        data = store.export(fmt, check_iri(args.graph) if args.graph else None, args.with_catalogue)
    return _write(args.output, data)


def _write(output: Path | None, data: bytes) -> int:
    """Write to a file, or to stdout when there is none."""
    if output is None:
        if data[:2] == b"PK" and sys.stdout.isatty():
            raise UsageError("a workbook is not for the terminal: give -o FILE.xlsx")
        sys.stdout.buffer.write(data)
        return 0
    try:
        output.write_bytes(data)
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror or e}") from None
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    """The empty workbook a modeller fills in."""
    from . import workbook

    _write(args.output, workbook.template())
    print(f"wrote {args.output}: fill it in, then `aims import {args.output}`", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """A filled workbook into the store, all or nothing, then what validation makes of it."""
    from . import workbook

    base = (
        args.base or f"https://example.org/{re.sub(r'[^a-z0-9]+', '-', args.file.stem.lower()).strip('-')}/"
    )
    try:
        graph = workbook.read(_existing([args.file])[0].read_bytes(), base)
    except workbook.WorkbookError as e:
        lines = [f"{args.file}{w if w.startswith(':') else ': ' + w}" for w in map(str, e.errors)]
        # "sheet 'Risks', row 4, ...: ..." or, for the whole file, ": ..."
        if len(lines) == 1:  # one problem, one line
            raise UsageError(f"{lines[0]}; nothing was imported") from None
        for line in lines:
            print(line, file=sys.stderr)
        raise UsageError(f"{args.file}: {len(e.errors)} problem(s); nothing was imported") from None
    target = check_iri(args.graph) if args.graph else source_graph(args.file)
    with _open(args) as store:
        added = store.load(
            graph.serialize(format="nt", encoding="utf-8"), FORMATS["nt"], target, replace=True
        )
        report = validation.validate(store, as_of=args.as_of)
    counts = {s: sum(1 for r in report.results if r.severity == s) for s in ("Violation", "Warning", "Info")}
    print(f"imported {added} triples from {args.file} into <{target}>")
    if not args.base:
        print(f"  rows without an IRI in the workbook get one made from {base}; give --base for your own")
    print(
        f"validation as of {report.as_of}: {counts['Violation']} violations, {counts['Warning']} warnings, "
        f"{counts['Info']} notes (aims validate --store for the list)"
    )
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    params = {}
    for item in args.param or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--param {item!r}: write name=value")
        params[name] = value
    queries.get(args.name).bindings(params)  # bad parameters are told before the store is opened
    with _read(args) as store:
        result = queries.run(store, args.name, params, today=getattr(args, "as_of", None))
    if args.format == "json":
        print(
            json.dumps(
                {
                    "variables": result.variables,
                    "rows": [{k: str(v) for k, v in row.items()} for row in result],
                },
                indent=2,
            )
        )
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.variables)
        for row in result:
            writer.writerow([str(row.get(v, "")) for v in result.variables])
    else:
        _print_table(result)
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    for q in queries.catalogue().values():
        params = " ".join(
            f"{p.name}={p.type}" + (f"(default {p.default})" if p.default else "") for p in q.parameters
        )
        print(f"{q.name:28s} {q.title}" + (f"  [{params}]" if params else ""))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the HTTP API under waitress (a production WSGI server), on 127.0.0.1 by default."""
    import logging
    import signal
    import threading

    import waitress

    from .http import create_app

    # the access log and warnings, one line each, on stderr
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    def interrupted(signum: int, frame: object) -> None:
        """Ctrl-C: waitress stops and the store is closed; should anything still hold the process
        ten seconds later, it ends anyway (every write is one transaction: all or nothing)."""
        watchdog = threading.Timer(10, os._exit, args=(130,))
        watchdog.daemon = True
        watchdog.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)

    overrides = _overrides(args, ("host", args.host), ("port", args.port))
    settings = config.load(overrides)
    store = open_store(settings)
    overrides["audit_log"] = settings.audit_trail()
    overrides["accounts_file"] = settings.accounts()  # beside the store, as the app would choose
    overrides["secret_key_file"] = settings.secret_file()
    try:
        app = create_app(overrides, store=store)  # loads the catalogue
    except ValueError as e:  # settings that cannot be used (tokens, roles, names)
        store.close()
        raise UsageError(f"bad settings: {e}") from None
    if args.load:
        added = store.load_files(_existing(args.load), replace=True)
        print(f"loaded {added} triples from {len(args.load)} file(s)")
    from .http import pages, query_process

    if store.kind == "embedded":
        query_process.prestart(settings.query_memory_mb)
    pages.warm(app)  # the dashboard's verdicts, worked out before the first reader asks
    try:
        try:
            server = waitress.create_server(
                app, host=settings.host, port=settings.port, threads=settings.threads, ident="aims-graph"
            )
        except OSError as e:  # the port is taken, or not ours to use
            raise UsageError(f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}") from None
        print(
            f"aims-graph serving the {store.kind} store at http://{settings.host}:{settings.port}/ "
            f"(API: http://{settings.host}:{settings.port}/api)",
            flush=True,
        )
        server.run()
    finally:
        store.close()
    return 0


def _store_options(p: argparse.ArgumentParser, snapshot: bool = False) -> None:
    if snapshot:
        p.add_argument(
            "--snapshot", metavar="NAME", help="read this snapshot of the store (aims snapshot list)"
        )
    p.add_argument("--data", type=Path, help="embedded store folder (default ./aims-data or AIMS_DATA_DIR)")
    p.add_argument("--endpoint", help="remote SPARQL query endpoint (or AIMS_ENDPOINT)")
    p.add_argument("--update-endpoint", help="remote SPARQL update endpoint (default: --endpoint)")
    p.add_argument("--graph-store-endpoint", help="remote Graph Store protocol endpoint, used for loads")


def _print_table(rows: Rows, out=sys.stdout) -> None:  # type: ignore[no-untyped-def]
    cells = [[str(r.get(v, "")) for v in rows.variables] for r in rows]
    widths = [max([len(v)] + [len(c[i]) for c in cells]) for i, v in enumerate(rows.variables)]
    print("  ".join(v.ljust(w) for v, w in zip(rows.variables, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)), file=out)


def cmd_summary(args: argparse.Namespace) -> int:
    store = _memory_store(args.files)
    result = queries.run(store, "summary")
    print(
        f"aims-graph {__version__}: {len(args.files)} file(s), {store.count() - store.count(CATALOGUE_GRAPH)} "
        "triples of organisation data"
    )
    for row in result:
        print(f"  {int(row['count']):5d}  {row['label']}")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return int(text)


def cmd_validate(args: argparse.Namespace) -> int:
    if args.no_builtin and not args.shapes:
        raise UsageError("--no-builtin needs --shapes FILE: there would be no rules to validate against")
    # the store is read, never written: opened read-only when `aims serve` holds it
    if args.snapshot:
        args.store = True
    if args.store == bool(args.files):
        raise UsageError("give the files to validate, or --store to validate the store, not both")
    store = _read(args) if args.store else _memory_store(args.files, catalogue=not args.no_builtin)
    report = validation.validate(
        store,
        as_of=args.as_of,
        stage=args.stage,
        system=check_iri(args.system) if args.system else None,
        inference=args.inference,
        engine=args.engine,
        extra_shapes=_shapes(args.shapes),
        builtin=not args.no_builtin,
    )
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    elif args.format == "turtle":
        print(report.graph.serialize(format="turtle"))
    else:
        counts = report.counts()
        print(
            f"as of {report.as_of}: {'conforms' if report.conforms else 'does not conform'} "
            f"({counts['Violation']} violations, {counts['Warning']} warnings, {counts['Info']} infos)"
        )
        for r in report.results:
            path = f" [{r.path.rsplit('#', 1)[-1]}]" if r.path else ""
            control = f" ({r.control_id})" if r.control_id and r.control_id != r.requirement_id else ""
            # what a person calls the thing, then where it is in the graph
            about = " ".join(
                t for t in (r.id if r.id and r.id not in (r.label or "") else None, r.label) if t
            )
            print(
                f"  {r.severity:9s} {r.requirement_id or '-':8s} stage {r.stage}  {about or '(unnamed)'}{control}\n"
                f"            {r.message}\n"
                f"            <{r.focus}>{path}"
            )
    return 0 if report.conforms else 1


def _framework(args: argparse.Namespace, store: Store) -> int | None:
    """`--framework eu-ai-act|nist-ai-rmf`: the crosswalk's statuses (gap) or summary (readiness)."""
    if args.framework == "iso42001":
        return None
    items = frameworks.status(store, args.framework, args.as_of)
    summary = frameworks.readiness(items)
    if args.command == "readiness":
        if args.format == "json":
            print(json.dumps({"framework": args.framework, **summary}, indent=2))
        else:
            print(
                f"{frameworks.get(args.framework).title}: {summary['percent_met']} % of {summary['applicable']} applicable requirements met"
            )
            for status in reports.STATUSES:
                print(f"  {status:15s} {summary[status]}")
        return 0 if not summary["not_met"] else 1
    if args.format == "json":
        print(json.dumps([i.to_json() for i in items], indent=2))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["id", "status", "why", "item"])
        for i in items:
            if i.requirement:
                writer.writerow([i.notation, i.status, i.why, i.item])
    else:
        for i in items:
            print(
                f"  {i.notation:18s} {i.status:15s} {i.why}" if i.requirement else f"{i.notation} {i.label}"
            )
    return 0


def cmd_gap(args: argparse.Namespace) -> int:
    store = _memory_store(args.files) if args.files else _read(args)
    done = _framework(args, store)
    if done is not None:
        return done
    statuses = reports.gap_analysis(store, as_of=args.as_of, stage=args.stage)
    if args.format == "json":
        print(json.dumps([vars(s) for s in statuses], indent=2))
    elif args.format == "csv":
        from . import workbook

        writer = csv.writer(sys.stdout)
        writer.writerow(["id", "kind", "group", "status", "findings", "requirement"])
        for s in statuses:  # for a spreadsheet: an own control's id is not run as a formula
            row = [s.id, s.kind, s.group, s.status, len(s.findings), s.requirement]
            writer.writerow([workbook.spreadsheet_cell(v) for v in row])
    else:
        for s in statuses:
            print(f"  {s.id:9s} {s.status:15s} {len(s.findings)} finding(s)")
    return 0


def cmd_readiness(args: argparse.Namespace) -> int:
    store = _memory_store(args.files) if args.files else _read(args)
    done = _framework(args, store)
    if done is not None:
        return done
    if args.stage is None:
        raise UsageError("give --stage 1 or 2 for ISO/IEC 42001's readiness")
    result = reports.readiness(store, args.stage, as_of=args.as_of)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
        return 0 if result.ready else 1
    print(f"stage {result.stage} readiness as of {result.as_of}: {'ready' if result.ready else 'NOT ready'}")
    for group, counts in result.groups.items():
        percent = counts["percent_met"]
        shown = f"{percent:5.1f} %" if isinstance(percent, float) else "    - "
        print(f"  {group:5s} {shown} met  " + "  ".join(f"{k}: {counts[k]}" for k in reports.STATUSES))
    if result.blocking:
        print(f"blocking ({len(result.blocking)}):")
        for b in result.blocking:
            print(f"  {b['requirement_id']:8s} <{b['focus']}> {b['message']}")
    return 0 if result.ready else 1


def _new_password(args: argparse.Namespace) -> str:
    """The password from --password-file (its trailing newline dropped), else asked for twice."""
    if args.password_file:
        return _existing([args.password_file])[0].read_text(encoding="utf-8").rstrip("\r\n")
    import getpass

    try:
        password = getpass.getpass("Password (at least 10 characters): ")
        again = getpass.getpass("The same password again: ")
    except EOFError:
        raise UsageError("no password given: type it at the prompt or use --password-file") from None
    if password != again:
        raise UsageError("the two passwords differ; nothing was changed")
    return password


def cmd_user(args: argparse.Namespace) -> int:
    """Accounts for signing in to the pages, kept beside the store (never in the graph)."""
    from . import accounts

    pairs = (("data_dir", args.data), ("accounts_file", args.accounts_file))
    path = config.load({k: v for k, v in pairs if v is not None}).accounts()
    try:
        if args.action == "list":
            found = accounts.load(path).values()
            if not found:
                print(f"no accounts in {path}")
            for a in found:  # never the hash
                print(f"{a.name}\t{a.role}\t{a.person or '-'}\t{a.created}")
        elif args.action == "add":
            accounts.check_name(args.name)  # before asking for a password
            account = accounts.add(path, args.name, args.role, _new_password(args), args.person)
            print(f"added {account.name} ({account.role}) to {path}")
        elif args.action == "passwd":
            accounts.set_password(path, args.name, _new_password(args))
            print(f"changed the password of {args.name}; its open sessions have ended")
        else:
            accounts.remove(path, args.name)
            print(f"removed {args.name}; its open sessions have ended")
    except accounts.AccountError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror or e}") from None
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    """The chain from a risk, control, requirement, system or evidence item, by IRI or identifier."""
    from . import traces

    files = [*args.files, *(args.file or [])]  # --file FILE: the older spelling, still read
    store = _memory_store(files) if files else _read(args)
    with store:
        try:
            found = traces.trace(store, args.kind, traces.resolve(store, args.kind, args.id), args.as_of)
        except traces.TraceNotFound as e:
            raise UsageError(str(e)) from None
    if args.format == "json":
        print(json.dumps(found.to_json(), indent=2))
    else:
        print("\n".join(found.text_lines()))
    return 0


def cmd_pack(args: argparse.Namespace) -> int:
    """The audit pack (a ZIP: the PDF, the workbook, TriG, OSCAL, the evidence files, a manifest)."""
    from . import pack

    folder = config.load(_overrides(args)).files_folder()
    with _read(args) as store, pack.request_for(store):
        made = pack.build(args.as_of or dt.date.today(), folder)
    _write(args.output, made.data)
    for gone in made.left_out:
        print(f"aims: left out of the pack: {gone['file']}: {gone['why']}", file=sys.stderr)
    print(f"{args.output}: {len(made.manifest['files'])} files, judged as of {made.manifest['as_of']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aims", description="ISO/IEC 42001 AI management system graph")
    parser.add_argument("--version", action="version", version=f"aims-graph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("summary", help="load RDF files and print what they hold")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("serve", help="serve the HTTP API (waitress)")
    _store_options(p)
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port (default 8000)")
    p.add_argument("--load", nargs="+", type=Path, metavar="FILE", help="load (replace) these files first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("load", help="load RDF files into the store, all or nothing")
    _store_options(p)
    p.add_argument("--graph", metavar="IRI", help="the named graph (default: one graph per file)")
    p.add_argument("--format", help="RDF format (default: from each file's extension)")
    p.add_argument("--replace", action="store_true", help="replace the graph instead of adding to it")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("export", help="write the dataset or one graph")
    _store_options(p, snapshot=True)
    p.add_argument("--graph", metavar="IRI")
    p.add_argument(
        "--format",
        help=f"one of {', '.join(FORMATS)}; xlsx (the workbook); oscal (the SoA as an OSCAL component "
        "definition) (default: from --output, else trig)",
    )
    p.add_argument(
        "--as-of", type=_date, help="oscal: the day evidence validity is judged on (default: today)"
    )
    p.add_argument("--output", "-o", type=Path)
    p.add_argument(
        "--with-catalogue",
        action="store_true",
        help="include the ISO/IEC 42001 catalogue graph (left out by default)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("template", help="write the workbook (XLSX) a modeller fills in")
    p.add_argument("--output", "-o", type=Path, required=True)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("import", help="read a filled workbook into the store, all or nothing, and validate")
    _store_options(p)
    p.add_argument("file", type=Path)
    p.add_argument("--base", help="the IRI the rows' IRIs are made from when the workbook gives none")
    p.add_argument("--graph", metavar="IRI", help="the named graph (default: one named after the file)")
    p.add_argument("--as-of", type=_date, help="the day validation judges dates on (default: today)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("query", help="run a named query")
    _store_options(p, snapshot=True)
    p.add_argument("name")
    p.add_argument("--param", action="append", metavar="NAME=VALUE")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("trace", help="the whole chain from a risk, control, requirement, system or evidence")
    _store_options(p, snapshot=True)
    p.add_argument("kind", choices=("risk", "control", "requirement", "system", "evidence"))
    p.add_argument(
        "id",
        help="an IRI, an identifier, a label or a clause or control number (R01, CreditLens, 9.1, A.5.5)",
    )
    p.add_argument("--as-of", type=_date, help="the day evidence validity is judged on (default: today)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--file", action="append", type=Path, help=argparse.SUPPRESS)  # FILES, as before
    p.add_argument("files", nargs="*", type=Path, help="trace in these files instead of the store")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser(
        "pack", help="the audit pack: a ZIP with the PDF, workbook, TriG, OSCAL, evidence files"
    )
    _store_options(p, snapshot=True)
    p.add_argument(
        "--as-of", type=_date, help="the day verdicts are judged on (default: today, or the snapshot's)"
    )
    p.add_argument("--output", "-o", type=Path, required=True, help="the ZIP to write")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("queries", help="list the named queries and their parameters")
    p.set_defaults(func=cmd_queries)

    p = sub.add_parser(
        "validate", help="check RDF files against the ISO/IEC 42001 shapes (exit 1 on violations)"
    )
    p.add_argument(
        "--stage", type=int, choices=(1, 2), help="the rules up to this audit stage (2 includes stage 1)"
    )
    p.add_argument("--system", metavar="IRI", help="only this AI system and what hangs off it")
    p.add_argument("--as-of", type=_date, help="judge dates as of this day (default today)")
    p.add_argument(
        "--inference", choices=validation.INFERENCE, default="none", help="infer first (pyshacl engine)"
    )
    p.add_argument(
        "--engine",
        choices=validation.ENGINES,
        default="store",
        help="store: rules compiled to SPARQL and run by the store (default); pyshacl: the reference",
    )
    p.add_argument(
        "--shapes",
        action="append",
        type=Path,
        metavar="FILE",
        help="your own SHACL rules, added to the built-in ones (repeat for more files)",
    )
    p.add_argument(
        "--no-builtin", action="store_true", help="only the --shapes rules: plain SHACL, no catalogue"
    )
    p.add_argument("--format", choices=("text", "json", "turtle"), default="text")
    p.add_argument(
        "--store", action="store_true", help="validate the store (--data or --endpoint) instead of files"
    )
    _store_options(p, snapshot=True)
    p.add_argument("files", nargs="*", type=Path)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("gap", help="gap analysis: a status for every leaf clause, Annex A and own control")
    p.add_argument("--stage", type=int, choices=(1, 2), help="only the rules up to this audit stage")
    p.add_argument("--as-of", type=_date)
    p.add_argument(
        "--framework",
        choices=tuple(frameworks.FRAMEWORKS),
        default="iso42001",
        help="the framework judged (default iso42001)",
    )
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    _store_options(p, snapshot=True)
    p.add_argument("files", nargs="*", type=Path, help="these files (default: the store)")
    p.set_defaults(func=cmd_gap)

    p = sub.add_parser("readiness", help="certification readiness for stage 1 or 2 (exit 1 when not ready)")
    p.add_argument("--stage", type=int, choices=(1, 2), help="the audit stage (ISO/IEC 42001)")
    p.add_argument("--as-of", type=_date)
    p.add_argument(
        "--framework",
        choices=tuple(frameworks.FRAMEWORKS),
        default="iso42001",
        help="the framework judged (default iso42001)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    _store_options(p, snapshot=True)
    p.add_argument("files", nargs="*", type=Path, help="these files (default: the store)")
    p.set_defaults(func=cmd_readiness)

    p = sub.add_parser("snapshot", help="milestones: freeze the organisation's graphs (create, list, delete)")
    actions = p.add_subparsers(dest="action", required=True)
    for action, about in (
        ("create", "freeze every organisation graph under NAME, read-only"),
        ("list", "the snapshots: name, day judged on, when, by whom, note"),
        ("delete", "remove a snapshot"),
    ):
        q = actions.add_parser(action, help=about)
        _store_options(q)
        if action != "list":
            q.add_argument("name")
        if action == "create":
            q.add_argument("--note", help="what the milestone was (stage 2 audit, ...)")
            q.add_argument("--as-of", type=_date, help="the day its verdicts are judged on (default: today)")
        if action == "list":
            q.add_argument("--format", choices=("text", "json"), default="text")
        q.set_defaults(func=cmd_snapshot)

    p = sub.add_parser(
        "diff", help="what changed between two snapshots, or a snapshot and now, and the verdicts that moved"
    )
    _store_options(p)
    p.add_argument("before", metavar="A", help="a snapshot's name, or now")
    p.add_argument("after", metavar="B", help="a snapshot's name, or now")
    p.add_argument("--as-of", type=_date, help="the day now is judged on (default: today)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("user", help="accounts for signing in to the pages: add, list, remove, passwd")
    actions = p.add_subparsers(dest="action", required=True)
    for action, about in (
        ("add", "make an account (the password is asked for twice, or read from --password-file)"),
        ("list", "the accounts: name, role, person, created"),
        ("remove", "remove an account (its open sessions end)"),
        ("passwd", "set a new password (the account's open sessions end)"),
    ):
        q = actions.add_parser(action, help=about)
        q.add_argument("--data", type=Path, help="the store folder the accounts sit beside (./aims-data)")
        q.add_argument("--accounts-file", type=Path, help="the accounts file (default <data>-accounts.json)")
        if action != "list":
            q.add_argument("name")
        if action in ("add", "passwd"):
            q.add_argument("--password-file", type=Path, help="read the password from this file")
        if action == "add":
            q.add_argument("--role", choices=("reader", "editor", "admin"), required=True)
            q.add_argument("--person", metavar="IRI", help="the person in the graph this account is")
        q.set_defaults(func=cmd_user)
    return parser


def _quiet() -> None:
    """No library log lines or warnings on the terminal: rdflib logs a traceback for every
    ill-formed literal ("abc"^^xsd:integer), which is data the datatype rules report, and warns
    about odd booleans. The command says what went wrong itself, in one line."""
    logging.getLogger().addHandler(logging.NullHandler())  # records stop here, not at stderr
    logging.getLogger().setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")


def main(argv: Sequence[str] | None = None) -> int:
    runtime.collect_cycles_less_often()
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and isinstance(getattr(args, "files", None), list) and not any(r.startswith("-") for r in rest):
        # files after options (`aims trace risk R01 --as-of 2026-11-20 a.ttl b.ttl`): argparse
        # gives the positionals before the first option only
        args.files += [Path(r) for r in rest]
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command != "serve":  # the service keeps its log (cmd_serve sets it up)
        _quiet()
    try:
        return int(args.func(args))
    except InputRefused as e:
        print(f"aims: refused: {e}", file=sys.stderr)
        return 2
    except LoadError as e:
        print(f"aims: RDF syntax error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `aims ... | head`: the reader has gone, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("aims: interrupted", file=sys.stderr)
        return 130
    except (
        UsageError,
        StoreError,
        queries.QueryError,
        validation.ValidationError,
        validation.ShapeError,
    ) as e:
        print(f"aims: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
