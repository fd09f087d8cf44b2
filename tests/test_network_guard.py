"""The suite itself: nothing but loopback can be reached from a test."""

import socket

import pytest

from tests.conftest import NetworkBlocked


def test_public_address_is_refused():
    with pytest.raises(NetworkBlocked), socket.socket() as s:
        s.connect(("93.184.216.34", 443))


def test_private_address_is_refused():
    with pytest.raises(NetworkBlocked), socket.socket() as s:
        s.connect(("10.0.0.1", 80))


def test_name_lookup_is_refused():
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("huggingface.co", 443)


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
