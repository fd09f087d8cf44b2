"""A large corpus's documents prepared (`retrieval.prepare`) in several processes.

Cleaning, language detection, chunking and tokenizing are pure Python, so a second
core halves their time. The ingesting process prepares batches itself and keeps
`workers - 1` worker processes busy with the others: on two cores, one worker and
this process use both without a third process competing for them, and what this
process prepares never crosses a pipe. A small corpus is prepared here alone, where
starting a worker would cost more than it saves. Either way the result is the same,
in the same order.

The pipes are read and written by this process's one thread, between documents,
never by a helper thread: each read of a pipe lets go of the GIL, and a helper thread
then waits up to a switch interval (5 ms) to take it back from the preparing thread,
so that a worker's answer of a few megabytes took seconds to read.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.chunking import Chunk
from retrieval.corpus import Source
from retrieval.prepare import ChunkTokens, Numbering, PreparedDocument, numbering, prepare

if sys.platform != "win32":  # pipes that do not block, and their size: POSIX only
    import fcntl
if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Answer",
    "Renumbering",
    "answer_of",
    "batches_of",
    "prepare_documents",
    "read_answer",
    "words_since",
    "worker_count",
]

log = logging.getLogger(__name__)

#: Below this much text (about 700 chunks) a worker costs more than it saves: it
#: starts an interpreter and imports this package (~0.1 s).
PARALLEL_MIN_CHARS = 1_000_000
#: Text in a batch (characters): a share of what is left to hand out, so batches
#: shrink toward the end and the processes finish close together (a worker holds up
#: to `_AHEAD` batches that this process, once it has claimed the rest, waits for);
#: within these bounds. Large batches cost fewer round trips; a document larger than
#: the bound is a batch of its own.
_BATCH_MIN_CHARS, _BATCH_MAX_CHARS = 32_000, 512_000
_SHARES_PER_PROCESS = 4
#: Batches handed to a worker before its answers come back: the next one waits in
#: its pipe, so it never sits idle between answering and being sent more.
_AHEAD = 2
#: What an answer starts with: these bytes, then its length in `_LENGTH_BYTES`. Anything
#: else on a worker's standard output (a library printing there) is no answer.
_MARK = b"sanad-answer\n"
_LENGTH_BYTES = 8
_HEADER_BYTES = len(_MARK) + _LENGTH_BYTES
#: The pipes to and from a worker, where the system allows (Linux's default most for
#: a user): a batch or an answer then crosses in a few reads.
_PIPE_BYTES = 1 << 20
#: How long this process waits for a worker's pipe at a time when it has nothing to
#: prepare itself (seconds; a worker that hangs is found by its ending, not this).
_WAIT_S = 1.0


def worker_count(setting: int) -> int:
    """Processes to prepare in for a setting of `setting` (0: one per core this
    process may use), this one included."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def batches_of(sources: Sequence[Source], workers: int) -> list[list[Source]]:
    """`sources` cut into batches, in order, for `workers` processes: each batch about
    1 / (`_SHARES_PER_PROCESS` × `workers`) of the text not yet in a batch, and no
    more than an even share of the documents (so that every process gets some)."""
    left = sum(len(s.text) for s in sources)
    most = max(1, len(sources) // workers)
    out: list[list[Source]] = []
    batch: list[Source] = []
    size = want = 0
    for source in sources:
        if not batch:
            share = left // (_SHARES_PER_PROCESS * workers)
            want = max(_BATCH_MIN_CHARS, min(_BATCH_MAX_CHARS, share))
        batch.append(source)
        size += len(source.text)
        if size >= want or len(batch) == most:
            out.append(batch)
            left -= size
            batch, size = [], 0
    if batch:
        out.append(batch)
    return out


def prepare_documents(
    sources: Sequence[Source],
    *,
    min_tokens: int,
    max_tokens: int,
    workers: int = 1,
    numbers: Numbering | None = None,
) -> Iterator[PreparedDocument]:
    """`prepare` each source, in order, in up to `workers` processes (this one and
    `workers - 1` worker processes), every chunk's tokens numbered in `numbers`."""
    numbers = numbering() if numbers is None else numbers
    one = partial(prepare, min_tokens=min_tokens, max_tokens=max_tokens, numbers=numbers)
    size = sum(len(s.text) for s in sources)
    if workers < 2 or len(sources) < 2 or size < PARALLEL_MIN_CHARS or sys.platform == "win32":
        yield from map(one, sources)
        return
    batches = batches_of(sources, workers)
    done = 0
    try:
        with _Workers(min(workers, len(batches)) - 1, min_tokens, max_tokens, numbers) as pool:
            for prepared in pool.share(batches, one):
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


#: A worker's answer to a batch (`answer_of`): the words it numbered since its last
#: answer, the batch's token numbers (C ints), then each document.
Answer = tuple[list[str], bytes, list[tuple[Any, ...]]]


def answer_of(
    prepared: Sequence[PreparedDocument], batch: Sequence[Source], words: list[str]
) -> Answer:
    """`prepared` (the documents of `batch`, numbered in one worker's `Numbering`) as
    the worker sends them back: the `words` it numbered for this batch, every chunk's
    numbers in one array, no chunk texts (slices of the document's text) and no
    document text that is the source's own, which the ingest already holds.
    `read_answer` makes the documents again."""
    documents = []
    numbers = []
    for p, source in zip(prepared, batch, strict=True):
        doc = p.document
        own = doc.text == source.text
        rows = []
        for c in p.chunks:
            kept = p.tokens[c.chunk_id]
            numbers.append(kept.numbers)
            place = (c.chunk_id, c.ordinal, c.start, c.end, c.lang)
            rows.append((*place, len(kept.numbers), kept.spans, kept.lines))  # numbers' bytes
        documents.append((replace(doc, text="") if own else doc, own, rows))
    return words, b"".join(numbers), documents


def words_since(numbers: Numbering, count: int) -> list[str]:
    """The words `numbers` numbered after its first `count`, in order."""
    return list(islice(reversed(numbers), len(numbers) - count))[::-1]


class Renumbering:
    """A worker's token numbers as the ingest numbers them: a worker numbers each word
    as it first sees one, in a numbering of its own, and sends the words it added with
    each answer; this maps its numbers to the ingest's `Numbering` (`numbers`), one
    array lookup per batch."""

    def __init__(self, numbers: Numbering) -> None:
        # numpy is imported here, in the ingesting process only: a worker, which runs
        # this module, starts without it (0.1 s less, each ingest).
        import numpy as np

        self.numbers = numbers
        self._ours: np.ndarray = np.zeros(0, dtype=np.intc)  # a worker's number → ours

    def __call__(self, words: list[str], raw: bytes) -> bytes:
        """`raw` (a worker's numbers), with the `words` it added, in the ingest's."""
        import numpy as np

        if words:
            added = np.fromiter(map(self.numbers.__getitem__, words), dtype=np.intc)
            self._ours = np.concatenate([self._ours, added])
        return self._ours[np.frombuffer(raw, dtype=np.intc)].tobytes()


def read_answer(
    answer: Answer, batch: Sequence[Source], renumber: Renumbering
) -> list[PreparedDocument]:
    """The documents `answer_of` sent for `batch`, their tokens numbered as the
    ingest numbers them (`renumber`: the worker's)."""
    words, raw, documents = answer
    numbers = renumber(words, raw)
    at = 0
    out = []
    for (sent, own, rows), source in zip(documents, batch, strict=True):
        doc = replace(sent, text=source.text) if own else sent
        text, doc_id = doc.text, doc.doc_id
        chunks, tokens = [], {}
        for chunk_id, ordinal, start, end, lang, size, spans, lines in rows:
            chunk = Chunk(doc_id, ordinal, start, end, text[start:end], lang)
            chunks.append(chunk.identified(chunk_id))
            tokens[chunk_id] = ChunkTokens(numbers[at : at + size], spans, lines)
            at += size
        out.append(PreparedDocument(doc, chunks, tokens))
    return out


class _Worker:
    """One worker process, the batches it has been sent (in order) and the bytes on
    their way to and from it. Its pipes do not block: `pump` moves what they take."""

    def __init__(self, proc: subprocess.Popen[bytes], numbers: Numbering) -> None:
        assert proc.stdin is not None
        assert proc.stdout is not None
        self.proc = proc
        self.renumber = Renumbering(numbers)  # its numbers to the ingest's
        self.to, self.back = proc.stdin.fileno(), proc.stdout.fileno()
        for fd in (self.to, self.back):
            if sys.platform != "win32" and hasattr(fcntl, "F_SETPIPE_SZ"):
                with contextlib.suppress(OSError):
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            os.set_blocking(fd, False)
        self.sent: collections.deque[int] = collections.deque()  # batch numbers
        self.outgoing = bytearray()
        self.incoming = bytearray()

    def send(self, number: int, batch: list[Source]) -> None:
        self.sent.append(number)
        self.outgoing += pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)

    def pump(self) -> tuple[int, Answer] | None:
        """Write and read what the pipes take now; the oldest batch's answer (its
        number and documents) once it has all come."""
        if self.outgoing:
            with contextlib.suppress(BlockingIOError):
                del self.outgoing[: os.write(self.to, self.outgoing)]
        while True:
            try:
                data = os.read(self.back, _PIPE_BYTES)
            except BlockingIOError:
                break
            if not data:
                raise EOFError("a worker process ended before answering")
            self.incoming += data
        if not self.incoming.startswith(_MARK[: len(self.incoming)]):
            raise pickle.UnpicklingError("a worker process wrote something else than answers")
        if len(self.incoming) < _HEADER_BYTES:
            return None
        length = int.from_bytes(self.incoming[len(_MARK) : _HEADER_BYTES], "little")
        end = _HEADER_BYTES + length
        if len(self.incoming) < end:
            return None
        answer: Answer = pickle.loads(self.incoming[_HEADER_BYTES:end])  # noqa: S301 - our worker
        del self.incoming[:end]
        return self.sent.popleft(), answer


