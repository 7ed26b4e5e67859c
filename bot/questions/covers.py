"""Gaps an editor has closed: which article now answers which unanswered questions.

A cover is written by the editors' command line (``python -m bot gaps --covered``), in its
own short transaction beside the running bot, through the same migrated connection the
bot uses. It holds a URL, a time and the ids of the questions it covers; the question text
stays in ``questions`` only, so retention and forget-me remove it as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.questions.migrations import check_version, open_database, read_version, schema_version
from bot.questions.store import (
    QuestionLogError,
    format_time,
    read_only_uri,
    rollback_quietly,
)

BUSY_TIMEOUT_MS = 5_000


@asynccontextmanager
async def _transaction(db_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A migrated connection in one write transaction, committed or rolled back, closed."""
    conn = await open_database(db_path, BUSY_TIMEOUT_MS)
    try:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            await conn.commit()
        except BaseException:
            await rollback_quietly(conn)
            raise
    finally:
        await conn.close()


async def add_cover(
    db_path: Path, url: str, question_ids: Sequence[str], covered_at: datetime
) -> int:
    """Record that `url` answers the questions `question_ids`; returns the cover's id."""
    if not question_ids:
        raise QuestionLogError("a cover needs at least one question")
    async with _transaction(db_path) as conn:
        cursor = await conn.execute(
            "INSERT INTO gap_covers (url, covered_at) VALUES (?, ?)",
            (url, format_time(covered_at)),
        )
        cover_id = int(cursor.lastrowid or 0)
        await conn.executemany(
            "INSERT OR IGNORE INTO gap_cover_questions (cover_id, question_id) VALUES (?, ?)",
            [(cover_id, question_id) for question_id in question_ids],
        )
    return cover_id


async def remove_cover(db_path: Path, cover_id: int) -> bool:
    """Undo a cover: its questions return to the open list. False when there is none."""
    async with _transaction(db_path) as conn:
        await conn.execute("DELETE FROM gap_cover_questions WHERE cover_id = ?", (cover_id,))
        cursor = await conn.execute("DELETE FROM gap_covers WHERE id = ?", (cover_id,))
    return cursor.rowcount == 1


async def bring_up_to_date(db_path: Path) -> None:
    """Apply the bot's own migrations to a log an older bot wrote, so reports can read it.

    A current log is only read; a log from a newer bot is refused (:class:`NewerSchema`).
    """
    async with aiosqlite.connect(read_only_uri(db_path), uri=True) as reader:
        found = await read_version(reader)
    check_version(found, db_path)
    if found < schema_version():
        conn = await open_database(db_path, BUSY_TIMEOUT_MS)
        await conn.close()
