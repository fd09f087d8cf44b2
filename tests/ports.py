"""Loopback ports for the servers tests start (and for ones they expect closed)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nothing listens on (released again for the caller to use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
