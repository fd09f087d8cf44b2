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
from retrieval.compose import QUOTE_MARGIN, Quote, pick_quotes
from retrieval.decline import Verdict, judge
from retrieval.errors import ModelUnavailable
from retrieval.evidence import EvidenceScorer, ScoredSentence
from retrieval.index import SanadIndex
from retrieval.llm import NO_ANSWER, ChatLLM, LLMError, OnDraft, Turn
from retrieval.notices import notice
from retrieval.question import Question, carries, prepare_question
from retrieval.rerank import Reranker, load_reranker
from retrieval.search import SearchResponse, SearchResult, as_searched, search
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
    quotes: list[tuple[int, int, int]] = field(default_factory=list)  # (n, start, end) in order

    def quoted(self) -> list[tuple[Citation, str]]:
        """Each quote the answer shows, in order, with its citation."""
        by_n = {c.n: c for c in self.citations}
        return [(by_n[n], by_n[n].text[a:b]) for n, a, b in self.quotes if n in by_n]

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


@dataclass(frozen=True)
class Composed:
    """What composing returns: the answer's text and sources, or a refusal."""

    answer: str
    citations: list[Citation] = field(default_factory=list)
    quotes: list[tuple[int, int, int]] = field(default_factory=list)
    dropped_claims: int = 0
    abstained: bool = False


@dataclass(frozen=True)
class _Found:
    """A question's search, its ranked sentences and the verdict on them."""

    question: Question
    #: what the quotes must answer (the question itself, or a follow-up read in
    #: context), with the tokens it is searched by
    focus: Question
    response: SearchResponse
    scorer: EvidenceScorer
    scored: list[ScoredSentence]
    verdict: Verdict


