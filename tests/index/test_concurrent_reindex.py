"""Two reindex processes racing on one cache: the index always loads, nothing is left behind.

Each trial starts two real processes' refreshes of a fresh cache at the same instant. Before
saves took a lock, 16 trials in 320 left CURRENT naming a snapshot the other process had
deleted, and the next start re-embedded the whole corpus. 100 trials take about 20 s here;
the soak variant runs 500.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from bot.index.snapshot import load
from tests.conftest import PostWriter
from tests.index import reindex_worker

BODY = "### 見出し{n}\n\n記事{n}の一文目です。記事{n}の二文目です。\n\n記事{n}の三文目です。"
TRIALS = int(os.environ.get("REINDEX_RACE_TRIALS", "100"))
SOAK_TRIALS = int(os.environ.get("REINDEX_RACE_SOAK_TRIALS", "500"))


def _race(site: Path, root: Path, trials: int) -> list[str]:
    """Run the trials; one line per problem found (empty when every trial was sound)."""
    caches = [str(root / f"cache-{n}") for n in range(trials)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    results = context.Queue()
    workers = [
        context.Process(target=reindex_worker.serve, args=(str(site), caches, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    problems: list[str] = []
    try:
        for cache in caches:
            barrier.wait(timeout=120)
            outcomes = [results.get(timeout=120) for _ in workers]
            problems += [f"{c}: reindex raised {error}" for c, error in outcomes if error]
            problems += _check(Path(cache), site)
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    return problems


def _check(cache: Path, site: Path) -> list[str]:
    """What is wrong with the cache after both refreshes finished."""
    params = reindex_worker.params_for(site)
    problems = []
    if load(cache, params) is None:
        problems.append(f"{cache}: the index does not load")
    leftovers = [p.name for p in cache.rglob(".*") if p.is_dir()]
    if leftovers:
        problems.append(f"{cache}: scratch folders left behind: {leftovers}")
    return problems


@pytest.fixture
def small_site(post: PostWriter, site: Path) -> Path:
    for n in (1, 2, 3):
        post(f"2025-01-0{n}-post{n}.md", BODY.format(n=n))
    return site


def test_concurrent_reindexes_always_leave_a_loadable_index(
    small_site: Path, tmp_path: Path
) -> None:
    """Two processes reindexing one cache at once never leave CURRENT naming a missing folder."""
    started = time.perf_counter()
    problems = _race(small_site, tmp_path / "race", TRIALS)
    seconds = time.perf_counter() - started
    print(f"concurrent reindex: {TRIALS} trials, {len(problems)} problems, {seconds:.1f} s")
    assert problems == []


@pytest.mark.soak
def test_concurrent_reindexes_soak(small_site: Path, tmp_path: Path) -> None:
    """The same race, many more times (make soak)."""
    problems = _race(small_site, tmp_path / "race", SOAK_TRIALS)
    print(f"concurrent reindex soak: {SOAK_TRIALS} trials, {len(problems)} problems")
    assert problems == []
