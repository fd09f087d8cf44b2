from hypothesis import given
from hypothesis import strategies as st

from retrieval.sentence_tokens import SentenceTokens
from retrieval.sentences import SentenceEvidence

#: Tokens as tokenizing makes them: no white space inside, Persian, Arabic and Latin.
token = st.text(alphabet="abcکتابپلكابلداعش0123456789ـ‌", min_size=1, max_size=8)
rows = st.lists(st.lists(token, max_size=12), max_size=20)


@given(rows)
def test_each_row_reads_as_the_set_of_its_tokens(found):
    tokens = SentenceTokens.of_tokens(found)
    assert len(tokens) == len(found)
    assert [tokens[i] for i in range(len(found))] == [frozenset(r) for r in found]
    if found:
        assert tokens[0] is tokens[0]  # made once, then kept
    assert list(tokens) == [frozenset(r) for r in found]


@given(rows)
def test_evidence_saved_and_loaded_reads_the_same_tokens(tmp_path_factory, found):
    folder = tmp_path_factory.mktemp("s") / "sentences"
    spans = {"d:1": [(i * 30, i * 30 + 25) for i in range(len(found))]} if found else {}
    SentenceEvidence(spans, SentenceTokens.of_tokens(found)).save(folder)
    loaded = SentenceEvidence.load(folder)
    assert loaded is not None
    assert loaded.tokens == [frozenset(r) for r in found]


def test_sets_given_as_sets_are_saved_in_the_same_line_whatever_their_order():
    one = SentenceTokens.of_sets([frozenset({"پل", "كابل", "a"})])
    other = SentenceTokens.of_sets([frozenset({"a", "كابل", "پل"})])
    assert one.lines == other.lines == [" ".join(sorted({"پل", "كابل", "a"}))]
    assert one == other
    assert one != SentenceTokens.of_sets([frozenset({"a"})])
