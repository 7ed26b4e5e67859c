"""The editors' page at ``/``: the weekly chart, grouped gaps, covers, what readers saw."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from datasette.app import Datasette

from bot.reports.covers import cover_gap, cover_outcomes
from bot.reports.editors import make_datasette
from bot.reports.editors_app import CachedQueries, PageUnavailable
from bot.reports.editors_html import chart_svg, emphasised
from bot.reports.gaps import find_gaps
from bot.reports.links import readable_url
from bot.reports.stats import DayCount
from bot.reports.weekly import WeekCount, per_week
from tests.fakes import HashEmbedder

from .conftest import ARTICLE_A, QuestionLogFile, make_settings

ENCODED = "http://localhost:4000/2025/12/11/a.html#4-neovim-%E3%81%AE%E9%96%8B%E7%99%BA"
DECODED = "http://localhost:4000/2025/12/11/a.html#4-neovim-の開発"


def show(log: QuestionLogFile, question_id: str, excerpt: str, url: str = ENCODED) -> None:
    """Give a logged question's first result the excerpt and link a reader was shown."""
    with sqlite3.connect(log.path) as db:
        db.execute(
            "UPDATE results SET excerpt = ?, tier = 'answer', url = ? "
            "WHERE question_id = ? AND rank = 1",
            (excerpt, url, question_id),
        )


async def page(ds: Datasette, path: str = "/") -> str:
    response = await ds.client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return str(response.text)


def view(log: QuestionLogFile) -> Datasette:
    return make_datasette(make_settings(log.path, timezone="Asia/Tokyo"), HashEmbedder)


async def test_the_page_shows_weeks_gaps_articles_votes_and_what_was_shown(
    sample_log: QuestionLogFile,
) -> None:
    """Every section is filled from the log: nothing on the page is fixed text only."""
    asked = sample_log.add(
        "Neovimの開発はどうなった？",
        datetime.now(UTC) - timedelta(hours=1),
        tier="answer",
        articles=[ARTICLE_A],
    )
    show(sample_log, asked, "前置き。**Neovim の開発は続いています。** 後の文。")
    html = await page(view(sample_log), "/?weeks=4")

    weeks = re.findall(r'<g class="week" data-week="([\d-]+)" data-asked="(\d+)"', html)
    assert len(weeks) == 4
    assert sum(int(n) for _, n in weeks) == 8 - 1  # the 30-day-old question is older
    assert 'id="total-asked">7<' in html
    gap_rows = re.findall(r'<tr class="gap" data-key="(\w+)">', html)
    assert len(gap_rows) == 2  # 発売日 (three wordings in one group) and 料金
    assert "Llama 4の発売日は？" in html and "llama 4 の発売日は?" in html
    assert "python -m bot gaps --covered " + gap_rows[0] + " URL" in html
    assert "MetaがLlama 4で画像生成能力を強化" in html  # most asked article
    assert "古い情報" in html  # a downvote's reason
    assert "<strong>Neovim の開発は続いています。</strong>" in html
    assert f">{DECODED}<" in html and f'href="{ENCODED}"' in html


async def test_groups_on_the_page_are_the_groups_of_gaps(sample_log: QuestionLogFile) -> None:
    """One grouping: the page lists exactly the keys `find_gaps` returns, in its order."""
    html = await page(view(sample_log))
    expected = await find_gaps(sample_log.path, HashEmbedder(), since=None, tz=UTC)
    listed = re.findall(r'<tr class="gap" data-key="(\w+)">', html)
    assert listed == [g.key for g in expected]  # 12 weeks include the 30-day-old question
    assert len(listed) == 3


async def test_a_covered_group_leaves_the_open_list_and_shows_later_answers(
    sample_log: QuestionLogFile,
) -> None:
    """Marked covered, the group moves to the covered table; a later question like it that
    got `answer` is counted there, one still unanswered comes back as an open gap."""
    embedder = HashEmbedder()
    url = "https://blog.example/2026/llama-4-%E7%99%BA%E5%A3%B2%E6%97%A5.html"
    groups = await find_gaps(sample_log.path, embedder, tz=UTC)
    target = next(g for g in groups if g.example == "Llama 4の発売日は？")
    covered_at = datetime.now(UTC) - timedelta(hours=3)
    cover_id, found = await cover_gap(
        sample_log.path, embedder, target.key, url, tz=UTC, now=covered_at
    )
    assert found.question_ids == target.question_ids and len(found.question_ids) == 3
    later = datetime.now(UTC) - timedelta(hours=2)
    sample_log.add("Llama 4の発売日は？", later, tier="answer", articles=[ARTICLE_A])
    html = await page(view(sample_log))

    assert target.key not in re.findall(r'<tr class="gap" data-key="(\w+)">', html)
    row = re.search(
        rf'<tr class="cover" data-cover="{cover_id}" data-later-asked="(\d+)" '
        r'data-later-answered="(\d+)">(.*?)</tr>',
        html,
        re.DOTALL,
    )
    assert row is not None
    assert row.group(1, 2) == ("1", "1")
    assert "回答できている / now answered" in row.group(3)
    assert ">https://blog.example/2026/llama-4-発売日.html<" in row.group(3)

    sample_log.add("Llama 4の発売日は？", later, tier="none")
    outcome = (await cover_outcomes(sample_log.path, embedder, tz=UTC))[0]
    assert (outcome.later_asked, outcome.later_answered) == (2, 1)
    reopened = await find_gaps(sample_log.path, embedder, tz=UTC)
    assert [g.size for g in reopened if g.key == target.key] == [1]