class Answerer:
    """Answers questions over one index, with an LLM when one is configured."""

    def __init__(self, index: SanadIndex, llm: ChatLLM | None = None) -> None:
        self.index = index
        self.settings = index.settings
        self._llm = llm
        self.reranker: Reranker | None = None
        if self.settings.reranker_model:
            try:
                self.reranker = load_reranker(self.settings)
            except ModelUnavailable as e:
                index.notify(notice("reranker_unavailable", reason=e))
        if llm is None and self.settings.llm_enabled:
            try:
                self._llm = ChatLLM(self.settings)
            except LLMError as e:
                index.notify(notice("llm_unavailable", reason=e))

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
        asked = prepare_question(question, self.settings.max_query_chars)
        lang = asked.reply_language
        standalone = asked
        if history and self._llm is not None:
            try:
                rewritten = self._llm.rewrite(asked.text, history[-6:])
                standalone = prepare_question(rewritten, self.settings.max_query_chars)
            except LLMError:
                pass  # a failed rewrite still lets the question be answered
        found = self._find(standalone)
        if (
            history
            and self._llm is None
            and not found.verdict.answerable
            and found.verdict.reason != "other-language"
        ):
            in_context = self._in_context(asked, history[-1][0])
            if in_context is not None:
                found = in_context  # its quotes answer what is asked now
        retrieved = time.perf_counter()
        notes = [n.render(lang) for n in found.response.notices]
        mode: Literal["extractive", "llm"] = "llm" if self._llm else "extractive"
        if not found.verdict.answerable:
            key = (
                "declined_cross_language"
                if found.verdict.reason == "other-language"
                else "declined"
            )
            composed = Composed(text(key, lang), abstained=True)
        elif self._llm is not None:
            try:
                composed = self._compose_llm(found, lang, on_draft)
                if composed.dropped_claims:
                    notes.append(text("dropped_claims", lang, count=composed.dropped_claims))
            except LLMError:
                mode = "extractive"
                notes.append(text("llm_failed", lang))
                composed = self._compose_extractive(found, lang)
        else:
            composed = self._compose_extractive(found, lang)
        done = time.perf_counter()
        return Answer(
            asked.text,
            lang,
            mode,
            composed.abstained,
            composed.answer,
            citations=composed.citations,
            dropped_claims=composed.dropped_claims,
            timings_ms={
                "retrieve": (retrieved - started) * 1000,
                "compose": (done - retrieved) * 1000,
                "total": (done - started) * 1000,
            },
            notes=notes,
            standalone_question=found.question.text,
            verdict=found.verdict,
            quotes=composed.quotes,
        )

    def _find(self, question: Question, focus: Question | None = None) -> _Found:
        """Search, rank the passages' sentences and judge whether they answer."""
        response = search(self.index, question, k=self.settings.answer_passages)
        view = response.view
        typed = question.tokens
        # The question as searched, its misspelt words respelled to the corpus's: the
        # sentences are ranked and the verdict reached on the words that found them.
        question = response.question
        focus = question if focus is None else as_searched(focus, view.lexical)
        scorer = EvidenceScorer(view.lexical, view.evidence, self.index.embedder, self.reranker)
        scored = scorer.rank(
            question,
            response.results,
            lexical_weight=response.lexical_weight,
            dense=response.mode != "lexical",
            focus=focus,
        )
        verdict = self._judge(question, typed, response, scored, scorer)
        return _Found(question, focus, response, scorer, scored, verdict)

    def _judge(
        self,
        question: Question,
        typed: tuple[str, ...],
        response: SearchResponse,
        scored: list[ScoredSentence],
        scorer: EvidenceScorer,
    ) -> Verdict:
        """`typed` are the question's tokens before respelling: a respelled word is a
        guess (a typo of «المسيحية», or «المريخ», which the corpus never names), so
        it counts half towards lexical support."""

        def support(text: str) -> float:
            searched = scorer.lexical_support(question.tokens, text)
            if typed == question.tokens:
                return searched
            return (searched + scorer.lexical_support(typed, text)) / 2

        lexical = max((support(r.chunk.text) for r in response.results[:3]), default=0)
        zs = [s.dense_z for s in scored if s.dense_z is not None]
        return judge(
            self.settings,
            has_results=bool(response.results),
            lexical_support=lexical,
            coverage=response.lexical_coverage,
            dense_z=max(zs) if zs else None,
            question_lang=question.language,
            corpus_langs=response.view.languages,
            passage_lang=response.results[0].chunk.lang if response.results else None,
            sentence_support=max((s.lexical for s in scored), default=0.0),
            absent_numbers=scorer.lexical.unknown(question.numbers),
        )

    def _in_context(self, asked: Question, previous: str) -> _Found | None:
        """Without an LLM to rewrite a follow-up, read it after the previous question.

        Kept only when the passages then found also hold the follow-up's own words,
        so an unrelated question is not answered from the previous topic.
        """
        combined = prepare_question(f"{previous} {asked.text}", 10 * self.settings.max_query_chars)
        found = self._find(combined, focus=asked)
        top = found.response.results[:3]
        words = found.focus.tokens  # the follow-up's own, as searched
        own = max((found.scorer.lexical_support(words, r.chunk.text) for r in top), default=0)
        if own < FOLLOW_UP_SUPPORT or not found.verdict.answerable:
            return None
        return found

    def _compose_extractive(self, found: _Found, lang: str) -> Composed:
        scored, focus = found.scored, found.focus
        floor = None
        if focus.asks == "count" and scored:
            # "How many…?" is answered by a number: quote only sentences that carry
            # one and hold up against the best sentence found.
            floor = scored[0].score - QUOTE_MARGIN
            scored = [s for s in scored if carries("count", s.sentence.text)]
        quotes = pick_quotes(
            scored,
            max_quotes=self.settings.answer_max_quotes,
            max_chars=self.settings.answer_max_chars,
            relevance=functools.partial(found.scorer.clause_relevance, focus),
            floor=floor,
        )
        if not quotes:
            return Composed(text("declined", lang), abstained=True)
        numbers: dict[str, int] = {}
        spans: dict[str, list[Quote]] = {}
        lines = []
        shown_quotes = []
        for q in quotes:
            chunk_id = q.sentence.sentence.chunk.chunk_id
            n = numbers.setdefault(chunk_id, len(numbers) + 1)
            spans.setdefault(chunk_id, []).append(q)
            shown = ("…" if q.trimmed_before else "") + q.text + ("…" if q.trimmed_after else "")
            lines.append(f"«{shown}» [{n}]")
            shown_quotes.append((n, q.start, q.end))
        citations = [
            Citation(
                n,
                spans[chunk_id][0].sentence.result,
                min(q.start for q in spans[chunk_id]),
                max(q.end for q in spans[chunk_id]),
            )
            for chunk_id, n in numbers.items()
        ]
        answer = text("lead_in", lang) + "\n\n" + "\n\n".join(lines)
        return Composed(answer, citations, shown_quotes)

    def _compose_llm(self, found: _Found, lang: str, on_draft: OnDraft | None) -> Composed:
        assert self._llm is not None
        passages = found.response.results
        draft = self._llm.answer(found.question.text, lang, passages, on_draft)
        if draft.strip().strip(".").upper() == NO_ANSWER:
            return Composed(text("declined", lang), abstained=True)
        checked = verify_answer(draft, passages, found.scorer, self.settings)
        if not checked.order:
            raise LLMError("The model's answer had no claim the passages support.")
        citations = [
            Citation(n, passages[p], *checked.spans[p]) for n, p in enumerate(checked.order, 1)
        ]
        return Composed(
            checked.render(),
            citations,
            [(c.n, c.quote_start, c.quote_end) for c in citations],
            checked.dropped,
        )

    def translate(self, passage: str, target_lang: str) -> Translation:
        """A cited passage in `target_lang`, marked as a translation (LLM mode only)."""
        lang = ui_language(target_lang)
        if self._llm is None:
            raise LLMError(text("translation_unavailable", lang))
        translated = self._llm.translate(passage, lang)
        return Translation(passage, translated, text("translation_label", lang), lang)
