"""BM25 over normalized search keys (bm25s), persisted beside the vector store."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from retrieval.bm25_index import BM25
from retrieval.folders import written_whole
from retrieval.language import letter_script
from retrieval.normalize import SUPERSCRIPT_ALEF, TASHKEEL, search_key, tokenize
from retrieval.prepare import Numbering, numbering
from retrieval.ranked import best_first

__all__ = ["LexicalIndex", "LexicalMatch", "NumberedTokens"]

#: Tokens shorter than this are never respelled. Chosen on the public development
#: sets: at four letters, colloquial «کدوم» became «دوم» and «داره» «دوره».
RESPELL_MIN_LETTERS = 5
#: A script is respelled in only when at least this share of the corpus's words are
#: written in it (Latin is 1.2 % of the Arabic public corpus's words, 0.7 % of the
#: Persian one's).
RESPELL_MIN_SHARE = 0.1
#: Respellings remembered per index (a question asked again costs nothing).
_RESPELLINGS_KEPT = 10_000
#: A compound's words as a text writes them, and as the corpus does.
Spelling = tuple[tuple[str, ...], tuple[str, ...]]
#: Compounds (see `LexicalIndex.compound_spellings`) of at least this many letters, of parts
#: of at least this many, are looked for.
COMPOUND_MIN_LETTERS = 5
COMPOUND_PART_LETTERS = 2
_WORD = re.compile(r"\w+")
#: A word ending in tanween kasra (its letters and marks, then U+064D).
_KASRATAN_WORD = re.compile(rf"([\w{TASHKEEL}{SUPERSCRIPT_ALEF}]+?)\u064d(?![\w{TASHKEEL}])")


@dataclass(frozen=True, slots=True)
class LexicalMatch:
    index: int  # position in `LexicalIndex.ids`
    score: float


def _document_frequencies(retriever: bm25s.BM25) -> dict[str, int]:
    """How many texts hold each token, read off the index bm25s built rather than
    counted again: its score matrix has a column per token (`vocab_dict`, plus an
    empty token of its own beyond the last column) with an entry for each text that
    holds it."""
    held = np.diff(retriever.scores["indptr"])
    return {
        token: int(held[i])
        for token, i in retriever.vocab_dict.items()
        if i < len(held) and held[i] > 0
    }


class NumberedTokens:
    """Texts' tokens as numbers in one `Numbering` (`vocab`): an ingest's worker
    processes number each chunk's tokens as they prepare it (`ChunkTokens`), and the
    keyword index is built from the numbers, with no pass over every token at the end,
    on one core."""

    def __init__(self, vocab: Numbering | None = None) -> None:
        self.vocab = numbering() if vocab is None else vocab
        self.of: dict[str, np.ndarray] = {}  # text id → its tokens' numbers

    def add_numbers(self, text_id: str, numbers: bytes) -> None:
        """A text's tokens already numbered in `vocab` (C ints, as `ChunkTokens` has them)."""
        self.of[text_id] = np.frombuffer(numbers, dtype=np.intc)


