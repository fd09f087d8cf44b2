"""`sanad chat` as a user meets it: language, commands, sources, leaving, wrapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.chat import run_chat, wrap
from bot.config import load_bot_settings

ANSWERED_FA = "روابط طالبان و پاکستان پس از سقوط کابل چگونه است؟"  # two passages of 000
DECLINED = "Who won the 2022 World Cup?"


def chat(lines: list[str], *, end: type[BaseException] = EOFError, width: int | None = None):
    """Type `lines`, then `end` (Ctrl-D is EOFError, Ctrl-C KeyboardInterrupt)."""
    typed: Iterator[str] = iter(lines)
    printed: list[str] = []

    def read(_prompt: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise end from None

    run_chat(load_bot_settings(), read=read, write=printed.append, width=width)
    return printed


@pytest.fixture(autouse=True)
def _english_terminal(monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def test_the_banner_speaks_the_locale_and_names_every_command(monkeypatch):
    monkeypatch.setenv("LANG", "fa_AF.UTF-8")
    banner = chat([])[0]
    assert banner.startswith("سند — به دری، عربی یا انگلیسی بپرسید")
    for command in ("/sources [n]", "/lang", "/new", "/about", "/help", "/quit"):
        assert command in banner


def test_commands_answer_in_the_language_of_the_questions():
    printed = chat([ANSWERED_FA, "/sources 9", "/lang", "/new"])
    assert printed[-4] == "پاسخ آخر منبع [9] ندارد."
    assert printed[-3].startswith("استفاده: /lang fa")
    assert printed[-2] == "گفتگو فراموش شد. پرسش تازه‌ای بفرستید."


def test_sources_after_a_declined_question_shows_the_last_answer_that_had_sources():
    printed = chat([ANSWERED_FA, DECLINED, "/sources"])
    sources = printed[-2]
    assert sources.startswith(f"Sources of the answer to “{ANSWERED_FA}”")
    assert "‹" in sources  # the quoted span is marked
    assert "There is no answer with sources" not in sources


def test_sources_before_any_answer_says_so_in_the_askers_language(monkeypatch):
    monkeypatch.setenv("LANG", "ar_EG.UTF-8")
    printed = chat(["/sources"])
    assert printed[-2] == "لا توجد بعد إجابة ذات مصادر في هذه المحادثة. أرسل سؤالاً أولاً."


def test_help_is_about_the_terminal_not_telegram():
    help_text = chat(["/help"])[-2]
    assert "/quit" in help_text
    assert "/sources n" in help_text
    for telegram_only in ("button", "group", "@", "/ask"):
        assert telegram_only not in help_text


def test_no_invisible_direction_marks_reach_the_terminal(monkeypatch):
    monkeypatch.setenv("LANG", "ar_EG.UTF-8")
    printed = chat(["/lang", "/help", ANSWERED_FA, "/sources"])
    for message in printed:
        assert not set(message) & set("\u200e\u200f\u2066\u2067\u2068\u2069"), message


@pytest.mark.parametrize("key", [EOFError, KeyboardInterrupt])
def test_ctrl_d_and_ctrl_c_at_the_prompt_leave_on_a_fresh_line(key):
    printed = chat(["/help"], end=key)
    assert printed[-1] == ""  # a newline after the prompt: the shell's prompt is not glued to it


def test_source_lines_in_dari_show_the_author_and_no_english_notes():
    answer = chat([ANSWERED_FA])[-2]
    source_lines = [line for line in answer.splitlines() if line.startswith("[")]
    assert source_lines == [
        "[1][2] روابط طالبان و پاکستان پس از فرار غنی یا سقوط کابل — مهرالدین مشید، 2021"
    ]


def test_wrapping_breaks_at_spaces_only():
    long_line = ("جنگ بین طالبان و داعش در ژانویه ۲۰۱۵ آغاز شد " * 8).strip()
    wrapped = wrap(long_line, 40)
    assert all(len(line) <= 40 for line in wrapped.splitlines())
    assert wrapped.split() == long_line.split()
    assert wrap(long_line, None) == long_line


def test_set_up_notices_speak_the_users_language(monkeypatch):
    monkeypatch.setenv("LANG", "fa_AF.UTF-8")
    printed = chat([ANSWERED_FA])
    assert any(line.startswith("(نمایه خالی است: از ") for line in printed), printed
    assert not any("The index is empty" in line for line in printed)
