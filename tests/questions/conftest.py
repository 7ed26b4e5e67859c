"""Fixtures for the question log: fake answers and records, and a fresh database path."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.questions import Origin, QuestionRecord
from bot.retrieval.answers import Answer, Result, Tier

MakeAnswer = Callable[..., Answer]
MakeRecord = Callable[..., QuestionRecord]

_ids = itertools.count(1)


def fake_answer(
    question: str = "Jekyllのテーマを変えるには？",
    tier: Tier = "answer",
    results: int = 2,
    best_score: float = 0.82,
    language: str = "ja",
) -> Answer:
    """An answer shaped like the real pipeline's, with ``results`` excerpts.

    The first excerpt has the answer's tier; later ones of an answer are only related.
    """
    hits = tuple(
        Result(
            title=f"記事 {rank}",
            url=f"https://blog.example/posts/{rank}/",
            date="2024-05-01",
            heading=f"見出し {rank}" if rank % 2 else None,
            excerpt=f"…**テーマ** {rank}…",
            confidence=round(best_score - 0.1 * (rank - 1), 4),
            source=f"_posts/2024-05-0{rank}-post.md",
            passage_id=f"p{rank}",
            rank=rank,
            tier="related" if tier == "answer" and rank > 1 else tier,
        )
        for rank in range(1, results + 1)
    )
    return Answer(
        question=question,
        tier=tier,
        results=hits,
        confidence=best_score,
        language=language,
        index_version="idx-1",
        latency_ms=12.5,
    )


def fake_record(
    *,
    id: str | None = None,
    asked_at: datetime | None = None,
    source: str = "discord",
    guild_id: int | None = 111,
    channel_id: int | None = 222,
    user_hash: str | None = "u-hash-1",
    **answer: Any,
) -> QuestionRecord:
    """A record with a fresh id unless one is given."""
    return QuestionRecord(
        id=id or f"q{next(_ids)}",
        asked_at=asked_at or datetime(2024, 5, 1, 3, 0, tzinfo=UTC),
        origin=Origin(source, guild_id, channel_id, user_hash),  # type: ignore[arg-type]
        answer=fake_answer(**answer),
        model="test-model",
    )


@pytest.fixture
def make_answer() -> MakeAnswer:
    return fake_answer


@pytest.fixture
def make_record() -> MakeRecord:
    return fake_record


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "questions.db"


async def wait_until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Let the event loop run until ``predicate`` holds; fail after a generous limit."""
    for _ in range(int(limit_s / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the database with a plain sqlite3 connection, as another process would."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class ExclusiveLock:
    """Another connection holding ``BEGIN EXCLUSIVE`` until released."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=5)
        self._conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        self._conn.close()


def make_file(path: Path, script: str, version: int) -> None:
    """A hand-made SQLite file with ``script`` applied and ``user_version`` set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
