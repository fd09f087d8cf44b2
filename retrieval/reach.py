"""Whether a network endpoint answers: one TCP connection, with a short timeout."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

__all__ = ["connect_error"]


def connect_error(url: str, *, default_port: int = 80, timeout: float = 2.0) -> str | None:
    """None when a TCP connection to the host of `url` opens within `timeout`; else why not.

    The port is the URL's own, else 443 for https, else `default_port`.
    """
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else default_port)
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return reason or type(e).__name__
