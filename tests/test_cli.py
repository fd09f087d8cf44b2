"""The `sanad` command line, as a user runs it."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.ports import free_port


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


def test_sanad_alone_prints_help(run):
    result = run()
    assert result.exit_code == 0
    for command in ("ingest", "search", "eval", "doctor", "models"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["ingest", "search", "eval", "doctor", "models"])
def test_every_subcommand_has_help(run, command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_search_builds_the_index_on_first_use_and_prints_json(run):
    result = run("search", "پوتین در نشست شانگهای درباره طالبان چه گفت؟", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    assert "building it" in result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "lexical"
    assert data["language"] == "fa"
    assert len(data["results"]) == 3
    assert data["results"][0]["doc_id"] == "002_c21b3274f8c0af60"


def test_search_human_output_names_title_and_offsets(run):
    result = run("search", "من هو شهاب المهاجر؟", "-k", "1")
    assert result.exit_code == 0
    assert "[1] طالبان لا تستطيع مجابهة تنظيم الدولة الإسلامية بمفردها" in result.stdout
    assert "chars " in result.stdout


def test_empty_query_exits_2_with_a_message(run):
    result = run("search", "   ")
    assert result.exit_code == 2
    assert "empty" in result.stderr
    assert "Traceback" not in result.output


def test_overlong_query_is_truncated_with_a_notice(run):
    result = run("search", "طالبان " * 500, "--json")
    assert result.exit_code == 0
    assert "2000 characters" in result.stderr


def test_invalid_setting_names_the_variable(run):
    result = run("doctor", env={"SANAD_CHUNK_MAX_TOKENS": "lots"})
    assert result.exit_code == 2
    assert "SANAD_CHUNK_MAX_TOKENS" in result.stderr
    assert "Traceback" not in result.output


def test_unreachable_chroma_server_is_one_line_and_exit_1(run, minilm_path):
    port = free_port()
    env = {
        "SANAD_CHROMA_HOST": "127.0.0.1",
        "SANAD_CHROMA_PORT": str(port),
        "SANAD_EMBEDDING_MODEL": minilm_path,
    }
    result = run("ingest", env=env)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Loading the embedding model")  # the status line before it
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1
    assert f"127.0.0.1:{port}" in errors[0]
    assert len(lines) == 2


def test_ingest_reports_changes(run, corpus):
    first = run("ingest", str(corpus))
    assert first.exit_code == 0
    assert "5 added" in first.stdout
    (corpus / "001_941a35178b1cb8a2.txt").unlink()
    second = run("ingest", str(corpus))
    assert "removed  001_941a35178b1cb8a2" in second.stdout
    assert "0 added, 0 updated, 1 removed, 4 unchanged" in second.stdout


def test_doctor_shows_mode_counts_and_hides_secrets(run):
    run("ingest")
    result = run("doctor", env={"SANAD_CHROMA_TOKEN": "very-secret-token-value"})
    assert result.exit_code == 0
    assert "retrieval: keyword-only (SANAD_EMBEDDING_MODEL is none)" in result.stdout
    assert "fa: 3 documents" in result.stdout
    assert "ar: 2 documents" in result.stdout
    assert "very-secret-token-value" not in result.output
    assert "SANAD_CHROMA_TOKEN = (set, hidden)" in result.stdout


def _question_file(path: Path, questions: list[dict]) -> Path:
    path.write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in questions), encoding="utf-8"
    )
    return path


def test_eval_prints_a_table_and_json(run, tmp_path):
    questions = _question_file(tmp_path / "q.jsonl", [
        {"id": "a", "lang": "ar", "question": "من هو شهاب المهاجر؟",
         "gold_docs": ["004_c80c06d5ecfa0c0e"], "evidence": ["شهاب المهاجر"], "answerable": True},
        {"id": "b", "lang": "fa", "question": "روسیه نشست فرمت مسکو را کی راه‌اندازی کرد؟",
         "gold_docs": ["002_c21b3274f8c0af60"], "evidence": ["فرمت مسکو"], "answerable": True},
        {"id": "c", "lang": "en", "question": "Who won the 2022 World Cup?",
         "gold_docs": [], "evidence": [], "answerable": False},
    ])  # fmt: skip
    table = run("eval", str(questions))
    assert table.exit_code == 0
    assert "MRR@10" in table.stdout
    data = json.loads(run("eval", str(questions), "--json").stdout)
    assert data["languages"]["ar"] == {"n": 1, "r@1": 1.0, "r@k": 1.0, "mrr@10": 1.0}
    assert data["languages"]["fa"]["r@k"] == 1.0
    assert "en" not in data["languages"]  # no answerable English question to score


def test_eval_writes_the_questions_it_missed_with_what_it_found(run, tmp_path):
    questions = _question_file(tmp_path / "q.jsonl", [
        {"id": "found", "lang": "ar", "question": "من هو شهاب المهاجر؟",
         "gold_docs": ["004_c80c06d5ecfa0c0e"], "evidence": ["شهاب المهاجر"]},
        {"id": "missed", "lang": "fa", "question": "روسیه نشست فرمت مسکو را کی راه‌اندازی کرد؟",
         "gold_docs": ["002_c21b3274f8c0af60"], "evidence": ["جمله‌ای که در متن نیست"]},
        {"id": "unanswerable", "lang": "en", "question": "Who won the 2022 World Cup?",
         "gold_docs": [], "evidence": [], "answerable": False},
    ])  # fmt: skip
    out = tmp_path / "misses.jsonl"
    result = run("eval", str(questions), "--misses", str(out))
    assert result.exit_code == 0, result.output
    assert "1 question(s) not found in the top 5" in result.stderr
    (miss,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert miss["id"] == "missed"
    assert miss["rank"] is None
    assert miss["evidence"] == ["جمله‌ای که در متن نیست"]
    assert miss["found"][0]["doc_id"] == "002_c21b3274f8c0af60"  # found, but not the words
    assert all(0 < len(f["text"]) <= 120 for f in miss["found"])

    nowhere = tmp_path / "no" / "such" / "dir" / "misses.jsonl"
    refused = run("eval", str(questions), "--misses", str(nowhere))
    assert refused.exit_code == 1
    assert "Cannot write the misses to" in refused.stderr
    assert "MRR@10" not in refused.stdout  # refused before evaluating, not after


def test_eval_with_a_malformed_file_names_the_line(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"lang": "fa", "question": "x"}\nnot json\n', encoding="utf-8")
    result = run("eval", str(bad))
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.stderr


def test_models_pull_without_a_model(run):
    result = run("models", "pull")
    assert result.exit_code == 1
    assert "no model to pull" in result.stderr


def test_ask_prints_the_answer_and_sources(run):
    result = run("ask", "ماذا قال الجنرال مارك ميلي عن التعاون مع طالبان؟")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("وفقاً للمصادر:")
    assert "[1] كيف ستؤثر داعش خراسان على العلاقات بين الغرب وطالبان؟" in result.stdout


def test_ask_json(run):
    result = run("ask", "قیمت طلا در بازار لندن امروز چند پوند است؟", "--json")
    data = json.loads(result.stdout)
    assert data["abstained"] is True
    assert data["citations"] == []
    assert data["mode"] == "extractive"


def test_ask_empty_question_exits_2(run):
    result = run("ask", " ")
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_eval_answers(run, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "lang": "ar", "question": "ماذا قال الجنرال مارك ميلي عن طالبان؟",
                    "gold_docs": ["003_ff37ad843cbdfbf5"], "evidence": ["محتمل للغاية"],
                    "answerable": True}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "b", "lang": "ar", "question": "من فاز بكأس العالم لكرة القدم 2022؟",
                      "gold_docs": [], "evidence": [], "answerable": False}, ensure_ascii=False),
        encoding="utf-8",
    )  # fmt: skip
    data = json.loads(run("eval", str(questions), "--answers", "--json").stdout)
    assert data["answers"]["ar"] == {
        "answerable": 1, "answered": 1.0, "cited_answering": 1.0, "first_quote": 1.0,
        "any_quote": 1.0, "unanswerable": 1, "declined": 1.0, "valid_markers": 1.0,
    }  # fmt: skip
