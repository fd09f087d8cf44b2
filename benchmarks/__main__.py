"""`python -m benchmarks`: every speed figure in one run, side by side with LangChain.

Writes `report.md`, `results.json` and PNG plots into `--out`. Sections:

- **search**: ingest (chunks/s, peak RSS) and search latency p50/p95 for Sanad and
  for the LangChain stack its documentation assembles (`benchmarks/stacks.py`),
  on synthetic corpora made of the bundled texts' real sentences, one fresh process
  per system and round, interleaved; keyword-only, and with a model's vectors;
- **server**: the same against a `chroma run` server on loopback;
- **ask**: extractive `ask` end to end, first question and warm (`ask_speed.py`, a
  fresh process per model and round, interleaved);
- **cold**: a cold process to the first keyword answer at each corpus size: `sanad
  ask` over the index built before, against a minimal LangChain script (TextLoader,
  splitter, BM25Retriever, built anew by every process), interleaved;
- **bot**: the real bot through the fake Bot API with N users at once (`bot_load.py`);
- **summaries**: extractive summaries of 1k/5k/20k messages, and `/summary 24h` in
  a chat holding 100,000 messages;
- **conversations**: how the summaries' grouping recovers the topics of the labelled
  chat set, and conversation separation on the public IRC set (when
  `../shared/eval/chat` is there);
- **quality**: R@1, R@5, MRR@10 per language of Sanad's keyword search and
  LangChain's `BM25Retriever` on the public sets (when `../shared/eval/external`
  is there) and on `dev.jsonl`, and Sanad's answer figures: answered, first quote
  holds the answer, the sets' unanswerable questions declined (`quality.py`); given
  a model folder (`--model`, a multilingual model such as EmbeddingGemma), the same
  sets again with it: Sanad's hybrid and dense sides beside LangChain's dense
  retriever with the same model.

The report ends with every target the issues name, beside the value this run
measured (`targets.py`).

    .venv/bin/python -m benchmarks --quick          # a few minutes
    .venv/bin/python -m benchmarks                   # 1k, 10k and 100k chunks: hours
    .venv/bin/python -m benchmarks --only search --sizes 1000 10000

The LangChain side needs `pip install -e ".[bench]"`; without it the report says
so and shows Sanad alone. Quality figures come from `sanad eval` (README "Quality").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks import measure
from benchmarks.measure import Figure, interleaved

ROOT = Path(__file__).resolve().parent.parent
#: The public chat set, when the development workspace's shared/ folder is beside the project.
EXTERNAL_CHAT = ROOT.parent / "shared" / "eval" / "chat"

SECTIONS = (
    "search", "server", "ask", "cold", "startup", "bot", "summaries", "conversations", "quality",
)  # fmt: skip
QUESTION = "جنگ میان طالبان و داعش چه زمانی آغاز شد؟"
LANGCHAIN_SCRIPT = """
import sys
from langchain_community.document_loaders import DirectoryLoader, TextLoader
from langchain_community.retrievers import BM25Retriever
from langchain_text_splitters import RecursiveCharacterTextSplitter
docs = DirectoryLoader(sys.argv[1], glob="*.txt", loader_cls=TextLoader,
                       loader_kwargs={"encoding": "utf-8"}).load()
splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
print(BM25Retriever.from_documents(splits, k=3).invoke(sys.argv[2])[0].page_content[:200])
"""


def has_langchain() -> bool:
    return all(
        importlib.util.find_spec(m) is not None
        for m in (
            "langchain_community",
            "langchain_classic",
            "langchain_chroma",
            "langchain_huggingface",
            "rank_bm25",
        )
    )


class Run:
    """The options of one benchmark run and what it has measured so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.systems = ["sanad", "langchain", "langchain-hf"] if has_langchain() else ["sanad"]
        self.results: dict[str, Any] = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "options": {k: v for k, v in vars(args).items() if k != "out"},
            "machine": measure.machine(),
            "systems": self.systems,
        }

    def stacks(self, sizes: Sequence[str], models: Sequence[str], server: str | None) -> list:
        from benchmarks.stacks import applies

        rows = []
        for size in sizes:
            for model in models:
                runs = {
                    system: _stack_run(system, size, model, self.args.repeats, server)
                    for system in self.systems
                    if applies(system, size, model, server)
                }
                measured = interleaved(runs, self.args.rounds)
                for system, values in measured.items():
                    rows.append(_summarize_stack(system, size, model, server, values))
                self.progress.update()
        return rows


