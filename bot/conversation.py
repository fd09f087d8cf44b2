"""The conversation logic both front ends share: Telegram (`bot.handlers`) and `sanad chat`.

It knows who is asking, remembers their recent turns, stores every answer so
its sources can be shown later, and picks the interface language. It knows
nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from bot.config import BotSettings
from bot.storage import AnswerRecord, ChatStore
from prompts import READER_LANGUAGES, UI_LANGUAGES, Phrase, text, ui_language
from retrieval.answer import Answerer
from retrieval.language import detect_language
from retrieval.llm import LLMError

__all__ = ["Conversation", "Who", "chosen_passage"]

Draft = Callable[[str], None]
P = ParamSpec("P")
T = TypeVar("T")


def chosen_passage(record: AnswerRecord, argument: str) -> tuple[int | None, Phrase | None]:
    """What `/sources <argument>` asks of `record`: every passage (None) or passage N,
    in any digits (`2`, `۲`, `٢`); or why not, when N is not a number the answer cites."""
    argument = argument.strip()
    if not argument:
        return None, None
    if not argument.isdecimal():
        return None, ("sources_usage", {})
    n = int(argument)
    if record.citation(n) is None:
        return None, ("no_such_source", {"n": n})
    return n, None


@dataclass(frozen=True)
class Who:
    """One asker in one chat. In groups each member has their own memory."""

    chat_id: int
    user_id: int
    private: bool = True
    client_lang: str | None = None  # the user's Telegram language, e.g. "fa" or "en-GB"

    @property
    def memory_key(self) -> str:
        return str(self.chat_id) if self.private else f"{self.chat_id}:{self.user_id}"


class Conversation:
    """Questions in, stored answer records out; plus sources, language and memory."""

    def __init__(
        self, settings: BotSettings, answerer: Answerer, store: ChatStore, executor: Executor
    ) -> None:
        self.settings = settings
        self.answerer = answerer
        self.store = store
        self.executor = executor
        # SQLite writes wait on the disk: one thread of their own keeps them off the
        # event loop, in order, and never behind a slow answer.
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="sanad-store")
        self._spoken: dict[str, str] = {}  # memory key → language of the last question

    @classmethod
    def open(cls, settings: BotSettings, answerer: Answerer) -> Conversation:
        """A conversation over `<data_dir>/chat.sqlite3`, with its bounded answer pool."""
        store = ChatStore.open(
            settings,
            memory_turns=settings.memory_turns,
            memory_hours=settings.memory_hours,
        )
        executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="sanad-answer")
        return cls(settings, answerer, store, executor)

    async def _io(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._store_thread, functools.partial(call, *args, **kwargs)
        )

    async def purge(self) -> int:
        """Drop old answers and expired memory from the chat store (see `ChatStore.purge`)."""
        return await self._io(self.store.purge)

    def close(self) -> None:
        """Finish pending answers and writes, then close the store."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._store_thread.shutdown(wait=True)
        self.store.close()

    async def language(self, who: Who, message: str | None = None) -> str:
        """The interface language: the user's /lang, their Telegram language, the message's."""
        chosen = await self._io(self.store.language, who.user_id)
        if chosen:
            return chosen
        if who.client_lang:
            code = who.client_lang.split("-")[0].lower()
            if code in READER_LANGUAGES:
                return ui_language(code)
        if message:
            detected = detect_language(message)
            if detected != "und":
                return ui_language(detected)
        # A command after questions: the language those questions were asked in.
        return self._spoken.get(who.memory_key, "en")

    async def set_language(self, who: Who, lang: str) -> bool:
        """Remember the user's interface language; False if `lang` is not one we speak."""
        lang = lang.strip().lower()
        if lang not in UI_LANGUAGES:
            return False
        await self._io(self.store.set_language, who.user_id, lang)
        return True

    async def ask(self, who: Who, question: str, *, on_draft: Draft | None = None) -> AnswerRecord:
        """Answer `question` with the asker's recent turns as context, and store it."""
        history = await self._io(self.store.history, who.memory_key)
        answer = await self.answerer.aask(
            question, history=history, executor=self.executor, on_draft=on_draft
        )
        record = AnswerRecord.from_answer(answer)
        if answer.language != "und":
            self._spoken[who.memory_key] = ui_language(answer.language)
        await self._io(self._keep, who, record, (answer.question, answer.answer))
        return record

    def _keep(self, who: Who, record: AnswerRecord, turn: tuple[str, str]) -> None:
        self.store.save_answer(record, chat_id=who.chat_id, user_id=who.user_id)
        # /sources shows the last answer that has sources: a declined question after
        # it leaves it in place.
        self.store.remember(who.memory_key, turn, record.id if record.citations else None)

    async def answer_record(self, record_id: str, chat_id: int) -> AnswerRecord | None:
        """A stored answer given in chat `chat_id`, for a button pressed under it."""
        return await self._io(self.store.answer, record_id, chat_id)

    async def last_answer(self, who: Who) -> AnswerRecord | None:
        """The last answer in this conversation that cited something."""
        record = await self._io(self.store.last_answer, who.memory_key, who.chat_id)
        return record if record is not None and record.citations else None

    async def forget(self, who: Who) -> None:
        await self._io(self.store.forget, who.memory_key)

    async def translate(self, record: AnswerRecord, n: int, lang: str) -> str:
        """Passage `n` of `record` in `lang` (LLM mode), labelled as a translation."""
        cited = record.citation(n)
        if cited is None:
            return text("answer_gone", lang)
        if self.answerer.llm is None:
            return text("translation_unavailable", lang)
        loop = asyncio.get_running_loop()
        try:
            done = await loop.run_in_executor(
                self.executor, self.answerer.translate, cited.text, lang
            )
        except LLMError:
            return text("translation_failed", lang)
        return f"{done.label} [{n}]\n\n{done.translated}"

    async def about(self, lang: str) -> dict[str, object]:
        """Facts for /about: documents, languages, passages, retrieval mode, LLM."""
        loop = asyncio.get_running_loop()
        index = self.answerer.index
        # Opening the index may load the model or build it: keep that off the loop.
        await loop.run_in_executor(self.executor, index.ensure_ready)
        counts = index.catalog.counts_by_language()
        model = self.settings.llm_model
        return {
            "documents": len(index.catalog_documents),
            "languages": ("، " if lang in {"fa", "ar"} else ", ").join(
                f"{_language_name(code, lang)} ({docs})" for code, (docs, _) in counts.items()
            ),
            "chunks": len(index.chunks),
            "mode": text(f"mode_{index.mode}", lang),
            "llm": text("llm_configured", lang, model=model) if model else text("llm_none", lang),
        }


def _language_name(code: str, lang: str) -> str:
    """ "Arabic", «عربی», «العربية» for `code`; the code itself for a language we don't name."""
    try:
        return text(f"language_{code}", lang)
    except KeyError:
        return code
