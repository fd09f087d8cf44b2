"""`sanad doctor`: everything in effect, secrets hidden, one line per endpoint checked."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.ports import free_port

TOKEN = "123456:very-secret-bot-token"


def doctor(env: dict[str, str]):
    result = CliRunner().invoke(app, ["doctor"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    return free_port()  # released again: nothing listens there


def test_doctor_shows_the_bot_set_up_with_secrets_hidden(listening):
    result = doctor(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{listening}",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook",
            "SANAD_ALLOWED_USER_IDS": "1,2,3",
            "SANAD_ADMIN_IDS": "9",
            "SANAD_LLM_MODEL": "openai:some-model",
            "SANAD_LLM_BASE_URL": f"http://alice:hunter2@127.0.0.1:{listening}/v1",
            "SANAD_LLM_API_KEY": "sk-also-secret",
        }
    )
    out = result.output
    for secret in ("very-secret-bot-token", "hunter2", "alice", "sk-also-secret"):
        assert secret not in out
    assert "token: set (hidden)" in out
    assert "updates: webhook https://bot.example.org/hook" in out
    assert "access: allowlist of 3 user(s) and 0 chat(s)" in out
    assert "admins: 1" in out
    assert "writer: LLM openai:some-model" in out
    assert f"LLM endpoint: http://***@127.0.0.1:{listening}/v1: reachable" in out
    assert f"Bot API: http://127.0.0.1:{listening}: reachable" in out


def test_doctor_reports_each_unreachable_endpoint_on_one_line(closed_port):
    result = doctor(
        {
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{closed_port}",
            "SANAD_CHROMA_HOST": "127.0.0.1",
            "SANAD_CHROMA_PORT": str(closed_port),
        }
    )
    lines = result.stdout.splitlines()
    unreachable = [line for line in lines if "UNREACHABLE" in line]
    assert len(unreachable) == 2
    assert any(line.strip().startswith("chroma server:") for line in unreachable)
    assert any(line.strip().startswith("Bot API:") for line in unreachable)
    assert "token: NOT SET" in result.stdout
    assert "access: everyone" in result.stdout


def test_doctor_says_why_the_model_did_not_load_once(tmp_path):
    result = doctor({"SANAD_EMBEDDING_MODEL": str(tmp_path / "missing")})
    assert result.output.count("no model folder") == 1
    assert "retrieval: keyword-only" in result.stdout


def test_doctor_says_a_changed_corpus_setting_will_reindex(tmp_path):
    CliRunner().invoke(app, ["ingest"])
    other = tmp_path / "other"
    other.mkdir()
    result = doctor({"SANAD_CORPUS_DIR": str(other)})
    assert "built from: " in result.stdout
    assert f"SANAD_CORPUS_DIR is now {other}: the next question re-indexes" in result.stdout


def test_doctor_gives_the_chat_stores_size_and_purge_schedule(tmp_path):
    from bot.storage import ChatStore

    data = tmp_path / "data"
    store = ChatStore(data / "chat.sqlite3")
    for i in range(300):
        store.remember(f"k{i}", ("q" * 2000, "a" * 2000), None)
    store.close()
    out = doctor({"SANAD_DATA_DIR": str(data), "SANAD_PURGE_MINUTES": "30"}).output
    line = next(line for line in out.splitlines() if "chat store:" in line)
    size = float(line.split("(")[1].split(" MB")[0])
    assert size >= 1.0  # 300 × 4 KB of memory
    assert "answers kept 90 days, purged every 30 minutes" in line
