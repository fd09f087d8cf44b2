"""The benchmark report: Markdown tables and PNG plots from one run's results."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure import Figure
from benchmarks.startup import TARGETS as STARTUP_TARGETS

#: Targets named in the issues, checked against the measured medians.
TARGETS = {
    "search_ratio_10k": 20.0,  # hybrid search ≥ 20× faster than LangChain's ensemble at 10k
    "search_ratio_100k": 100.0,
    "bot_p95_ms_at_50": 1500.0,
    "bot_stall_ms": 100.0,
    "summary_5k_s": 2.0,
}


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
    ratios = _ratios(rows)
    if ratios:
        lines += [
            "",
            "| corpus | vectors | against | mode | search: LangChain p50 ÷ Sanad p50 | ingest: LangChain time ÷ Sanad time |",
        ]
        lines += ["|---|---|---|---|---|---|"]
        lines += [
            f"| {a} | {b} | {AGAINST[c]} | {d} | {e:.1f}× | {f:.2f}× |"
            for a, b, c, d, e, f in ratios
        ]
    if _plot_latency(rows, out / plot):
        lines += ["", f"![search latency against corpus size]({plot})"]
    return [*lines, ""]


#: The LangChain stacks Sanad is compared with, as the report names them.
AGAINST = {
    "langchain": "LangChain, Sanad's encoder",
    "langchain-hf": "LangChain, its HuggingFaceEmbeddings",
}


def _beside(
    rows: Sequence[dict[str, Any]],
) -> Iterator[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    """(corpus, model, LangChain stack, Sanad's row, the stack's row) for each row of
    Sanad that a LangChain stack ran beside."""
    by = {(r["system"], r["size"], r["model"]): r for r in rows}
    for (system, size, model), r in by.items():
        for against in AGAINST if system == "sanad" else ():
            other = by.get((against, size, model))
            if other is not None:
                yield size, model, against, r, other


def _ratios(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str, float, float]]:
    """(corpus, model, LangChain stack, mode, search ratio, ingest ratio) per row of
    Sanad that a LangChain stack ran beside."""
    return [
        (
            size,
            model,
            against,
            mode,
            other["search"][mode]["p50_ms"].median / q["p50_ms"].median,
            other["ingest_s"].median / r["ingest_s"].median,
        )
        for size, model, against, r, other in _beside(rows)
        for mode, q in r["search"].items()
        if mode in other["search"]
    ]


def _quality_rows(runs: Any) -> list[tuple[str, str, bool | None]]:
    """The quality target for each set and language both retrievers were scored on:
    Sanad's R@5 and MRR@10 no lower than LangChain's BM25 (keyword-only)."""
    out: list[tuple[str, str, bool | None]] = []
    for r in runs if isinstance(runs, list) else ():
        for lang, ours in r["sanad"]["languages"].items():
            theirs = r["langchain_bm25"].get(lang)
            if theirs:
                out.append(
                    (
                        f"R@5 and MRR@10 no lower than LangChain's BM25 "
                        f"({' + '.join(r['sets'])}, {lang})",
                        f"R@5 {ours['r@k']:.3f} vs {theirs['r@k']:.3f}, "
                        f"MRR@10 {ours['mrr@10']:.3f} vs {theirs['mrr@10']:.3f}",
                        ours["r@k"] >= theirs["r@k"] and ours["mrr@10"] >= theirs["mrr@10"],
                    )
                )
    return out


def _peak_rows(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """The peak-RSS target for each corpus and model a LangChain stack ran beside
    Sanad: Sanad's median peak no higher than the stack's."""
    out: list[tuple[str, str, bool | None]] = []
    for size, model, against, r, other in _beside(rows):
        ours, theirs = r["peak_rss_mb"].median, other["peak_rss_mb"].median
        out.append(
            (
                f"peak RSS no higher than {AGAINST[against]} ({size}, vectors: {model})",
                f"{ours:,.0f} MB vs {theirs:,.0f} MB",
                ours <= theirs,
            )
        )
    return out


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


def ask(rows: list[dict[str, Any]], out: Path) -> list[str]:
    lines = ["## `ask` end to end (extractive, bundled corpus)", ""]
    header = ("model", "first after ingest", "first after restart", "warm p50", "warm p95")
    keys = ("first_after_ingest_ms", "first_after_restart_ms", "warm_p50_ms", "warm_p95_ms")
    lines += _table(header, [[r["model"], *(f"{r[k]} ms" for k in keys)] for r in rows])
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
        rows.append((_corpus_name(size), sanad or "–", langchain or "–", ratio))
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


def _corpus_name(size: str) -> str:
    return "bundled" if size == "bundled" else f"{int(size):,} chunks (synthetic)"


def bot(rows: list[dict[str, Any]], out: Path) -> list[str]:
    lines = ["## The bot under load (fake Bot API, real `Application`)", ""]
    header = ("users at once", "model", "answered", "p50", "p95", "max", "worst loop stall")
    keys = ("p50_ms", "p95_ms", "max_ms", "max_loop_stall_ms")
    lines += _table(
        header,
        [
            [r["users_at_once"], r["model"], r["answered"], *(f"{r[k]} ms" for k in keys)]
            for r in rows
        ],
    )
    if _plot_bot(rows, out / "bot.png"):
        lines += ["", "![bot latency against users at once](bot.png)"]
    return [*lines, ""]


def _plot_bot(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    plt = _pyplot()
    if plt is None:
        return False
    users = [r["users_at_once"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("p50_ms", "p95_ms"):
        ax.plot(users, [r[key] for r in rows], marker="o", label=key.replace("_ms", ""))
    ax.set(xlabel="users asking at once", ylabel="reply latency (ms)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def summaries(figures: dict[str, Figure], out: Path) -> list[str]:
    lines = ["## Extractive summaries (messages to Telegram HTML)", ""]
    lines += _table(("messages", "time"), [(f"{int(k):,}", v) for k, v in figures.items()])
    return [*lines, ""]


def quality(runs: Any, out: Path) -> list[str]:
    lines = ["## Quality beside speed (public sets, keyword-only)", ""]
    if isinstance(runs, dict):
        return [*lines, f"Skipped: {runs['skipped']}.", ""]
    lines += [
        "Corpora of one language merged; Sanad's answer figures from `sanad eval --answers`.",
        "",
        "| sets | language | system | R@1 | R@5 | MRR@10 | first quote holds the answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        sets = " + ".join(r["sets"])
        for lang, s in r["sanad"]["languages"].items():
            quote = r["sanad"].get("answers", {}).get(lang, {}).get("first_quote")
            lines.append(
                f"| {sets} | {lang} | sanad | {s['r@1']:.3f} | {s['r@k']:.3f} | "
                f"{s['mrr@10']:.3f} | {quote if quote is not None else '–'} |"
            )
            lc = r["langchain_bm25"].get(lang)
            if lc:
                lines.append(
                    f"| {sets} | {lang} | langchain BM25 | {lc['r@1']:.3f} | {lc['r@k']:.3f} | "
                    f"{lc['mrr@10']:.3f} | – |"
                )
    return [*lines, ""]


SECTIONS = {
    "search": search,
    "server": server,
    "ask": ask,
    "cold": cold,
    "startup": startup,
    "bot": bot,
    "summaries": summaries,
    "quality": quality,
}


def targets(results: dict[str, Any]) -> list[str]:
    """Each target the issues name, with the value this run measured (when it ran)."""
    rows: list[tuple[str, str, bool | None]] = []
    search_rows = results.get("search")
    if isinstance(search_rows, list):
        for size, key in (("10000", "search_ratio_10k"), ("100000", "search_ratio_100k")):
            for s, _model, against, mode, ratio, _ in _ratios(search_rows):
                if s == size and mode == "hybrid" and against == "langchain":
                    rows.append(
                        (
                            f"hybrid search ≥ {TARGETS[key]:.0f}× faster than LangChain at {size} chunks",
                            f"{ratio:.1f}×",
                            ratio >= TARGETS[key],
                        )
                    )
        for s, model, against, mode, _, ingest in _ratios(search_rows):
            if mode == "keyword":
                rows.append(
                    (
                        f"ingest at least as fast as {AGAINST[against]} ({s}, vectors: {model})",
                        f"{ingest:.2f}×",
                        ingest >= 1.0,
                    )
                )
        rows += _peak_rows(search_rows)
    rows += _quality_rows(results.get("quality"))
    for r in results.get("bot", []):
        if r["users_at_once"] == 50:
            rows.append(("bot p95 ≤ 1.5 s at 50 users", f"{r['p95_ms']} ms", r["p95_ms"] <= 1500))
        rows.append(
            (
                f"no loop stall over 100 ms (users at once: {r['users_at_once']})",
                f"{r['max_loop_stall_ms']} ms",
                r["max_loop_stall_ms"] <= TARGETS["bot_stall_ms"],
            )
        )
    for size, figures in results.get("cold", {}).items():
        if "langchain" in figures:
            s, lc = figures["sanad"].median, figures["langchain"].median
            rows.append(
                (
                    f"cold start no slower than the LangChain script ({_corpus_name(size)})",
                    f"{s:.2f} s vs {lc:.2f} s",
                    s <= lc,
                )
            )
    for name, figure in results.get("startup", {}).items():
        limit = STARTUP_TARGETS[name]
        rows.append((f"{name} ≤ {limit} s", str(figure), figure.median <= limit))
    five = results.get("summaries", {}).get("5000")
    if five is not None:
        rows.append(
            ("summary of 5,000 messages ≤ 2 s", str(five), five.median <= TARGETS["summary_5k_s"])
        )
    if not rows:
        return []
    lines = ["## Targets", ""]
    lines += _table(
        ("target", "measured", "met"), [(t, v, "yes" if ok else "**no**") for t, v, ok in rows]
    )
    return [*lines, ""]
