"""Rows of the question log and the SQL that writes them.

A :class:`QuestionRecord` is turned into plain rows (:class:`QuestionRow`,
:class:`VoteRow`) as soon as it is recorded, so the writer queue and the spill file
never depend on the answer types, and a spilled row can be written back years later.

Times are stored as UTC text in one fixed-width form, ``2024-05-01T00:30:00.000000Z``,
so comparing the strings in SQL compares the instants.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from bot.retrieval.answers import Answer

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
LANGUAGES = frozenset({"ja", "en", "other"})


class QuestionLogError(Exception):
    """The question log cannot be used as asked; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a question came from; ids only, never names."""

    source: Literal["cli", "discord"]
    guild_id: int | None = None
    channel_id: int | None = None
    user_hash: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """One question as asked and answered, ready to be logged."""

    id: str
    asked_at: datetime  # aware; stored in UTC
    origin: Origin
    answer: Answer
    model: str = ""


def new_question_id() -> str:
    """An id for a question that has no Discord interaction id (the CLI)."""
    return uuid.uuid4().hex


def format_time(moment: datetime) -> str:
    """The stored form of an aware datetime: fixed-width UTC with a trailing ``Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("question log times must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def read_only_uri(db_path: Path) -> str:
    """An SQLite URI that can never write, so readers run safely beside the bot."""
    return f"{db_path.resolve().as_uri()}?mode=ro"


def parse_time(text: str) -> datetime:
    """The aware UTC datetime of a stored time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One row of ``results``.

    ``excerpt`` (the text shown, its sentence in ``**…**``) and ``tier`` (the excerpt's
    own) default to None, so a spilled row written before they were kept still loads.
    """

    rank: int
    source: str
    title: str
    url: str
    passage_id: str
    heading: str | None
    score: float
    excerpt: str | None = None
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """One row of ``questions`` with its ``results``."""

    id: str
    asked_at: str
    question: str
    language: str
    source: str
    guild_id: str | None
    channel_id: str | None
    user_hash: str | None
    tier: str
    answered: int
    best_score: float
    latency_ms: float
    index_version: str
    model: str
    results: tuple[ResultRow, ...] = ()

    @classmethod
    def from_record(cls, record: QuestionRecord) -> QuestionRow:
        answer, origin = record.answer, record.origin
        return cls(
            id=record.id,
            asked_at=format_time(record.asked_at),
            question=answer.question,
            language=answer.language if answer.language in LANGUAGES else "other",
            source=origin.source,
            guild_id=_text_id(origin.guild_id),
            channel_id=_text_id(origin.channel_id),
            user_hash=origin.user_hash,
            tier=answer.tier,
            answered=int(answer.tier == "answer"),
            best_score=float(answer.confidence),
            latency_ms=float(answer.latency_ms),
            index_version=answer.index_version,
            model=record.model,
            results=tuple(
                ResultRow(
                    rank=r.rank,
                    source=r.source,
                    title=r.title,
                    url=r.url,
                    passage_id=r.passage_id,
                    heading=r.heading,
                    score=r.confidence,
                    excerpt=r.excerpt,
                    tier=r.tier,
                )
                for r in answer.results
            ),
        )


@dataclass(frozen=True, slots=True)
class VoteRow:
    """One row of ``feedback``: a reader's thumbs up (1) or down (-1)."""

    question_id: str
    voter_hash: str
    vote: int
    reason: str | None
    voted_at: str


Row = QuestionRow | VoteRow


def row_count(row: Row) -> int:
    """Database rows a queued row stands for: a question counts its results too."""
    return 1 + len(row.results) if isinstance(row, QuestionRow) else 1


def _text_id(value: int | None) -> str | None:
    """Discord snowflakes are kept as text: they overflow a JavaScript number."""
    return None if value is None else str(value)


def row_to_json(row: Row) -> dict[str, Any]:
    """The spill-file form of a row."""
    kind = "question" if isinstance(row, QuestionRow) else "vote"
    return {"kind": kind, **asdict(row)}


def row_from_json(data: dict[str, Any]) -> Row:
    """Inverse of :func:`row_to_json`; raises ``TypeError``/``KeyError`` on a bad line."""
    fields = {k: v for k, v in data.items() if k != "kind"}
    if data["kind"] == "vote":
        return VoteRow(**fields)
    if data["kind"] != "question":
        raise KeyError(data["kind"])
    results = tuple(ResultRow(**r) for r in fields.pop("results"))
    return QuestionRow(**fields, results=results)


INSERT_QUESTION = """
INSERT INTO questions (id, asked_at, question, language, source, guild_id, channel_id,
    user_hash, tier, answered, best_score, latency_ms, index_version, model)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
INSERT_RESULT = """
INSERT OR REPLACE INTO results (question_id, rank, source, title, url, passage_id, heading, score,
    excerpt, tier)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
UPSERT_VOTE = """
INSERT INTO feedback (question_id, voter_hash, vote, reason, voted_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (question_id, voter_hash)
DO UPDATE SET vote = excluded.vote, reason = excluded.reason, voted_at = excluded.voted_at
"""


async def write_row(conn: aiosqlite.Connection, row: Row) -> None:
    """Write one row inside the caller's transaction; idempotent for questions."""
    if isinstance(row, VoteRow):
        await conn.execute(
            UPSERT_VOTE, (row.question_id, row.voter_hash, row.vote, row.reason, row.voted_at)
        )
        return
    await conn.execute(
        INSERT_QUESTION,
        (
            row.id, row.asked_at, row.question, row.language, row.source, row.guild_id,
            row.channel_id, row.user_hash, row.tier, row.answered, row.best_score,
            row.latency_ms, row.index_version, row.model,
        ),
    )  # fmt: skip
    await conn.execute("DELETE FROM results WHERE question_id = ?", (row.id,))
    await conn.executemany(
        INSERT_RESULT,
        [
            (
                row.id,
                r.rank,
                r.source,
                r.title,
                r.url,
                r.passage_id,
                r.heading,
                r.score,
                r.excerpt,
                r.tier,
            )
            for r in row.results
        ],
    )


async def write_rows(conn: aiosqlite.Connection, rows: list[Row]) -> list[Exception | None]:
    """Write rows in one transaction; a row that breaks a constraint is skipped alone.

    Returns, per row, ``None`` or the ``IntegrityError`` that rejected it (a vote for a
    question that does not exist). Any other error rolls the whole batch back and is
    raised: the rows stay with the caller to be retried.
    """
    outcomes: list[Exception | None] = []
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for row in rows:
            outcomes.append(await _write_isolated(conn, row))
        await conn.commit()
    except BaseException:
        await rollback_quietly(conn)
        raise
    return outcomes


async def _write_isolated(conn: aiosqlite.Connection, row: Row) -> Exception | None:
    await conn.execute("SAVEPOINT row")
    try:
        await write_row(conn, row)
    except sqlite3.IntegrityError as exc:
        await conn.execute("ROLLBACK TO row")
        await conn.execute("RELEASE row")
        return exc
    await conn.execute("RELEASE row")
    return None


async def rollback_quietly(conn: aiosqlite.Connection) -> None:
    try:
        if conn.in_transaction:
            await conn.rollback()
    except sqlite3.Error:
        pass  # the connection is being replaced anyway


async def connect(path: Path, *, busy_timeout_ms: int) -> aiosqlite.Connection:
    """A read-write connection in WAL mode with foreign keys on, autocommit by default."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await conn.close()
        raise
    return conn