async def test_questions_asked_before_a_cover_are_not_counted_as_later(
    log_file: QuestionLogFile,
) -> None:
    """Only questions after the cover say whether the article answers."""
    embedder = HashEmbedder()
    now = datetime.now(UTC)
    log_file.add("Rustの入門記事は？", now - timedelta(days=3))
    log_file.add("Rustの入門記事は？", now - timedelta(days=2), tier="answer")
    key = (await find_gaps(log_file.path, embedder))[0].key
    await cover_gap(log_file.path, embedder, key, "https://b.example/rust", now=now)
    (outcome,) = await cover_outcomes(log_file.path, embedder)
    assert (outcome.covered, outcome.later_asked, outcome.later_share) == (1, 0, None)


async def test_the_page_says_when_the_model_cannot_load(sample_log: QuestionLogFile) -> None:
    """A missing model is a 503 page with its one-line reason, not a traceback."""

    def missing() -> HashEmbedder:
        raise PageUnavailable("model 'x' not found: run `python -m bot model`")

    ds = make_datasette(make_settings(sample_log.path), missing)
    response = await ds.client.get("/")
    assert response.status_code == 503
    assert "model &#39;x&#39; not found" in response.text


async def test_hostile_text_is_escaped_on_the_page(log_file: QuestionLogFile) -> None:
    """A question or an excerpt holding markup is shown as text."""
    now = datetime.now(UTC)
    qid = log_file.add('<script>alert("q")</script>', now, tier="answer", articles=[ARTICLE_A])
    show(log_file, qid, '**<img src=x onerror=alert(1)>** and "quotes"', "javascript:alert(1)")
    html = await page(view(log_file))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html
    assert "<strong>&lt;img src=x onerror=alert(1)&gt;</strong>" in html


@pytest.mark.parametrize(
    ("path", "weeks"), [("/?weeks=4", 4), ("/?weeks=0", 12), ("/?weeks=x", 12), ("/editors", 12)]
)
async def test_the_period_is_chosen_in_the_address(
    sample_log: QuestionLogFile, path: str, weeks: int
) -> None:
    html = await page(view(sample_log), path)
    assert len(re.findall(r'<g class="week"', html)) == weeks


def test_per_week_sums_days_into_monday_weeks_and_keeps_empty_weeks() -> None:
    days = [
        DayCount(date(2026, 2, 1), 3, 1),  # a Sunday: the week of Monday 26 January
        DayCount(date(2026, 2, 2), 4, 4),  # Monday
        DayCount(date(2026, 2, 8), 1, 0),  # Sunday
    ]
    weeks = per_week(days, date(2026, 1, 28), date(2026, 2, 18))
    assert weeks == (
        WeekCount(date(2026, 1, 26), 3, 1),
        WeekCount(date(2026, 2, 2), 5, 4),
        WeekCount(date(2026, 2, 9), 0, 0),
        WeekCount(date(2026, 2, 16), 0, 0),
    )


def test_the_chart_draws_one_bar_per_week_in_proportion() -> None:
    weeks = [WeekCount(date(2026, 2, 2), 10, 5), WeekCount(date(2026, 2, 9), 5, 5)]
    svg = str(chart_svg(weeks))
    heights = [float(h) for h in re.findall(r'class="asked"[^>]* height="([\d.]+)"', svg)]
    answered = [float(h) for h in re.findall(r'class="answered"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == 2 and heights[0] == pytest.approx(2 * heights[1])
    assert answered[0] == pytest.approx(heights[0] / 2) and answered[1] == heights[1]
    assert ">50%<" in svg and ">100%<" in svg


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (ENCODED, DECODED),
        ("https://b.example/a%20b", "https://b.example/a%20b"),  # a space stays visible
        ("https://b.example/%E2%80%AEevil", "https://b.example/%E2%80%AEevil"),  # bidi control
        ("https://b.example/%FF%FE", "https://b.example/%FF%FE"),  # not UTF-8: as stored
        ("https://b.example/plain", "https://b.example/plain"),
    ],
)
def test_links_are_decoded_for_reading_but_never_hide_a_character(stored: str, shown: str) -> None:
    assert readable_url(stored) == shown


def test_an_excerpt_keeps_its_emphasis_and_nothing_else() -> None:
    assert (
        str(emphasised("a **b** c **<d>**")) == "a <strong>b</strong> c <strong>&lt;d&gt;</strong>"
    )
    assert str(emphasised(None)) == ""


async def test_datasette_tables_and_queries_show_links_decoded(log_file: QuestionLogFile) -> None:
    """Datasette's own pages show the decoded link too, keeping the stored href."""
    qid = log_file.add("Neovimの開発は？", datetime.now(UTC), tier="none", articles=[ARTICLE_A])
    show(log_file, qid, "抜粋")
    ds = view(log_file)
    for path in ("/questions/results", "/questions/unanswered_this_week"):
        response = await ds.client.get(path)
        assert response.status_code == 200
        assert f'<a href="{ENCODED}">{DECODED}</a>' in response.text, path


def test_the_page_embeds_each_wording_once() -> None:
    """A weekly visit embeds only the wordings it has not seen; the vectors are the model's."""
    model = HashEmbedder()
    cached = CachedQueries(model)
    first = cached.embed_queries(["Vim 10 はいつ出る？", "料金は？"])
    again = cached.embed_queries(["料金は？", "Vim 10 はいつ出る？", "新しい質問"])
    assert model.calls == 3
    assert np.array_equal(again[:2], first[::-1])
    assert np.array_equal(
        again, model.embed_queries(["料金は？", "Vim 10 はいつ出る？", "新しい質問"])
    )
