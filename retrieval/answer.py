"""Grounded answers: retrieve, decide, compose (extractive or LLM), verify.

    >>> answerer = Answerer(SanadIndex(load_settings()))       # doctest: +SKIP
    >>> answerer.ask("جنگ میان طالبان و داعش چه زمانی آغاز شد؟").answer  # doctest: +SKIP

The bot awaits `Answerer.aask`, which runs the same code in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

from prompts import text, ui_language
from retrieval.compose import Quote, ScoredSentence, pick_quotes, score_sentences
from retrieval.decline import Verdict, judge
from retrieval.evidence import EvidenceScorer
from retrieval.index import SanadIndex
from retrieval.language import detect_language
from retrieval.llm import NO_ANSWER, ChatLLM, LLMError, OnDraft, Turn
from retrieval.search import SearchResponse, SearchResult, prepare_query, search
from retrieval.verify import verify_answer

__all__ = ["Answer", "Answerer", "Citation", "Translation"]

#: Share of a follow-up's own content words the passages must hold for it to be
#: answered in the context of the previous question (extractive mode).
FOLLOW_UP_SUPPORT = 0.3


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer; `quote` is the exact part of `text` relied on."""

    n: int
    result: SearchResult
    quote_start: int  # offsets of the quote within the chunk text
    quote_end: int

    @property
    def text(self) -> str:
        return self.result.chunk.text

    @property
    def quote(self) -> str:
        return self.text[self.quote_start : self.quote_end]

    def to_json(self) -> dict[str, Any]:
        chunk, doc = self.result.chunk, self.result.document
        return {
            "n": self.n,
            "doc_id": chunk.doc_id,
            "title": doc.title,
            "url": doc.url,
            "lang": chunk.lang,
            "chunk_id": chunk.chunk_id,
            "start": chunk.start,
            "end": chunk.end,
            "text": chunk.text,
            "quote": self.quote,
        }


@dataclass
class Answer:
    question: str
    language: str
    mode: Literal["extractive", "llm"]
    abstained: bool
    answer: str
    citations: list[Citation] = field(default_factory=list)
    dropped_claims: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # one line each, in the asker's language
    standalone_question: str = ""
    verdict: Verdict | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "language": self.language,
            "mode": self.mode,
            "abstained": self.abstained,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "dropped_claims": self.dropped_claims,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Translation:
    original: str
    translated: str
    label: str  # "Translation (machine-made; …)" in the asker's language
    lang: str


