"""How well does a passage sentence answer a question? Lexical and dense signals.

Extractive answers (which sentences to quote), declining (is anything here an
answer?) and citation checking (does the cited passage say this?) all ask that
question, so they share this module. It reads the sentence evidence built at
ingest (`retrieval.sentences`) and is given the lexical index and embedder it
uses; it never reaches into the index itself.

Ranking the sentences of the retrieved passages uses signals that do not depend
on one corpus (each constant was chosen on the public development sets, see
`benchmarks/sentence_ranking.py`):

- the question's content words the sentence holds, each weighted by its rarity
  in the corpus *and* among the candidate sentences: the topic's own name stands
  in every sentence of an article, the word that tells the answer apart does not;
- words that differ only by a plural, comparative or adjectival ending count in
  full («دوزیستان» for «دوزیست», «المطارات» for «مطار»), words that share a
  stem-like prefix for part (Arabic and Persian inflect);
- the passage's subject: a question word that the passage's opening sentence
  holds counts in part for the passage's later sentences, which refer to it as
  «وی», «او», «هو» (without this, the opening sentence that names the subject
  wins over the later one that holds the answer);
- what the question asks for: a "how many" question prefers a sentence with a
  number, more so one that also names what is counted («چند کشته» → «۱۴۰ کشته»),
  a "when" question one with a date, a "where" question one with a word that
  comes with a place («شهر», «استان», «قرار دارد», «تقع», «مدينة»);
- the rank of the passage the sentence comes from;
- with a model, dense similarity relative to the corpus's unrelated sentences.

A heading, byline or date line is never ranked as evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.catalog import ChunkRecord
from retrieval.embeddings import Embedder
from retrieval.lexical import LexicalIndex
from retrieval.normalize import tokenize
from retrieval.question import Question, carries
from retrieval.rerank import Reranker
from retrieval.search import SearchResult
from retrieval.sentence_split import SENTENCE_CLOSERS
from retrieval.sentence_vectors import DenseNull
from retrieval.sentences import PassageSentence, SentenceEvidence

__all__ = ["DenseNull", "EvidenceScorer", "PassageSentence", "ScoredSentence"]

#: Passages whose sentences are candidates for quoting.
QUOTE_PASSAGES = 3
#: Credit for a question word matched only by a shared prefix (same stem, other ending).
PREFIX_CREDIT = 0.3
PREFIX_CHARS = 4
#: Endings stripped before comparing words (key form: ة is ه, ي is ی): Persian
#: plural and comparative, Arabic plural and feminine, the adjectival ی.
ENDINGS = ("هایی", "های", "ترین", "ها", "تر", "ات", "ان", "ای", "ی")
#: Arabic proclitics stripped after the ending: the article, and "and", "so", "with", "for".
PROCLITICS = ("وال", "فال", "بال", "کال", "لل", "ال", "و", "ف", "ب", "ل")
STEM_MIN_CHARS = 3
#: Credit, in a passage's later sentences, for a question word of its opening sentence.
LEAD_CREDIT = 0.6
#: Bonus for a sentence carrying the kind of fact asked for (number, date, place).
ASKS_BONUS = 0.1
#: Further bonus for a sentence with a number that also names what a "how many"
#: question counts («چند کشته» → «۱۴۰ کشته»).
COUNTED_BONUS = 0.1
#: In a long sentence, preference for the clause that carries the fact asked for.
CLAUSE_ASKS_BONUS = 0.5
#: Preference for sentences of higher-ranked passages: RANK_BONUS / rank.
RANK_BONUS = 0.2
#: Weight of dense evidence (in standard deviations of the null) in a sentence's score.
DENSE_WEIGHT = 1 / 3

#: With a reranker: how many of the best candidates it re-scores, and its weight
#: (per standard deviation of its scores among them). Not calibrated here: no
#: multilingual cross-encoder can be fetched on this project's machines.
RERANK_CANDIDATES = 20
RERANK_WEIGHT = 0.3


@dataclass(frozen=True)
class ScoredSentence:
    sentence: PassageSentence
    result: SearchResult
    lexical: float  # weighted share of the question's words the sentence holds, 0–1
    dense: float | None  # cosine similarity
    dense_z: float | None  # relative to the corpus's unrelated-sentence similarity
    score: float


class EvidenceScorer:
    """Scores sentences against a question with the parts it is given."""

    def __init__(
        self,
        lexical: LexicalIndex,
        evidence: SentenceEvidence,
        embedder: Embedder | None,
        reranker: Reranker | None = None,
    ) -> None:
        self.lexical = lexical
        self.evidence = evidence
        self.embedder = embedder
        self.reranker = reranker

    def sentences(self, chunk: ChunkRecord) -> list[PassageSentence]:
        return self.evidence.sentences(chunk)

    @property
    def null(self) -> DenseNull | None:
        """The dense null, when the evidence was built with the current model."""
        if self.embedder is None or not self.evidence.has_vectors(self.embedder.name):
            return None
        return self.evidence.null

    # -- single signals ----------------------------------------------------------------

    def lexical_support(self, query: str | Iterable[str], text: str) -> float:
        """IDF-weighted share of the query's content words that `text` contains (0–1)."""
        tokens = tokenize(query) if isinstance(query, str) else query
        return self.lexical.weighted_share(tokens, set(tokenize(text)))

    def clause_relevance(self, question: Question, clause: str) -> float:
        """How much a clause of a long sentence answers `question`: its words, and
        whether it carries the kind of fact asked for (the number, the date)."""
        score = self.lexical_support(question.tokens, clause)
        if question.asks in {"count", "time"} and carries(question.asks, clause):
            score += CLAUSE_ASKS_BONUS
        return score

    def dense_similarities(
        self, query_vector: np.ndarray, sentences: Sequence[PassageSentence]
    ) -> np.ndarray:
        if not sentences or self.embedder is None:
            return np.zeros(0, dtype=np.float32)
        embedder = self.embedder
        if not self.evidence.has_vectors(embedder.name):
            vectors = np.asarray(embedder.embed_documents([s.text for s in sentences]))
        else:
            vectors = self.evidence.vectors_of(sentences, embedder.embed_documents)
        return np.asarray(vectors @ query_vector, dtype=np.float32)

    # -- ranking -----------------------------------------------------------------------

    def rank(
        self,
        question: Question,
        results: Sequence[SearchResult],
        *,
        lexical_weight: float,
        dense: bool,
        focus: Question | None = None,
    ) -> list[ScoredSentence]:
        """Every sentence of the top passages, best evidence first; headings left out.

        `focus` is the question the quotes must answer when it differs from the
        one searched (a follow-up read in the context of the previous question).
        """
        focus = focus or question
        candidates = [
            (r, s)
            for r in results[:QUOTE_PASSAGES]
            for s in self.sentences(r.chunk)
            if not _heading(r.chunk.text, s.start, s.end)
        ]
        if not candidates:
            return []
        stems = [_stems(s.tokens) for _, s in candidates]
        weights = self._weights(_stems(focus.tokens), stems)
        leads = _leads(candidates)
        word = focus.counted
        counted = _stem(word) if word else None

        cosines: np.ndarray | None = None
        null = self.null
        if dense and self.embedder is not None:
            query = self.embedder.embed_query(question.text)
            cosines = self.dense_similarities(query, [s for _, s in candidates])
        out = []
        for i, (result, sentence) in enumerate(candidates):
            lexical = _matched(weights, stems[i])
            lead = stems[leads[result.rank]]
            inherited = LEAD_CREDIT * sum(
                w for t, w in weights.items() if t in lead and t not in stems[i]
            )
            cosine = float(cosines[i]) if cosines is not None else None
            z = null.z(cosine) if null is not None and cosine is not None else None
            score = lexical_weight * (lexical + inherited) + RANK_BONUS / result.rank
            if focus.asks is not None and carries(focus.asks, sentence.text):
                score += ASKS_BONUS
                if counted is not None and _holds(counted, stems[i]):
                    score += COUNTED_BONUS  # the number is likely of the thing asked
            if z is not None:
                score += DENSE_WEIGHT * z
            out.append(ScoredSentence(sentence, result, lexical, cosine, z, score))
        out.sort(key=lambda s: -s.score)
        if self.reranker is not None:
            out = self._rerank(focus, out)
        return out

    def _rerank(self, question: Question, ranked: list[ScoredSentence]) -> list[ScoredSentence]:
        """Add the cross-encoder's standardized scores to the best candidates'."""
        assert self.reranker is not None
        head = ranked[:RERANK_CANDIDATES]
        raw = np.asarray(
            self.reranker.scores(question.text, [s.sentence.text for s in head]), dtype=np.float32
        )
        spread = float(np.std(raw)) or 1.0
        z = (raw - float(np.mean(raw))) / spread
        rescored = [
            ScoredSentence(
                s.sentence,
                s.result,
                s.lexical,
                s.dense,
                s.dense_z,
                s.score + RERANK_WEIGHT * float(zi),
            )
            for s, zi in zip(head, z, strict=True)
        ]
        return sorted(rescored, key=lambda s: -s.score) + ranked[RERANK_CANDIDATES:]

    def _weights(self, stems: dict[str, str], pool: Sequence[dict[str, str]]) -> dict[str, float]:
        """Each distinct question stem's weight: corpus IDF × rarity among `pool`."""
        n = len(pool)
        out = {}
        for t, token in stems.items():
            df = sum(t in s for s in pool)
            out[t] = self.lexical.idf(token) * math.log(1 + (n + 1) / (df + 0.5))
        total = sum(out.values())
        return {t: w / total for t, w in out.items()} if total else {}


