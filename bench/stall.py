"""How long a hostile blog freezes the bot's event loop while it is reindexed.

`python -m bench.stall [CASE ...]` writes each hostile site into a temporary folder (two
ordinary posts and one hostile file), then reindexes it from a thread, as `/reindex`
does, while the event loop ticks every 5 ms. It prints the loop's longest stall, the
reindex's wall time, peak memory and what became of the hostile file, for the shipped
reader (each file in a worker process, with a time and memory allowance) and for the
same pipeline reading in the bot's own process. Each run is a fresh process, killed
after LIMIT_S; the ratio is in-process stall over the shipped stall.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import SITE, TIMEZONE, peak_rss_mb
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, ReadLimits, refresh
from tests.fakes import StandInEmbedder

LIMIT_S = 180
TICK_S = 0.005


def _post(title: str, body: str) -> str:
    return f"---\ntitle: {title}\n---\n\n{body}\n"


def _table(rows: int) -> str:
    return "| a | b |\n|---|---|\n" + "".join(f"| {i} | セル{i} |\n" for i in range(rows))


Files = dict[str, str | Path]

CASES: dict[str, Callable[[], Files]] = {
    "backtick heading": lambda: {"_posts/2025-01-02-x.md": _post("x", "# " + "`" * 12_000)},
    "unclosed raw": lambda: {"_posts/2025-01-02-x.md": _post("x", "{% raw %}" * 16_000)},
    "open tag + 1 MB": lambda: {"_posts/2025-01-02-x.md": _post("x", "{% " + "a" * 1_000_000)},
    "brackets heading": lambda: {"_posts/2025-01-02-x.md": _post("x", "# " + "[" * 80_000)},
    "html comments": lambda: {"_posts/2025-01-02-x.html": _post("x", "<!--" * 100_000)},
    "include bomb": lambda: {
        "_includes/bomb.html": "x{% include bomb.html %}" * 6,
        "_posts/2025-01-02-x.md": _post("x", "{% include bomb.html %}"),
    },
    "include loop": lambda: {
        "_includes/leaf.html": "葉",
        "_posts/2025-01-02-x.md": _post(
            "x", "{% for i in (1..199999) %}{% include leaf.html %}{% endfor %}"
        ),
    },
    "doubling filter": lambda: {
        "_posts/2025-01-02-x.md": _post(
            "x",
            '{% assign s = "ab" %}{% for i in (1..40) %}'
            "{% assign s = s | append: s %}{% endfor %}{{ s | size }}",
        )
    },
    "jsonify 4 MB data": lambda: {
        "_data/big.json": json.dumps({"items": ["x" * 100] * 40_000}),
        "_posts/2025-01-02-x.md": _post(
            "x", "{% for i in (1..100) %}{{ site.data.big | jsonify | size }}{% endfor %}"
        ),
    },
    "4.8 MB table": lambda: {"_posts/2025-01-02-x.md": _post("x", _table(190_000))},
    "includes -> /proc/self": lambda: {
        "_includes": Path("/proc/self"),
        "_posts/2025-01-02-x.md": _post("x", "{% include environ %} 環境。"),
    },
}


def _write_site(root: Path, files: Files) -> None:
    ordinary = {
        "_config.yml": "title: hostile\n",
        "_posts/2025-01-01-first.md": _post("最初", "最初の記事です。"),
        "_posts/2025-01-03-last.md": _post("最後", "最後の記事です。"),
    }
    for relative, content in {**ordinary, **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            path.symlink_to(content)
        else:
            path.write_text(content, encoding="utf-8")


async def _reindex_while_ticking(spec: CorpusSpec, cache: Path) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    longest = 0.0
    running = True

    async def tick() -> None:
        nonlocal longest
        last = loop.time()
        while running:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            longest = max(longest, now - last - TICK_S)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    _, report = await asyncio.to_thread(refresh, spec, StandInEmbedder(), JapaneseAnalyzer(), cache)
    seconds = time.perf_counter() - started
    running = False
    await ticker
    return {
        "stall_ms": round(longest * 1000, 1),
        "seconds": round(seconds, 2),
        "articles": report.articles,
        "skipped": [f"{s.source}: {s.reason}" for s in report.skipped],
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_one(case: str, isolated: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "site"
        _write_site(root, CASES[case]())
        limits = ReadLimits() if isolated else ReadLimits(isolated=False)
        spec = CorpusSpec(root, SITE, TIMEZONE, limits=limits)
        result = asyncio.run(_reindex_while_ticking(spec, Path(folder) / "cache"))
        bodies = (Path(folder) / "cache").rglob("*")
        result["leaked"] = any(b"DISCORD_TOKEN" in _bytes(p) for p in bodies if p.is_file())
        return result


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _in_fresh_process(case: str, isolated: bool) -> dict[str, object]:
    environment = {**os.environ, "DISCORD_TOKEN": "stall-bench-canary"}
    command = [sys.executable, "-m", "bench.stall", "--one", case, str(isolated)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=LIMIT_S, env=environment
        )
    except subprocess.TimeoutExpired:
        return {"stall_ms": None, "seconds": f">{LIMIT_S}", "skipped": ["(killed)"]}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"stall_ms": None, "seconds": None, "skipped": [done.stderr[-300:]]}
    result: dict[str, object] = json.loads(lines[-1])
    return result


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(run_one(argv[1], argv[2] == "True"), ensure_ascii=False))
        return
    cases = argv or list(CASES)
    print("| hostile site | longest loop stall: worker / in-process | ratio |", end="")
    print(" reindex s: worker / in-process | peak RSS MB: worker / in-process | hostile file |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        shipped, inline = _in_fresh_process(case, True), _in_fresh_process(case, False)
        ratio = _ratio(inline.get("stall_ms"), shipped.get("stall_ms"))
        skipped = shipped.get("skipped")
        outcome = "; ".join(map(str, skipped)) if isinstance(skipped, list) and skipped else "read"
        if shipped.get("leaked") or inline.get("leaked"):
            outcome += " (SECRET STORED)"
        print(
            f"| {case} | {shipped.get('stall_ms')} / {inline.get('stall_ms')} ms | {ratio} "
            f"| {shipped.get('seconds')} / {inline.get('seconds')} "
            f"| {shipped.get('peak_rss_mb')} / {inline.get('peak_rss_mb')} | {outcome} |",
            flush=True,
        )


def _ratio(inline: object, shipped: object) -> str:
    if not isinstance(inline, int | float) or not isinstance(shipped, int | float):
        return "n/a"
    return f"{inline / max(shipped, 0.1):.0f}x"


if __name__ == "__main__":
    main(sys.argv[1:])
