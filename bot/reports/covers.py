"""Closing the loop on a gap: mark it covered by an article, then see whether it worked.

An editor who writes or fixes an article for a gap group marks the group covered
(``python -m bot gaps --covered KEY URL``). Its questions leave the open list at once.
Whether the article really answers is only known from readers: every question asked after
the cover that is as alike to one of the cover's questions as two wordings of one group
(the gaps threshold, one rule for both) is counted, with the tier it got. Those still
unanswered are also in the open list again, as a new group: a cover never hides a new
question.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import aiosqlite
import numpy as np

from bot.embedding.models import Embedder
from bot.questions.covers import add_cover
from bot.questions.store import QuestionLogError, format_time, parse_time, read_only_uri
from bot.reports.gaps import (
    DEFAULT_THRESHOLD,
    GapGroup,
    find_gaps,
    group_key,
    normalise,
)

LATER_SHOWN = 5  # later questions listed under a cover, newest first

_COVERS_SQL = "SELECT id, url, covered_at FROM gap_covers ORDER BY covered_at DESC, id DESC"
_MEMBERS_SQL = """
SELECT c.cover_id, q.question FROM gap_cover_questions AS c
JOIN questions AS q ON q.id = c.question_id
"""
_LATER_SQL = """
SELECT q.question, q.tier, q.asked_at FROM questions AS q
WHERE q.asked_at > :since AND q.id NOT IN (SELECT question_id FROM gap_cover_questions)
ORDER BY q.asked_at DESC
"""


class GapNotFound(QuestionLogError):
    """No open gap group has the key an editor gave."""


@dataclass(frozen=True)
class LaterQuestion:
    question: str
    tier: str
    asked_at: datetime  # in the settings' timezone


@dataclass(frozen=True)
class CoverOutcome:
    """A covered gap and what readers who asked like it since were told."""

    id: int
    url: str
    covered_at: datetime  # in the settings' timezone
    example: str | None  # the most asked wording still in the log (None once all are gone)
    covered: int  # its questions still in the log
    later: tuple[LaterQuestion, ...]  # newest first, at most LATER_SHOWN
    later_asked: int
    later_answered: int

    @property
    def key(self) -> str | None:
        return group_key(self.example) if self.example is not None else None

    @property
    def later_share(self) -> float | None:
        """Share of later alike questions that got `answer` (None: nobody asked yet)."""
        return self.later_answered / self.later_asked if self.later_asked else None


async def cover_gap(
    db_path: Path,
    embedder: Embedder,
    group: str,
    url: str,
    *,
    tz: tzinfo = UTC,
    threshold: float = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> tuple[int, GapGroup]:
    """Mark the open group `group` (its key, or its example wording) covered by `url`."""
    groups = await find_gaps(db_path, embedder, top=None, tz=tz, threshold=threshold)
    wanted = group.strip().casefold()
    found = next((g for g in groups if g.key == wanted), None) or next(
        (g for g in groups if normalise(g.example) == normalise(group)), None
    )
    if found is None:
        raise GapNotFound(
            f"no open gap group {group!r}: run `python -m bot gaps` for the current keys"
        )
    cover_id = await add_cover(db_path, url, found.question_ids, now or datetime.now(UTC))
    return cover_id, found


async def cover_outcomes(
    db_path: Path,
    embedder: Embedder,
    *,
    tz: tzinfo = UTC,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[CoverOutcome]:
    """Every cover, newest first, with the questions like it asked since."""
    async with aiosqlite.connect(read_only_uri(db_path), uri=True) as db:
        covers = [
            (int(i), str(u), parse_time(str(t)))
            for i, u, t in await db.execute_fetchall(_COVERS_SQL)
        ]
        if not covers:
            return []
        members: dict[int, list[str]] = {}
        for cover_id, question in await db.execute_fetchall(_MEMBERS_SQL):
            members.setdefault(int(cover_id), []).append(str(question))
        since = format_time(min(t for _, _, t in covers))
        later = [
            (str(q), str(tier), parse_time(str(at)))
            for q, tier, at in await db.execute_fetchall(_LATER_SQL, {"since": since})
        ]
    alike = await asyncio.to_thread(_alike, embedder, members, later, threshold)
    return [
        _outcome(cover_id, url, at, members.get(cover_id, []), later, alike.get(cover_id), tz)
        for cover_id, url, at in covers
    ]


def _alike(
    embedder: Embedder,
    members: dict[int, list[str]],
    later: Sequence[tuple[str, str, datetime]],
    threshold: float,
) -> dict[int, np.ndarray]:
    """Per cover, a mask over `later`: alike to one of its questions (times not checked)."""
    if not later or not members:
        return {}
    texts = sorted({q for qs in members.values() for q in qs} | {q for q, _, _ in later})
    row = {text: i for i, text in enumerate(texts)}
    vectors = np.asarray(embedder.embed_queries(texts), dtype=np.float32)
    later_vectors = vectors[[row[q] for q, _, _ in later]]
    return {
        cover_id: np.asarray(
            (later_vectors @ vectors[[row[q] for q in qs]].T >= threshold).any(axis=1), dtype=bool
        )
        for cover_id, qs in members.items()
    }


def _outcome(
    cover_id: int,
    url: str,
    covered_at: datetime,
    questions: Sequence[str],
    later: Sequence[tuple[str, str, datetime]],
    alike: np.ndarray | None,
    tz: tzinfo,
) -> CoverOutcome:
    since = [
        LaterQuestion(q, tier, at.astimezone(tz))
        for (q, tier, at), like in zip(later, alike if alike is not None else [], strict=False)
        if like and at > covered_at
    ]
    example = Counter(questions).most_common(1)[0][0] if questions else None
    return CoverOutcome(
        id=cover_id,
        url=url,
        covered_at=covered_at.astimezone(tz),
        example=example,
        covered=len(questions),
        later=tuple(since[:LATER_SHOWN]),
        later_asked=len(since),
        later_answered=sum(1 for q in since if q.tier == "answer"),
    )
