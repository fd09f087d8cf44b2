"""`sanad run` and `sanad chat` as a user starts them; webhooks; clean shutdown; no token in logs."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.application import build_application, serve
from bot.cli import app
from bot.heap import release_heap, settle_heap, settle_heap_again
from bot.logs import configure_logging, secrets_of
from tests.bot_harness import TOKEN, bot_settings, running
from tests.fake_llm import FakeLLMServer
from tests.fake_telegram import FakeBotAPI, bare
from tests.ports import free_port
from tests.test_answer_llm import GOOD

USER = 4242
QUESTION = "پوتین در نشست سازمان شانگهای در آستانه درباره طالبان چه گفت؟"


def test_run_without_a_token_says_how_to_get_one():
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "@BotFather" in result.output
    assert "TELEGRAM_BOT_TOKEN" in result.output


def test_run_with_a_wrong_token_or_unreachable_api_says_what_to_check(api, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "42:not-the-token-the-server-knows")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.root)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "refused the bot token" in result.output
    assert "not-the-token" not in result.output
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1
    assert "cannot reach the Bot API at http://127.0.0.1:" in result.output


def test_chat_answers_shows_sources_switches_language_and_forgets():
    lines = [
        QUESTION,
        "/sources",
        "/sources 1",
        "/lang ar",
        "/sources 9",
        "/new",
        "/sources",
        "/quit",
    ]
    result = CliRunner().invoke(app, ["chat"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "بر اساس منابع:" in out
    assert "[1] پوتین طالبان را متحد روسیه در مبارزه با تروریسم خواند" in out
    assert "‹" in out  # the quoted span marked in the passage
    assert "لغة الواجهة: العربية." in out
    assert "لا يوجد مصدر [9] في آخر إجابة." in out
    assert "نُسيت المحادثة" in out
    assert (
        out.rstrip()
        .rstrip("›")
        .rstrip()
        .endswith("لا توجد بعد إجابة ذات مصادر في هذه المحادثة. أرسل سؤالاً أولاً.")
    )


def _webhook_settings(api, monkeypatch, port: int, **extra: str):
    """Settings for webhook mode on `port` of loopback, at path /tg/hook."""
    return bot_settings(
        api,
        monkeypatch,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/tg/hook",
        TELEGRAM_WEBHOOK_PORT=str(port),
        **extra,
    )


async def test_the_loaded_index_is_kept_out_of_the_collectors_walk_while_serving(api, monkeypatch):
    # A full garbage collection over the index and model held the event loop for
    # ~300 ms under load (benchmarks/bot_load.py): every chat waited on it.
    gc.unfreeze()
    async with running(api, bot_settings(api, monkeypatch)):
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def _walked(objects: list[list[int]]) -> int:
    """How many of `objects` the collector still walks (frozen ones it does not)."""
    tracked = {id(o) for o in gc.get_objects()}
    return sum(id(o) in tracked for o in objects)


def test_a_swapped_index_is_frozen_too_but_only_when_the_bot_settled_the_heap():
    # An upload or a corpus version from another replica loads a new index: it must
    # leave the collector's walk too, or the stall comes back after the first upload.
    gc.unfreeze()
    settle_heap_again()  # `sanad chat`, or no bot running: nothing to settle
    assert gc.get_freeze_count() == 0
    try:
        settle_heap()
        new_index = [[i] for i in range(1000)]  # loaded after start-up
        assert _walked(new_index) == len(new_index)
        settle_heap_again()
        # The count is no test: the collection inside may free a few frozen objects.
        assert _walked(new_index) == 0
    finally:
        release_heap()


async def test_webhook_mode_checks_the_secret_and_answers(api, monkeypatch):
    port = free_port()
    settings = _webhook_settings(
        api, monkeypatch, port, TELEGRAM_WEBHOOK_SECRET="s3cret-webhook-value"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(build_application(settings), settings, stop))
    try:
        await api.wait_for(lambda: api.calls("setWebhook"))
        [hook] = api.calls("setWebhook")
        assert hook.params["url"] == f"http://127.0.0.1:{port}/tg/hook"
        assert hook.params["secret_token"] == "s3cret-webhook-value"
        update = api.private_text(USER, QUESTION, lang="fa")
        update["update_id"] = 1

        def post(secret: str) -> int:
            # PTB calls setWebhook just before its server listens: wait for it to accept.
            for _ in range(100):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/tg/hook",
                data=json.dumps(update).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as e:
                return e.code

        assert await asyncio.to_thread(post, "wrong") == 403
        assert await asyncio.to_thread(post, "s3cret-webhook-value") == 200
        [answer] = await api.wait_sent(USER)
        assert bare(answer["text"]).startswith("بر اساس منابع:")
        assert not api.calls("getUpdates")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _start_sanad_run(
    api: FakeBotAPI, tmp_path: Path, env: dict[str, str], deadline: float
) -> subprocess.Popen[str]:
    """`sanad run` as a user starts it, with `env` as its only Sanad settings besides the
    token and the fake Bot API; returned once it polls (by `deadline`)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("SANAD_", "TELEGRAM_"))},
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.root,
            "SANAD_DATA_DIR": str(tmp_path / "data"),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not api.calls("getUpdates"):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    except BaseException:
        process.kill()
        raise
    return process


