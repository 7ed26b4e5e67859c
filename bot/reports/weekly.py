"""The editors' weekly view as data: what readers asked, what the blog answered, what to do.

Every part reuses the report that already computes it, so the page, ``stats`` and ``gaps``
never disagree: weeks are sums of :func:`bot.reports.stats.per_day` days, the open gaps are
:func:`bot.reports.gaps.find_gaps` (grouped by meaning, covered questions left out), covers
come from :mod:`bot.reports.covers`. What each reader was shown comes from ``results``
(excerpt, link, tier; questions logged before the excerpt was stored show the link only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

import aiosqlite

from bot.embedding.models import Embedder
from bot.questions.store import parse_time, read_only_uri
from bot.reports.covers import CoverOutcome, cover_outcomes
from bot.reports.gaps import DEFAULT_THRESHOLD, GapGroup, day_start_utc, find_gaps
from bot.reports.stats import ArticleCount, DayCount, compute_stats

SHOWN_PER_QUESTION = 3  # excerpts listed under a question (a reply shows up to five)

_RECENT_SQL = """
SELECT q.id, q.asked_at, q.question, q.tier FROM questions AS q
WHERE q.asked_at >= :since ORDER BY q.asked_at DESC, q.id LIMIT :limit
"""
_DOWNVOTED_SQL = """
SELECT q.id, q.asked_at, q.question, q.tier,
       SUM(f.vote = -1) AS down, SUM(f.vote = 1) AS up,
       group_concat(f.reason, ' / ') AS reasons
FROM feedback AS f JOIN questions AS q ON q.id = f.question_id
WHERE q.asked_at >= :since
GROUP BY q.id HAVING down > 0
ORDER BY down DESC, up ASC, q.asked_at DESC LIMIT :limit
"""
_SHOWN_SQL = """
SELECT r.question_id, r.title, r.url, r.excerpt, r.tier FROM results AS r
WHERE r.question_id IN (SELECT value FROM json_each(:ids)) AND r.rank <= :per_question
ORDER BY r.question_id, r.rank
"""


@dataclass(frozen=True)
class WeekCount:
    start: date  # the week's Monday, in the settings' timezone
    asked: int
    answered: int

    @property
    def share(self) -> float | None:
        return self.answered / self.asked if self.asked else None


@dataclass(frozen=True)
class Shown:
    """One excerpt a reader was shown."""

    title: str
    url: str
    excerpt: str | None  # None for questions logged before excerpts were stored
    tier: str | None


@dataclass(frozen=True)
class AskedQuestion:
    """A question with what its reader was shown (and readers' votes, where asked for)."""

    asked_at: datetime  # in the settings' timezone
    question: str
    tier: str
    shown: tuple[Shown, ...]
    down: int = 0
    up: int = 0
    reasons: str | None = None


@dataclass(frozen=True)
class EditorsReport:
    since: date
    until: date
    weeks: tuple[WeekCount, ...]
    open_gaps: tuple[GapGroup, ...]
    covers: tuple[CoverOutcome, ...]
    articles: tuple[ArticleCount, ...]
    downvoted: tuple[AskedQuestion, ...]
    recent: tuple[AskedQuestion, ...]

    @property
    def asked(self) -> int:
        return sum(w.asked for w in self.weeks)

    @property
    def answered(self) -> int:
        return sum(w.answered for w in self.weeks)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def per_week(days: Sequence[DayCount], first: date, last: date) -> tuple[WeekCount, ...]:
    """Sum days into Monday-based weeks from `first`'s week to `last`'s, empty ones included."""
    asked: dict[date, int] = {}
    answered: dict[date, int] = {}
    for day in days:
        week = week_start(day.day)
        asked[week] = asked.get(week, 0) + day.asked
        answered[week] = answered.get(week, 0) + day.answered
    weeks, week = [], week_start(first)
    while week <= last:
        weeks.append(WeekCount(week, asked.get(week, 0), answered.get(week, 0)))
        week += timedelta(days=7)
    return tuple(weeks)


async def build_report(
    db_path: Path,
    embedder: Embedder,
    *,
    tz: tzinfo = UTC,
    weeks: int = 12,
    now: datetime | None = None,
    top: int = 10,
    recent: int = 20,
    threshold: float = DEFAULT_THRESHOLD,
) -> EditorsReport:
    """The last `weeks` weeks (this one included) of the log, in the settings' timezone."""
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    since = week_start(today) - timedelta(days=7 * (weeks - 1))
    stats = await compute_stats(db_path, since=since, tz=tz, top_articles=top)
    gaps = await find_gaps(db_path, embedder, since=since, top=top, tz=tz, threshold=threshold)
    covers = await cover_outcomes(db_path, embedder, tz=tz, threshold=threshold)
    start = day_start_utc(since, tz)
    recent_rows, downvoted_rows = await _questions(db_path, start, tz, recent, top)
    return EditorsReport(
        since=since,
        until=today,
        weeks=per_week(stats.days, since, today),
        open_gaps=tuple(gaps),
        covers=tuple(covers),
        articles=stats.top_articles,
        downvoted=tuple(downvoted_rows),
        recent=tuple(recent_rows),
    )


async def _questions(
    db_path: Path, since: str | None, tz: tzinfo, recent: int, top: int
) -> tuple[list[AskedQuestion], list[AskedQuestion]]:
    """The latest questions and the most downvoted, each with the excerpts shown."""
    async with aiosqlite.connect(read_only_uri(db_path), uri=True) as db:
        recent_rows = list(
            await db.execute_fetchall(_RECENT_SQL, {"since": since, "limit": recent})
        )
        down_rows = list(await db.execute_fetchall(_DOWNVOTED_SQL, {"since": since, "limit": top}))
        ids = [str(row[0]) for row in (*recent_rows, *down_rows)]
        shown: dict[str, list[Shown]] = {}
        params = {"ids": json.dumps(ids), "per_question": SHOWN_PER_QUESTION}
        for qid, title, url, excerpt, tier in await db.execute_fetchall(_SHOWN_SQL, params):
            shown.setdefault(str(qid), []).append(
                Shown(str(title), str(url), _text(excerpt), _text(tier))
            )
    return (
        [
            AskedQuestion(
                parse_time(str(at)).astimezone(tz), str(q), str(tier), tuple(shown.get(str(i), ()))
            )
            for i, at, q, tier in recent_rows
        ],
        [
            AskedQuestion(
                parse_time(str(at)).astimezone(tz),
                str(q),
                str(tier),
                tuple(shown.get(str(i), ())),
                down=int(down),
                up=int(up),
                reasons=_text(reasons),
            )
            for i, at, q, tier, down, up, reasons in down_rows
        ],
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
