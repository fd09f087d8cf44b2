"""The benchmark report: Markdown tables and PNG plots from one run's results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure import Figure
from benchmarks.targets import AGAINST, bot_corpus, corpus_name, ratios
from benchmarks.targets import section as targets


def write_report(results: dict[str, Any], out: Path) -> Path:
    lines = ["# Sanad benchmark report", ""]
    lines += [f"Run started {results['started']} (UTC). Options: `{results['options']}`.", ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results["machine"].items()]
    if "langchain" not in results["systems"]:
        lines += ["", '_LangChain is not installed (`pip install -e ".[bench]"`): Sanad alone._']
    lines.append("")
    for name, section in SECTIONS.items():
        if name in results:
            lines += section(results[name], out)
    lines += targets(results)
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def _stack_rows(rows: list[dict[str, Any]], out: Path, title: str, plot: str) -> list[str]:
    if isinstance(rows, dict):  # skipped
        return [f"## {title}", "", f"Skipped: {rows['skipped']}.", ""]
    lines = [
        f"## {title}",
        "",
        "Median of the rounds (min–max); each round a fresh process per system, the "
        "systems interleaved. Search time excludes query encoding.",
        "",
        "Corpus: `bundled`, or the number of chunks asked of a synthetic corpus. Each "
        "system cuts its own chunks (LangChain's 1000 characters are smaller than "
        "Sanad's 250–500 tokens), so ingest is compared by time for the same text. "
        "Held after: the process's resident memory once ingested (what a serving "
        "process keeps), its ingest workers gone.",
        "",
        "| corpus | vectors | system | chunks | ingest | peak RSS | held after | mode | search p50 | search p95 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for mode, q in r["search"].items():
            lines.append(
                f"| {r['size']} | {r['model']} | {r['system']} | {r['chunks']:,} | "
                f"{r['ingest_s']}, {r['ingest_chunks_per_s']} | {r['peak_rss_mb']} | "
                f"{r['rss_after_ingest_mb']} | {mode} | "
                f"{q['p50_ms']} | {q['p95_ms']} |"
            )
    paired = ratios(rows)
    if paired:
        lines += [
            "",
            "| corpus | vectors | against | mode | search: LangChain p50 ÷ Sanad p50 | ingest: LangChain time ÷ Sanad time |",
        ]
        lines += ["|---|---|---|---|---|---|"]
        lines += [
            f"| {a} | {b} | {AGAINST[c]} | {d} | {e:.1f}× | {f:.2f}× |"
            for a, b, c, d, e, f in paired
        ]
    if _plot_latency(rows, out / plot):
        lines += ["", f"![search latency against corpus size]({plot})"]
    return [*lines, ""]


def _pyplot() -> Any:
    """matplotlib's pyplot drawing to files, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _plot_latency(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    series: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r["size"] == "bundled":
            continue
        for mode, q in r["search"].items():
            label = f"{r['system']} {mode}" + (" (vectors)" if r["model"] != "none" else "")
            series.setdefault(label, []).append((r["chunks"], q["p50_ms"].median))
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in sorted(series.items()):
        points.sort()
        ax.plot(*zip(*points, strict=True), marker="o", label=label)
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="search p50 (ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def search(rows: Any, out: Path) -> list[str]:
    return _stack_rows(rows, out, "Ingest and search", "search.png")


def server(rows: Any, out: Path) -> list[str]:
    return _stack_rows(rows, out, "Server mode (`chroma run` on loopback)", "server.png")


#: `ask_speed.py`'s figures, as the ask section keeps each: a median (min–max) of rounds.
ASK_FIGURES = ("first_after_ingest_ms", "first_after_restart_ms", "warm_p50_ms", "warm_p95_ms")


def ask(rows: list[dict[str, Any]], out: Path) -> list[str]:
    lines = ["## `ask` end to end (extractive, bundled corpus)", ""]
    header = ("model", "first after ingest", "first after restart", "warm p50", "warm p95")
    lines += _table(header, [[r["model"], *(str(r[k]) for k in ASK_FIGURES)] for r in rows])
    rounds = rows[0]["warm_p50_ms"].runs if rows else 0
    lines += [
        "",
        f"Median of {rounds} rounds (min–max), each a fresh process per model, the models"
        " interleaved: the first question after ingest (or restart) is one ask a round.",
    ]
    return [*lines, ""]


def cold(by_size: dict[str, dict[str, Figure]], out: Path) -> list[str]:
    lines = [
        "## Cold process to the first keyword answer",
        "",
        "`sanad ask` (keyword-only) reads the index an ingest built before; the minimal"
        " LangChain BM25 script loads, splits and indexes the corpus again in every"
        " process, as its documentation assembles it (nothing is saved).",
        "",
    ]
    rows = []
    for size, figures in by_size.items():
        sanad, langchain = figures.get("sanad"), figures.get("langchain")
        ratio = f"{langchain.median / sanad.median:.2f}×" if sanad and langchain else "–"
        rows.append((corpus_name(size), sanad or "–", langchain or "–", ratio))
    header = ("corpus", "`sanad ask`", "minimal LangChain BM25 script", "LangChain ÷ Sanad")
    lines += _table(header, rows)
    return [*lines, ""]


def startup(figures: dict[str, Figure], out: Path) -> list[str]:
    lines = [
        "## Start-up of the `sanad` command",
        "",
        "Cold processes over the bundled corpus, its index built before; the last row"
        " with the default model neither cached nor reachable (`benchmarks/startup.py`).",
        "",
    ]
    lines += _table(("command", "time"), list(figures.items()))
    return [*lines, ""]


