"""Cleaning an uploaded document: how long paragraph splitting and furniture marking
take as the document grows (the probe found duplicate marking quadratic: a 0.5 MB
upload held the index for 20 s).

Lines are pairs of real sentences of the bundled corpus, each pair distinct, with
every tenth line a copy of an earlier one (so duplicates are found). Median of 3 runs per size.

.venv/bin/python benchmarks/upload_cleaning.py
"""

from __future__ import annotations

import statistics
import time

from retrieval.chunking import split_sentences
from retrieval.clean import split_paragraphs
from retrieval.config import BUNDLED_CORPUS_DIR


def _sentences() -> list[str]:
    out = []
    for file in sorted(BUNDLED_CORPUS_DIR.glob("*.txt")):
        text = file.read_text(encoding="utf-8-sig")
        out += [text[s.start : s.end] for s in split_sentences(text) if s.end - s.start > 40]
    return out


def _document(lines: int, sentences: list[str]) -> str:
    rows = []
    for i in range(lines):
        if i % 10 == 9:
            rows.append(rows[i // 2])
        else:
            n = len(sentences)
            rows.append(f"{sentences[i % n]} {sentences[(i + 7 * (i // n) + 1) % n]} ({i})")
    return "\n".join(rows)


def main() -> None:
    sentences = _sentences()
    print("| lines | MB | split_paragraphs (s) | duplicates found |")
    print("|---|---|---|---|")
    for lines in (1_000, 2_000, 4_000, 16_000):
        text = _document(lines, sentences)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            paragraphs = split_paragraphs(text)
            times.append(time.perf_counter() - t)
        found = sum(p.furniture == "duplicate" for p in paragraphs)
        mb = len(text.encode()) / 1e6
        print(f"| {lines:,} | {mb:.2f} | {statistics.median(times):.2f} | {found} |")


if __name__ == "__main__":
    main()
