"""Loopback ports for the servers tests start (and for ones they expect closed)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO


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
