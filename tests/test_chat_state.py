"""Chat state: answer records, bounded and expiring memory, limits, bot settings."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest

from bot.config import BotSettings, load_bot_settings
from bot.limits import InFlight, QuestionRateLimit, RefusalNotices, SummaryLimits
from bot.storage import SCHEMA, AnswerRecord, ChatStore, CitedPassage
from retrieval.config import load_settings
from retrieval.errors import ConfigError

SCHEMA_VERSION = len(SCHEMA.sqlite)

ROOT = Path(__file__).resolve().parent.parent


def _record() -> AnswerRecord:
    cited = CitedPassage(1, "d", "T", "P", "2024", "", "fa", "c", "متن", 0, 3)
    return AnswerRecord("پرسش", "fa", "extractive", False, "پاسخ [1]", [], [cited])


def _store(backend: str | None, tmp_path: Path, **options: float) -> ChatStore:
    """The chat store on the backend under test (SQLite files, or PostgreSQL)."""
    settings = load_settings(data_dir=tmp_path / "data", database_url=backend)
    return ChatStore.open(settings, **options)  # type: ignore[arg-type]


def _sql(store: ChatStore, sql: str, *params: object) -> list[tuple[object, ...]]:
    with store.transaction() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if sql.lstrip().upper().startswith(("SELECT", "PRAGMA")) else []


def test_answer_records_survive_reopening(backend, tmp_path):
    store = _store(backend, tmp_path)
    record_id = store.save_answer(_record(), chat_id=-1001234567890, user_id=1)
    store.close()
    again = _store(backend, tmp_path)
    found = again.answer(record_id, -1001234567890)  # a supergroup's 64-bit id
    again.close()
    assert found is not None
    assert found.citations[0].text == "متن"
    assert len(record_id) <= 16


def test_memory_keeps_only_the_last_turns(backend, tmp_path):
    store = _store(backend, tmp_path, memory_turns=2)
    for i in range(5):
        store.remember("k", (f"q{i}", f"a{i}"), None)
    assert store.history("k") == [("q3", "a3"), ("q4", "a4")]
    store.forget("k")
    assert store.history("k") == []
    store.close()


def test_memory_expires(backend, tmp_path, monkeypatch):
    store = _store(backend, tmp_path, memory_hours=1)
    store.remember("k", ("q", "a"), store.save_answer(_record(), chat_id=1, user_id=1))
    assert store.last_answer("k", 1) is not None
    import bot.storage

    real = bot.storage.time.time
    monkeypatch.setattr(bot.storage.time, "time", lambda: real() + 3601)
    assert store.history("k") == []
    assert store.last_answer("k", 1) is None
    store.close()


def test_rate_limit_is_a_sliding_minute(backend, tmp_path):
    start = time.time()
    now = [start]
    store = _store(backend, tmp_path)
    limit = QuestionRateLimit(store, 3, clock=lambda: now[0])
    assert [limit.wait_seconds(1) for _ in range(3)] == [0, 0, 0]
    now[0] = start + 20
    assert limit.wait_seconds(1) == 40  # the first question leaves the window at 60 s
    assert limit.wait_seconds(2) == 0  # per user
    other_replica = QuestionRateLimit(_store(backend, tmp_path), 3, clock=lambda: now[0])
    assert other_replica.wait_seconds(1) == 40  # the count is shared, not per process
    now[0] = start + 60.5
    assert limit.wait_seconds(1) == 0
    store.close()


def test_one_refusal_notice_per_user_per_window():
    now = [0.0]
    notices = RefusalNotices(60, clock=lambda: now[0])
    assert notices.may_tell(1)
    assert not notices.may_tell(1)
    assert notices.may_tell(2)  # per user
    now[0] = 59
    assert not notices.may_tell(1)
    now[0] = 60
    assert notices.may_tell(1)  # a new window, a new notice


def test_one_in_flight_across_replicas_until_it_ends_or_its_replica_died(backend, tmp_path):
    now = [time.time()]
    busy = InFlight(_store(backend, tmp_path), stale_after=300, clock=lambda: now[0])
    elsewhere = InFlight(_store(backend, tmp_path), stale_after=300, clock=lambda: now[0])
    assert busy.begin(1)
    assert not busy.begin(1)
    assert not elsewhere.begin(1)  # another replica sees it too
    assert elsewhere.begin(2)
    busy.end(1)
    assert elsewhere.begin(1)
    now[0] += 301  # the replica answering user 1 died without ending it
    assert busy.begin(1)


def test_summary_limits_count_per_user_and_per_chat(backend, tmp_path):
    now = [time.time()]
    limits = SummaryLimits(_store(backend, tmp_path), 2, 3, clock=lambda: now[0])
    assert [limits.wait_seconds(1, -100) for _ in range(2)] == [0, 0]
    assert limits.wait_seconds(1, -100) == 600  # this user's two are used
    assert limits.wait_seconds(2, -100) == 0
    assert limits.wait_seconds(3, -100) == 600  # the chat's three are used
    assert limits.wait_seconds(3, -200) == 0  # a refusal counted nothing


def test_every_bot_setting_is_documented_in_env_example():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z_]+)=", text, flags=re.M))
    for name, field in BotSettings.model_fields.items():
        variable = (
            field.validation_alias
            if isinstance(field.validation_alias, str)
            else f"SANAD_{name.upper()}"
        )
        assert variable in documented, f"{variable} is not in .env.example"


def test_id_lists_parse_and_bad_ones_name_the_variable(monkeypatch):
    monkeypatch.setenv("SANAD_ADMIN_IDS", "12, -100345;7")
    assert load_bot_settings().admin_ids == {12, -100345, 7}
    monkeypatch.setenv("SANAD_ALLOWED_USER_IDS", "12, alice")
    with pytest.raises(ConfigError, match="SANAD_ALLOWED_USER_IDS"):
        load_bot_settings()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("ftp://x", "TELEGRAM_API_BASE_URL"), ("http://127.0.0.1:8081/bot", "without /bot")],
)
def test_bot_api_root_is_checked(monkeypatch, value, fragment):
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", value)
    with pytest.raises(ConfigError, match=fragment):
        load_bot_settings()


def test_allowlists_let_admins_listed_users_and_listed_groups_in(monkeypatch):
    open_bot = load_bot_settings()
    assert open_bot.may_use(5, 5)
    monkeypatch.setenv("SANAD_ALLOWED_USER_IDS", "1")
    monkeypatch.setenv("SANAD_ALLOWED_CHAT_IDS", "-100")
    monkeypatch.setenv("SANAD_ADMIN_IDS", "9")
    s = load_bot_settings()
    assert s.may_use(1, 1)
    assert s.may_use(5, -100)  # anyone in a listed group
    assert s.may_use(9, 9)
    assert not s.may_use(5, 5)
    assert not s.may_use(5, -200)


def test_a_chat_store_from_before_recorded_versions_is_upgraded_keeping_its_answers(tmp_path):
    path = tmp_path / "chat.sqlite3"
    old = sqlite3.connect(path)  # the schema as the first release wrote it, unversioned
    old.executescript(
        "CREATE TABLE answers (id TEXT PRIMARY KEY, chat_id INTEGER NOT NULL, user_id INTEGER,"
        " created REAL NOT NULL, body TEXT NOT NULL);"
        "CREATE TABLE memory (key TEXT PRIMARY KEY, turns TEXT NOT NULL, last_answer TEXT,"
        " updated REAL NOT NULL);"
        "CREATE TABLE languages (user_id INTEGER PRIMARY KEY, lang TEXT NOT NULL);"
    )
    body = json.loads(_record().to_json())
    del body["citations"][0]["author"]  # written before passages had an author
    body["citations"][0]["added_later"] = "a field a newer Sanad wrote"
    old.execute("INSERT INTO answers VALUES ('abc', 1, 1, ?, ?)", (time.time(), json.dumps(body)))
    old.commit()
    old.close()
    store = ChatStore(path)
    record = store.answer("abc", 1)
    assert record is not None
    assert record.citations[0].text == "متن"
    assert record.citations[0].author == ""
    assert _sql(store, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    store.close()
    assert ChatStore(path).answer("abc", 1) is not None  # and again, already upgraded


def test_a_chat_store_from_a_newer_sanad_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "chat.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="newer Sanad"):
        ChatStore(path)


async def test_old_answers_and_memory_are_purged_on_a_schedule(api, monkeypatch):
    from tests.bot_harness import bot_settings, running

    settings = bot_settings(api, monkeypatch, SANAD_PURGE_MINUTES="0.01", SANAD_MEMORY_HOURS="1")
    store = ChatStore(settings.data_dir / "chat.sqlite3")
    kept = store.save_answer(_record(), chat_id=1, user_id=1)
    old = store.save_answer(_record(), chat_id=1, user_id=1)
    store.remember("stale", ("q", "a"), None)
    long_ago = time.time() - 100 * 86400
    _sql(store, "UPDATE answers SET created = ? WHERE id = ?", long_ago, old)
    _sql(store, "UPDATE memory SET updated = ?", long_ago)
    store.close()
    async with running(api, settings) as app:
        live = app.bot_data["sanad"].conversation.store
        _sql(live, "UPDATE answers SET created = ? WHERE id = ?", long_ago, kept)
        await api.wait_for(lambda: live.answer(kept, 1) is None)  # purged while running
        rows = _sql(live, "SELECT COUNT(*) FROM memory")
    assert rows == [(0,)]


def test_the_inbox_forgets_a_handled_update_but_keeps_its_id_for_two_days(backend, tmp_path):
    store = _store(backend, tmp_path)
    assert store.receive(7, '{"update_id": 7, "text": "private words"}')
    assert store.receive(8, '{"update_id": 8}')
    assert not store.receive(7, "{}")  # offered again: not handled twice
    store.handled(7)
    assert [i for i, _, _ in store.unhandled()] == [8]
    assert not any(
        "private words" in str(body) for (body,) in _sql(store, "SELECT body FROM inbox")
    )
    _sql(store, "UPDATE inbox SET done = ? WHERE update_id = 7", time.time() - 3 * 86400)
    store.purge()
    assert store.receive(7, "{}")  # long forgotten: a new update may reuse the id
    assert [(i, n) for i, _, n in store.unhandled()] == [(7, 0), (8, 1)]  # attempts counted
    store.close()
