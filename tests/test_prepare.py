"""A large corpus is prepared (cleaned, chunked, tokenized) in worker processes: the
index must be the one a single process builds, and a worker that fails must cost
nothing but time."""

import collections
import itertools
import logging
import os
import pickle
import subprocess
import sys
from array import array
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retrieval.prepare
import retrieval.workers
from retrieval.config import load_settings
from retrieval.corpus import Source, read_corpus
from retrieval.index import SanadIndex
from retrieval.language import detect_language, language_signals
from retrieval.normalize import tokenize
from retrieval.prepare import Numbering, PreparedDocument, numbering

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def every_corpus_is_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers prepare even the bundled corpus (otherwise too small to be worth it)."""
    monkeypatch.setattr(retrieval.workers, "PARALLEL_MIN_CHARS", 0)


@pytest.fixture
def workers_started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many worker processes each ingest started."""
    started: list[int] = []
    real = retrieval.workers._Workers.__init__

    def counting(self, count: int, *args: int) -> None:
        real(self, count, *args)
        started.append(count)

    monkeypatch.setattr(retrieval.workers._Workers, "__init__", counting)
    return started


def _built(tmp_path: Path, corpus: Path, name: str, workers: int) -> SanadIndex:
    settings = load_settings(
        data_dir=tmp_path / name, corpus_dir=corpus, embedding_model="none", ingest_workers=workers
    )
    index = SanadIndex(settings)
    index.ingest()
    return index


def _same_index(one: SanadIndex, other: SanadIndex) -> None:
    assert [(c.chunk_id, c.lang, c.start, c.end, c.text) for c in one.chunks] == [
        (c.chunk_id, c.lang, c.start, c.end, c.text) for c in other.chunks
    ]
    assert {k: (d.title, d.lang, d.sha256) for k, d in one.catalog_documents.items()} == {
        k: (d.title, d.lang, d.sha256) for k, d in other.catalog_documents.items()
    }
    assert one.lexical.df == other.lexical.df
    assert one.evidence.spans == other.evidence.spans
    assert one.evidence.tokens == other.evidence.tokens
    for question in ("جنگ میان طالبان و داعش چه زمانی آغاز شد؟", "متى تأسس تنظيم داعش خراسان؟"):
        tokens = tokenize(question)
        assert one.lexical.search(tokens, 10) == other.lexical.search(tokens, 10)


def test_workers_build_the_index_one_process_builds(
    tmp_path, corpus, every_corpus_is_large, workers_started
):
    alone = _built(tmp_path, corpus, "alone", workers=1)
    assert workers_started == []
    shared = _built(tmp_path, corpus, "shared", workers=2)
    assert workers_started == [1]  # and this process
    _same_index(alone, shared)


def test_a_small_corpus_is_prepared_without_starting_workers(tmp_path, corpus, workers_started):
    _built(tmp_path, corpus, "small", workers=2)
    assert workers_started == []


@pytest.mark.parametrize("python", ["missing", "exits", "babbles"])
def test_workers_that_fail_leave_the_work_to_the_ingest(
    tmp_path, corpus, every_corpus_is_large, monkeypatch, caplog, python
):
    alone = _built(tmp_path, corpus, "alone", workers=1)
    broken = tmp_path / "python"
    scripts = {
        "exits": "exit 3",  # starts, then ends without an answer
        # writes what is no answer, and goes on reading: must not be waited for
        "babbles": "echo 'a library printing on standard output'; cat > /dev/null",
    }
    if python in scripts:
        broken.write_text(f"#!/bin/sh\n{scripts[python]}\n")
        broken.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken))
    with caplog.at_level(logging.WARNING, logger="retrieval.workers"):
        recovered = _built(tmp_path, corpus, "recovered", workers=2)
    assert "preparing the other 5 documents in this process" in caplog.text
    _same_index(alone, recovered)


