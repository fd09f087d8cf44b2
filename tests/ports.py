"""Loopback ports for the servers tests start (and for ones they expect closed)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any


class LoopbackHTTPServer(ThreadingHTTPServer):
    """The HTTP server the test fakes run: a thread per request, none outliving the
    process, and quiet when a client hangs up mid-reply (a bot stopping during a long
    poll, a stream cancelled by a timeout). That is not a server error, and printed
    it would land in whatever a later test captures."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def free_port() -> int:
    """A loopback port nothing listens on (released again for the caller to use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_chroma(
    path: Path, output: IO[str] | int = subprocess.DEVNULL, timeout: float = 60
) -> tuple[int, subprocess.Popen[bytes]]:
    """`chroma run` over `path` on a free loopback port, returned once it accepts
    connections; RuntimeError (the process stopped) if it exits or is not up in time."""
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return port, proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("chroma run exited") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"chroma run did not start within {timeout:.0f} s") from None
            time.sleep(0.2)


def postgres_binaries() -> Path | None:
    """The folder of a PostgreSQL server's programs on this machine (Debian keeps
    them under /usr/lib/postgresql/<version>/bin), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return versions[0].parent if versions else None


class Postgres:
    """A throwaway PostgreSQL server on a free loopback port, trusting local logins.

    PostgreSQL refuses to run as root; as root, the server runs as the `postgres`
    account the Debian package creates.
    """

    def __init__(self, folder: Path, binaries: Path) -> None:
        self.folder = folder
        self.binaries = binaries
        self.port = free_port()
        self.data = folder / "data"
        self._as: list[str] = []
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "sanad", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8")  # fmt: skip
        options = (
            f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(folder / "log"),
                  "-w", "start")  # fmt: skip
        self._databases = 0

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.binaries / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://sanad@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database on this server."""
        import psycopg

        self._databases += 1
        name = f"sanad_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
