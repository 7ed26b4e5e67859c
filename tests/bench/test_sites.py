"""The real-site benchmark's table and its docs section (no timings asserted)."""

from __future__ import annotations

from typing import Any

from bench import sites
from bench.common import questions


def _measured(label: str) -> dict[str, Any]:
    latency = {"p50": 10.0, "p95": 20.0, "p99": 30.0}
    cold = {"model": "embedded:x@1+abc+int8", "cold_s": 40.0, "articles": 38,
            "passages": 343, "sentences": 1454, "embedded": 343, "passages_per_s": 8.6,
            "peak_rss_mb": 900.0}  # fmt: skip
    serve = {"model_load_s": 3.0, "warm_s": 0.05, "first_question_s": 0.04, "questions": 72,
             "latency_ms": dict.fromkeys(["encode", "search", "total"], latency),
             "peak_rss_mb": 800.0}  # fmt: skip
    return {"label": label, "cold": cold, "serve": serve}


def test_table_has_a_column_per_site_and_a_row_per_stage() -> None:
    """Each measured site is a column; each timed stage a p50/p95/p99 row."""
    text = sites.table([_measured("jekyll-docs"), _measured("vim-jp precision=fp32")])
    lines = text.splitlines()
    assert lines[0] == "| site | jekyll-docs | vim-jp precision=fp32 |"
    assert (
        "| question search p50 / p95 / p99 ms | 10.0 / 20.0 / 30.0 | 10.0 / 20.0 / 30.0 |" in lines
    )
    assert "| → passages embedded per s | 8.6 | 8.6 |" in lines


def test_section_replaces_the_old_one_and_keeps_the_rest() -> None:
    """Splicing twice leaves one section, with the page around it unchanged."""
    page = "# Benchmarks\n\nsynthetic table\n"
    once = sites.splice(page, sites.section([_measured("a")], "python -m bench --sites-only"))
    twice = sites.splice(once, sites.section([_measured("b")], "python -m bench --sites-only"))
    assert twice.startswith(page.rstrip("\n"))
    assert twice.count(sites.START) == 1 and "| site | b |" in twice and "| site | a |" not in twice


def test_unlabelled_site_is_asked_the_dev_questions() -> None:
    """A site without tests/data/eval/<site>.jsonl gets the shared question set."""
    assert sites.site_questions("no-such-site") == questions()
    assert len(sites.site_questions("vim-jp")) > 10
