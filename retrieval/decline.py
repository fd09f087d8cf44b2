"""Decide whether the retrieved passages hold an answer, or the sources don't say.

No single absolute cosine threshold: scores mean different things for different
models and corpora. Three signals, each relative:

- lexical support: the IDF-weighted share of the question's content words that the
  best passage contains (0–1). Meaningful when the question shares the corpus's
  language, which vocabulary coverage tells;
- dense evidence: the best passage *sentence's* similarity to the question, in
  standard deviations above the similarity of unrelated sentences in this corpus
  for this model (`evidence.DenseNull`);
- coverage: the share of the question's vocabulary the corpus knows at all.

One rule is absolute: a question that names a number (a year, "Super Bowl 50")
the corpus never mentions asks about something it does not cover. (Not "a number
the top passages lack": question writers add the year an article is about, and
its paragraphs do not repeat it; on XQuAD that declined 12 answerable questions.)
On the public sets it declines 7 of the 30 fa/ar unanswerable questions and none
of the 1,965 answerable ones in those languages.

A question in the corpus's language is answered when lexical support and dense
evidence both clear their bars (either alone lets topical-but-absent facts
through), or when one sentence holds every distinctive word it asks with (then
nothing it asks about is absent); a question in another language (coverage low)
on dense evidence alone; lexical-only, on lexical support alone. The bars are settings
(`SANAD_DECLINE_LEXICAL`, `SANAD_DECLINE_DENSE_Z`); README "Declining" explains
how to calibrate them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.config import Settings

__all__ = ["Verdict", "judge"]

#: Below this vocabulary coverage a question is taken to be in another language.
SAME_LANGUAGE_COVERAGE = 0.5
#: Keyword-only, a question answered from a passage in another language of the
#: corpus (a Persian question, an Arabic passage) shares little more than names
#: and numbers with it: the passage must then hold this much of the question.
OTHER_LANGUAGE_LEXICAL = 0.5
#: A sentence holding (nearly) every distinctive word of a question in its own
#: language is evidence enough without the dense bar. A question about a fact the
#: corpus lacks misses the word for that fact («زوجة», «ولد»): the most any of our
#: 84 unanswerable questions (`eval/`, dev's) reaches is 0.77. The dense bar is
#: relative to unrelated sentences of *this* corpus, and in a corpus on one subject
#: those are on the subject too: it then declined short answerable questions whose
#: words one sentence holds («رئیس سنتکام چه کسی است؟», z 0.82).
WHOLE_SENTENCE_SUPPORT = 0.95


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    reason: str  # why: "evidence", "no-passages", "absent-number", "weak-lexical", "weak-dense", "other-language"
    lexical_support: float
    coverage: float
    dense_z: float | None
    sentence_support: float = 1.0


def judge(
    settings: Settings,
    *,
    has_results: bool,
    lexical_support: float,
    coverage: float,
    dense_z: float | None,
    question_lang: str,
    corpus_langs: Sequence[str],
    sentence_support: float,
    passage_lang: str | None = None,
    absent_numbers: Sequence[str] = (),
) -> Verdict:
    """Apply the decline rule to the signals of one question.

    `passage_lang` is the language of the best passage: a question in that
    language must find its words there, however few of them the corpus knows
    (a Persian question about the price of gold, over Persian texts that never
    mention gold, has low coverage because the fact is absent, not because it is
    asked in another language). `sentence_support` is the share of the question's
    distinctive words that the best sentence holds. `absent_numbers` are the numbers
    the question names that the corpus never mentions.
    """

    def verdict(ok: bool, reason: str) -> Verdict:
        return Verdict(
            ok, "evidence" if ok else reason, lexical_support, coverage, dense_z, sentence_support
        )

    lexical_ok = (
        lexical_support >= settings.decline_lexical
        and sentence_support >= settings.decline_sentence
    )
    same_language = coverage >= SAME_LANGUAGE_COVERAGE or question_lang == passage_lang
    if dense_z is None and not same_language and question_lang not in corpus_langs:
        return verdict(False, "other-language")
    if not has_results:
        return verdict(False, "no-passages")
    if absent_numbers:
        return verdict(False, "absent-number")
    if dense_z is None:
        if passage_lang and passage_lang != question_lang and question_lang in corpus_langs:
            lexical_ok = lexical_ok and lexical_support >= OTHER_LANGUAGE_LEXICAL
        return verdict(lexical_ok, "weak-lexical")
    dense_ok = dense_z >= settings.decline_dense_z
    if same_language and not lexical_ok:
        return verdict(False, "weak-lexical")
    if same_language and sentence_support >= WHOLE_SENTENCE_SUPPORT:
        return verdict(True, "evidence")  # one sentence holds all the question asks about
    return verdict(dense_ok, "weak-dense")