def test_a_worker_starts_without_numpy():
    # Each ingest with workers starts them afresh: a worker imports only what preparing
    # needs (numpy alone added 0.1 s to each start); renumbering is the ingest's work.
    done = subprocess.run(
        [sys.executable, "-P", "-c", "import sys, retrieval.workers; print('numpy' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_script_without_a_main_guard_can_ingest_with_workers(tmp_path, corpus):
    # Workers run the preparing module alone, never the script that ingests (as
    # multiprocessing would: this script would then ingest again in each worker).
    script = tmp_path / "ingest_script.py"
    script.write_text(
        "import retrieval.workers\n"
        "from retrieval.config import load_settings\n"
        "from retrieval.index import SanadIndex\n"
        "retrieval.workers.PARALLEL_MIN_CHARS = 0\n"
        f"settings = load_settings(data_dir={str(tmp_path / 'data')!r}, "
        f"corpus_dir={str(corpus)!r}, embedding_model='none', ingest_workers=2)\n"
        "print(SanadIndex(settings).ingest().chunks)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "worker" not in done.stderr
    assert int(done.stdout) == len(_built(tmp_path, corpus, "alone", workers=1).chunks)


def _readable(prepared: list[PreparedDocument], numbers: Numbering) -> list[tuple]:
    """Each document, its chunks, and each chunk's tokens as words, spans and lines:
    what prepared documents mean whatever numbering their tokens are numbered in."""
    words = list(numbers)
    return [
        (
            p.document,
            p.chunks,
            {
                chunk_id: ([words[n] for n in array("i", kept.numbers)], kept.spans, kept.lines)
                for chunk_id, kept in p.tokens.items()
            },
        )
        for p in prepared
    ]


def test_workers_number_the_tokens_as_the_ingest_does(corpus, every_corpus_is_large):
    # Each worker numbers the tokens it finds in a numbering of its own: read back,
    # they must name the words preparing here names, in the ingest's numbering, and
    # that numbering must hold no word but theirs.
    sources, _ = read_corpus(corpus)
    shared, alone = numbering(), numbering()
    by_workers = list(
        retrieval.workers.prepare_documents(
            sources, min_tokens=250, max_tokens=500, workers=2, numbers=shared
        )
    )
    here = [_prepare(s, numbers=alone) for s in sources]
    assert len(sources) > 2
    assert _readable(by_workers, shared) == _readable(here, alone)
    assert sorted(shared) == sorted(alone)


def _prepare(source: Source, numbers: Numbering, sizes: tuple[int, int] = (250, 500)):
    return retrieval.prepare.prepare(
        source, min_tokens=sizes[0], max_tokens=sizes[1], numbers=numbers
    )


def test_a_document_without_a_given_language_gets_the_language_of_its_kept_text(corpus):
    # The ingest counts it from its chunks, each stretch of text once (chunks
    # overlap), not by reading the document again: the counts, the kept text's and
    # each chunk's, must be what reading them whole would give.
    sources, _ = read_corpus(corpus)
    for source in sources:
        undeclared = replace(source, meta={})
        doc = undeclared.document()
        kept = "\n".join(p.text for p in doc.paragraphs if p.kept)
        prepared = retrieval.prepare.prepare(undeclared, min_tokens=60, max_tokens=120)
        chunks = prepared.chunks
        assert any(b.start < a.end for a, b in itertools.pairwise(chunks))  # overlaps
        signals, counted = retrieval.prepare.chunk_signals(doc.text, chunks)
        assert signals == [language_signals(c.text) for c in chunks]
        assert counted == language_signals(kept)
        assert prepared.document.lang == detect_language(kept) == doc.lang
        assert all(c.lang in {detect_language(c.text), doc.lang} for c in chunks)


def test_what_an_ingest_reads_once_per_sentence_is_what_reading_the_text_gives(corpus):
    # An ingest splits each sentence once for its words, its size and its language
    # signals (SentenceFacts): the chunks, each chunk's signals and the kept text's
    # must be what estimating and counting the text afresh gives.
    from retrieval.chunking import chunk_with_sentences
    from retrieval.prepare import SentenceFacts

    sources, _ = read_corpus(corpus)
    by_sentence = run_on = 0
    for source in sources:
        doc = replace(source, meta={}).document()
        kept = "\n".join(p.text for p in doc.paragraphs if p.kept)
        facts = SentenceFacts()
        sizes = {"doc_id": doc.doc_id, "lang": doc.lang, "min_tokens": 60, "max_tokens": 120}
        afresh = chunk_with_sentences(doc.text, doc.paragraphs, **sizes)
        found = chunk_with_sentences(
            doc.text, doc.paragraphs, sentence_tokens=facts.tokens, **sizes
        )
        assert found == afresh
        chunks, parts = [f.chunk for f in found], [f.parts for f in found]
        signals, counted = retrieval.prepare.chunk_signals(doc.text, chunks, parts, facts.signals)
        assert signals == [language_signals(c.text) for c in chunks]
        assert counted == language_signals(kept)
        by_sentence += all(p is not None for p in parts)
        run_on += sum(f.known is None and f.parts is not None for f in found)
    assert by_sentence >= 4  # documents whose chunks are counted sentence by sentence
    assert run_on  # among them chunks that start on a line that may run on


def test_a_chunk_keeps_the_tokens_reading_the_chunk_alone_gives(corpus):
    # An index reopened elsewhere tokenizes a chunk's text afresh: what the ingest
    # kept for it (the sentence it shares with the chunk before, tokenized once) must
    # be the same, every token numbered, only sentences worth scoring given a line.
    from retrieval.prepare import MIN_SENTENCE_CHARS, kept_tokens
    from retrieval.sentence_split import tokenize_sentences

    sources, _ = read_corpus(corpus)
    numbers = numbering()
    shared = short = 0
    for source in sources:
        prepared = _prepare(source, numbers, sizes=(60, 120))
        shared += sum(b.start < a.end for a, b in itertools.pairwise(prepared.chunks))
        for chunk in prepared.chunks:
            found = tokenize_sentences(chunk.text)
            kept = prepared.tokens[chunk.chunk_id]
            assert kept == kept_tokens(found, numbers)
            assert len(array("i", kept.numbers)) == sum(len(t) for *_, t in found)
            assert kept.lines == [" ".join(t) for a, b, t in found if b - a >= MIN_SENTENCE_CHARS]
            short += len(found) - len(kept.lines)
    assert shared > 10
    assert short > 0


def _sources(lengths: list[int]) -> list[Source]:
    return [Source(f"d{i}", Path(f"d{i}.txt"), "", "x" * n) for i, n in enumerate(lengths)]


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 700_000), min_size=2, max_size=120),
    workers=st.integers(2, 4),
)
def test_batches_keep_every_document_in_order_and_give_every_process_a_share(lengths, workers):
    sources = _sources(lengths)
    batches = retrieval.workers.batches_of(sources, workers)
    assert [s for batch in batches for s in batch] == sources
    assert len(batches) >= min(workers, len(sources))  # nobody waits with nothing to do
    for batch in batches:  # a bounded round trip, unless one document is larger alone
        assert len(batch) == 1 or sum(len(s.text) for s in batch[:-1]) < 512_000