class LexicalIndex:
    """A bm25s index plus the document frequencies that fusion weighs queries by."""

    def __init__(self, retriever: bm25s.BM25 | None, ids: list[str], df: dict[str, int]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.df = df
        self._letters: dict[str, str] | None = None  # per script, when first needed
        self._respellings: dict[str, str] = {}  # unknown token → its respelling

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
        return cls.from_tokens(ids, [tokenize(t) for t in texts])

    @classmethod
    def from_tokens(cls, ids: Sequence[str], tokens: Sequence[list[str]]) -> LexicalIndex:
        """The index of texts already tokenized (`tokenize`), one token list per id."""
        if not any(tokens):  # bm25s cannot index texts without a single token
            return cls(None, list(ids), {})
        retriever = BM25(k1=1.2, b=0.75)
        retriever.index(tokens, show_progress=False)
        return cls(retriever, list(ids), _document_frequencies(retriever))

    @classmethod
    def from_numbered(cls, ids: Sequence[str], numbered: NumberedTokens) -> LexicalIndex:
        """`from_tokens` of texts whose tokens `numbered` holds (by id), numbered as
        they came: the same scores, with no pass over every token to number it again."""
        arrays = [numbered.of[i] for i in ids]
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        if not lengths.any():
            return cls(None, list(ids), {})
        retriever = BM25(k1=1.2, b=0.75)
        retriever.index_numbered(np.concatenate(arrays), lengths, dict(numbered.vocab))
        return cls(retriever, list(ids), _document_frequencies(retriever))

    def save(self, folder: Path) -> None:
        with written_whole(folder) as tmp:
            if self.retriever is not None:
                self.retriever.save(str(tmp / "bm25"))
            (tmp / "meta.json").write_text(
                json.dumps({"ids": self.ids, "df": self.df}, ensure_ascii=False), encoding="utf-8"
            )

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        meta = folder / "meta.json"
        if not meta.is_file():
            return None
        data = json.loads(meta.read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder / "bm25")) if (folder / "bm25").exists() else None
        return cls(retriever, list(data["ids"]), dict(data["df"]))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query_tokens: list[str], k: int) -> list[LexicalMatch]:
        """The `k` best chunks with a positive BM25 score, best first."""
        if self.retriever is None or not query_tokens or not self.ids:
            return []
        scores = np.asarray(self.retriever.get_scores(query_tokens))
        return [
            LexicalMatch(int(i), float(scores[i])) for i in best_first(scores, k) if scores[i] > 0
        ]

    def idf(self, token: str) -> float:
        """BM25-style IDF; a word the corpus lacks counts with the highest IDF, since a
        rare word is what a question hinges on."""
        n = max(1, len(self.ids))
        df = self.df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5)) if df else math.log(1 + n)

    def respell(self, tokens: Iterable[str]) -> tuple[str, ...]:
        """`tokens`, each one no chunk holds replaced by the commonest token one edit
        away that chunks do hold (a letter dropped, added, changed, or two swapped):
        a typed «موريطانيا» finds «موريتانيا», «المسيجية» «المسيحية». Numbers and
        tokens under five letters stay as they are: too many words lie one edit from
        a short one, and a number must match exactly (see `unknown`)."""
        return tuple(self._respelled(t) for t in tokens)

    def _respelled(self, token: str) -> str:
        if len(token) < RESPELL_MIN_LETTERS or token.isdigit() or self.df.get(token):
            return token
        cached = self._respellings.get(token)
        if cached is None:
            cached = self._nearest(token)
            if len(self._respellings) >= _RESPELLINGS_KEPT:
                self._respellings.clear()
            self._respellings[token] = cached
        return cached

    def _nearest(self, token: str) -> str:
        scripts = {letter_script(c) for c in token}
        if len(scripts) != 1:  # a mixed or unknown-script token: leave it
            return token
        letters = self._alphabets().get(scripts.pop(), "")
        found = [v for v in _one_edit(token, letters) if self.df.get(v)]
        # The commonest; among equals the first in alphabetical order, so it is stable.
        return min(found, key=lambda v: (-self.df[v], v)) if found else token

    def _alphabets(self) -> dict[str, str]:
        """The vocabulary's letters per script: a typo stays within its script, and
        the fewer letters tried, the faster (about 0.1 ms a word). A script that few
        of the corpus's words are written in gets none: an English question over
        Arabic text would only be respelled into stray Latin names."""
        if self._letters is None:
            words = Counter(letter_script(token[0]) for token in self.df)
            common = {k for k, n in words.items() if k and n >= RESPELL_MIN_SHARE * len(self.df)}
            by_script: dict[str, set[str]] = {k: set() for k in common}
            for c in {c for token in self.df for c in token}:
                script = letter_script(c)
                if script in common:
                    by_script[script].add(c)
            self._letters = {k: "".join(sorted(v)) for k, v in by_script.items()}
        return self._letters

    def compound_spellings(self, text: str) -> list[Spelling]:
        """Each Persian compound of `text`: its words as `text` writes them, and as
        the corpus does, joined ones first.

        Persian writes a compound joined, with a ZWNJ (which search keys drop) or
        with a space, and a question and the text that answers it often differ:
        «سر دبیر» asked is «سردبیر» in the corpus, and «سردبیر» asked of a corpus
        that writes «سر دبیر» is «سر» «دبیر» there.
        """
        words = [w for w in _WORD.findall(search_key(text)) if tokenize(w)]
        joined: list[Spelling] = [
            ((a, b), (a + b,))
            for a, b in itertools.pairwise(words)
            if len(a + b) >= COMPOUND_MIN_LETTERS and self.df.get(a + b)
        ]
        split = [
            ((w,), halves)
            for w in words
            if len(w) >= COMPOUND_MIN_LETTERS and not self.df.get(w)
            for halves in [self._halves(w)]
            if halves
        ]
        return joined + split

    def defective_spellings(self, text: str) -> dict[str, str]:
        """Each Arabic word of `text` written with tanween kasra whose key the corpus
        holds at most as often as the key with «ی», mapped to that: an indefinite
        defective noun drops its final «ي» («والٍ» is «الوالي», «نادٍ» «النادي»).
        The mark alone cannot tell «والٍ» from «كتابٍ»; the corpus can."""
        out = {}
        for word in _KASRATAN_WORD.findall(text):
            key = search_key(word)
            if self.df.get(key + "ی", 0) >= max(1, self.df.get(key, 0)):
                out[key] = key + "ی"
        return out

    def _halves(self, word: str) -> tuple[str, ...]:
        """`word` cut in two words the corpus holds (the commoner pair), or nothing."""
        cuts = [
            (word[:i], word[i:])
            for i in range(COMPOUND_PART_LETTERS, len(word) - COMPOUND_PART_LETTERS + 1)
            if self.df.get(word[:i]) and self.df.get(word[i:])
        ]
        if not cuts:
            return ()
        return max(cuts, key=lambda cut: min(self.df[cut[0]], self.df[cut[1]]))

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The tokens no chunk of the corpus holds, in order."""
        return [t for t in tokens if not self.df.get(t)]

    def weighted_share(self, query_tokens: Iterable[str], present: Container[str]) -> float:
        """IDF-weighted share of the query's distinct tokens found in `present`, 0–1."""
        weights = {t: self.idf(t) for t in set(query_tokens)}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    def coverage(self, query_tokens: list[str]) -> float:
        """How much of the query's vocabulary (IDF-weighted) the corpus contains, 0–1.

        English words asked of a Persian corpus score ~0: lexical hits there are noise.
        """
        if not self.ids:
            return 0.0
        return self.weighted_share(query_tokens, self.df)


def _one_edit(word: str, letters: str) -> set[str]:
    """Every string one edit from `word` over `letters` (Norvig's spelling corrector)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {a + b[1:] for a, b in splits if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changed = {a + c + b[1:] for a, b in splits if b for c in letters}
    added = {a + c + b for a, b in splits for c in letters}
    return (dropped | swapped | changed | added) - {word}
