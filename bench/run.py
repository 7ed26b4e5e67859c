"""Run every measurement for each blog size, then write the table, plot and docs.

`python -m bench` (sizes 5, 1000, 10000) or `python -m bench --large` (adds 50000).
Generated blogs and caches go to bench/out/ (git-ignored). Each phase runs in a fresh
process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import corpus as synthetic
from bench import sites
from bench.report import write_report

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def phase(name: str, args: dict[str, Any], timeout: int = 900) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.phases", name, json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return result


def measure(n: int, rate: dict[str, Any], ann_min: int, questions: int) -> dict[str, Any]:
    corpus, cache = OUT / f"blog-{n}", OUT / f"cache-{n}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    if n == 5:
        shutil.copytree(ROOT / "corpus", corpus)  # the real sample articles
    else:
        synthetic.generate(corpus, n)
    real = n <= 5
    args = {"corpus": str(corpus), "cache": str(cache), "n": n, "ann_min": ann_min,
            "model": rate["model"], "dimension": rate["dimension"], "real": real,
            "questions": questions,
            "naive_rate": rate["naive_passages_per_s"], "analyse_limit": 20_000}  # fmt: skip
    print(f"N = {n}", flush=True)
    cold, serve = phase("cold", args), phase("serve", args)
    result: dict[str, Any] = {"n": n, "cold": cold, "serve": serve | phase("dense", args)}
    result["naive"] = phase("naive", args)
    result["bm25"] = phase("bm25", args)
    if n >= 100:
        result["incremental"] = phase("incremental", args)
    return result


def measure_site(root: Path, options: argparse.Namespace) -> dict[str, Any]:
    """First index and serving of one real site, in the configuration the options name."""
    name = root.resolve().name
    keys = ("precision", "threads", "runtime")
    config = {k: v for k in keys if (v := getattr(options, k)) is not None}
    suffix = "".join(f" {k}={v}" for k, v in config.items()) + options.label
    args = {"corpus": str(root), "cache": str(OUT / f"site-{name}"), "name": name,
            "rounds": options.rounds, **config}  # fmt: skip
    print(f"site {name}{suffix}", flush=True)
    cold = phase("site_cold", args, timeout=7200)
    return {"label": f"{name}{suffix}", "cold": cold, "serve": phase("site_serve", args)}


def run_sites(options: argparse.Namespace) -> None:
    """Measure the fixture sites (unless --corpus-dir only) and splice their docs section."""
    roots = [Path(p) for p in options.corpus_dir]
    if options.sites or not roots:
        roots = [sites.FIXTURES / n for n in sites.FIXTURE_NAMES] + roots
    path = OUT / "sites.json"
    measured = [measure_site(root, options) for root in roots]
    if options.merge and path.is_file():  # keep other sites and configurations
        labels = {m["label"] for m in measured}
        measured = [m for m in json.loads(path.read_text()) if m["label"] not in labels] + measured
    path.write_text(json.dumps(measured, indent=1))
    print(sites.table(measured))
    docs = ROOT / "docs" / "bench.md"
    command = "`python -m bench --sites-only" + (" --merge`" if options.merge else "`")
    docs.write_text(sites.splice(docs.read_text(), sites.section(measured, command)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5,1000,10000")
    parser.add_argument("--large", action="store_true", help="add 50 000 articles (~30 min)")
    parser.add_argument("--ann-min", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=120)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--merge", action="store_true", help="keep other sizes' or sites' results")
    parser.add_argument("--sites-only", action="store_true", help="only the real sites")
    parser.add_argument("--no-sites", action="store_true", help="only the synthetic blogs")
    parser.add_argument("--sites", action="store_true", help="the fixture sites, with --corpus-dir")
    parser.add_argument(
        "--corpus-dir", action="append", default=[], help="also measure this Jekyll site"
    )
    parser.add_argument("--precision", choices=["int8", "fp32"], help="EMBEDDING_PRECISION")
    parser.add_argument("--threads", type=int, help="EMBEDDING_THREADS (0: half the cores)")
    parser.add_argument("--runtime", choices=["auto", "torch", "onnx"], help="EMBEDDING_RUNTIME")
    parser.add_argument("--rounds", type=int, default=2, help="passes over a site's questions")
    parser.add_argument("--label", default="", help="appended to each site's column name")
    options = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if options.sites_only:
        run_sites(options)
        return
    results_path = OUT / "results.json"
    if not options.report_only:
        sizes = [int(s) for s in options.sizes.split(",")] + ([50_000] if options.large else [])
        rate = phase("rate", {"sample": 64})
        runs = [measure(n, rate, options.ann_min, options.questions) for n in sizes]
        if options.merge and results_path.is_file():  # keep other sizes from an earlier run
            kept = json.loads(results_path.read_text())["runs"]
            runs += [r for r in kept if r["n"] not in sizes]
        runs.sort(key=lambda r: r["n"])
        results_path.write_text(json.dumps({"rate": rate, "runs": runs}, indent=1))
    write_report(json.loads(results_path.read_text()))
    if not options.no_sites and not options.report_only:
        run_sites(options)


if __name__ == "__main__":
    main()