def _stack_run(system: str, size: str, model: str, repeats: int, server: str | None) -> Any:
    args = [system, size, "--model", model, "--repeats", str(repeats)]
    if server:
        args += ["--server", server]
    return lambda: measure.child("stacks", *args)


def _summarize_stack(
    system: str, size: str, model: str, server: str | None, values: list[Any]
) -> dict[str, Any]:
    modes = values[0]["search"].keys()
    return {
        "system": system,
        "size": size,
        "model": model,
        "server": bool(server),
        "chunks": values[0]["chunks"],
        "ingest_s": Figure.of([v["ingest_s"] for v in values], "s"),
        "ingest_chunks_per_s": Figure.of([v["chunks_per_s"] for v in values], "chunks/s"),
        "peak_rss_mb": Figure.of([v["peak_rss_mb"] for v in values], "MB"),
        "rss_after_ingest_mb": Figure.of([v["rss_after_ingest_mb"] for v in values], "MB"),
        "search": {
            mode: {
                q: Figure.of([v["search"][mode][q] for v in values], "ms")
                for q in ("p50_ms", "p95_ms")
            }
            for mode in modes
        },
    }


# -- sections ----------------------------------------------------------------------------


def search_section(run: Run) -> None:
    models = ["none"] if run.args.model == "none" else ["none", run.args.model]
    run.results["search"] = run.stacks(run.args.sizes, models, None)


def server_section(run: Run) -> None:
    if run.args.model == "none":
        run.results["server"] = {"skipped": "server mode holds vectors: it needs --model"}
        run.progress.update()
        return
    with chroma_server() as address:
        # The smallest synthetic corpus (the bundled one only if there is none).
        synthetic = [s for s in run.args.sizes if s != "bundled"] or run.args.sizes
        run.results["server"] = run.stacks(synthetic[:1], [run.args.model], address)


def ask_section(run: Run) -> None:
    """`ask_speed.py` in a fresh process per model and round, the models interleaved:
    a first question is one ask, so only rounds make a median of it."""
    from benchmarks.report import ASK_FIGURES
    from benchmarks.stacks import model_path

    models = ("none", run.args.model) if run.args.model != "none" else ("none",)
    runs = {
        model: partial(measure.child, "ask_speed", env={"SANAD_EMBEDDING_MODEL": model_path(model)})
        for model in models
    }
    measured = interleaved(runs, max(1, run.args.rounds))
    run.results["ask"] = [
        {
            "model": "none (lexical-only)" if model == "none" else model,
            **{key: Figure.of([r[key] for r in rows], "ms") for key in ASK_FIGURES},
        }
        for model, rows in measured.items()
    ]