@pytest.mark.parametrize("workers", [2, 4])
def test_batches_shrink_toward_the_end_so_the_processes_finish_together(workers):
    # The synthetic 10k-chunk corpus's shape: 1,428 documents of about 8,000 characters.
    sources = _sources([8_000 + 37 * (i % 50) for i in range(1428)])
    batches = retrieval.workers.batches_of(sources, workers)
    chars = [sum(len(s.text) for s in batch) for batch in batches]
    assert max(chars[:4]) > 300_000  # few round trips while there is much to do
    # What a worker still holds when this process has claimed the last batch (two
    # batches each) is a sliver of its share (~3-6 MB here), not two large batches.
    assert max(chars[-2 * workers :]) < 32_000 + 10_000  # the smallest batches


def test_workers_run_this_package_from_a_folder_holding_another_of_its_name(
    corpus, tmp_path, monkeypatch, every_corpus_is_large, caplog
):
    # `sanad ingest` run from a project of the user's own with a `retrieval` package:
    # the workers must still be Sanad's, not give up (and leave it all to the ingest).
    decoy = tmp_path / "retrieval"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("", encoding="utf-8")
    (decoy / "workers.py").write_text("print('not sanad')\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sources, _ = read_corpus(corpus)
    shared, alone = numbering(), numbering()
    by_workers = list(
        retrieval.workers.prepare_documents(
            sources, min_tokens=60, max_tokens=120, workers=2, numbers=shared
        )
    )
    here = [_prepare(s, alone, sizes=(60, 120)) for s in sources]
    assert _readable(by_workers, shared) == _readable(here, alone)
    assert "worker process failed" not in caplog.text


def test_a_prepared_batch_reads_back_from_a_worker_as_it_was_made(corpus, tmp_path):
    # A worker's answer leaves out the chunks' texts and the document's text where it
    # is the source's, and numbers tokens in the worker's own numbering: what the
    # ingest reads back must be what the worker prepared, a page's text (not its
    # markup) included, its tokens in the ingest's numbering.
    sources, _ = read_corpus(corpus)
    (tmp_path / "page.html").write_text(
        "<html><body><p>متن صفحه در اینجا است. و جمله دوم.</p></body></html>", encoding="utf-8"
    )
    page, _ = read_corpus(tmp_path)
    batch = [*sources, *page]
    theirs = numbering()  # the worker's
    prepared = [_prepare(s, theirs, sizes=(60, 120)) for s in batch]
    answer = retrieval.workers.answer_of(prepared, batch, list(theirs))
    wire = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    ours = numbering()
    ours["ingest's own word"]  # numbered before the worker's first answer
    back = retrieval.workers.read_answer(
        pickle.loads(wire), batch, retrieval.workers.Renumbering(ours)
    )
    assert _readable(back, ours) == _readable(prepared, theirs)
    assert back[-1].document.text != page[0].text  # the page's text, not its markup
    for mine, made in zip(back, prepared, strict=True):
        assert mine.document.text == made.document.text
        assert [c.text for c in mine.chunks] == [c.text for c in made.chunks]
        assert [c.chunk_id for c in mine.chunks] == list(made.tokens)
        # The ids came with the answer: each still names its chunk's text.
        assert [c.chunk_id for c in mine.chunks] == [replace(c).chunk_id for c in mine.chunks]
    # Smaller than the documents pickled whole: no text crosses twice.
    assert len(wire) < len(pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)) / 2


