"""From a source file to what the index stores of it: the cleaned document, its
chunks (each labelled with its own language) and their sentences, tokenized.

This is the part of an ingest that works on one document at a time, so a large
corpus is prepared in worker processes, one per core: cleaning, language
detection, chunking and tokenizing are pure Python, and a second core halves
their time. A small one is prepared in this process, where starting workers would
cost more than they save. Either way the result is the same, in the same order.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import logging
import os
import pickle
import queue
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from retrieval.chunking import (
    Chunk,
    TokenizedSentence,
    chunk_paragraphs,
    sentence_spans,
    tokenize_sentences,
)
from retrieval.corpus import Document, Source
from retrieval.language import LanguageSignals, language_signals
from retrieval.normalize import SentenceWords

__all__ = ["PreparedDocument", "prepare_documents", "worker_count"]

log = logging.getLogger(__name__)

#: Below this much text (about 700 chunks) workers cost more than they save: each
#: starts an interpreter and imports this package (~0.2 s); at 1.3 MB two workers
#: take 1.2 s where one process takes 1.5 s (2 cores).
PARALLEL_MIN_CHARS = 1_000_000
#: Documents handed to a worker at a time: as many as leave each worker at least
#: `_BATCHES_PER_WORKER` batches (even shares to the end), within these bounds. Each
#: round trip leaves the worker idle while this process reads its answer and sends
#: the next batch: at 10k chunks, 8 documents a batch kept each worker idle 0.9 s of
#: its 4.5 s, 64 a batch 0.45 s (ingest 7.2 → 6.3 s, two runs each).
_BATCH_MIN, _BATCH_MAX = 8, 64
_BATCHES_PER_WORKER = 8


@dataclass(frozen=True)
class PreparedDocument:
    document: Document
    chunks: list[Chunk]
    #: chunk id → the chunk's sentences with their search tokens
    sentences: dict[str, list[TokenizedSentence]]


def prepare(source: Source, *, min_tokens: int, max_tokens: int) -> PreparedDocument:
    """Clean one source, chunk it and tokenize the chunks' sentences."""
    words = SentenceWords()  # each sentence normalized once, for cleaning and tokens

    def paragraph_words(paragraph: str) -> list[str]:
        return [w for a, b in sentence_spans(paragraph) for w in words(paragraph[a:b])]

    doc = source.document(detect=False, words=paragraph_words)
    chunks = chunk_paragraphs(
        doc.text,
        doc.paragraphs,
        doc_id=doc.doc_id,
        lang=doc.lang,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
    )
    signals, kept = chunk_signals(doc.text, chunks)
    if not doc.lang:
        doc = replace(doc, lang=kept.language())
    # A page in one language may quote another: label each chunk by its own text.
    chunks = [
        replace(chunk, lang=lang if lang != "und" else doc.lang)
        for chunk, lang in zip(chunks, (s.language() for s in signals), strict=True)
    ]
    sentences = {c.chunk_id: tokenize_sentences(c.text, words) for c in chunks}
    # The paragraphs were for chunking; the catalogue keeps text and offsets.
    return PreparedDocument(replace(doc, paragraphs=[]), chunks, sentences)


def chunk_signals(
    text: str, chunks: Sequence[Chunk]
) -> tuple[list[LanguageSignals], LanguageSignals]:
    """The language signals of each chunk of `text` and of the kept text they cover,
    reading each stretch of text once.

    Chunks overlap (by a sentence): the text is cut at every chunk's start and end,
    each piece between two cuts is counted once, and a chunk's signals are the sum of
    its pieces. Signals add up over text cut between words, and chunks begin and end
    between sentences, so the sums are what counting each chunk (and the kept text)
    whole would give.
    """
    cuts = sorted({at for chunk in chunks for at in (chunk.start, chunk.end)})
    pieces: dict[int, LanguageSignals] = {}  # a piece's start → its signals
    total = LanguageSignals()
    per_chunk = []
    for chunk in chunks:
        signals = LanguageSignals()
        first, last = bisect.bisect_left(cuts, chunk.start), bisect.bisect_left(cuts, chunk.end)
        for start, end in itertools.pairwise(cuts[first : last + 1]):
            piece = pieces.get(start)
            if piece is None:
                piece = pieces[start] = language_signals(text[start:end])
                total += piece
            signals += piece
        per_chunk.append(signals)
    return per_chunk, total


