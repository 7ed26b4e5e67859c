"""Before and after in one run: a fresh `ask`, a question, a first index, their memory.

`python -m bench.serving_path [--before PATH] [--configs fp32,pooled,int8,int8-pooled]`
measures this checkout under each configuration (EMBEDDING_PRECISION, SENTENCE_VECTORS)
and, with ``--before``, another checkout of the project (a git worktree of an earlier
commit) with its defaults, on the same machine in the same run. Every measurement runs in
a fresh process with its own cache folder under bench/out/serving-path/, so each one's
peak RSS and import time are its own:

* ``ask``: `python -m bot ask` on the sample corpus from a fresh process, the model and
  the index already built (one unmeasured run builds them), median of five, and its RSS;
* ``index``: the first index of the vim-jp fixture site from an empty cache (passages a
  second, reading included), and its RSS;
* ``question``: p50 and p99 of the whole answer over the site's labelled questions, two
  rounds, on the index just built, and the serving RSS.

Prints one JSON line per configuration and a Markdown table with ratios to the first
configuration (the baseline: ``before`` when given).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "serving-path"
SITE = ROOT / "tests" / "data" / "sites" / "vim-jp"
QUESTIONS = ROOT / "tests" / "data" / "eval" / "vim-jp.jsonl"
ASK = "Metaが過去に買収した会社は？"
CONFIGS = {
    "fp32": {},
    "pooled": {"SENTENCE_VECTORS": "pooled"},
    "int8": {"EMBEDDING_PRECISION": "int8"},
    "int8-pooled": {"EMBEDDING_PRECISION": "int8", "SENTENCE_VECTORS": "pooled"},
}

# Run inside the measured checkout (its PYTHONPATH): only APIs both sides share.
INDEX_AND_ASK = """
import json, resource, sys, time
from pathlib import Path
from bot.cli import compose
from bot.settings import load_settings
settings = load_settings(_env_file=None)
embedder = compose.embedder_for(settings)
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.retrieval.engine import Engine, EngineConfig
spec = CorpusSpec(Path(sys.argv[1]), "http://localhost:4000", "Asia/Tokyo")
started = time.perf_counter()
index, _ = refresh(spec, embedder, JapaneseAnalyzer(), Path(sys.argv[2]))
seconds = time.perf_counter() - started
index_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
engine, _ = Engine.open(EngineConfig(spec=spec, cache_dir=Path(sys.argv[2])), embedder)
rows = [json.loads(l) for l in Path(sys.argv[3]).read_text("utf-8").splitlines() if l]
questions = [r["question"] for r in rows] * 2
engine.answer(questions[0])
times = []
for q in questions:
    t = time.perf_counter(); engine.answer(q); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"passages": int(len(index.vectors)), "index_s": seconds,
    "index_rss_mb": index_rss, "p50_ms": 1000 * times[len(times) // 2],
    "p99_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.99))],
    "serve_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "model": embedder.name}))
"""


def _environment(checkout: Path, cache: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SENTENCE_VECTORS",)}
    env.pop("EMBEDDING_PRECISION", None)
    env.update(
        PYTHONPATH=str(checkout),
        CACHE_DIR=str(cache),
        CORPUS_DIR=str(ROOT / "corpus"),
        QUESTION_DB=str(cache / "questions.db"),
        **extra,
    )
    return env


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def measure(
    name: str, checkout: Path, extra: dict[str, str], models: Path | None
) -> dict[str, Any]:
    """One configuration; `models`: a models folder to share (another checkout builds and
    exports its own in its cache, in the unmeasured first run)."""
    cache = OUT / name
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    if models is not None:
        (cache / "models").symlink_to(models)
    env = _environment(checkout, cache, extra)
    ask = [sys.executable, "-m", "bot", "ask", ASK, "--no-log"]
    _timed(ask, env, checkout)  # builds the sample index (and any graph) once, unmeasured
    runs = [_timed(ask, env, checkout) for _ in range(5)]
    site_cache = cache / "site"
    code = [sys.executable, "-c", INDEX_AND_ASK, str(SITE), str(site_cache), str(QUESTIONS)]
    _, _, out = _timed(code, env, checkout)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result |= {
        "config": name,
        "ask_s": statistics.median(r[0] for r in runs),
        "ask_rss_mb": statistics.median(r[1] for r in runs),
        "passages_per_s": result["passages"] / result["index_s"],
    }
    print(json.dumps(result), flush=True)
    return result


ROWS = (
    ("fresh `python -m bot ask`, s", "ask_s", "{:.2f}"),
    ("its peak RSS, MB", "ask_rss_mb", "{:.0f}"),
    ("question p50, ms", "p50_ms", "{:.1f}"),
    ("question p99, ms", "p99_ms", "{:.1f}"),
    ("first index, passages/s", "passages_per_s", "{:.1f}"),
    ("first index peak RSS, MB", "index_rss_mb", "{:.0f}"),
    ("serving peak RSS (index + questions), MB", "serve_rss_mb", "{:.0f}"),
)


def table(results: list[dict[str, Any]]) -> str:
    base = results[0]
    lines = [
        "| | " + " | ".join(r["config"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for label, key, fmt in ROWS:
        cells = []
        for r in results:
            cell = fmt.format(r[key])
            if r is not base and base[key]:
                cell += f" ({r[key] / base[key]:.2f}×)"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(f"| passages of vim-jp | {' | '.join(str(r['passages']) for r in results)} |")
    return "\n".join(lines)


def _phase(checkout: Path, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """One of bench/phases.py's phases, run by `checkout`'s own copy of it."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.phases", name, json.dumps(args)],
        cwd=checkout, env=dict(os.environ, PYTHONPATH=str(checkout)),
        capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} in {checkout} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def at_scale(n: int, checkouts: dict[str, Path]) -> str:
    """A synthetic blog of `n` articles indexed once with stand-in vectors (the real
    model's name and dimension); then each checkout serves it with the real model."""
    from bench import corpus as synthetic

    corpus, cache = OUT / f"blog-{n}", OUT / f"cache-{n}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    synthetic.generate(corpus, n)
    rate = _phase(ROOT, "rate", {})
    args = {"corpus": str(corpus), "cache": str(cache), "n": n, "ann_min": 100_000,
            "model": rate["model"], "dimension": rate["dimension"], "real": False,
            "questions": 120, "analyse_limit": 20_000}  # fmt: skip
    _phase(ROOT, "cold", args)
    rows = [f"| {n} articles | p50 ms | p99 ms | peak RSS MB |", "|---|---|---|---|"]
    for label, checkout in checkouts.items():
        served = _phase(checkout, "serve", args)
        total = served["latency_ms"]["total"]
        rows.append(
            f"| {label} | {total['p50']:.1f} | {total['p99']:.1f} | {served['peak_rss_mb']:.0f} |"
        )
        print(json.dumps({"config": label, "n": n, **served}, default=float), flush=True)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout, measured first")
    parser.add_argument("--configs", default="fp32,pooled,int8,int8-pooled")
    parser.add_argument("--scale", type=int, default=0, help="also serve N synthetic articles")
    args = parser.parse_args()
    models = ROOT / "cache" / "models"
    results = []
    if args.before is not None:
        results.append(measure("before", args.before.resolve(), {}, None))
    for name in [c for c in args.configs.split(",") if c]:
        results.append(measure(name, ROOT, CONFIGS[name], models))
    if results:
        print(table(results))
    if args.scale:
        checkouts = {"before": args.before.resolve()} if args.before is not None else {}
        print(at_scale(args.scale, checkouts | {"after": ROOT}))


if __name__ == "__main__":
    main()
