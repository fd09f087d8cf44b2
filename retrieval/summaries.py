"""Summaries of a chat: its conversations grouped into topics, each with its evidence.

The data path of a question, applied to a chat instead of a corpus:

    messages → separate the conversations (`retrieval.threads`) → group them into
    topics by their search keys (the same keys as retrieval's) and, when a model is
    loaded, by their vectors → pick each topic's
    most representative messages (no near-duplicates) → a bullet per topic, whose
    links are the topic's message ids, never anything a model wrote.

With a language model a topic's bullet is written from that topic's messages alone
and kept only if its messages support every sentence of it (`check_bullet`, the
lexical test of `retrieval.verify`, with the chat's own word weights).

Knows nothing of Telegram: a message is a `ChatMessage` (id, author, text, time).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from retrieval.chunking import split_sentences
from retrieval.normalize import search_key, shingles, tokenize
from retrieval.threads import ChatMessage, separate
from retrieval.verify import LEXICAL_SUPPORT

if TYPE_CHECKING:
    from retrieval.llm import ChatLLM

__all__ = ["ChatSummary", "Topic", "check_bullet", "group_topics", "short_quote", "summarize"]

#: Least cosine similarity (IDF-weighted search keys) at which two conversations are
#: one topic. Chosen on the labelled chat set with `benchmarks/summaries.py --sweep`.
TOPIC_MERGE = 0.08
#: With a model: two conversations are also one topic when the cosine of their mean
#: vectors stands this many standard deviations above the window's own pairs of
#: conversations (so no one model's scale is built in). Chosen with EmbeddingGemma on
#: the labelled set (`benchmarks/summaries.py --model … --sweep`).
DENSE_MERGE_Z = 3.0
#: Fewer conversations than this give no usable spread of similarities: keys only.
DENSE_MIN_CONVERSATIONS = 10
#: Messages picked to show a topic: 1 for a short topic, up to this many.
MAX_PICKED = 3
#: Two picked messages sharing this share of their word triples say the same thing.
NEAR_DUPLICATE = 0.5
#: Topic words shown per bullet.
TOPIC_WORDS = 4
#: Bullets in one summary; the rest are counted ("and N smaller conversations").
MAX_TOPICS = 8
#: Messages of a topic given to the language model (the picked ones, then the latest).
LLM_MESSAGES = 40
#: A quote is cut at a word boundary near this many characters.
QUOTE_CHARS = 160


@dataclass(frozen=True)
class Topic:
    """One topic of a chat window: its messages (in order), the ones that show it best,
    its most telling words, and who took part (most messages first)."""

    message_ids: tuple[int, ...]
    picked: tuple[int, ...]
    words: tuple[str, ...]
    authors: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.message_ids)


def group_topics(messages: Sequence[ChatMessage], embed: Embed | None = None) -> list[Topic]:
    """The topics of `messages` (in time order), largest first, then the most recent;
    with `embed`, conversations close in meaning join as well as those sharing words."""
    talk = [m for m in messages if not m.system and m.text.strip()]
    if not talk:
        return []
    tokens = {m.id: tokenize(m.text) for m in talk}
    df: Counter[str] = Counter()
    for toks in tokens.values():
        df.update(set(toks))
    n = len(talk)
    idf = {t: math.log(1 + n / c) for t, c in df.items()}
    conversations: dict[int, list[ChatMessage]] = defaultdict(list)
    roots = separate(talk)
    for m in talk:
        conversations[roots[m.id]].append(m)
    found = sorted(conversations.values(), key=len, reverse=True)
    centres = _centres(found, embed) if embed is not None else None
    groups = _merge(found, tokens, idf, centres)
    position = {m.id: i for i, m in enumerate(talk)}
    topics = [_topic(g, tokens, idf, position) for g in groups]
    topics.sort(key=lambda t: (-t.size, -max(position[i] for i in t.message_ids)))
    return topics


@dataclass
class ChatSummary:
    """The topics shown (at most `MAX_TOPICS`), each with the model's bullet (None: the
    extractive one), and what was left out: smaller topics, bullets that failed the check."""

    topics: list[Topic]
    bullets: list[str | None] = field(default_factory=list)
    more_topics: int = 0
    more_messages: int = 0
    dropped: int = 0
    llm_failed: bool = False


#: Texts → one vector each (an embedder's `embed_documents`).
Embed = Callable[[list[str]], np.ndarray]


def summarize(
    messages: Sequence[ChatMessage], llm: ChatLLM | None = None, embed: Embed | None = None
) -> ChatSummary:
    """Group `messages` into topics; with `llm`, a checked bullet per topic."""
    from retrieval.llm import LLMError

    topics = group_topics(messages, embed)
    shown, rest = topics[:MAX_TOPICS], topics[MAX_TOPICS:]
    summary = ChatSummary(shown, [None] * len(shown), len(rest), sum(t.size for t in rest))
    if llm is None:
        return summary
    by_id = {m.id: m for m in messages}
    chat = [m.text for m in messages]
    kept: list[Topic] = []
    bullets: list[str | None] = []
    for topic in shown:
        given = list(dict.fromkeys([*topic.picked, *topic.message_ids[-LLM_MESSAGES:]]))
        given.sort(key=topic.message_ids.index)
        sources = [by_id[i] for i in given]
        try:
            bullet = llm.summarize([(m.author, m.text) for m in sources])
        except LLMError:
            summary.llm_failed = True
            return ChatSummary(
                shown, [None] * len(shown), summary.more_topics, summary.more_messages
            )
        bullet = " ".join(bullet.split()).lstrip("-•* ")
        if check_bullet(bullet, [m.text for m in sources], chat):
            kept.append(topic)
            bullets.append(bullet)
        else:
            summary.dropped += 1
    summary.topics, summary.bullets = kept, bullets
    return summary


def _vector(
    ids: Sequence[int], tokens: dict[int, list[str]], idf: dict[str, float]
) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for i in ids:
        counts.update(set(tokens[i]))
    return {t: c * idf[t] for t, c in counts.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    if not dot:
        return 0.0
    return dot / math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))


def _centres(conversations: list[list[ChatMessage]], embed: Embed) -> np.ndarray | None:
    """Each conversation's mean vector, unit length; None when there are too few."""
    if len(conversations) < DENSE_MIN_CONVERSATIONS:
        return None
    texts = [m.text for c in conversations for m in c]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centres, start = [], 0
    for c in conversations:
        centres.append(vectors[start : start + len(c)].mean(axis=0))
        start += len(c)
    out = np.asarray(centres)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _merge(
    conversations: list[list[ChatMessage]],
    tokens: dict[int, list[str]],
    idf: dict[str, float],
    centres: np.ndarray | None = None,
) -> list[list[ChatMessage]]:
    """Join conversations about the same thing: the largest first, each joining the
    topic it is most like, when its words are at least `TOPIC_MERGE` alike or (with
    vectors) their meaning stands `DENSE_MERGE_Z` deviations above the window's."""
    sums: list[np.ndarray] = []  # each topic's vectors, summed (with `centres`)
    mean, spread = 0.0, 1.0
    if centres is not None:
        pairs = (centres @ centres.T)[np.triu_indices(len(centres), 1)]
        mean, spread = float(pairs.mean()), float(pairs.std()) or 1.0

    def dense_z(c: int, g: int) -> float:
        if centres is None:
            return -math.inf
        topic = sums[g] / max(float(np.linalg.norm(sums[g])), 1e-12)
        return (float(centres[c] @ topic) - mean) / spread

    groups: list[list[ChatMessage]] = []
    vectors: list[dict[str, float]] = []
    for c, conversation in enumerate(conversations):
        vector = _vector([m.id for m in conversation], tokens, idf)
        best, best_score = None, 1.0
        for g, v in enumerate(vectors):
            score = max(_cosine(vector, v) / TOPIC_MERGE, dense_z(c, g) / DENSE_MERGE_Z)
            if score >= best_score:
                best, best_score = g, score
        if best is not None:
            groups[best].extend(conversation)
            for t, w in vector.items():
                vectors[best][t] = vectors[best].get(t, 0.0) + w
            if centres is not None:
                sums[best] = sums[best] + centres[c] * len(conversation)
        else:
            groups.append(list(conversation))
            vectors.append(vector)
            if centres is not None:
                sums.append(centres[c] * len(conversation))
    return groups


