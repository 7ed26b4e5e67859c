"""The question log's schema as append-only numbered migrations.

Other modules (gaps, stats, the editors' view) query these tables directly, so a
released script is never edited: a change is a new script appended to
:data:`MIGRATIONS`. ``PRAGMA user_version`` records how many scripts a file has had,
so opening an older file brings it up to date, and a file from a newer bot is refused
rather than half-understood.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import aiosqlite

from bot.questions.store import QuestionLogError, connect

log = logging.getLogger(__name__)

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

# One row per answer reposted with "share to channel": a second click finds it and does
# nothing. No user column: it says which answer went public, never who clicked.
SCHEMA_V2 = """
CREATE TABLE shares (
  question_id TEXT PRIMARY KEY,
  shared_at TEXT NOT NULL
);
"""

# What each reader was shown (the excerpt, its sentence in **…**, and the excerpt's own
# tier; NULL for questions logged before), and the gaps editors have marked covered: a
# cover names the article and the unanswered questions it answers, so those leave the
# open list. A cover keeps no question text of its own: its questions are rows of
# `questions`, deleted with them by retention and forget-me like every other child row.
SCHEMA_V3 = """
ALTER TABLE results ADD COLUMN excerpt TEXT;
ALTER TABLE results ADD COLUMN tier TEXT CHECK (tier IN ('answer','related','none'));
CREATE TABLE gap_covers (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  covered_at TEXT NOT NULL
);
CREATE TABLE gap_cover_questions (
  cover_id INTEGER NOT NULL REFERENCES gap_covers(id) ON DELETE CASCADE,
  question_id TEXT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
  PRIMARY KEY (cover_id, question_id)
);
CREATE INDEX gap_cover_questions_question ON gap_cover_questions (question_id);
"""

MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2, SCHEMA_V3)

# SQLite result codes that say the file or its disk cannot be used right now, as opposed
# to a file that is not ours or a broken migration: the log then keeps rows elsewhere.
# Compared by base code: SQLite reports most of these as extended codes, the base code
# in the low byte (a `-shm` that cannot grow on a full disk is SQLITE_IOERR_SHMSIZE, 4874).
UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_PERM,
    }
)
PRIVATE_MODE = 0o600
SIDE_FILES = ("", "-wal", "-shm", "-journal")


class NewerSchema(QuestionLogError):
    """The file was written by a newer bot; nothing here may touch it."""


class DatabaseUnavailable(QuestionLogError):
    """The file cannot be opened or written now (locked, disk full, unwritable folder)."""


def schema_version() -> int:
    """The version this code writes: the number of migrations."""
    return len(MIGRATIONS)


def check_version(found: int, path: Path) -> None:
    """Refuse a file written by a newer bot: its rows may mean something we don't know."""
    if found > schema_version():
        raise NewerSchema(
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
    """Connect and migrate; a newer schema or an unusable file is a QuestionLogError.

    :class:`DatabaseUnavailable` means the disk or a lock is in the way (worth retrying);
    any other QuestionLogError means the file itself is wrong.
    """
    try:
        await _create_private(path)
        conn = await connect(path, busy_timeout_ms=busy_timeout_ms)
    except (sqlite3.Error, OSError) as exc:
        raise _classify(f"cannot open {path}: {exc}", exc) from exc
    try:
        await migrate(conn, path)
        restrict_files(path)
    except (sqlite3.Error, OSError) as exc:
        await conn.close()
        raise _classify(f"cannot bring {path} up to date: {exc}", exc) from exc
    except BaseException:
        await conn.close()
        raise
    return conn


def _classify(message: str, exc: BaseException) -> QuestionLogError:
    return DatabaseUnavailable(message) if unavailable(exc) else QuestionLogError(message)


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the disk or a lock is in the way now (not a wrong file)."""
    if isinstance(exc, OSError):
        return True
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    return isinstance(code, int) and (code & 0xFF) in UNAVAILABLE_CODES


async def _create_private(path: Path) -> None:
    """Create the file owner-only before SQLite does: SQLite gives ``-wal`` and ``-shm``
    the database file's mode, so they are private too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    os.close(fd)


def restrict_files(path: Path) -> None:
    """Make the database and its side files 0600: they hold every reader's questions."""
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        try:
            mode = stat.S_IMODE(side.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning("question log: %s was readable by others; restricting it to 0600", side)
            side.chmod(PRIVATE_MODE)