class _Workers:
    """Worker processes running this module, each fed batches of sources through its
    standard input and answering with the prepared documents on its standard output.
    Plain subprocesses rather than `multiprocessing`: a worker starts from this
    module alone, never re-running the script that ingests (which, without an
    `if __name__ == "__main__":` guard, would ingest again and wait on the lock
    this ingest holds)."""

    def __init__(self, count: int, min_tokens: int, max_tokens: int, numbers: Numbering) -> None:
        # The package this process imported, wherever it lives (installed or a checkout).
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        # -P: not the current folder first, where another `retrieval` package may be.
        command = [sys.executable, "-P", "-m", __name__, str(min_tokens), str(max_tokens)]
        self._all: list[_Worker] = []
        try:
            for _ in range(count):
                proc = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
                )
                self._all.append(_Worker(proc, numbers))
        except OSError:
            self.close()
            raise

    def share(
        self, batches: list[list[Source]], here: Callable[[Source], PreparedDocument]
    ) -> Iterator[list[PreparedDocument]]:
        """Each batch prepared, in order: by a worker, or by this process (`here`)
        while the next one in order is not back yet."""
        answers: dict[int, list[PreparedDocument]] = {}
        claims = iter(range(len(batches)))

        def keep_busy() -> None:
            """Send each worker what it lacks of `_AHEAD` batches and collect its answers."""
            for worker in self._all:
                while True:
                    while len(worker.sent) < _AHEAD and (n := next(claims, None)) is not None:
                        worker.send(n, batches[n])
                    answer = worker.pump()
                    if answer is None:
                        break
                    number, payload = answer
                    answers[number] = read_answer(payload, batches[number], worker.renumber)

        for wanted in range(len(batches)):
            keep_busy()
            while wanted not in answers:
                mine = next(claims, None)
                if mine is None:  # all handed out: wait for the workers
                    self._wait()
                    keep_busy()
                    continue
                prepared = []
                for source in batches[mine]:
                    prepared.append(here(source))
                    keep_busy()
                answers[mine] = prepared
            yield answers.pop(wanted)

    def _wait(self) -> None:
        """Until a busy worker's pipe can be read or written."""
        reading = [w.back for w in self._all if w.sent]
        writing = [w.to for w in self._all if w.outgoing]
        if reading or writing:
            select.select(reading, writing, [], _WAIT_S)

    def close(self) -> None:
        for worker in self._all:
            if worker.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    worker.proc.stdin.close()  # end of input: the worker exits
        for worker in self._all:
            proc = worker.proc
            if proc.stdout is not None:
                proc.stdout.close()  # an answer nobody will read does not hold it up
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(min_tokens: int, max_tokens: int) -> None:
    """A worker: prepare each batch of sources read from standard input until it
    closes, answering each on standard output after `_MARK` and its length."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    # Ctrl-C in a terminal reaches the whole process group: the ingest ends its
    # workers (closing their input), with no traceback of theirs on the screen.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    numbers = numbering()  # this worker's, for all its batches: each word sent once
    while True:
        try:
            batch: list[Source] = pickle.load(source)  # noqa: S301 - from our ingest
        except (EOFError, pickle.UnpicklingError):  # input closed, perhaps mid-batch
            return
        known = len(numbers)
        out = [
            prepare(s, min_tokens=min_tokens, max_tokens=max_tokens, numbers=numbers) for s in batch
        ]
        answer = pickle.dumps(
            answer_of(out, batch, words_since(numbers, known)), protocol=pickle.HIGHEST_PROTOCOL
        )
        try:
            sink.write(_MARK + len(answer).to_bytes(_LENGTH_BYTES, "little"))
            sink.write(answer)
            sink.flush()
        except BrokenPipeError:  # the ingest stopped reading: nothing more to do
            return


if __name__ == "__main__":
    # Through the module's own name, so what is pickled is `retrieval.….`, not
    # `__main__.…`, which the ingesting process could not unpickle.
    from retrieval.workers import _serve as serve

    serve(int(sys.argv[1]), int(sys.argv[2]))