def _topic(
    group: list[ChatMessage],
    tokens: dict[int, list[str]],
    idf: dict[str, float],
    order: dict[int, int],
) -> Topic:
    group = sorted(group, key=lambda m: order[m.id])
    ids = [m.id for m in group]
    centre = _vector(ids, tokens, idf)
    replied = Counter(m.reply_to for m in group if m.reply_to is not None)

    def weight(m: ChatMessage) -> float:
        own = {t: idf[t] for t in set(tokens[m.id])}
        return _cosine(own, centre) + 0.05 * replied[m.id]

    wanted = 1 if len(group) < 3 else 2 if len(group) < 6 else MAX_PICKED
    picked: list[ChatMessage] = []
    for m in sorted(group, key=weight, reverse=True):
        if len(picked) == wanted:
            break
        if any(_same_thing(m, p) for p in picked):
            continue
        picked.append(m)
    authors = Counter(m.author for m in group)
    return Topic(
        tuple(ids),
        tuple(sorted((m.id for m in picked), key=order.__getitem__)),
        _words(group, tokens, idf),
        tuple(a for a, _ in authors.most_common()),
    )


def _same_thing(a: ChatMessage, b: ChatMessage) -> bool:
    sa, sb = shingles(a.text), shingles(b.text)
    if not sa or not sb:
        return search_key(a.text) == search_key(b.text)
    return len(sa & sb) / min(len(sa), len(sb)) >= NEAR_DUPLICATE


