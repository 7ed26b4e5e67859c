"""Keeping a question before its answer is shown, private files, and sharing an answer once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.questions import QuestionLog
from bot.questions.spill import spill_path

from .conftest import ExclusiveLock, MakeRecord, rows


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_record_durably_is_stored_at_once_when_the_database_is_free(
    db_path: Path, make_record: MakeRecord
) -> None:
    """With a free database the question is in the database when the call returns."""
    log = await QuestionLog.open(db_path)
    kept = await log.record_durably(make_record(id="free"))
    assert kept == "stored"
    assert rows(db_path, "SELECT id FROM questions") == [("free",)]
    await log.close()


async def test_record_durably_spills_and_fsyncs_while_the_database_is_locked(
    db_path: Path, make_record: MakeRecord
) -> None:
    """Locked: after the short wait the row is already in the spill file, then stored once."""
    log = await QuestionLog.open(db_path, busy_timeout_ms=200, retry_initial_s=0.05)
    lock = ExclusiveLock(db_path)
    try:
        kept = await log.record_durably(make_record(id="locked"), wait_s=0.1)
        assert kept == "spilled"
        assert '"id": "locked"' in spill_path(db_path).read_text(encoding="utf-8")
    finally:
        lock.release()
    await log.close()
    reopened = await QuestionLog.open(db_path)
    await reopened.close()
    assert rows(db_path, "SELECT id, count(*) FROM questions GROUP BY id") == [("locked", 1)]
    assert not spill_path(db_path).exists()


async def test_nothing_raises_when_neither_database_nor_spill_can_be_written(
    tmp_path: Path, make_record: MakeRecord
) -> None:
    """A data folder that cannot exist: open, record, record_durably and close never raise."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    log = await QuestionLog.open(blocker / "questions.db", retry_initial_s=0.01)
    log.record(make_record(id="a"))
    assert await log.record_durably(make_record(id="b"), wait_s=0.05) == "lost"
    await log.close()
    log.record(make_record(id="after-close"))  # a late reply during shutdown


async def test_database_and_side_files_are_private(db_path: Path, make_record: MakeRecord) -> None:
    """The database, its -wal and -shm are 0600, like the salt and the spill file."""
    log = await QuestionLog.open(db_path)
    await log.record_durably(make_record())
    for suffix in ("", "-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        assert side.exists(), side
        assert mode(side) == 0o600, (side, oct(mode(side)))
    await log.close()


async def test_an_existing_world_readable_database_is_restricted(db_path: Path) -> None:
    """A file left 0644 by an older version is made 0600 when the log opens it."""
    log = await QuestionLog.open(db_path)
    await log.close()
    os.chmod(db_path, 0o644)
    log = await QuestionLog.open(db_path)
    assert mode(db_path) == 0o600
    await log.close()


async def test_an_answer_is_shared_once_even_after_a_restart(db_path: Path) -> None:
    """The first claim wins; later claims, in this run or the next, are refused."""
    log = await QuestionLog.open(db_path)
    assert await log.claim_share("123") is True
    assert await log.claim_share("123") is False
    assert await log.claim_share("456") is True
    await log.close()
    log = await QuestionLog.open(db_path)
    assert await log.claim_share("123") is False
    await log.close()


@pytest.mark.parametrize("wait_s", [0.0, 0.2])
async def test_record_durably_after_close_goes_to_the_spill(
    db_path: Path, make_record: MakeRecord, wait_s: float
) -> None:
    """A reply finishing after close is still kept, in the spill file."""
    log = await QuestionLog.open(db_path)
    await log.close()
    assert await log.record_durably(make_record(id="late"), wait_s=wait_s) == "spilled"
    assert '"id": "late"' in spill_path(db_path).read_text(encoding="utf-8")
