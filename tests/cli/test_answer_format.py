"""The terminal answer shows two passages of one article together, under one title."""

from __future__ import annotations

from bot.cli.answering import format_answer
from bot.retrieval.answers import Answer, Result, by_article


def _result(rank: int, source: str, heading: str) -> Result:
    return Result(
        f"T {source}", f"u{rank}", "2026-01-01", heading, f"e{rank}", 0.9, source, "p", rank
    )


RESULTS = (_result(1, "a.md", "A1"), _result(2, "b.md", "B1"), _result(3, "a.md", "A2"))


def test_groups_keep_the_best_rank_first() -> None:
    """Groups follow their best result; inside a group results keep rank order."""
    groups = by_article(RESULTS)
    assert [[r.rank for r in g] for g in groups] == [[1, 3], [2]]


def test_format_prints_each_title_once() -> None:
    """The article of ranks 1 and 3 gets one title line with both excerpts under it."""
    text = format_answer(Answer("q", "answer", RESULTS, 0.9, "ja", "v"))
    assert text.count("T a.md") == 1 and text.count("T b.md") == 1
    assert text.index("e1") < text.index("e3") < text.index("T b.md")


def test_articles_are_numbered_in_order() -> None:
    """Article lines count 1, 2, … however many passages the first one holds."""
    text = format_answer(Answer("q", "answer", RESULTS, 0.9, "ja", "v"))
    assert "1. T a.md" in text and "2. T b.md" in text and "3." not in text
