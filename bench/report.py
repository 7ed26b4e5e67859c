"""The markdown table, the plot (docs/bench.png) and docs/bench.md from results.json."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.tables import END, START
from bench.tables import ms as _ms
from bench.tables import stage_cell as stage_cell
from bench.tables import stages_timed as stages_timed

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown",
    )  # fmt: skip
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    import numpy
    import torch

    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return (
        f"{nproc} cores ({cpu}), {mem_kb / 1024**2:.0f} GiB RAM, Python "
        f"{platform.python_version()}, numpy {numpy.__version__}, torch {torch.__version__}"
    )


def _cold_real(run: dict[str, Any], rate: dict[str, Any]) -> tuple[float, bool]:
    cold = run["cold"]
    if cold["standin_embed_s"] is None:
        return cold["cold_s"], True
    return cold["cold_s"] - cold["standin_embed_s"] + cold["embedded"] / rate[
        "indexer_passages_per_s"
    ], False


def _incr_real(run: dict[str, Any], rate: dict[str, Any]) -> float | None:
    inc = run.get("incremental")
    if inc is None:
        return None
    return float(
        inc["incremental_s"]
        - inc["standin_embed_s"]
        + inc["embedded"] / rate["indexer_passages_per_s"]
    )


def _s(value: float | None, measured: bool = True) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f} s" if value < 100 else f"{value / 60:.0f} min"
    return text if measured else f"~{text}*"


def rows(results: dict[str, Any]) -> list[tuple[str, list[str]]]:
    rate, runs = results["rate"], results["runs"]
    table: list[tuple[str, list[str]]] = []

    def add(label: str, cell: Any) -> None:
        table.append((label, [cell(r) for r in runs]))

    add("passages (sentences)", lambda r: f"{r['cold']['passages']:,} ({r['cold']['sentences']:,})")
    add("distinct passages", lambda r: f"{r['cold']['distinct']:,}")
    add("approximate index", lambda r: "yes" if r["cold"]["ann"] else "no (exact)")
    add("cold index, stand-in vectors", lambda r: _s(r["cold"]["cold_s"]))
    add("cold index, real model", lambda r: _s(*_cold_real(r, rate)))
    add("warm start-up (excl. model load)", lambda r: _s(r["serve"]["warm_s"]))
    add("model load", lambda r: _s(r["serve"]["model_load_s"]))
    add("first question after start-up", lambda r: _s(r["serve"]["first_question_s"]))
    add("reindex after editing 1%, real model", lambda r: _s(_incr_real(r, rate), False))
    for stage in stages_timed(runs):
        add(f"question {stage} p50 / p95 / p99 ms", lambda r, s=stage: stage_cell(r, s))
    add(
        "dense exact / approximate ms",
        lambda r: f"{r['serve']['exact_dense_ms']:.2f} / {r['serve']['ann_dense_ms']:.2f}",
    )
    add("BM25 scoring ms", lambda r: f"{r['serve']['bm25_ms']:.2f}")
    add("recall@10 approximate vs exact", _recall)
    add(
        "32 questions: sequential / batched",
        _batched,
    )
    add("peak RSS serving (with model)", lambda r: f"{r['serve']['peak_rss_mb']:.0f} MB")
    add("peak RSS cold index (stand-in)", lambda r: f"{r['cold']['peak_rss_mb']:.0f} MB")
    add("naive bot start-up", lambda r: _s(r["naive"]["start_s"], r["naive"]["start_measured"]))
    add(
        "→ warm start-up speed-up vs naive",
        lambda r: f"{r['naive']['start_s'] / r['serve']['warm_s']:.0f}×",
    )
    add("naive question p50 / p99 ms", lambda r: _ms(r["naive"]["latency_ms"], ("p50", "p99")))
    add("naive peak RSS", lambda r: f"{r['naive']['peak_rss_mb']:.0f} MB")
    add("BM25-only start-up", lambda r: _s(r["bm25"]["start_s"], r["bm25"]["start_measured"]))
    add("BM25-only question p50 / p99 ms", lambda r: _ms(r["bm25"]["latency_ms"], ("p50", "p99")))
    add("BM25-only peak RSS (no model)", lambda r: f"{r['bm25']['peak_rss_mb']:.0f} MB")
    add(
        "p50 latency vs naive / vs BM25-only",
        _latency_ratios,
    )
    return table


def _recall(r: dict[str, Any]) -> str:
    serve = r["serve"]
    if not r["cold"]["ann"]:
        return "1 (exact)"
    if "recall_questions" not in serve:
        return f"{serve['recall_at_10']:.3f}"
    return (
        f"{serve['recall_at_10']:.3f} (questions {serve['recall_questions']:.2f}, "
        f"perturbed {serve['recall_perturbed']:.3f})"
    )


def _batched(r: dict[str, Any]) -> str:
    serve = r["serve"]
    return (
        f"{serve['sequential_32_s']:.2f} s / {serve['concurrent_32_s']:.2f} s "
        f"({serve['throughput_gain']:.1f}×)"
    )


def _latency_ratios(r: dict[str, Any]) -> str:
    ours = r["serve"]["latency_ms"]["total"]["p50"]
    naive, lexical = r["naive"]["latency_ms"]["p50"], r["bm25"]["latency_ms"]["p50"]
    return f"{ours / naive:.2f}× / {ours / lexical:.2f}×"


def markdown(results: dict[str, Any]) -> str:
    header = "| articles | " + " | ".join(f"{r['n']:,}" for r in results["runs"]) + " |"
    rule = "|---|" + "---|" * len(results["runs"])
    lines = [header, rule]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows(results)]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    n = [r["n"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("p50", "p50"), ("p99", "p99")):
        left.plot(
            n,
            [r["serve"]["latency_ms"]["total"][key] for r in runs],
            "o-",
            label=f"this bot {label}",
        )
    left.plot(n, [r["naive"]["latency_ms"]["p50"] for r in runs], "s--", label="naive p50")
    left.plot(n, [r["bm25"]["latency_ms"]["p50"] for r in runs], "^--", label="BM25-only p50")
    left.set(xscale="log", xlabel="articles", ylabel="question latency (ms)", title="Latency")
    right.plot(n, [r["serve"]["peak_rss_mb"] for r in runs], "o-", label="this bot (serving)")
    right.plot(n, [r["naive"]["peak_rss_mb"] for r in runs], "s--", label="naive")
    right.plot(n, [r["bm25"]["peak_rss_mb"] for r in runs], "^--", label="BM25-only")
    right.set(xscale="log", xlabel="articles", ylabel="peak RSS (MB)", title="Memory")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(results: dict[str, Any]) -> None:
    table = markdown(results)
    print(table)
    DOCS.mkdir(exist_ok=True)
    plot(results, DOCS / "bench.png")
    rate = results["rate"]
    path = DOCS / "bench.md"
    kept = _site_section(path)
    path.write_text(
        f"# Benchmarks\n\nMachine: {machine()}.\n\nRun with `make bench` "
        "(`.venv/bin/python -m bench`; `--large` adds 50 000 articles).\n\n"
        f"{table}\n\n![latency and memory against blog size](bench.png)\n\n{NOTES.format(**rate)}"
        + kept,
        encoding="utf-8",
    )


def _site_section(path: Path) -> str:
    """The real sites' section of the current page, kept when the synthetic part is rewritten."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if START not in text or END not in text:
        return ""
    return "\n" + START + text.split(START, 1)[1].split(END, 1)[0] + END + "\n"


