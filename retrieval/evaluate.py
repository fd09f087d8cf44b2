"""Measure retrieval on a question set (the format of `shared/eval/dev.jsonl`).

A retrieved passage answers a question when it comes from one of the question's
`gold_docs` and contains one of its `evidence` strings, both sides compared by
search key (the same normalization as search).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.errors import CorpusError
from retrieval.normalize import search_key

__all__ = [
    "AnswerSample",
    "AnswerScores",
    "EvalQuestion",
    "LanguageScores",
    "answers",
    "load_questions",
    "score_answers",
    "score_retrieval",
]


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    lang: str
    question: str
    gold_docs: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read a .jsonl question file; a malformed line stops with its number."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise CorpusError(f"Cannot read the question file {path}: {e.strerror or e}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            questions.append(
                EvalQuestion(
                    id=str(d.get("id", n)),
                    lang=str(d["lang"]),
                    question=str(d["question"]),
                    gold_docs=tuple(d.get("gold_docs", ())),
                    evidence=tuple(d.get("evidence", ())),
                    answerable=bool(d.get("answerable", True)),
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            raise CorpusError(f"{path}:{n}: not a question record ({e})") from e
    return questions


def answers(question: EvalQuestion, doc_id: str, text: str) -> bool:
    """Does a passage (`doc_id`, `text`) answer `question`?"""
    if doc_id not in question.gold_docs:
        return False
    key = search_key(text)
    return any(search_key(e) in key for e in question.evidence)


@dataclass
class LanguageScores:
    lang: str
    n: int = 0
    hits_at_1: int = 0
    hits_at_k: int = 0
    reciprocal_ranks: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        n = self.n or 1
        return {
            "n": self.n,
            "r@1": round(self.hits_at_1 / n, 4),
            "r@k": round(self.hits_at_k / n, 4),
            "mrr@10": round(sum(self.reciprocal_ranks) / n, 4),
        }


Retrieve = Callable[[str], Iterable[tuple[str, str]]]
#: Told each answerable question's ranked (doc_id, text) pairs and the rank (1–10)
#: of the first that answers it, or None.
OnRank = Callable[[EvalQuestion, list[tuple[str, str]], int | None], None]


def score_retrieval(
    questions: Iterable[EvalQuestion],
    retrieve: Retrieve,
    *,
    k: int = 5,
    on_rank: OnRank | None = None,
) -> dict[str, LanguageScores]:
    """R@1, R@k and MRR@10 per language over the answerable questions.

    `retrieve(question)` returns at least ten (doc_id, text) pairs, best first.
    """
    scores: dict[str, LanguageScores] = defaultdict(lambda: LanguageScores(""))
    for q in questions:
        if not q.answerable:
            continue
        ranked = list(retrieve(q.question))[:10]
        rank = next((i for i, (d, t) in enumerate(ranked, 1) if answers(q, d, t)), None)
        if on_rank is not None:
            on_rank(q, ranked, rank)
        s = scores[q.lang]
        s.lang = q.lang
        s.n += 1
        s.hits_at_1 += rank == 1
        s.hits_at_k += rank is not None and rank <= k
        s.reciprocal_ranks.append(1.0 / rank if rank else 0.0)
    return dict(sorted(scores.items()))


_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class AnswerSample:
    """What an answer showed, as the metrics need it.

    `citations` are (n, doc_id, passage text); `quotes` are (doc_id, quoted text),
    in the order the answer shows them.
    """

    abstained: bool
    text: str
    citations: list[tuple[int, str, str]] = field(default_factory=list)
    quotes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class AnswerScores:
    lang: str
    answerable: int = 0
    answered: int = 0
    cited_answering: int = 0
    first_quote: int = 0
    any_quote: int = 0
    unanswerable: int = 0
    declined: int = 0
    markers: int = 0
    valid_markers: int = 0

    def to_json(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "answerable": self.answerable,
            "answered": share(self.answered, self.answerable),
            "cited_answering": share(self.cited_answering, self.answerable),
            "first_quote": share(self.first_quote, self.answerable),
            "any_quote": share(self.any_quote, self.answerable),
            "unanswerable": self.unanswerable,
            "declined": share(self.declined, self.unanswerable),
            "valid_markers": share(self.valid_markers, self.markers),
        }


#: ask(question) → what the answer showed
Ask = Callable[[str], AnswerSample]


def score_answers(questions: Iterable[EvalQuestion], ask: Ask) -> dict[str, AnswerScores]:
    """Answer metrics per language: answered; the citations, the first quote and any
    quote hold the answer; unanswerable questions declined; markers valid."""
    scores: dict[str, AnswerScores] = {}
    for q in questions:
        s = scores.setdefault(q.lang, AnswerScores(q.lang))
        sample = ask(q.question)
        numbers = {n for n, _, _ in sample.citations}
        markers = [int(m) for m in _MARKER.findall(sample.text)]
        s.markers += len(markers)
        s.valid_markers += sum(m in numbers for m in markers)
        if q.answerable:
            s.answerable += 1
            s.answered += not sample.abstained
            s.cited_answering += any(answers(q, d, t) for _, d, t in sample.citations)
            held = [answers(q, d, t) for d, t in sample.quotes]
            s.first_quote += bool(held) and held[0]
            s.any_quote += any(held)
        else:
            s.unanswerable += 1
            s.declined += sample.abstained and not sample.citations
    return dict(sorted(scores.items()))
