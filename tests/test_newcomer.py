"""What a newcomer meets first: help, usage errors, start-up cost, model and corpus settings."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import retrieval
from bot.cli import app
from retrieval.catalog import SCHEMA as CATALOG_SCHEMA
from retrieval.config import load_settings
from retrieval.embeddings import load_embedder
from retrieval.errors import ModelUnavailable
from retrieval.index import SanadIndex

QUESTION = "جنگ میان طالبان و داعش چه زمانی آغاز شد؟"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def _python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return done.stdout.strip()


# -- help and usage errors -----------------------------------------------------------


def test_help_keeps_the_square_brackets_of_sources_n():
    assert "/sources [n]" in run("--help").stdout
    assert "/sources [n]" in run("chat", "--help").stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["ask"], "Missing argument"),
        (["ask", "--bogus", "x"], "No such option: --bogus"),
        (["nosuch"], "No such command"),
        (["search", "-k", "0", "x"], "-k"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args, says):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert says in lines[0]
    assert "--help" in lines[0]


def test_a_first_ingest_prints_its_report_and_no_library_log_lines(corpus):
    # A fresh process, as a user runs it: libraries are imported after logging is set
    # up, and bm25s then sets its own logger to DEBUG.
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sanad")), "ingest", str(corpus)],
        check=False,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert "5 added" in done.stdout
    assert done.stderr == ""


def test_a_group_without_its_command_prints_its_help():
    result = run("models")
    assert result.exit_code == 0
    assert "pull" in result.stdout


# -- start-up cost ---------------------------------------------------------------------


def test_help_imports_nothing_heavy():
    loaded = _python(
        "import sys; from bot.cli import app\n"
        "heavy = ('torch', 'sentence_transformers', 'chromadb', 'langchain_core', 'bm25s')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    assert loaded == ""


def test_the_public_surface_is_all_and_every_name_resolves():
    assert sorted(retrieval.__all__) == sorted(set(retrieval.__all__))
    for name in retrieval.__all__:
        assert getattr(retrieval, name) is not None
    assert dir(retrieval) == sorted(retrieval.__all__)
    with pytest.raises(AttributeError):
        _ = retrieval.not_a_name  # type: ignore[attr-defined]


def test_an_uncached_model_fails_fast_without_importing_pytorch(tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from retrieval.config import Settings\n"
        "from retrieval.embeddings import load_embedder\n"
        "from retrieval.errors import ModelUnavailable\n"
        "try:\n"
        "    load_embedder(Settings(embedding_model='org/not-cached', data_dir=Path('x')))\n"
        "except ModelUnavailable as e:\n"
        "    print(str(e).split(':')[0], '|', 'torch' in sys.modules)\n"
    )
    out = _python(code, env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert out == "Embedding model org/not-cached is not cached and HF_HUB_OFFLINE is set | False"


# -- model settings --------------------------------------------------------------------


def test_a_missing_model_folder_is_named_as_such(tmp_path):
    missing = tmp_path / "no" / "model"
    with pytest.raises(ModelUnavailable) as caught:
        load_embedder(load_settings(data_dir=tmp_path / "d", embedding_model=str(missing)))
    message = str(caught.value)
    assert f"no model folder at {missing}" in message
    assert "not cached" not in message
    assert "none" in message  # says how to run keyword-only on purpose


def test_ask_json_notes_say_a_configured_model_did_not_load(tmp_path):
    env = {"SANAD_EMBEDDING_MODEL": str(tmp_path / "missing-model")}
    result = run("ask", QUESTION, "--json", env=env)
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert any("واژه‌ها" in note for note in notes), notes  # "searched by keywords only"
    assert "no model folder" in result.stderr


def test_keyword_only_by_choice_carries_no_such_note():
    result = run("ask", QUESTION, "--json")
    assert json.loads(result.stdout)["notes"] == []


# -- a changed corpus setting ----------------------------------------------------------


def _small_corpus(folder: Path, sentence: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text(sentence + "\n\nAnother paragraph of filler text.\n")
    return folder


def test_a_changed_corpus_folder_is_reindexed_with_a_message(tmp_path):
    first = _small_corpus(tmp_path / "one", "The Kabul river floods every spring season.")
    second = _small_corpus(tmp_path / "two", "The Helmand river feeds the Kajaki dam reservoir.")
    assert run("ask", "Which river floods?", env={"SANAD_CORPUS_DIR": str(first)}).exit_code == 0
    result = run("ask", "Which river feeds the dam?", env={"SANAD_CORPUS_DIR": str(second)})
    assert result.exit_code == 0
    assert f"was {first}" in result.stderr
    assert "re-indexing" in result.stderr
    assert "Helmand" in result.stdout
    assert "Kabul" not in result.stdout


def test_a_corpus_setting_that_is_no_folder_is_one_line_exit_1(tmp_path):
    first = _small_corpus(tmp_path / "one", "The Kabul river floods every spring season.")
    run("ask", "Which river floods?", env={"SANAD_CORPUS_DIR": str(first)})
    result = run("ask", "Which river floods?", env={"SANAD_CORPUS_DIR": str(tmp_path / "gone")})
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "not a folder" in result.stderr
    assert str(first) in result.stderr
    assert result.stdout == ""


def test_ingesting_another_folder_by_hand_is_kept(tmp_path, lexical_settings):
    other = _small_corpus(tmp_path / "other", "The Kabul river floods every spring season.")
    index = SanadIndex(lexical_settings)
    index.ingest(other)
    index.ensure_ready()  # the setting did not change: no re-index from the bundled corpus
    assert len(index.catalog.documents()) == 1
    assert "Kabul river" in index.chunks[0].text


def test_a_catalogue_from_before_recorded_migrations_is_upgraded(tmp_path, lexical_settings):
    path = lexical_settings.data_dir / "catalog.sqlite3"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:  # the first schema, as 0.3 wrote it
        db.executescript(
            "CREATE TABLE documents (doc_id TEXT PRIMARY KEY, path TEXT, sha256 TEXT,"
            " title TEXT, title_en TEXT, author TEXT, publisher TEXT, date TEXT, url TEXT,"
            " lang TEXT, text TEXT);"
            "CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT, ordinal INTEGER,"
            ' start INTEGER, "end" INTEGER, lang TEXT, text TEXT);'
        )
    index = SanadIndex(lexical_settings)
    assert index.catalog.meta("corpus_setting") is None
    index.ensure_ready()
    assert index.catalog.meta("corpus_setting") == str(lexical_settings.corpus_dir.resolve())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(CATALOG_SCHEMA.sqlite)


def test_a_catalogue_that_copied_each_chunks_text_still_shows_every_passage(lexical_settings):
    index = SanadIndex(lexical_settings)
    index.ensure_ready()
    passages = [(c.chunk_id, c.text) for c in index.catalog.chunks()]
    index.close()
    path = lexical_settings.data_dir / "catalog.sqlite3"
    with sqlite3.connect(path) as db:  # as the release before wrote it: a copy of each text
        db.executescript(
            "CREATE TABLE old_chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL"
            ' REFERENCES documents(doc_id), ordinal INTEGER, start INTEGER, "end" INTEGER,'
            " lang TEXT, text TEXT);"
            'INSERT INTO old_chunks SELECT c.*, substr(d.text, c.start + 1, c."end" - c.start)'
            " FROM chunks c JOIN documents d USING (doc_id);"
            "DROP TABLE chunks; ALTER TABLE old_chunks RENAME TO chunks;"
            "CREATE INDEX chunks_by_doc ON chunks(doc_id, ordinal);"
            f"PRAGMA user_version = {len(CATALOG_SCHEMA.sqlite) - 1};"
        )
    upgraded = SanadIndex(lexical_settings)
    assert [(c.chunk_id, c.text) for c in upgraded.catalog.chunks()] == passages
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(chunks)")]
        assert "text" not in columns  # each passage is read from its document's text
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(CATALOG_SCHEMA.sqlite)
    upgraded.close()


def test_loading_a_model_says_so_once_before_the_slow_part(tmp_path, minilm_path):
    heard = []
    settings = load_settings(data_dir=tmp_path / "d", embedding_model=minilm_path)
    load_embedder(settings, status=heard.append)
    assert [n.render("en") for n in heard] == [f"Loading the embedding model {minilm_path}…"]


# -- set-up -------------------------------------------------------------------------------


def test_set_up_runs_again_only_when_what_it_was_made_from_changes(tmp_path):
    root = Path(__file__).resolve().parent.parent
    (tmp_path / "scripts").mkdir()
    for name in ("scripts/setup", "scripts/setup-stamp", "pyproject.toml"):
        (tmp_path / name).write_bytes((root / name).read_bytes())
    stamp = [str(tmp_path / "scripts" / "setup-stamp")]

    def fresh() -> bool:
        return subprocess.run(["bash", *stamp, "check"], check=False).returncode == 0

    assert not fresh()  # no .venv: set up
    sanad = tmp_path / ".venv" / "bin" / "sanad"
    sanad.parent.mkdir(parents=True)
    sanad.write_text("#!/bin/sh\n")
    sanad.chmod(0o755)
    assert not fresh()  # a .venv nobody recorded: set up
    subprocess.run(["bash", *stamp, "write"], check=True)
    assert fresh()
    with (tmp_path / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    assert not fresh()  # pyproject.toml changed: set up again


def test_ask_lists_each_cited_document_once_in_the_askers_language():
    result = run("ask", "روابط طالبان و پاکستان پس از سقوط کابل چگونه است؟")
    assert result.exit_code == 0
    assert result.stdout.rstrip().endswith(
        "[1][2] روابط طالبان و پاکستان پس از فرار غنی یا سقوط کابل — مهرالدین مشید، 2021"
    )
