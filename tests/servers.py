"""Real SPARQL servers for the remote-store tests, started on 127.0.0.1 in a temporary folder.

`oxigraph serve` comes from the `oxigraph` package on PyPI (a dev dependency); Virtuoso 7 from
Debian's `virtuoso-opensource-7-bin` (.ci/run installs it). A missing server skips its tests,
unless AIMS_REQUIRE_SERVERS=1 (as in CI), where it fails them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.store.remote import RemoteStore

REQUIRED = os.environ.get("AIMS_REQUIRE_SERVERS") == "1"
ROOT = Path(__file__).resolve().parent.parent  # the checkout: `aims serve` runs from here
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]  # the user nobody, no groups


def missing(what: str) -> None:
    if REQUIRED:
        pytest.fail(f"{what} (AIMS_REQUIRE_SERVERS=1)")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(
    port: int,
    method: str,
    target: str,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 120,
):  # type: ignore[no-untyped-def]
    """One raw HTTP request to a server on this machine: (status, content type, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, target, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type") or "", response.read()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60.0) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server not up after {seconds} s: {url}")


def stop(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def oxigraph_server(folder: Path) -> Iterator[RemoteStore]:
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(binary).exists():
        missing("oxigraph server binary not installed (pip install oxigraph)")
    port = free_port()
    log = open(folder / "oxigraph.log", "wb")
    process = subprocess.Popen(
        [binary, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/query?query=ASK%7B%7D", process)
        yield RemoteStore(f"{base}/query", f"{base}/update", f"{base}/store")
    finally:
        stop(process)
        log.close()


VIRTUOSO_INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DirsAllowed = ., {d}
NumberOfBuffers = 20000
MaxDirtyBuffers = 12000
VADInstallDir = {d}/vad

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}
MaxClientConnections = 8
ServerThreads = 8

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 300
MaxQueryCostEstimationTime = 0
"""


@contextmanager
def virtuoso_server(folder: Path) -> Iterator[RemoteStore]:
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not binary or not isql:
        missing("Virtuoso not installed (apt-get install virtuoso-opensource-7-bin)")
    sql_port, http_port = free_port(), free_port()
    (folder / "vad").mkdir(parents=True, exist_ok=True)
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(d=folder, sql_port=sql_port, http_port=http_port))
    log = open(folder / "stdout.log", "wb")
    process = subprocess.Popen(
        [binary, "+foreground", "+configfile", str(ini)], cwd=folder, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_until_up(f"{base}/sparql?query=ASK%7B%7D", process)
        # Anonymous /sparql and /sparql-graph-crud run as the SQL user SPARQL: allow it to write (loopback only).
        out = subprocess.run(
            [isql, f"127.0.0.1:{sql_port}", "dba", "dba", 'exec=GRANT SPARQL_UPDATE TO "SPARQL";'],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "*** Error" in out.stdout + out.stderr:
            raise RuntimeError(out.stdout + out.stderr)
        yield RemoteStore(f"{base}/sparql", f"{base}/sparql", f"{base}/sparql-graph-crud")
    finally:
        stop(process)
        log.close()


@contextmanager
def aims_server(
    folder: Path,
    load: list[Path] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    root: Path | None = None,
) -> Iterator[int]:
    """A real `aims serve` process on 127.0.0.1 with its data in `folder`; yields its port. `root`:
    the checkout whose code runs (the bench compares an earlier release), this one by default."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        "--port",
        str(port),
        "--data",
        str(folder / "data"),
    ]
    if load:
        command += ["--load", *map(str, load)]
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "serve.log", "wb")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=root or ROOT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, timeout)
        yield port
    finally:
        stop(process)
        log.close()


def python_for_nobody(folder: Path) -> Path:
    """A Python the user nobody can run (a virtual environment in `folder`, which nobody must be
    able to read): made from the system's python3 of the same version, reading this checkout's
    installed packages (CI's Python may sit under /root). Skips unless this runs as root with
    setpriv, and nobody can read the checkout."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to drop privileges with setpriv")
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system.exists():
        pytest.skip(f"no {system} to make a Python the user nobody can run")
    venv = folder / "venv"
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_relative_to(sys.prefix))
    (venv / "lib" / system.name / "site-packages" / "aims.pth").write_text(
        f"import site; site.addsitedir({str(site)!r})\n"
    )
    python = venv / "bin" / "python"
    can_read = subprocess.run(
        [*AS_NOBODY, str(python), "-c", "import service.cli"],
        cwd=ROOT, capture_output=True, env={**os.environ, "HOME": str(folder)},
    )  # fmt: skip
    if can_read.returncode != 0:
        pytest.skip(
            f"the user nobody cannot read this checkout or its packages ({ROOT}): clone it where others can"
        )
    return python


@contextmanager
def unprivileged_server(
    env: dict[str, str] | None = None, load: list[Path] | None = None, timeout: float = 60.0
) -> Iterator[int]:
    """`aims serve` as the user nobody (setpriv), as it would be deployed: no root, and (on this
    kind of machine) no network namespace either; yields its port. Its folder (data, audit trail
    beside it, and copies of the files to `load`, which nobody may not be able to read where they
    are) belongs to nobody and is removed at the end; its output stays in <folder>.log."""
    folder = Path(tempfile.mkdtemp(prefix="aims-nobody-"))
    try:
        folder.chmod(0o755)
        python = python_for_nobody(folder)
        copies = []
        for i, path in enumerate(load or []):
            copies.append(folder / "load" / f"{i}-{path.name}")  # numbered: names may repeat
            copies[-1].parent.mkdir(exist_ok=True)
            shutil.copyfile(path, copies[-1])
            copies[-1].chmod(0o644)
        os.chown(folder, 65534, 65534)  # nobody writes the data folder and the trail beside it
        port = free_port()
        command = [*AS_NOBODY, str(python), "-m", "service.cli", "serve", "--port", str(port),
                   "--data", str(folder / "data")]  # fmt: skip
        if copies:
            command += ["--load", *map(str, copies)]
        with open(folder.with_suffix(".log"), "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                       env={**os.environ, **(env or {}), "HOME": str(folder)})  # fmt: skip
            try:
                wait_until_up(f"http://127.0.0.1:{port}/health", process, timeout)
                yield port
            finally:
                stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def listening_pid(port: int) -> int:
    """The pid of the process listening on 127.0.0.1:port (from /proc/net/tcp and its fds)."""
    inode = next(
        (
            line.split()[9]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"  # LISTEN
        ),
        None,
    )
    if inode is not None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if any(os.readlink(fd) == f"socket:[{inode}]" for fd in Path(f"/proc/{pid}/fd").iterdir()):
                    return int(pid)
            except OSError:
                continue
    raise RuntimeError(f"no process listens on port {port}")


@contextmanager
def server_as(user: str, folder: Path, env: dict[str, str]) -> Iterator[int]:
    """`aims serve` as `user`: "root" (this process's user, as CI runs) or "nobody"."""
    if user == "root":
        with aims_server(folder, env=env) as p:
            yield p
    else:
        with unprivileged_server(env) as p:
            yield p