def bot(rows: list[dict[str, Any]], out: Path) -> list[str]:
    lines = ["## The bot under load (fake Bot API, real `Application`)", ""]
    header = (
        "corpus", "users at once", "model", "answered", "p50", "p95", "max",
        "worst loop stall", "full collections (longest)",
    )  # fmt: skip
    lines += _table(header, [_bot_row(r) for r in rows])
    if _plot_bot(rows, out / "bot.png"):
        lines += ["", "![bot latency against users at once](bot.png)"]
    return [*lines, ""]


def _bot_row(r: dict[str, Any]) -> list[Any]:
    keys = ("p50_ms", "p95_ms", "max_ms", "max_loop_stall_ms")
    collections = f"{r['full_collections']} ({r['longest_full_collection_ms']} ms)"
    head = (bot_corpus(r), r["users_at_once"], r["model"], r["answered"])
    return [*head, *(f"{r[k]} ms" for k in keys), collections]


def _plot_bot(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for corpus in dict.fromkeys(bot_corpus(r) for r in rows):
        mine = [r for r in rows if bot_corpus(r) == corpus]
        users = [r["users_at_once"] for r in mine]
        for key in ("p50_ms", "p95_ms"):
            label = f"{key.replace('_ms', '')}, {corpus}"
            ax.plot(users, [r[key] for r in mine], marker="o", label=label)
    ax.set(xlabel="users asking at once", ylabel="reply latency (ms)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def summaries(figures: dict[str, Any], out: Path) -> list[str]:
    lines = ["## Extractive summaries (messages to Telegram HTML)", ""]
    rows = [(f"{int(k):,} messages", v) for k, v in figures["messages"].items()]
    if "day_of_100k" in figures:
        rows.append(("`/summary 24h` in a chat holding 100,000 messages", figures["day_of_100k"]))
    lines += _table(("summary of", "time"), rows)
    return [*lines, ""]


def conversations(figures: dict[str, Any], out: Path) -> list[str]:
    lines = ["## Conversations: how summaries group messages", ""]
    labelled = figures.get("labelled")
    if labelled:
        lines += [
            f"Topics recovered on the labelled chat set (`{figures['labelled_set']}`, Dari, "
            "Arabic and English; `benchmarks/summaries.py`):",
            "",
        ]
        lines += _table(("measure", "value"), [(k, _number(v, 3)) for k, v in labelled.items()])
        lines.append("")
    irc = figures.get("irc")
    if irc:
        lines += [
            "Conversation separation on the human-annotated IRC dev split (English; "
            "Kummerfeld et al. 2019, scored by its `score.py`). Published on the test split: "
            "Lowe et al.'s heuristic 80.6 / 53.7, Elsner & Charniak 82.1 / 51.4, the authors' "
            "trained model 91.3 / 75.6 (1 − scaled VI / one-to-one).",
            "",
        ]
        lines += _table(("measure", "value"), [(k, _number(v, 2)) for k, v in irc.items()])
    else:
        lines.append(f"IRC set skipped: {figures.get('irc_skipped', 'not run')}.")
    return [*lines, ""]


def _number(value: float, places: int) -> str:
    """A count as a whole number, any other figure to `places` decimals."""
    return f"{value:,.0f}" if float(value).is_integer() and value > 1 else f"{value:.{places}f}"


def quality(runs: Any, out: Path) -> list[str]:
    lines = ["## Quality beside speed", ""]
    if isinstance(runs, dict):
        return [*lines, f"Skipped: {runs['skipped']}.", ""]
    lines += [
        "Corpora of one language merged (`dev` is over the bundled corpus); Sanad's answer "
        "figures from `sanad eval --answers`, declined over the sets' unanswerable questions. "
        "Keyword-only: Sanad beside LangChain's `BM25Retriever`; with a model, Sanad's "
        "default search (hybrid) and its dense side beside LangChain's dense retriever "
        "(`HuggingFaceEmbeddings`, Chroma) with the same model.",
        "",
        "| sets | language | system | R@1 | R@5 | MRR@10 | answered | first quote holds the answer | declined |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        sets = " + ".join(r["sets"])
        model = r.get("model", "none")
        ours = "sanad" if model == "none" else f"sanad hybrid ({model})"
        others = (
            (f"sanad dense ({model})", r.get("sanad_dense")),
            ("langchain BM25", r.get("langchain_bm25")),
            (f"langchain dense ({model})", r.get("langchain_dense")),
        )
        for lang, s in r["sanad"]["languages"].items():
            answers = r["sanad"].get("answers", {}).get(lang, {})
            shown = [answers.get(k) for k in ("answered", "first_quote", "declined")]
            lines.append(_quality_row(sets, lang, ours, s, shown))
            for name, scores in others:
                other = (scores or {}).get(lang)
                if other:
                    lines.append(_quality_row(sets, lang, name, other, [None] * 3))
    return [*lines, ""]


def _quality_row(
    sets: str, lang: str, system: str, s: dict[str, float], answers: Sequence[object]
) -> str:
    """A row of the quality table: retrieval figures, then answer figures ("–" for none)."""
    cells = [f"{s['r@1']:.3f}", f"{s['r@k']:.3f}", f"{s['mrr@10']:.3f}"]
    cells += ["–" if v is None else str(v) for v in answers]
    return f"| {sets} | {lang} | {system} | " + " | ".join(cells) + " |"


SECTIONS = {
    "search": search,
    "server": server,
    "ask": ask,
    "cold": cold,
    "startup": startup,
    "bot": bot,
    "summaries": summaries,
    "conversations": conversations,
    "quality": quality,
}