def cold_section(run: Run) -> None:
    """At each corpus size: a cold `sanad ask` over the index built beforehand, and the
    minimal LangChain script, which has nothing to load and builds its BM25 in memory
    on every start (saved nowhere: the work a restarted LangChain bot does again)."""
    from benchmarks.stacks import corpus

    out: dict[str, dict[str, Figure]] = {}
    for size in run.args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            docs = corpus(size, Path(tmp) / "corpus")
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("SANAD_", "TELEGRAM"))},
                "SANAD_DATA_DIR": str(Path(tmp) / "data"),
                "SANAD_CORPUS_DIR": str(docs),
                "SANAD_EMBEDDING_MODEL": "none",
                "HF_HUB_OFFLINE": "1",
            }
            sanad = str(Path(sys.executable).with_name("sanad"))
            subprocess.run([sanad, "ingest"], env=env, capture_output=True, check=True)
            commands = {"sanad": [sanad, "ask", QUESTION]}
            if "langchain" in run.systems:
                script = Path(tmp) / "langchain_bm25.py"
                script.write_text(LANGCHAIN_SCRIPT, encoding="utf-8")
                commands["langchain"] = [sys.executable, str(script), str(docs), QUESTION]

            def timed(command: list[str], env: dict[str, str] = env) -> Any:
                return lambda: measure.seconds(
                    lambda: subprocess.run(command, env=env, capture_output=True, check=True)
                )

            rounds = max(3, run.args.rounds)
            measured = interleaved({name: timed(c) for name, c in commands.items()}, rounds)
        out[size] = {name: Figure.of(v, "s") for name, v in measured.items()}
        run.progress.update()
    run.results["cold"] = out


def startup_section(run: Run) -> None:
    """The `sanad` command's start-up as a newcomer meets it (`benchmarks/startup.py`)."""
    from benchmarks.startup import measure as startup

    rounds = max(3, run.args.rounds)
    run.results["startup"] = {name: Figure.of(v, "s") for name, v in startup(rounds).items()}


def bot_corpora(args: argparse.Namespace) -> list[str]:
    """The corpora the bot runs over (`bot_load.py --chunks`; 0: the bundled one): the
    bundled corpus and, keyword-only, the largest synthetic one too (with a model, the
    bot's own ingest of it would take hours)."""
    synthetic = [int(s) for s in args.sizes if s != "bundled"]
    if synthetic and args.model == "none":
        return ["0", str(max(synthetic))]
    return ["0"]


def bot_section(run: Run) -> None:
    out = []
    rounds = str(max(1, run.args.rounds))
    for chunks in bot_corpora(run.args):
        for users in run.args.users:
            given = ("--users", str(users), "--rounds", rounds, "--chunks", chunks)
            out.append(measure.child("bot_load", *given, "--model", run.args.model))
            run.progress.update()
    run.results["bot"] = out


def summaries_section(run: Run) -> None:
    from benchmarks.summaries import chat_of_100k, load, summary_of

    messages, _ = load()
    out: dict[str, Figure] = {}
    for n in run.args.messages:
        once = summary_of(messages, n)
        out[str(n)] = Figure.of([measure.seconds(once) for _ in range(run.args.rounds)], "s")
    with chat_of_100k(messages) as day:
        in_day = Figure.of([measure.seconds(day) for _ in range(run.args.rounds)], "s")
    run.results["summaries"] = {"messages": out, "day_of_100k": in_day}


def conversations_section(run: Run) -> None:
    from benchmarks.summaries import LABELLED, load, quality
    from benchmarks.threads import separation

    messages, topic_of = load()
    figures: dict[str, Any] = {"labelled_set": LABELLED.relative_to(ROOT).as_posix()}
    figures["labelled"] = quality(messages, topic_of)
    irc = EXTERNAL_CHAT / "irc" / "dev"
    if irc.is_dir():
        figures["irc"] = separation(irc)
    else:
        figures["irc_skipped"] = f"no IRC set at {irc}"
    run.results["conversations"] = figures