def test_sigterm_shuts_down_cleanly_and_the_token_never_reaches_the_logs(api, tmp_path):
    deadline = time.monotonic() + 60
    env = {
        "SANAD_EMBEDDING_MODEL": "none",
        "SANAD_LOG_LEVEL": "DEBUG",  # the noisiest: PTB logs its URLs at this level
    }
    process = _start_sanad_run(api, tmp_path, env, deadline)
    try:
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        while not api.sent(USER):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Stopping" in err
    assert "polling Telegram" in err
    assert TOKEN not in out + err
    assert TOKEN.split(":")[1] not in out + err
    assert "***" in err  # there was something to redact


async def test_a_made_up_webhook_secret_never_reaches_the_debug_log(api, monkeypatch, capfd):
    settings = _webhook_settings(api, monkeypatch, free_port())
    configure_logging("DEBUG", secrets_of(settings))
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(build_application(settings), settings, stop))
        await api.wait_for(lambda: api.calls("setWebhook"))
        secret = api.calls("setWebhook")[0].params["secret_token"]
        stop.set()
        await asyncio.wait_for(task, 30)
    finally:
        configure_logging("WARNING")
    logged = capfd.readouterr().err
    assert "setWebhook" in logged  # the call and its parameters were logged at DEBUG …
    assert len(secret) >= 32
    assert secret not in logged  # … without the secret made up for this run


@pytest.mark.server
def test_a_hung_chroma_server_neither_stops_answers_nor_shutdown(
    api, tmp_path, chroma_server, minilm_path
):
    env = {
        "SANAD_EMBEDDING_MODEL": minilm_path,
        "SANAD_CHROMA_HOST": "127.0.0.1",
        "SANAD_CHROMA_PORT": str(chroma_server.port),
        "SANAD_CHROMA_TIMEOUT": "2",
        "HF_HUB_OFFLINE": "1",
    }
    # Indexed into the server first, then polling.
    process = _start_sanad_run(api, tmp_path, env, time.monotonic() + 120)
    users = (USER, USER + 1, USER + 2)
    try:
        chroma_server.proc.send_signal(signal.SIGSTOP)
        for user in users:
            api.push(api.private_text(user, QUESTION, lang="en"))
        deadline = time.monotonic() + 60
        while not all(api.sent(u) for u in users):
            assert time.monotonic() < deadline, "a hung Chroma server held the answers"
            time.sleep(0.1)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        stopped_in = time.monotonic() - started
    finally:
        chroma_server.proc.send_signal(signal.SIGCONT)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert stopped_in < 15
    for user in users:
        [answer] = api.sent(user)
        assert "[1]" in answer["text"]
        assert "تنها با واژه‌ها جستجو شد" in answer["text"]  # the fallback is said


def test_a_question_waiting_when_sanad_is_killed_is_answered_after_restart_once(api, tmp_path):
    """SIGKILL while an answer is being written, after Telegram was told the question
    arrived: the next start answers it, and the one after does not answer it again."""
    llm = FakeLLMServer().start()
    env = {
        "SANAD_EMBEDDING_MODEL": "none",
        "SANAD_LLM_MODEL": "openai:test-model",
        "SANAD_LLM_BASE_URL": llm.base_url,
        "SANAD_LLM_TIMEOUT": "120",
    }
    deadline = time.monotonic() + 120
    try:
        llm.enqueue(f"{GOOD} [1].", delay=60)  # the model is still writing when Sanad dies
        process = _start_sanad_run(api, tmp_path, env, deadline)
        try:
            update = api.push(api.private_text(USER, QUESTION, lang="fa"))
            while not (llm.history and _confirmed(api, update["update_id"])):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            process.kill()
            process.communicate()
        assert not api.updates  # Telegram no longer holds the question

        llm.replies.clear()
        llm.enqueue(f"{GOOD} [1].")
        for _start in range(2):  # the restart answers; the one after stays quiet
            polled = len(api.calls("getUpdates"))
            process = _start_sanad_run(api, tmp_path, env, deadline)
            try:
                while len(api.calls("getUpdates")) < polled + 3 or not _answers(api):
                    assert time.monotonic() < deadline, "the question was lost"
                    time.sleep(0.05)
                time.sleep(1.0)  # room for a second answer, were one coming
            finally:
                process.send_signal(signal.SIGTERM)
                _, err = process.communicate(timeout=30)
            assert process.returncode == 0, err
    finally:
        llm.stop()
    [answer] = _answers(api)
    assert GOOD.split()[0] in answer["text"]
    assert len(llm.history) == 2  # asked once before the kill, once after


def _confirmed(api: FakeBotAPI, update_id: int) -> bool:
    """Whether the bot has told Telegram it has update `update_id` (a later offset)."""
    return any(int(c.params.get("offset") or 0) > update_id for c in api.calls("getUpdates"))


def _answers(api: FakeBotAPI) -> list[dict[str, Any]]:
    return [m for m in api.sent(USER) if "[1]" in m["text"]]
