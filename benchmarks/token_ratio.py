"""How many subword tokens a real tokenizer makes of Sanad's chunks, vs. the estimate.

`retrieval.chunking.estimate_tokens` sizes chunks without a model (so chunk ids do
not change with the model). This checks the estimate against a tokenizer:

    .venv/bin/python benchmarks/token_ratio.py "$(../shared/tools/fetch-eval-model)/tokenizer.json"
"""

from __future__ import annotations

import sys

from tokenizers import Tokenizer

from retrieval.chunking import chunk_paragraphs, estimate_tokens
from retrieval.clean import split_paragraphs
from retrieval.config import BUNDLED_CORPUS_DIR


def main() -> None:
    tokenizer = Tokenizer.from_file(sys.argv[1])
    real = estimated = 0
    for path in sorted(BUNDLED_CORPUS_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        chunks = chunk_paragraphs(text, split_paragraphs(text), doc_id=path.stem, lang="")
        r = sum(len(tokenizer.encode(c.text).ids) for c in chunks)
        e = sum(estimate_tokens(c.text) for c in chunks)
        print(f"{path.stem}: {len(chunks)} chunks, tokenizer {r}, estimate {e}, ratio {r / e:.2f}")
        real, estimated = real + r, estimated + e
    print(f"all: tokenizer/estimate = {real / estimated:.2f}")


if __name__ == "__main__":
    main()