def worker_count(setting: int) -> int:
    """Worker processes for a setting of `setting` (0: one per core this process
    may use)."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def batch_size(documents: int, workers: int) -> int:
    """Documents a batch, for `documents` shared by `workers` (every worker gets some)."""
    even = max(1, documents // workers)
    return min(even, max(_BATCH_MIN, min(_BATCH_MAX, documents // (workers * _BATCHES_PER_WORKER))))


def prepare_documents(
    sources: Sequence[Source], *, min_tokens: int, max_tokens: int, workers: int = 1
) -> Iterator[PreparedDocument]:
    """`prepare` each source, in order, in up to `workers` processes."""
    one = partial(prepare, min_tokens=min_tokens, max_tokens=max_tokens)
    size = sum(len(s.text) for s in sources)
    if workers < 2 or len(sources) < 2 or size < PARALLEL_MIN_CHARS:
        yield from map(one, sources)
        return
    step = batch_size(len(sources), workers)
    batches = [list(sources[i : i + step]) for i in range(0, len(sources), step)]
    done = 0
    try:
        with _Workers(min(workers, len(batches)), min_tokens, max_tokens) as pool:
            for prepared in pool.map(batches):
                yield from prepared
                done += len(prepared)
    except (OSError, EOFError, pickle.UnpicklingError) as e:
        # A worker could not start or died (out of memory, killed): the rest here.
        log.warning(
            "a worker process failed (%s); preparing the other %d documents in this process"
            " (SANAD_INGEST_WORKERS=1 skips workers)",
            type(e).__name__,
            len(sources) - done,
        )
        yield from map(one, sources[done:])


class _Workers:
    """Worker processes running this module, each fed batches of sources through its
    standard input and answering with the prepared documents on its standard output.
    Plain subprocesses rather than `multiprocessing`: a worker starts from this
    module alone, never re-running the script that ingests (which, without an
    `if __name__ == "__main__":` guard, would ingest again and wait on the lock
    this ingest holds)."""

    def __init__(self, count: int, min_tokens: int, max_tokens: int) -> None:
        # The package this process imported, wherever it lives (installed or a checkout).
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        command = [sys.executable, "-m", __name__, str(min_tokens), str(max_tokens)]
        self._idle: queue.SimpleQueue[subprocess.Popen[bytes]] = queue.SimpleQueue()
        self._all = []
        try:
            for _ in range(count):
                proc = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
                )
                self._all.append(proc)
                self._idle.put(proc)
        except OSError:
            self.close()
            raise
        self._threads = ThreadPoolExecutor(max_workers=count, thread_name_prefix="sanad-prepare")

    def _run(self, batch: list[Source]) -> list[PreparedDocument]:
        proc = self._idle.get()
        try:
            assert proc.stdin is not None
            assert proc.stdout is not None
            pickle.dump(batch, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
            prepared: list[PreparedDocument] = pickle.load(proc.stdout)  # noqa: S301 - our worker
        except BaseException:
            # Its streams are out of step now: end it, so that every batch still
            # waiting for it fails at once instead of reading the wrong answer.
            proc.kill()
            raise
        finally:
            self._idle.put(proc)
        # One string per distinct token, as in one process (`normalize.tokenize` hands
        # out the same strings for a word); unpickled, each batch has its own copies.
        for doc in prepared:
            for spans in doc.sentences.values():
                for _, _, tokens in spans:
                    tokens[:] = map(sys.intern, tokens)
        return prepared

    def map(self, batches: list[list[Source]]) -> Iterator[list[PreparedDocument]]:
        """Each batch prepared, in order, while the workers go on with the next ones."""
        return self._threads.map(self._run, batches)

    def close(self) -> None:
        for proc in self._all:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # end of input: the worker exits
        for proc in self._all:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._threads.shutdown(cancel_futures=True)
        self.close()


def _serve(min_tokens: int, max_tokens: int) -> None:
    """A worker: prepare each batch of sources read from standard input until it
    closes, answering each on standard output."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    while True:
        try:
            batch: list[Source] = pickle.load(source)  # noqa: S301 - from our ingest
        except EOFError:
            return
        out = [prepare(s, min_tokens=min_tokens, max_tokens=max_tokens) for s in batch]
        pickle.dump(out, sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()


if __name__ == "__main__":
    # Through the module's own name, so what is pickled is `retrieval.prepare.…`,
    # not `__main__.…`, which the ingesting process could not unpickle.
    from retrieval.prepare import _serve as serve

    serve(int(sys.argv[1]), int(sys.argv[2]))
