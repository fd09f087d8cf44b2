"""Telegram HTML: escaping, bidi isolates in mixed-direction lines, splitting at the limit."""

from __future__ import annotations

import html
import unicodedata

import pytest

from bot.render import (
    FSI,
    LRI,
    PDI,
    RLI,
    RLM,
    isolate,
    render_answer,
    render_passages,
    split_html,
    ui_html,
    utf16_len,
)
from bot.storage import AnswerRecord, CitedPassage
from tests.fake_telegram import bare, parse_html

ISOLATES = {LRI, RLI, FSI, PDI}


def _visual_order_ok(line: str, ltr_piece: str) -> bool:
    """The LTR piece sits, whole, inside one LRI…PDI pair."""
    at = line.find(ltr_piece)
    opened = line.rfind(LRI, 0, at)
    return opened != -1 and PDI not in line[opened:at] and line.find(PDI, at) == at + len(ltr_piece)


def test_latin_names_digits_and_markers_inside_dari_are_isolated():
    line = "به گفتهٔ ISIS-K در سال 2015 حمله کرد [2]"
    out = isolate(line)
    assert bare(out) == line  # nothing but invisible isolates added
    assert _visual_order_ok(out, "ISIS-K")
    assert _visual_order_ok(out, "2015 ") or _visual_order_ok(out, "2015")
    assert _visual_order_ok(out, "[2]")
    assert out.count(LRI) == out.count(PDI)


def test_persian_inside_an_english_line_is_isolated_right_to_left():
    out = isolate("The report «داعش خراسان» was cited [1]")
    assert f"{RLI}داعش خراسان{PDI}" in out
    assert LRI not in out  # the line itself is left-to-right: [1] needs nothing


def test_each_line_takes_its_own_direction():
    out = isolate("According to the sources:\n\n«جنگ در 2015 آغاز شد» [1]")
    first, _, third = out.split("\n")
    assert first == "According to the sources:"
    assert f"{LRI}[1]{PDI}" in third


def test_ui_strings_keep_their_tags_out_of_the_direction_decision():
    out = ui_html("about", "fa", documents=5, languages="fa (3)", chunks=48, mode="x", llm="y")
    assert out.startswith("<b>مجموعهٔ منابع</b>")  # not wrapped as if the line were LTR
    assert parse_html(out)[2] is None


def test_ui_values_are_escaped_and_their_entities_left_whole():
    out = ui_html("upload_unreadable", "fa", name="<گزارش>&c.txt")
    assert "&lt;گزارش&gt;&amp;" in out
    assert parse_html(out)[2] is None
    assert "<گزارش>&c.txt" in bare(parse_html(out)[0])


def _record(**changes) -> AnswerRecord:
    cited = CitedPassage(
        n=1,
        doc_id="d",
        title="A <b>bold</b> & sneaky title",
        publisher="Publisher",
        date="2024-07-04",
        url='https://example.org/a?x=1&y="2"',
        lang="fa",
        chunk_id="c",
        text="پیش از نقل. <script>نقل قول</script> پس از نقل.",
        quote_start=12,
        quote_end=36,
    )
    record = AnswerRecord("q", "fa", "llm", False, "<i>model</i> said & [1]", ["note <x>"], [cited])
    for k, v in changes.items():
        setattr(record, k, v)
    return record


def test_everything_from_sources_and_models_is_escaped():
    for markup in (render_answer(_record(), "fa"), render_passages(_record(), "en")):
        text, bold, error = parse_html(markup)
        assert error is None
        assert "<script>" not in markup
        assert "<i>model</i>" not in markup
    text, bold, _ = parse_html(render_passages(_record(), "en"))
    assert bare(bold[-1]) == "<script>نقل قول</script>"  # the quoted span, in bold, escaped
    assert "A <b>bold</b> & sneaky title" in bare(text)


def test_source_line_follows_the_interface_direction():
    line = render_answer(_record(), "ar").split("\n")[-1]
    assert line.startswith(RLM)  # an Arabic interface: the line runs right to left
    assert f"{FSI}A &lt;b&gt;bold" in line  # each field isolated by its own first strong char


def test_split_respects_the_limit_counted_in_utf16_and_keeps_html_valid():
    emoji_text = html.escape("🙂 " * 3000 + "<tag> & more. " * 200)
    markup = (
        f"<b>Title</b>\n<blockquote expandable>{emoji_text}<b>bold {emoji_text}</b></blockquote>"
    )
    parts = split_html(markup)
    assert len(parts) > 2
    visible = ""
    for part in parts:
        text, _, error = parse_html(part)
        assert error is None
        assert utf16_len(text) <= 4096
        visible += text
    assert "".join(visible.split()) == "".join(parse_html(markup)[0].split())


def test_split_prefers_paragraph_breaks():
    paragraphs = ["word " * 300 for _ in range(6)]  # 1,500 characters each
    parts = split_html("\n\n".join(p.strip() for p in paragraphs))
    assert len(parts) == 3
    assert all(part.endswith("word") for part in parts)


def test_short_text_is_one_message():
    assert split_html("<b>hi</b>") == ["<b>hi</b>"]


@pytest.mark.parametrize("lang", ["fa", "ar", "en"])
def test_every_ui_string_exists_in_every_language_with_the_same_placeholders(lang):
    import re
    import tomllib
    from pathlib import Path

    strings = tomllib.loads(
        (Path(__file__).parent.parent / "prompts" / "strings.toml").read_text("utf-8")
    )
    for key, entry in strings.items():
        assert lang in entry, f"{key} has no {lang}"
        assert set(re.findall(r"{(\w+)}", entry[lang])) == set(
            re.findall(r"{(\w+)}", entry["en"])
        ), key
        assert unicodedata.is_normalized("NFC", entry[lang]), key
