"""A throwaway PostgreSQL server for the feedback tests (Debian's `postgresql` package, which
`.ci/run` installs): `initdb` into a temporary folder, `postgres` on a free localhost port, stopped
afterwards. RECLENS_TEST_POSTGRES_URL points the tests at an existing server instead."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the package's `postgres` user then."""
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh server; raises RuntimeError when none can start."""
    if os.environ.get("RECLENS_TEST_POSTGRES_URL"):
        yield os.environ["RECLENS_TEST_POSTGRES_URL"]
        return
    initdb, postgres = _bin("initdb"), _bin("postgres")
    if not initdb or not postgres:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    # its own folder: pytest's tmp folders are private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="reclens-pg-"))
    try:
        with _server(root, initdb, postgres) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _server(root: Path, initdb: str, postgres: str) -> Iterator[str]:
    data, sock = root / "pgdata", root / "pgsock"
    for folder in (root, sock):
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
    run = subprocess.run(
        _as_server_user([initdb, "-D", str(data), "-U", "reclens", "-A", "trust", "-E", "UTF8"]),
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"initdb failed: {run.stderr[-500:]}")
    port = _free_port()
    proc = subprocess.Popen(
        _as_server_user(
            [postgres, "-D", str(data), "-p", str(port), "-k", str(sock), "-h", "127.0.0.1"]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"postgresql+psycopg://reclens@127.0.0.1:{port}/postgres"
    try:
        _wait(proc, port)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait(proc: subprocess.Popen, port: int, timeout_s: float = 60) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {proc.stderr.read().decode()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(0.5)  # accepting connections a moment after the port opens
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("postgres did not start within a minute")
