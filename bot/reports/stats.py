"""How the bot is doing, for editors: questions per day, answer rate, articles, votes.

Days are counted in the site's timezone (a question asked at 23:30 in Tokyo belongs to that
Tokyo day, although it is stored in UTC), so the report matches what editors see on the blog.
The database is opened read-only; the bot may keep writing while a report runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import aiosqlite
import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from bot.questions.store import parse_time, read_only_uri
from bot.reports.gaps import day_start_utc
from bot.reports.gaps_format import fit
from bot.reports.links import readable_url

log = logging.getLogger(__name__)

_SINCE = "(:since IS NULL OR q.asked_at >= :since)"
_QUESTIONS_SQL = f"SELECT q.asked_at, q.answered FROM questions AS q WHERE {_SINCE}"
_TOP_ARTICLES_SQL = f"""
SELECT MIN(r.title), substr(MIN(r.url), 1, instr(MIN(r.url) || '#', '#') - 1) AS url,
       COUNT(*) AS shown
FROM results AS r JOIN questions AS q ON q.id = r.question_id
WHERE r.rank = (SELECT MIN(rank) FROM results WHERE question_id = q.id) AND {_SINCE}
GROUP BY r.source ORDER BY shown DESC, url LIMIT :limit
"""
_VOTES_SQL = f"""
SELECT f.vote, COUNT(*) FROM feedback AS f JOIN questions AS q ON q.id = f.question_id
WHERE {_SINCE} GROUP BY f.vote
"""


@dataclass(frozen=True)
class DayCount:
    day: date  # in the settings' timezone
    asked: int
    answered: int


@dataclass(frozen=True)
class ArticleCount:
    title: str
    url: str
    shown: int  # questions for which it was the first result


@dataclass(frozen=True)
class Stats:
    days: tuple[DayCount, ...]  # every day from the first to the last, empty days included
    top_articles: tuple[ArticleCount, ...]
    thumbs_up: int
    thumbs_down: int

    @property
    def asked(self) -> int:
        return sum(d.asked for d in self.days)

    @property
    def answered(self) -> int:
        return sum(d.answered for d in self.days)

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    @property
    def up_share(self) -> float | None:
        votes = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / votes if votes else None


async def compute_stats(
    db_path: Path, *, since: date | None = None, tz: tzinfo = UTC, top_articles: int = 10
) -> Stats:
    """Read the question log once and summarise it."""
    params: dict[str, object] = {"since": day_start_utc(since, tz), "limit": top_articles}
    async with aiosqlite.connect(read_only_uri(db_path), uri=True) as db:
        questions = list(await db.execute_fetchall(_QUESTIONS_SQL, params))
        articles = list(await db.execute_fetchall(_TOP_ARTICLES_SQL, params))
        votes = {int(v): int(n) for v, n in await db.execute_fetchall(_VOTES_SQL, params)}
    return Stats(
        days=per_day([(parse_time(str(at)), bool(ok)) for at, ok in questions], tz, since),
        top_articles=tuple(ArticleCount(str(t), str(u), int(n)) for t, u, n in articles),
        thumbs_up=int(votes.get(1, 0)),
        thumbs_down=int(votes.get(-1, 0)),
    )


def per_day(
    asked: list[tuple[datetime, bool]], tz: tzinfo, since: date | None = None
) -> tuple[DayCount, ...]:
    """Count questions per local day, filling the days on which nobody asked."""
    if not asked:
        return ()
    days = Counter(moment.astimezone(tz).date() for moment, _ in asked)
    hits = Counter(moment.astimezone(tz).date() for moment, ok in asked if ok)
    day, last = since or min(days), max(days)
    out = []
    while day <= last:
        out.append(DayCount(day, days[day], hits[day]))
        day += timedelta(days=1)
    return tuple(out)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def format_stats(stats: Stats, bar_width: int = 40) -> str:
    """A plain-text report: totals, a bar per day, the most shown articles."""
    if not stats.days:
        return "no questions in this period"
    lines = [
        f"questions: {stats.asked}   answered: {stats.answered} "
        f"({_percent(stats.answered_share)})   "
        f"votes: 👍 {stats.thumbs_up} / 👎 {stats.thumbs_down} "
        f"({_percent(stats.up_share)} positive)",
        "",
        "day          asked  answered",
    ]
    peak = max(d.asked for d in stats.days) or 1
    for d in stats.days:
        bar = "█" * round(d.asked / peak * bar_width)
        lines.append(f"{d.day:%Y-%m-%d}  {d.asked:5d}  {d.answered:8d}  {bar}")
    if stats.top_articles:
        lines += ["", "articles shown first   (questions)"]
        lines += [
            f"{fit(a.title, 60)}  {a.shown:5d}  {readable_url(a.url)}" for a in stats.top_articles
        ]
    return "\n".join(line.rstrip() for line in lines)


def plot_stats(stats: Stats, path: Path) -> None:
    """Bars of questions per day and a line of the answered share, saved as PNG."""
    from matplotlib import pyplot as plt

    figure = stats_figure(stats)
    try:
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    log.debug("wrote %s", path)


def stats_figure(stats: Stats) -> Figure:
    """The figure of `plot_stats`. Its x axis counts days for any range: one day used to
    get an hour axis with a single bar across the whole width."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    days = np.array([d.day for d in stats.days], dtype="datetime64[D]")
    shares = [d.answered / d.asked * 100 if d.asked else float("nan") for d in stats.days]
    figure, bars = plt.subplots(figsize=(10, 4.5), dpi=100)
    bars.bar(days, [d.asked for d in stats.days], width=0.8, color="#8fb3d9", label="questions")
    bars.set_ylabel("questions per day")
    share_axis = bars.twinx()
    share_axis.plot(days, shares, color="#d1495b", marker="o", label="answered %")
    share_axis.set_ylim(0, 105)
    share_axis.set_ylabel("answered (%)")
    if len(days):
        half = np.timedelta64(12, "h")
        bars.set_xlim(days[0] - half, days[-1] + half)
    every = max(1, len(days) // 10 + 1)  # at most about ten labelled days
    bars.xaxis.set_major_locator(mdates.DayLocator(interval=every))  # type: ignore[no-untyped-call]
    bars.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
    bars.set_title("Reader questions per day and share answered")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