def test_a_worker_sends_each_word_it_numbers_once(corpus):
    # Each answer brings the words the worker numbered since its last one: a word
    # sent again (or missing) would shift every number after it.
    sources, _ = read_corpus(corpus)
    theirs, ours = numbering(), numbering()
    renumber = retrieval.workers.Renumbering(ours)
    sent: list[str] = []
    back = []
    for source in sources:  # a batch a document
        known = len(theirs)
        prepared = [_prepare(source, theirs, sizes=(60, 120))]
        words = retrieval.workers.words_since(theirs, known)
        sent += words
        answer = retrieval.workers.answer_of(prepared, [source], words)
        back += retrieval.workers.read_answer(answer, [source], renumber)
    assert sent == list(theirs)
    alone = numbering()
    here = [_prepare(s, alone, sizes=(60, 120)) for s in sources]
    assert _readable(back, ours) == _readable(here, alone)


class _InstantWorker:
    """Stands in for a worker process that answers each batch by the time it is next
    looked at (a fast worker, between two of the ingest's own documents)."""

    def __init__(self, ingest: Numbering) -> None:
        self.sent: collections.deque[int] = collections.deque()
        self.outgoing = b""
        self.batches: dict[int, list] = {}
        self.answered: list[int] = []
        self.numbers = numbering()  # its own, as a worker process has
        self.renumber = retrieval.workers.Renumbering(ingest)

    def send(self, number, batch):
        self.sent.append(number)
        self.batches[number] = batch

    def pump(self):
        if not self.sent:
            return None
        number = self.sent.popleft()
        self.answered.append(number)
        batch = self.batches.pop(number)
        known = len(self.numbers)
        prepared = [_prepare(s, self.numbers, sizes=(60, 120)) for s in batch]
        words = retrieval.workers.words_since(self.numbers, known)
        return number, retrieval.workers.answer_of(prepared, batch, words)


def test_every_answer_a_worker_gives_is_taken_however_soon_it_comes(corpus, monkeypatch):
    sources, _ = read_corpus(corpus)
    ingest = numbering()
    pool = retrieval.workers._Workers(0, 60, 120, ingest)  # no process: a stand-in worker
    worker = _InstantWorker(ingest)
    pool._all = [worker]
    # Waiting for a pipe means an answer it had already read went missing.
    monkeypatch.setattr(pool, "_wait", lambda: pytest.fail("waited for an answer already read"))
    batches = [[s] for s in sources]

    def here(source: Source) -> PreparedDocument:
        return _prepare(source, ingest, sizes=(60, 120))

    shared = [doc for batch in pool.share(batches, here) for doc in batch]
    alone = numbering()
    assert _readable(shared, ingest) == _readable(
        [_prepare(s, alone, sizes=(60, 120)) for s in sources], alone
    )
    assert worker.answered
