"""Real sites: first index with the real model, warm start, and each question stage.

`python -m bench --sites` measures the fixture sites under tests/data/sites (real
Jekyll blogs: ruby-lang.org's news in Japanese and English, vim-jp, the Jekyll docs),
and `--corpus-dir PATH` any other site, each asked its own labelled questions where
tests/data/eval/<site>.jsonl has them (the dev questions otherwise). Each phase runs
in a fresh process (`bench.run.phase`), so model load and peak RSS are its own.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import ROOT, SITE, TIMEZONE, peak_rss_mb, percentiles_ms, questions
from bench.serving import timed_answer
from bench.tables import END as END
from bench.tables import START as START
from bench.tables import stage_cell, stages_timed
from bot.embedding.models import LoadedEmbedder, load_embedder
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.retrieval.engine import Engine, EngineConfig
from bot.settings import EMBEDDED_MODEL

FIXTURES = ROOT / "tests" / "data" / "sites"
FIXTURE_NAMES = ("ruby-lang", "vim-jp", "jekyll-docs")
LABELS = ROOT / "tests" / "data" / "eval"


def site_questions(name: str) -> list[str]:
    """The site's own labelled questions, or the dev questions for an unlabelled site."""
    path = LABELS / f"{name}.jsonl"
    if not path.is_file():
        return questions()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [str(row["question"]) for row in rows]


def _model(args: dict[str, Any]) -> tuple[LoadedEmbedder, float]:
    """The embedded model as the bot loads it (precision and threads from the arguments)."""
    started = time.perf_counter()
    options = {k: args[k] for k in ("precision", "threads", "device", "runtime") if k in args}
    embedder = load_embedder(EMBEDDED_MODEL, ROOT / "cache", **options)
    embedder.embed_queries(["warm-up"])
    return embedder, time.perf_counter() - started


def _spec(args: dict[str, Any]) -> CorpusSpec:
    return CorpusSpec(Path(args["corpus"]), SITE, TIMEZONE)


def phase_site_cold(args: dict[str, Any]) -> dict[str, Any]:
    """First index of the site with the real model, from an empty cache."""
    shutil.rmtree(args["cache"], ignore_errors=True)
    embedder, load_s = _model(args)
    started = time.perf_counter()
    index, report = refresh(_spec(args), embedder, JapaneseAnalyzer(), Path(args["cache"]))
    cold_s = time.perf_counter() - started
    return {
        "model": embedder.name,
        "runtime": getattr(embedder, "runtime", "torch"),  # older commits run torch only
        "model_load_s": load_s,
        "cold_s": cold_s,
        "articles": report.articles,
        "passages": report.passages,
        "sentences": int(index.sentence_offsets[-1]),
        "embedded": report.embedded,
        "passages_per_s": report.embedded / cold_s,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_site_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Warm start, then every stage of `rounds` passes over the site's questions."""
    embedder, load_s = _model(args)
    started = time.perf_counter()
    index, report = refresh(_spec(args), embedder, JapaneseAnalyzer(), Path(args["cache"]))
    warm_s = time.perf_counter() - started
    assert report.embedded == 0, report.summary()
    engine = Engine(EngineConfig(_spec(args), Path(args["cache"])), embedder, index)
    texts = site_questions(args["name"])
    first = timed_answer(engine, texts[0])["total"]
    stages: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.get("rounds", 2)):
        for text in texts:
            for stage, seconds in timed_answer(engine, text).items():
                stages[stage].append(seconds)
    return {
        "model_load_s": load_s,
        "warm_s": warm_s,
        "first_question_s": first,
        "questions": len(stages["total"]),
        "latency_ms": {stage: percentiles_ms(seconds) for stage, seconds in stages.items()},
        "peak_rss_mb": peak_rss_mb(),
    }


def table(sites: list[dict[str, Any]]) -> str:
    """One column per measured site (and configuration)."""
    header = "| site | " + " | ".join(s["label"] for s in sites) + " |"
    lines = [header, "|---|" + "---|" * len(sites)]

    def add(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(s) for s in sites) + " |")

    add("articles / passages (sentences)", lambda s: _sizes(s["cold"]))
    add("precision", lambda s: "int8" if "+int8" in s["cold"]["model"] else "fp32")
    add("runtime", lambda s: s["cold"].get("runtime", "torch"))
    add("first index, real model", lambda s: f"{s['cold']['cold_s']:.1f} s")
    add("→ passages embedded per s", lambda s: f"{s['cold']['passages_per_s']:.1f}")
    add("warm start-up (excl. model load)", lambda s: f"{s['serve']['warm_s']:.2f} s")
    add("model load", lambda s: f"{s['serve']['model_load_s']:.2f} s")
    add(
        "first question after start-up", lambda s: f"{s['serve']['first_question_s'] * 1000:.0f} ms"
    )
    for stage in stages_timed(sites):
        add(f"question {stage} p50 / p95 / p99 ms", lambda s, g=stage: stage_cell(s, g))
    add("questions timed", lambda s: str(s["serve"]["questions"]))
    add("peak RSS first index / serving", lambda s: _rss(s))
    return "\n".join(lines)


def _sizes(cold: dict[str, Any]) -> str:
    return f"{cold['articles']} / {cold['passages']:,} ({cold['sentences']:,})"


def _rss(site: dict[str, Any]) -> str:
    return f"{site['cold']['peak_rss_mb']:.0f} / {site['serve']['peak_rss_mb']:.0f} MB"


def section(sites: list[dict[str, Any]], command: str, extra: str = "") -> str:
    """The docs section between the markers, so the synthetic report keeps it."""
    ordered = sorted(sites, key=lambda s: s["label"].split(" ", 1)[0])  # stable: runs in order
    body = f"Run with {command}.\n\n{table(ordered)}\n\n{SITE_NOTES}{extra}"
    return f"{START}\n## Real sites\n\n{body}{END}"


def splice(document: str, block: str) -> str:
    """`document` with its real-site section replaced by `block` (appended if absent)."""
    if START in document and END in document:
        head, rest = document.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    return document.rstrip("\n") + "\n\n" + block + "\n"


SITE_NOTES = """\
* Sites: `tests/data/sites/*` (see each FIXTURE.md) and any `--corpus-dir`; each is
  asked its own labelled questions (`tests/data/eval/<site>.jsonl`, every question
  `--rounds` times), a site without labels the dev questions.
* First index: an empty cache, the real embedded model embedding every passage and each
  of its sentences, as `python -m bot reindex` does; passages per second is embedded
  passages over the whole first index (parsing, analysis and saving included).
* Stages as `Answer.timings_ms` gives them; model load is excluded from every
  figure but its own row. Peak RSS is `ru_maxrss` of each phase's fresh process.
* Columns: "before" is commit d0079d6 (torch's default two threads, `encode` in batches
  of 16); "runtime=torch" is this version with `EMBEDDING_RUNTIME=torch` (one torch thread on two
  cores, one text per forward pass); "after" is the default now: the same fp32 weights
  in ONNX Runtime (`EMBEDDING_RUNTIME=auto`), on every core with threads that sleep when
  idle, texts of like length sharing a forward pass. All three were measured one after
  the other in one session on an otherwise idle 2-core machine.
* On an idle machine "before" (two torch threads that spin, batches of 16) embeds twice
  as fast as "runtime=torch" (one thread, one text per pass), which was chosen because
  on a loaded machine two spinning torch threads took ~1 s at p95. ONNX Runtime's
  threads sleep when idle, so "after" uses both cores without that risk: against
  "before", 1.6-1.8x the passages per second and 0.48-0.53x the question p50.
"""
