"""Stats: local-day buckets, answered share, top articles, votes, text and plot."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from matplotlib import pyplot as plt

from bot.reports.stats import compute_stats, format_stats, plot_stats, stats_figure

from .conftest import ARTICLE_A, ARTICLE_B, QuestionLogFile

TOKYO = ZoneInfo("Asia/Tokyo")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=UTC)


async def test_days_follow_the_settings_timezone(log_file: QuestionLogFile) -> None:
    """14:30 and 15:30 UTC are one day in UTC but two days in Tokyo (midnight is 15:00 UTC)."""
    log_file.add("a", _at(4, 14, 30))
    log_file.add("b", _at(4, 15, 30), tier="answer")
    tokyo = await compute_stats(log_file.path, tz=TOKYO)
    assert [(d.day, d.asked, d.answered) for d in tokyo.days] == [
        (date(2026, 2, 4), 1, 0),
        (date(2026, 2, 5), 1, 1),
    ]
    in_utc = await compute_stats(log_file.path, tz=UTC)
    assert [(d.day, d.asked) for d in in_utc.days] == [(date(2026, 2, 4), 2)]


async def test_quiet_days_are_listed_with_zero(log_file: QuestionLogFile) -> None:
    """Days without questions appear between the first and the last."""
    log_file.add("a", _at(1, 3))
    log_file.add("b", _at(4, 3))
    stats = await compute_stats(log_file.path, tz=TOKYO)
    assert [d.asked for d in stats.days] == [1, 0, 0, 1]


async def test_since_starts_at_local_midnight(log_file: QuestionLogFile) -> None:
    """`since` drops what was asked before midnight of that day in Tokyo."""
    log_file.add("old", _at(4, 14, 59))
    log_file.add("new", _at(4, 15, 0))
    stats = await compute_stats(log_file.path, since=date(2026, 2, 5), tz=TOKYO)
    assert stats.asked == 1
    assert stats.days[0].day == date(2026, 2, 5)


async def test_share_articles_and_votes(log_file: QuestionLogFile) -> None:
    """Answered share, articles by first-rank count and the thumbs-up share add up."""
    votes = [("v1", 1, None), ("v2", -1, "違う記事"), ("v3", 1, None)]
    log_file.add("q1", _at(2, 1), tier="answer", articles=[ARTICLE_A, ARTICLE_B], votes=votes)
    log_file.add("q2", _at(2, 2), tier="answer", articles=[ARTICLE_A])
    log_file.add("q3", _at(2, 3), tier="related", articles=[ARTICLE_B, ARTICLE_A])
    log_file.add("q4", _at(2, 4), tier="none")
    stats = await compute_stats(log_file.path, tz=TOKYO)
    assert (stats.asked, stats.answered, stats.answered_share) == (4, 2, 0.5)
    assert [(a.title, a.shown) for a in stats.top_articles] == [
        (ARTICLE_A[0], 2),
        (ARTICLE_B[0], 1),
    ]
    assert (stats.thumbs_up, stats.thumbs_down) == (2, 1)
    assert stats.up_share == 2 / 3


async def test_sections_of_one_article_count_as_that_article(log_file: QuestionLogFile) -> None:
    """Links to different headings of one article add up under the article's own link."""
    title, url = ARTICLE_A
    log_file.add("q1", _at(2, 1), tier="answer", articles=[(title, url + "#intro")])
    log_file.add("q2", _at(2, 2), tier="answer", articles=[(title, url + "#later")])
    stats = await compute_stats(log_file.path, tz=TOKYO)
    assert [(a.url, a.shown) for a in stats.top_articles] == [(url, 2)]


async def test_text_report_reads_in_a_terminal(log_file: QuestionLogFile) -> None:
    """The report states totals and has one line per day."""
    log_file.add("q1", _at(2, 1), tier="answer", articles=[ARTICLE_A])
    log_file.add("q2", _at(3, 1))
    text = format_stats(await compute_stats(log_file.path, tz=TOKYO))
    assert "questions: 2   answered: 1 (50%)" in text
    assert "2026-02-02" in text and "2026-02-03" in text
    assert ARTICLE_A[0] in text


async def test_plot_is_a_png(log_file: QuestionLogFile, tmp_path: Path) -> None:
    """--plot writes a PNG file."""
    log_file.add("q1", _at(2, 1), tier="answer")
    log_file.add("q2", _at(4, 1))
    out = tmp_path / "stats.png"
    plot_stats(await compute_stats(log_file.path, tz=TOKYO), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_one_day_is_plotted_on_a_day_axis(log_file: QuestionLogFile) -> None:
    """A single day drew an hour axis (00:00, 03:00, ...) with one bar across the width."""
    log_file.add("q1", _at(2, 1), tier="answer")
    log_file.add("q2", _at(2, 3))
    figure = stats_figure(await compute_stats(log_file.path, tz=TOKYO))
    try:
        figure.canvas.draw()
        labels = [t.get_text() for t in figure.axes[0].get_xticklabels() if t.get_text()]
    finally:
        plt.close(figure)
    assert labels and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", label) for label in labels)


async def test_the_report_shows_article_links_decoded(log_file: QuestionLogFile) -> None:
    """A percent-encoded Japanese permalink is printed as readers read it."""
    url = "http://localhost:4000/2025/12/11/%E6%97%A5%E6%9C%AC%E8%AA%9E.html"
    log_file.add("q1", _at(2, 1), tier="answer", articles=[("日本語の記事", url)])
    text = format_stats(await compute_stats(log_file.path))
    assert "http://localhost:4000/2025/12/11/日本語.html" in text and "%E6" not in text
