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


def test_a_prepared_corpus_holds_each_token_once_as_one_process_does(corpus, every_corpus_is_large):
    # Unpickled from workers, every batch would bring its own copy of each word's
    # string: more memory than the same index built in one process.
    sources, _ = read_corpus(corpus)
    prepared = list(
        retrieval.workers.prepare_documents(sources, min_tokens=250, max_tokens=500, workers=2)
    )
    tokens = [
        t for p in prepared for spans in p.sentences.values() for _, _, ts in spans for t in ts
    ]
    assert len(sources) > 2
    assert len({id(t) for t in tokens}) == len(set(tokens))


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


def test_the_sentence_chunks_share_is_tokenized_once_and_stored_as_reading_the_chunk_gives(
    corpus,
):
    # An index reopened elsewhere tokenizes a chunk's text afresh: what the ingest
    # stored for it (the shared sentence taken from the chunk before) must be the same,
    # and each chunk must hold its own token lists.
    from retrieval.chunking import tokenize_sentences

    sources, _ = read_corpus(corpus)
    shared = 0
    for source in sources:
        prepared = retrieval.prepare.prepare(source, min_tokens=60, max_tokens=120)
        for a, b in itertools.pairwise(prepared.chunks):
            mine, theirs = prepared.sentences[a.chunk_id], prepared.sentences[b.chunk_id]
            assert not {id(t) for *_, t in mine} & {id(t) for *_, t in theirs}
            shared += b.start < a.end
        for chunk in prepared.chunks:
            assert prepared.sentences[chunk.chunk_id] == tokenize_sentences(chunk.text)
    assert shared > 10


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
    shared = list(
        retrieval.workers.prepare_documents(sources, min_tokens=60, max_tokens=120, workers=2)
    )
    assert shared == [_prepare_small(s) for s in sources]
    assert "worker process failed" not in caplog.text


def test_a_prepared_batch_reads_back_from_a_worker_as_it_was_made(corpus, tmp_path):
    # A worker's answer leaves out the chunks' texts and the document's text where it
    # is the source's, and numbers each sentence's tokens: what the ingest reads back
    # must be what the worker prepared, a page's text (not its markup) included.
    sources, _ = read_corpus(corpus)
    (tmp_path / "page.html").write_text(
        "<html><body><p>متن صفحه در اینجا است. و جمله دوم.</p></body></html>", encoding="utf-8"
    )
    page, _ = read_corpus(tmp_path)
    batch = [*sources, *page]
    prepared = [retrieval.prepare.prepare(s, min_tokens=60, max_tokens=120) for s in batch]
    answer = retrieval.workers.answer_of(prepared, batch)
    wire = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    back = retrieval.workers.read_answer(pickle.loads(wire), batch)
    assert back == prepared
    assert back[-1].document.text != page[0].text  # the page's text, not its markup
    for mine, theirs in zip(back, prepared, strict=True):
        assert mine.document.text == theirs.document.text
        assert [c.text for c in mine.chunks] == [c.text for c in theirs.chunks]
        assert [c.chunk_id for c in mine.chunks] == list(theirs.sentences)
    # Smaller than the documents pickled whole: no text crosses twice.
    assert len(wire) < len(pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)) / 2


class _InstantWorker:
    """Stands in for a worker process that answers each batch by the time it is next
    looked at (a fast worker, between two of the ingest's own documents)."""

    def __init__(self) -> None:
        self.sent: collections.deque[int] = collections.deque()
        self.outgoing = b""
        self.batches: dict[int, list] = {}
        self.answered: list[int] = []

    def send(self, number, batch):
        self.sent.append(number)
        self.batches[number] = batch

    def pump(self):
        if not self.sent:
            return None
        number = self.sent.popleft()
        self.answered.append(number)
        batch = self.batches.pop(number)
        return number, retrieval.workers.answer_of([_prepare_small(s) for s in batch], batch)


def _prepare_small(source):
    return retrieval.prepare.prepare(source, min_tokens=60, max_tokens=120)


def test_every_answer_a_worker_gives_is_taken_however_soon_it_comes(corpus, monkeypatch):
    sources, _ = read_corpus(corpus)
    pool = retrieval.workers._Workers(0, 60, 120)  # no process: the worker is a stand-in
    worker = _InstantWorker()
    pool._all = [worker]
    # Waiting for a pipe means an answer it had already read went missing.
    monkeypatch.setattr(pool, "_wait", lambda: pytest.fail("waited for an answer already read"))
    batches = [[s] for s in sources]
    shared = [doc for batch in pool.share(batches, _prepare_small) for doc in batch]
    assert shared == [_prepare_small(s) for s in sources]
    assert worker.answered
