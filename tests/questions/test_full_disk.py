"""A nearly full disk makes the log temporarily unavailable: questions spill, the bot starts.

SQLite reports such trouble with extended result codes (``SQLITE_IOERR_SHMSIZE`` when the
``-shm`` file cannot grow, ``SQLITE_IOERR_WRITE``, ``SQLITE_FULL``...); they must count as
their base code, not as an unknown error that stops the start.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.questions import QuestionLog, QuestionLogError, migrations, spill
from bot.questions.store import QuestionRow

from .conftest import MakeRecord

FAST: dict[str, Any] = {"busy_timeout_ms": 20, "retry_initial_s": 0.01, "retry_max_s": 0.05}


def sqlite_error(code: int, name: str, message: str = "disk I/O error") -> sqlite3.Error:
    """The error SQLite raises with this (extended) result code."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    error.sqlite_errorname = name
    return error


UNAVAILABLE = [
    (4874, "SQLITE_IOERR_SHMSIZE"),
    (778, "SQLITE_IOERR_WRITE"),
    (1034, "SQLITE_IOERR_FSYNC"),
    (13, "SQLITE_FULL"),
    (1032, "SQLITE_READONLY_DBMOVED"),
    (1038, "SQLITE_CANTOPEN_CONVPATH"),
]


def failing_connect(error: sqlite3.Error) -> Any:
    async def connect(path: Path, *, busy_timeout_ms: int) -> aiosqlite.Connection:
        raise error

    return connect


@pytest.mark.parametrize(("code", "name"), UNAVAILABLE)
async def test_extended_disk_errors_spill_the_question(
    db_path: Path,
    make_record: MakeRecord,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    name: str,
) -> None:
    """The log opens while the disk refuses it, and a question goes to the spill file."""
    monkeypatch.setattr(migrations, "connect", failing_connect(sqlite_error(code, name)))
    log = await QuestionLog.open(db_path, **FAST)
    kept = await log.record_durably(make_record(id="on-a-full-disk"), wait_s=0.05)
    assert kept == "spilled"
    spilled = spill.read(spill.spill_path(db_path))
    assert [row.id for row in spilled if isinstance(row, QuestionRow)] == ["on-a-full-disk"]
    await log.close()


async def test_spilled_question_is_written_back_once_the_disk_has_room(
    db_path: Path, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next start with room on the disk imports the spilled question."""
    full = failing_connect(sqlite_error(4874, "SQLITE_IOERR_SHMSIZE"))
    monkeypatch.setattr(migrations, "connect", full)
    log = await QuestionLog.open(db_path, **FAST)
    assert await log.record_durably(make_record(id="kept"), wait_s=0.05) == "spilled"
    await log.close()
    monkeypatch.undo()
    reopened = await QuestionLog.open(db_path, **FAST)
    assert await reopened.count() == 1
    await reopened.close()


@pytest.mark.parametrize(
    ("code", "name"), [(11, "SQLITE_CORRUPT"), (26, "SQLITE_NOTADB"), (267, "SQLITE_CORRUPT_VTAB")]
)
async def test_a_damaged_file_still_stops_the_start(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, name: str
) -> None:
    """A file that is not a usable database is an error, not an outage to wait out."""
    error = sqlite_error(code, name, "database disk image is malformed")
    monkeypatch.setattr(migrations, "connect", failing_connect(error))
    with pytest.raises(QuestionLogError) as raised:
        await QuestionLog.open(db_path, **FAST)
    assert not isinstance(raised.value, migrations.DatabaseUnavailable)