def quality_section(run: Run) -> None:
    from benchmarks.quality import EXTERNAL

    if run.args.quality_sets:
        groups = [[str(path) for path in run.args.quality_sets]]
    elif EXTERNAL.is_dir():
        unanswerable = ROOT / "eval" / "unanswerable"
        names = [["persianqa"]] if run.args.quick else [["persianqa"], ["xquad", "arcd"]]
        groups = [[str(EXTERNAL / name) for name in group] for group in names]
        for group, lang in zip(groups, ("fa", "ar"), strict=False):
            group.append(str(unanswerable / f"public-{lang}.jsonl"))
        dev = EXTERNAL.parent / "dev.jsonl"
        if dev.is_file():
            groups.append([str(dev)])
    else:
        run.results["quality"] = {"skipped": f"no public sets at {EXTERNAL}"}
        return
    if "langchain" not in run.systems:
        run.results["quality"] = {"skipped": "LangChain is not installed"}
        return
    runs = [measure.child("quality", *group) for group in groups]
    if run.args.model not in ("none", "minilm"):  # a model folder: multilingual, as issue 8's
        runs += [measure.child("quality", *group, "--model", run.args.model) for group in groups]
    run.results["quality"] = runs


@contextmanager
def chroma_server() -> Iterator[str]:
    """A `chroma run` server on a free loopback port, for the run's duration."""
    from tests.ports import start_chroma

    with tempfile.TemporaryDirectory() as tmp:
        port, proc = start_chroma(Path(tmp))
        try:
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)


RUNNERS = {
    "search": search_section,
    "server": server_section,
    "ask": ask_section,
    "cold": cold_section,
    "startup": startup_section,
    "bot": bot_section,
    "summaries": summaries_section,
    "conversations": conversations_section,
    "quality": quality_section,
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--out", type=Path, help="results folder (default: bench-results/<time>)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections only")
    parser.add_argument("--model", default="minilm", help="none, minilm or a model folder")
    parser.add_argument(
        "--sizes",
        nargs="+",
        help="bundled, or corpus sizes in chunks (default bundled 1k 10k 100k)",
    )
    parser.add_argument("--users", type=int, nargs="+", help="bot users at once")
    parser.add_argument("--messages", type=int, nargs="+", help="summary sizes in messages")
    parser.add_argument(
        "--quality-sets",
        type=Path,
        nargs="+",
        help="evaluation folders and question files, scored together as `sanad eval` scores "
        "them (default: the public sets with their unanswerable questions, and dev.jsonl)",
    )
    parser.add_argument("--rounds", type=int, help="runs per figure (default 3; --quick 2)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the queries a run")
    args = parser.parse_args(argv)
    quick = args.quick
    # The bundled corpus is embedded by the model itself; the synthetic ones reuse
    # real sentences' vectors (see `search_speed.SentenceMeanEmbedder`).
    args.sizes = args.sizes or (
        ["bundled", "1000"] if quick else ["bundled", "1000", "10000", "100000"]
    )
    args.users = args.users or ([1, 10] if quick else [1, 10, 50, 100])
    args.messages = args.messages or ([1000, 5000] if quick else [1000, 5000, 20000])
    args.rounds = args.rounds or (2 if quick else 3)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    args.out = args.out or Path("bench-results") / stamp
    return args


def main(argv: Sequence[str] | None = None) -> Path:
    from benchmarks.report import write_report

    args = parse(argv)
    run = Run(args)
    sections = args.only or list(SECTIONS)
    steps = sum(
        {
            "search": len(args.sizes) * (1 if args.model == "none" else 2),
            "bot": len(args.users) * len(bot_corpora(args)),
            "cold": len(args.sizes),
        }.get(s, 1)
        for s in sections
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=steps, desc="benchmarks", unit="step") as run.progress:
        for section in sections:
            run.progress.set_postfix_str(section)
            started = time.perf_counter()
            RUNNERS[section](run)
            run.results.setdefault("durations_s", {})[section] = time.perf_counter() - started
            if section not in ("search", "server", "bot", "cold"):  # these count their own steps
                run.progress.update()
    (args.out / "results.json").write_text(
        json.dumps(run.results, ensure_ascii=False, indent=1, default=_json), encoding="utf-8"
    )
    report = write_report(run.results, args.out)
    print(f"report: {report}")
    return report


def _json(value: object) -> object:
    if isinstance(value, Figure):
        return value.to_json()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    main()