_SURFACE = re.compile(r"[\w\u200c]+")


def _words(
    group: list[ChatMessage], tokens: dict[int, list[str]], idf: dict[str, float]
) -> tuple[str, ...]:
    """The topic's most telling words (in more than one message when it has several),
    each as it was most often written."""
    spread: Counter[str] = Counter()
    for m in group:
        spread.update(set(tokens[m.id]))
    floor = 2 if len(group) >= 3 else 1
    scored = sorted(
        (t for t, c in spread.items() if c >= floor and not t.isdigit()),
        key=lambda t: (-spread[t] * idf[t], t),
    )
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    for m in group:
        for word in _SURFACE.findall(m.text):
            keys = tokenize(word)
            if keys:
                surface[keys[0]][word] += 1
    chosen: list[str] = []
    for t in scored:
        written = surface[t].most_common(1)
        word = written[0][0] if written else t
        if word.casefold() not in {c.casefold() for c in chosen}:
            chosen.append(word)
        if len(chosen) == TOPIC_WORDS:
            break
    return tuple(chosen)


def short_quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` on one line, cut at a word boundary with "…" when longer than `limit`."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit].rstrip(" ,،;؛:") + "…"


def check_bullet(bullet: str, sources: Sequence[str], chat: Sequence[str]) -> bool:
    """True if every sentence of `bullet` is supported by `sources` (its topic's messages):
    at least `LEXICAL_SUPPORT` of the sentence's content words, weighted by how rare they
    are in `chat` (the whole window), occur in the sources, or the sentence is quoted
    from them. The test an LLM answer's sentences pass against their passages."""
    source_tokens = {t for s in sources for t in tokenize(s)}
    source_key = " ".join(search_key(s) for s in sources)
    df: Counter[str] = Counter()
    for text in chat:
        df.update(set(tokenize(text)))
    n = max(len(chat), 1)
    checked = 0
    for sentence in split_sentences(bullet):
        claim = bullet[sentence.start : sentence.end].strip(" -•*")
        claim_tokens = set(tokenize(claim))
        if not claim_tokens:
            continue
        checked += 1
        key = search_key(claim).strip(" .«»\"'")
        if len(key) > 15 and key in source_key:
            continue
        weights = {t: math.log(1 + (n + 1) / (df[t] + 0.5)) for t in claim_tokens}
        share = sum(w for t, w in weights.items() if t in source_tokens) / sum(weights.values())
        if share < LEXICAL_SUPPORT:
            return False
    return checked > 0
