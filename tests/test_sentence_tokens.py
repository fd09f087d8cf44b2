from hypothesis import given
from hypothesis import strategies as st

import retrieval.folders
from retrieval.folders import write_lines
from retrieval.sentence_tokens import SentenceTokens
from retrieval.sentences import SentenceEvidence

#: Tokens as tokenizing makes them: no white space inside, Persian, Arabic and Latin.
token = st.text(alphabet="abcکتابپلكابلداعش0123456789ـ‌", min_size=1, max_size=8)
rows = st.lists(st.lists(token, max_size=12), max_size=20)


@given(rows)
def test_each_row_reads_as_the_set_of_its_tokens(found):
    tokens = SentenceTokens([" ".join(r) for r in found])
    assert len(tokens) == len(found)
    assert [tokens[i] for i in range(len(found))] == [frozenset(r) for r in found]
    if found:
        assert tokens[0] is tokens[0]  # made once, then kept
    assert list(tokens) == [frozenset(r) for r in found]


@given(rows)
def test_evidence_saved_and_loaded_reads_the_same_tokens(tmp_path_factory, found):
    folder = tmp_path_factory.mktemp("s") / "sentences"
    spans = {"d:1": [(i * 30, i * 30 + 25) for i in range(len(found))]} if found else {}
    SentenceEvidence(spans, SentenceTokens([" ".join(r) for r in found])).save(folder)
    loaded = SentenceEvidence.load(folder)
    assert loaded is not None
    assert loaded.tokens == [frozenset(r) for r in found]


def test_sets_given_as_sets_are_saved_in_the_same_line_whatever_their_order():
    one = SentenceTokens.of_sets([frozenset({"پل", "كابل", "a"})])
    other = SentenceTokens.of_sets([frozenset({"a", "كابل", "پل"})])
    assert one.lines == other.lines == [" ".join(sorted({"پل", "كابل", "a"}))]
    assert one == other
    assert one != SentenceTokens.of_sets([frozenset({"a"})])


@given(rows)
def test_a_file_read_back_holds_each_row_as_its_line(tmp_path_factory, found):
    lines = [" ".join(r) for r in found]
    path = tmp_path_factory.mktemp("t") / "tokens.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    read = SentenceTokens.of_file(path, len(lines))
    assert read is not None
    assert read.lines == lines
    assert list(read) == [frozenset(r) for r in found]


def test_a_file_without_a_line_a_row_is_not_read(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_text("پل كابل\nداعش", encoding="utf-8")
    assert SentenceTokens.of_file(path, 3) is None
    assert SentenceTokens.of_file(path, 1) is None
    assert SentenceTokens.of_file(path, 2) == [frozenset({"پل", "كابل"}), frozenset({"داعش"})]
    path.write_text("", encoding="utf-8")
    assert SentenceTokens.of_file(path, 0) == SentenceTokens([])
    assert SentenceTokens.of_file(path, 1) == [frozenset()]  # one sentence without tokens
    path.write_text("x", encoding="utf-8")
    assert SentenceTokens.of_file(path, 0) is None


def test_a_damaged_line_costs_its_sentence_a_token_not_the_search(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_bytes("پل".encode() + b" \xff\n" + "داعش".encode())
    read = SentenceTokens.of_file(path, 2)
    assert read is not None
    assert "پل" in read[0]
    assert read[1] == frozenset({"داعش"})


def test_a_tokens_file_written_a_block_of_lines_at_a_time_is_the_lines_joined(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(retrieval.folders, "_LINES_AT_ONCE", 3)
    lines = ["کابل پل", "", "a b", "x", "", "", "داعش", "z", ""]  # empty rows at block edges
    for n in range(len(lines) + 1):
        write_lines(tmp_path / "tokens.txt", lines[:n])
        assert (tmp_path / "tokens.txt").read_bytes() == "\n".join(lines[:n]).encode("utf-8")