NOTES = """\
How to read it:

* Blogs of N articles are generated from the sample posts' sentences and headings with
  new numbers, names and a running counter, so every passage is distinct (row "distinct
  passages"). N = 5 is the real sample corpus.
* The real model embeds {indexer_passages_per_s:.1f} passages per second on this machine
  as the indexer does (passage plus each of its sentences) and {naive_passages_per_s:.1f}
  per second passage-only (measured on {sample} sample passages). For N ≥ 1 000 the cache is
  filled by a stand-in embedder of the same name and dimension (hashed bigrams):
  warm start, search, memory and latency do not depend on the vectors' values.
  Figures marked `~…*` are extrapolated: measured time minus the stand-in's embedding
  time plus the embedded passages at the real model's rate.
* Question latency uses the real model for the query. The stages are the ones
  `Answer.timings_ms` holds: `encode` (cleaning and embedding the question), `search`
  (terms, dense and lexical candidates, sentence re-scoring), `excerpts`, `confidence`
  (signals, answer-type check, tiers and labels); `total` also holds building the result
  records. Older runs timed `embed`, `search` (all of `search.rank`) and `format` (the rest).
  The first question after start-up is reported separately; sentence units are stored in
  the snapshot, so it builds nothing and pays only first page reads and the encoder's
  first call.
* Above `approximate_index_min_passages` (100 000) dense candidates come from the
  usearch HNSW graph (int8, connectivity 32, 256 rows re-scored exactly); recall@10 is
  against brute force, on the dev questions' real vectors plus 100 perturbed passage
  vectors. The dev questions' vectors come from the real model while the passages' come
  from the stand-in, so for them the exact top 10 is a set of near-ties in an unrelated
  space: the hardest case an HNSW graph meets, reported separately ("questions").
  Dense, BM25 and recall are measured in a process of their own (brute force reads
  every vector), after the serving process.
* Batched: 32 concurrent questions through `Engine.ask`, as the bot asks them (one shared
  encoder call, then search in worker threads); sequential: 32 calls of `Engine.answer`.
* Baselines: the naive bot embeds every passage at start-up and answers with
  `sentence_transformers.util.semantic_search` over a torch tensor (its start-up is
  extrapolated where marked); the BM25-only bot analyses every passage with Sudachi and
  builds a bm25s index at start-up (analysis extrapolated from 20 000 passages when
  there are more). Peak RSS is `ru_maxrss` of a fresh process per measurement.
* RSS counts the pages of the memory-mapped snapshot a process has touched. Written
  sequentially, a file sits in the page cache in large folios, and Linux 6 maps a whole
  folio on one fault; the snapshot's vector files and graph are therefore synced and
  cached again page by page when saved, so a question maps only the rows it reads.
"""
