"""The question log's schema as append-only numbered migrations.

Other modules (gaps, stats, the editors' view) query these tables directly, so a
released script is never edited: a change is a new script appended to
:data:`MIGRATIONS`. ``PRAGMA user_version`` records how many scripts a file has had,
so opening an older file brings it up to date, and a file from a newer bot is refused
rather than half-understood.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from bot.questions.store import QuestionLogError, connect

# asked_at / voted_at: UTC text, fixed width, e.g. 2024-05-01T00:30:00.000000Z.
# guild_id / channel_id: Discord snowflakes as text. user_hash / voter_hash: HMAC hex.
SCHEMA_V1 = """
CREATE TABLE questions (
  id TEXT PRIMARY KEY,
  asked_at TEXT NOT NULL,
  question TEXT NOT NULL,
  language TEXT NOT NULL,
  source TEXT NOT NULL,
  guild_id TEXT, channel_id TEXT,
  user_hash TEXT,
  tier TEXT NOT NULL CHECK (tier IN ('answer','related','none')),
  answered INTEGER NOT NULL,
  best_score REAL NOT NULL,
  latency_ms REAL NOT NULL,
  index_version TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT ''
);
CREATE INDEX questions_asked_at ON questions (asked_at);
CREATE INDEX questions_guild_asked_at ON questions (guild_id, asked_at);
CREATE INDEX questions_user_hash ON questions (user_hash);
CREATE TABLE results (
  question_id TEXT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
  rank INTEGER NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL, url TEXT NOT NULL,
  passage_id TEXT NOT NULL, heading TEXT, score REAL NOT NULL,
  PRIMARY KEY (question_id, rank)
);
CREATE TABLE feedback (
  question_id TEXT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
  voter_hash TEXT NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), reason TEXT,
  voted_at TEXT NOT NULL, PRIMARY KEY (question_id, voter_hash)
);
CREATE INDEX feedback_voter_hash ON feedback (voter_hash);
"""

MIGRATIONS: tuple[str, ...] = (SCHEMA_V1,)


def schema_version() -> int:
    """The version this code writes: the number of migrations."""
    return len(MIGRATIONS)


def check_version(found: int, path: Path) -> None:
    """Refuse a file written by a newer bot: its rows may mean something we don't know."""
    if found > schema_version():
        raise QuestionLogError(
            f"{path} was written by a newer version "
            f"(schema {found} > {schema_version()}); upgrade the bot"
        )


async def read_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (a trigger body stays whole)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:60]!r}")
    return statements


async def migrate(conn: aiosqlite.Connection, path: Path) -> int:
    """Apply the missing migrations, each in its own transaction; returns the old version."""
    found = await read_version(conn)
    check_version(found, path)
    for number in range(found + 1, schema_version() + 1):
        await _apply(conn, number)
    return found


async def _apply(conn: aiosqlite.Connection, number: int) -> None:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        if await read_version(conn) >= number:
            await conn.rollback()
            return
        for statement in split_statements(MIGRATIONS[number - 1]):
            await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {number}")
        await conn.commit()
    except BaseException:
        if conn.in_transaction:
            await conn.rollback()
        raise


async def open_database(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    """Connect and migrate; a newer schema or an unusable file is a QuestionLogError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = await connect(path, busy_timeout_ms=busy_timeout_ms)
    except sqlite3.Error as exc:
        raise QuestionLogError(f"cannot open {path}: {exc}") from exc
    try:
        await migrate(conn, path)
    except sqlite3.Error as exc:
        await conn.close()
        raise QuestionLogError(f"cannot bring {path} up to date: {exc}") from exc
    except BaseException:
        await conn.close()
        raise
    return conn