def _stem(token: str) -> str:
    """`token` without one ending and one proclitic (both sides of a comparison alike)."""
    for ending in ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= STEM_MIN_CHARS:
            token = token[: -len(ending)]
            break
    for clitic in PROCLITICS:
        if token.startswith(clitic) and len(token) - len(clitic) >= STEM_MIN_CHARS:
            return token[len(clitic) :]
    return token


def _stems(tokens: Iterable[str]) -> dict[str, str]:
    """Each token's stem, mapped to a token it came from."""
    return {_stem(t): t for t in tokens}


def _leads(candidates: Sequence[tuple[SearchResult, PassageSentence]]) -> dict[int, int]:
    """Each passage's opening sentence (its first that is not a heading), by passage rank."""
    leads: dict[int, int] = {}
    for i, (result, _) in enumerate(candidates):
        leads.setdefault(result.rank, i)
    return leads


def _matched(weights: dict[str, float], tokens: dict[str, str]) -> float:
    """Weighted share of the question's stems found in `tokens`, prefixes in part."""
    score = 0.0
    for t, w in weights.items():
        if t in tokens:
            score += w
        elif len(t) > PREFIX_CHARS and any(_same_stem(t, x) for x in tokens):
            score += PREFIX_CREDIT * w
    return score


def _holds(stem: str, stems: dict[str, str]) -> bool:
    """Do `stems` hold `stem`, or a word of the same stem with another ending?"""
    return stem in stems or any(_same_stem(stem, x) for x in stems)


def _same_stem(a: str, b: str) -> bool:
    return (
        len(b) >= PREFIX_CHARS
        and a[:PREFIX_CHARS] == b[:PREFIX_CHARS]
        and abs(len(a) - len(b)) <= 2
    )


_WORDS = re.compile(r"\w+")
#: A line this short with no sentence mark at its end is a heading, byline or date line.
HEADING_WORDS = 12


def _heading(text: str, start: int, end: int) -> bool:
    """Is `text[start:end]` a whole line that is page furniture (a title, byline,
    date line or section heading) rather than a sentence?"""
    whole_line = (start == 0 or text[start - 1] == "\n") and (end == len(text) or text[end] == "\n")
    if not whole_line:
        return False
    line = text[start:end].rstrip()
    return line[-1:] not in SENTENCE_CLOSERS and len(_WORDS.findall(line)) <= HEADING_WORDS