class Answerer:
    """Answers questions over one index, with an LLM when one is configured."""

    def __init__(self, index: SanadIndex, llm: ChatLLM | None = None) -> None:
        self.index = index
        self.settings = index.settings
        self.scorer = EvidenceScorer(index)
        self._llm = llm
        if llm is None and self.settings.llm_enabled:
            try:
                self._llm = ChatLLM(self.settings)
            except LLMError as e:
                index.notify(f"{e} Answering extractively.")

    @property
    def llm(self) -> ChatLLM | None:
        return self._llm

    async def aask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        executor: Executor | None = None,
        on_draft: OnDraft | None = None,
    ) -> Answer:
        """`ask` in a worker thread, so the event loop stays free.

        `on_draft` is called from that thread; it must hand work back to the loop itself.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            executor, functools.partial(self.ask, question, history=history, on_draft=on_draft)
        )

    def ask(
        self, question: str, *, history: Sequence[Turn] = (), on_draft: OnDraft | None = None
    ) -> Answer:
        """Answer `question` from the sources, or say that they don't hold the answer.

        In LLM mode `on_draft` receives the unverified answer as it streams in.
        """
        started = time.perf_counter()
        query, _ = prepare_query(question, self.settings.max_query_chars)
        lang = _answer_language(query)
        notes = []
        if len(query) < len(question.strip()):
            notes.append(text("truncated_question", lang, limit=self.settings.max_query_chars))
        standalone = query
        if history and self._llm is not None:
            try:
                standalone = self._llm.rewrite(query, history[-6:])
            except LLMError:
                standalone = query  # a failed rewrite still lets the question be answered
        response = search(self.index, standalone, k=self.settings.answer_passages)
        scored = score_sentences(self.scorer, standalone, response)
        verdict = self._judge(standalone, response, scored)
        focus = standalone
        if (
            history
            and self._llm is None
            and not verdict.answerable
            and verdict.reason != "other-language"
        ):
            found = self._in_context(query, history[-1][0])
            if found is not None:
                standalone, response, scored, verdict = found
                focus = query  # quotes answer what is asked now
        retrieved = time.perf_counter()
        answer = Answer(query, lang, "llm" if self._llm else "extractive", False, "")
        answer.notes, answer.standalone_question, answer.verdict = notes, standalone, verdict
        if not verdict.answerable:
            key = "declined_cross_language" if verdict.reason == "other-language" else "declined"
            answer.abstained, answer.answer = True, text(key, lang)
        elif self._llm is not None:
            try:
                self._compose_llm(answer, standalone, response.results, on_draft)
            except LLMError:
                answer.mode = "extractive"
                answer.notes.append(text("llm_failed", lang))
                self._compose_extractive(answer, scored, focus)
        else:
            self._compose_extractive(answer, scored, focus)
        done = time.perf_counter()
        answer.timings_ms = {
            "retrieve": (retrieved - started) * 1000,
            "compose": (done - retrieved) * 1000,
            "total": (done - started) * 1000,
        }
        return answer

    def _judge(
        self, question: str, response: SearchResponse, scored: list[ScoredSentence]
    ) -> Verdict:
        top = response.results[:3]
        lexical = max((self.scorer.lexical_support(question, r.chunk.text) for r in top), default=0)
        zs = [s.dense_z for s in scored if s.dense_z is not None]
        return judge(
            self.settings,
            has_results=bool(response.results),
            lexical_support=lexical,
            coverage=response.lexical_coverage,
            dense_z=max(zs) if zs else None,
            question_lang=detect_language(question),
            corpus_langs=self.index.languages,
        )

    def _in_context(
        self, query: str, previous: str
    ) -> tuple[str, SearchResponse, list[ScoredSentence], Verdict] | None:
        """Without an LLM to rewrite a follow-up, read it after the previous question.

        Kept only when the passages then found also hold the follow-up's own words,
        so an unrelated question is not answered from the previous topic.
        """
        combined = f"{previous} {query}"
        response = search(self.index, combined, k=self.settings.answer_passages)
        top = response.results[:3]
        own = max((self.scorer.lexical_support(query, r.chunk.text) for r in top), default=0)
        if own < FOLLOW_UP_SUPPORT:
            return None
        verdict = self._judge(combined, response, score_sentences(self.scorer, combined, response))
        if not verdict.answerable:
            return None
        return combined, response, score_sentences(self.scorer, query, response), verdict

    def _compose_extractive(self, answer: Answer, scored: list[ScoredSentence], focus: str) -> None:
        quotes = pick_quotes(
            scored,
            max_quotes=self.settings.answer_max_quotes,
            max_chars=self.settings.answer_max_chars,
            relevance=functools.partial(self.scorer.lexical_support, focus),
        )
        if not quotes:
            answer.abstained, answer.answer = True, text("declined", answer.language)
            return
        numbers: dict[str, int] = {}
        spans: dict[str, list[Quote]] = {}
        lines = []
        for q in quotes:
            chunk_id = q.sentence.sentence.chunk.chunk_id
            n = numbers.setdefault(chunk_id, len(numbers) + 1)
            spans.setdefault(chunk_id, []).append(q)
            shown = ("…" if q.trimmed_before else "") + q.text + ("…" if q.trimmed_after else "")
            lines.append(f"«{shown}» [{n}]")
        answer.answer = text("lead_in", answer.language) + "\n\n" + "\n\n".join(lines)
        answer.citations = [
            Citation(
                n,
                spans[chunk_id][0].sentence.result,
                min(q.start for q in spans[chunk_id]),
                max(q.end for q in spans[chunk_id]),
            )
            for chunk_id, n in numbers.items()
        ]

    def _compose_llm(
        self,
        answer: Answer,
        question: str,
        passages: list[SearchResult],
        on_draft: OnDraft | None = None,
    ) -> None:
        assert self._llm is not None
        draft = self._llm.answer(question, answer.language, passages, on_draft)
        if draft.strip().strip(".").upper() == NO_ANSWER:
            answer.abstained, answer.answer = True, text("declined", answer.language)
            return
        checked = verify_answer(draft, passages, self.scorer, self.settings)
        if not checked.order:
            raise LLMError("The model's answer had no claim the passages support.")
        answer.answer = checked.render()
        answer.dropped_claims = checked.dropped
        if checked.dropped:
            answer.notes.append(text("dropped_claims", answer.language, count=checked.dropped))
        answer.citations = [
            Citation(n, passages[p], *checked.spans[p]) for n, p in enumerate(checked.order, 1)
        ]

    def translate(self, passage: str, target_lang: str) -> Translation:
        """A cited passage in `target_lang`, marked as a translation (LLM mode only)."""
        lang = ui_language(target_lang)
        if self._llm is None:
            raise LLMError(text("translation_unavailable", lang))
        translated = self._llm.translate(passage, lang)
        return Translation(passage, translated, text("translation_label", lang), lang)


def _answer_language(question: str) -> str:
    lang = detect_language(question)
    return ui_language(lang) if lang != "und" else "en"
