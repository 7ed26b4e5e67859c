"""The question log's writer: never delays a reply, never loses or duplicates a row."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from bot.questions import QuestionLog, QuestionLogError, spill
from bot.questions.store import QuestionRow, ResultRow, row_from_json, row_to_json

from .conftest import ExclusiveLock, MakeRecord, rows, wait_until

FAST: dict[str, Any] = {"busy_timeout_ms": 20, "retry_initial_s": 0.01, "retry_max_s": 0.05}


def warnings_from_writer(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.questions.writer" and r.levelno == logging.WARNING
    ]


async def test_record_is_stored_with_its_results(db_path: Path, make_record: MakeRecord) -> None:
    """A recorded question lands in `questions` and `results` with the documented forms."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="q-a", guild_id=12345678901234567890, results=3))
    await log.close()
    [question] = rows(db_path, "SELECT asked_at, guild_id, answered, tier, model FROM questions")
    assert question == (
        "2024-05-01T03:00:00.000000Z",
        "12345678901234567890",
        1,
        "answer",
        "test-model",
    )
    ranks = rows(db_path, "SELECT rank, title FROM results WHERE question_id = 'q-a' ORDER BY rank")
    assert ranks == [(1, "記事 1"), (2, "記事 2"), (3, "記事 3")]


async def test_each_result_keeps_the_excerpt_shown_and_its_tier(
    db_path: Path, make_record: MakeRecord
) -> None:
    """What the reader saw is stored per result: the excerpt text, bold markers included,
    and that excerpt's own tier (lower than the answer's for the later ones)."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="shown", results=3))
    log.record(make_record(id="vague", tier="related", results=1))
    await log.close()
    assert rows(db_path, "SELECT question_id, rank, excerpt, tier FROM results ORDER BY 1, 2") == [
        ("shown", 1, "…**テーマ** 1…", "answer"),
        ("shown", 2, "…**テーマ** 2…", "related"),
        ("shown", 3, "…**テーマ** 3…", "related"),
        ("vague", 1, "…**テーマ** 1…", "related"),
    ]


def test_spill_lines_carry_the_excerpt_and_its_tier(make_record: MakeRecord) -> None:
    """A spilled question reads back with each result's excerpt and tier."""
    row = QuestionRow.from_record(make_record(id="s", results=2))
    line = json.loads(json.dumps(row_to_json(row), ensure_ascii=False))
    assert [(r["excerpt"], r["tier"]) for r in line["results"]] == [
        ("…**テーマ** 1…", "answer"),
        ("…**テーマ** 2…", "related"),
    ]
    assert row_from_json(line) == row


async def test_an_old_spill_line_without_excerpts_still_imports(db_path: Path) -> None:
    """A line spilled by a version that kept no excerpt loads with excerpt and tier NULL."""
    old_line = {
        "kind": "question", "id": "spilled-long-ago", "asked_at": "2024-05-01T03:00:00.000000Z",
        "question": "古い質問", "language": "ja", "source": "discord", "guild_id": "111",
        "channel_id": "222", "user_hash": "u", "tier": "related", "answered": 0,
        "best_score": 0.5, "latency_ms": 10.0, "index_version": "idx-0", "model": "m",
        "results": [
            {"rank": 1, "source": "_posts/a.md", "title": "A", "url": "https://blog.example/a/",
             "passage_id": "p1", "heading": None, "score": 0.5},
        ],
    }  # fmt: skip
    row = row_from_json(old_line)
    assert isinstance(row, QuestionRow)
    assert row.results == (
        ResultRow(1, "_posts/a.md", "A", "https://blog.example/a/", "p1", None, 0.5),
    )
    spill_file = spill.spill_path(db_path)
    spill_file.parent.mkdir(parents=True)
    spill_file.write_text(json.dumps(old_line, ensure_ascii=False) + "\n", encoding="utf-8")
    log = await QuestionLog.open(db_path)
    await log.close()
    assert not spill_file.exists()
    assert rows(db_path, "SELECT question_id, title, score, excerpt, tier FROM results") == [
        ("spilled-long-ago", "A", 0.5, None, None)
    ]


async def test_record_only_enqueues(db_path: Path, make_record: MakeRecord) -> None:
    """`record` is a plain function: the row is pending until the writer runs."""
    log = await QuestionLog.open(db_path)
    assert not inspect.iscoroutinefunction(log.record)
    log.record(make_record())
    assert log.pending == 1
    assert rows(db_path, "SELECT count(*) FROM questions") == [(0,)]
    await log.flush()
    assert log.pending == 0
    assert await log.count() == 1
    await log.close()


async def test_burst_of_200_concurrent_records(db_path: Path, make_record: MakeRecord) -> None:
    """200 coroutines recording at once give exactly 200 rows, even when re-recorded."""
    log = await QuestionLog.open(db_path)
    records = [make_record(id=f"burst-{i}") for i in range(200)]

    async def ask(index: int) -> None:
        await asyncio.sleep(0)
        log.record(records[index])

    await asyncio.gather(*(ask(i) for i in range(200)))
    await asyncio.gather(*(ask(i) for i in range(0, 200, 7)))  # retries of the same ids
    await log.flush()
    assert await log.count() == 200
    assert rows(db_path, "SELECT count(DISTINCT id), count(*) FROM questions") == [(200, 200)]
    assert rows(db_path, "SELECT count(*) FROM results") == [(400,)]
    await log.close()


async def test_same_id_keeps_first_question_and_replaces_results(
    db_path: Path, make_record: MakeRecord
) -> None:
    """Recording an id twice keeps one question row and the latest results."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="dup", question="first", results=3))
    await log.flush()
    log.record(make_record(id="dup", question="second", results=1))
    await log.close()
    assert rows(db_path, "SELECT question FROM questions") == [("first",)]
    assert rows(db_path, "SELECT count(*) FROM results") == [(1,)]


async def test_vote_upsert_keeps_one_row_per_voter(db_path: Path, make_record: MakeRecord) -> None:
    """A voter changing their mind updates their row; another voter adds one."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="v1"))
    await log.vote("v1", "voter-a", 1)  # waits for the still-queued question
    await log.vote("v1", "voter-a", -1, "古い情報")
    await log.vote("v1", "voter-b", 1)
    await log.close()
    assert rows(db_path, "SELECT voter_hash, vote, reason FROM feedback ORDER BY voter_hash") == [
        ("voter-a", -1, "古い情報"),
        ("voter-b", 1, None),
    ]


async def test_abandoned_vote_is_still_written(db_path: Path, make_record: MakeRecord) -> None:
    """A caller that stops waiting for its vote (a timed-out interaction) does not lose it."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="q"))
    waiting = asyncio.create_task(log.vote("q", "voter", 1))
    await asyncio.sleep(0)
    waiting.cancel()
    await log.close()
    assert rows(db_path, "SELECT vote FROM feedback") == [(1,)]


async def test_vote_rejects_bad_values_and_unknown_questions(db_path: Path) -> None:
    """A vote other than ±1 is a ValueError; a vote on no question is a QuestionLogError."""
    log = await QuestionLog.open(db_path)
    with pytest.raises(ValueError):
        await log.vote("x", "voter", 0)
    with pytest.raises(QuestionLogError, match="no question nope"):
        await log.vote("nope", "voter", 1)
    await log.close()


async def test_locked_database_is_retried(
    db_path: Path, make_record: MakeRecord, caplog: pytest.LogCaptureFixture
) -> None:
    """While another connection holds an exclusive lock rows wait; one warning; then written."""
    log = await QuestionLog.open(db_path, **FAST)
    lock = ExclusiveLock(db_path)
    try:
        for _ in range(5):
            log.record(make_record())
        await wait_until(lambda: log.failed_attempts >= 3)
        assert log.retrying and log.pending == 5
        assert len(warnings_from_writer(caplog)) == 1
    finally:
        lock.release()
    await log.flush()
    assert not cast(bool, log.retrying)  # flush() changed it; mypy kept the narrowing
    assert await log.count() == 5
    await log.close()


async def test_spill_when_queue_full_and_database_locked(
    db_path: Path, make_record: MakeRecord
) -> None:
    """Past queue_max rows go to the spill file; the next open imports them exactly once."""
    log = await QuestionLog.open(db_path, queue_max=3, **FAST)
    spill_file = spill.spill_path(db_path)
    lock = ExclusiveLock(db_path)
    try:
        for i in range(10):
            log.record(make_record(id=f"s{i}"))
        await wait_until(lambda: spill_file.exists() and _lines(spill_file) == 7)
        await log.close()  # the 3 queued rows cannot be written: spilled too
        assert _lines(spill_file) == 10
    finally:
        lock.release()
    for _ in range(2):
        reopened = await QuestionLog.open(db_path)
        assert await reopened.count() == 10
        await reopened.close()
    assert not spill_file.exists()
    assert not list(db_path.parent.glob("*.importing"))
    assert rows(db_path, "SELECT count(DISTINCT id), count(*) FROM questions") == [(10, 10)]
    assert rows(db_path, "SELECT count(*) FROM results") == [(20,)]


async def test_vote_on_spilled_question_follows_it(db_path: Path, make_record: MakeRecord) -> None:
    """A vote on a question that went to the spill file is spilled after it, not dropped."""
    log = await QuestionLog.open(db_path, queue_max=1, **FAST)
    lock = ExclusiveLock(db_path)
    try:
        log.record(make_record(id="queued"))
        log.record(make_record(id="spilled"))
        await log.vote("spilled", "voter", 1)
        await log.close()
    finally:
        lock.release()
    reopened = await QuestionLog.open(db_path)
    await reopened.close()
    assert rows(db_path, "SELECT question_id, vote FROM feedback") == [("spilled", 1)]
    assert await _count(db_path) == 2


async def test_unwritable_spill_keeps_rows_in_memory(
    db_path: Path, make_record: MakeRecord
) -> None:
    """If the spill file cannot be written either, rows stay queued until the database is back."""
    log = await QuestionLog.open(db_path, queue_max=1, **FAST)
    spill.spill_path(db_path).mkdir()  # a folder where the spill file should go
    lock = ExclusiveLock(db_path)
    try:
        for i in range(4):
            log.record(make_record(id=f"m{i}"))
        await wait_until(lambda: log.failed_attempts >= 2)
        assert log.pending == 4
    finally:
        lock.release()
    await log.flush()
    assert await log.count() == 4
    await log.close()


async def test_deleted_file_is_recreated(db_path: Path, make_record: MakeRecord) -> None:
    """If the database file is deleted under the bot, later rows go to a new file."""
    log = await QuestionLog.open(db_path, **FAST)
    log.record(make_record())
    await log.flush()
    _delete_database(db_path)
    log.record(make_record(id="after"))
    await log.flush()
    assert rows(db_path, "SELECT id FROM questions") == [("after",)]
    await log.close()


async def test_unwritable_location_waits_then_recovers(
    db_path: Path, make_record: MakeRecord, caplog: pytest.LogCaptureFixture
) -> None:
    """With the data folder gone (a file in its place) rows wait and are written later."""
    log = await QuestionLog.open(db_path, **FAST)
    shutil.rmtree(db_path.parent)
    db_path.parent.write_text("not a folder")
    log.record(make_record(id="waiting"))
    await wait_until(lambda: log.failed_attempts >= 2)
    assert log.pending == 1
    assert len(warnings_from_writer(caplog)) == 1
    db_path.parent.unlink()
    await log.flush()
    assert rows(db_path, "SELECT id FROM questions") == [("waiting",)]
    await log.close()


async def test_record_after_close_is_spilled(db_path: Path, make_record: MakeRecord) -> None:
    """A row recorded after close is not lost: it waits in the spill file."""
    log = await QuestionLog.open(db_path)
    await log.close()
    await log.close()  # closing twice is harmless
    log.record(make_record(id="late"))
    reopened = await QuestionLog.open(db_path)
    assert await reopened.count() == 1
    await reopened.close()


async def test_purge_counts_rows(db_path: Path, make_record: MakeRecord) -> None:
    """Purge removes old questions with their results and votes and counts every row."""
    log = await QuestionLog.open(db_path)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    log.record(make_record(id="old", asked_at=now - timedelta(days=400), results=2))
    log.record(make_record(id="new", asked_at=now - timedelta(days=10), results=2))
    await log.vote("old", "voter", 1)
    assert await log.purge(now - timedelta(days=365)) == 1 + 2 + 1
    assert rows(db_path, "SELECT id FROM questions") == [("new",)]
    assert rows(db_path, "SELECT count(*) FROM results") == [(2,)]
    await log.close()


async def test_forget_removes_stored_queued_and_given_votes(
    db_path: Path, make_record: MakeRecord
) -> None:
    """Forget removes a user's questions (stored and queued), votes on them and votes given."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="a1", user_hash="alice", results=2))
    log.record(make_record(id="b1", user_hash="bob", results=2))
    await log.vote("b1", "alice", -1)
    await log.vote("a1", "bob", 1)
    log.record(make_record(id="a2", user_hash="alice", results=1))  # still queued
    removed = await log.forget("alice")
    await log.flush()
    assert removed == (1 + 2) + 1 + 1 + (1 + 1)
    assert rows(db_path, "SELECT id FROM questions") == [("b1",)]
    assert rows(db_path, "SELECT count(*) FROM feedback") == [(0,)]
    await log.close()


def cover(path: Path, url: str, *question_ids: str) -> int:
    """Mark questions covered by an article, as an editor would; returns the cover's id."""
    conn = sqlite3.connect(path, timeout=5)
    try:
        with conn:
            cursor = conn.execute(
                "INSERT INTO gap_covers (url, covered_at) VALUES (?, ?)",
                (url, "2025-01-01T00:00:00.000000Z"),
            )
            cover_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO gap_cover_questions (cover_id, question_id) VALUES (?, ?)",
                [(cover_id, qid) for qid in question_ids],
            )
    finally:
        conn.close()
    return cover_id


async def test_purge_removes_and_counts_gap_cover_links(
    db_path: Path, make_record: MakeRecord
) -> None:
    """An old question leaves the covers that named it, counted; the covers stay."""
    log = await QuestionLog.open(db_path)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    log.record(make_record(id="old", asked_at=now - timedelta(days=400), results=2))
    log.record(make_record(id="new", asked_at=now - timedelta(days=10), results=1))
    await log.flush()
    both = cover(db_path, "https://blog.example/both/", "old", "new")
    only_old = cover(db_path, "https://blog.example/old/", "old")
    try:
        assert await log.purge(now - timedelta(days=365)) == 1 + 2 + 2
    finally:
        await log.close()  # an open log's thread would keep a failed run from exiting
    assert rows(db_path, "SELECT cover_id, question_id FROM gap_cover_questions") == [(both, "new")]
    assert rows(db_path, "SELECT id FROM gap_covers ORDER BY id") == [(both,), (only_old,)]


async def test_forget_removes_and_counts_gap_cover_links(
    db_path: Path, make_record: MakeRecord
) -> None:
    """Forgetting a reader takes their questions out of every cover, counted."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="a1", user_hash="alice", results=2))
    log.record(make_record(id="a2", user_hash="alice", results=1))
    log.record(make_record(id="b1", user_hash="bob", results=1))
    await log.flush()
    first = cover(db_path, "https://blog.example/one/", "a1", "b1")
    second = cover(db_path, "https://blog.example/two/", "a1", "a2")
    try:
        assert await log.forget("alice") == (1 + 2) + (1 + 1) + 3
    finally:
        await log.close()
    assert rows(db_path, "SELECT cover_id, question_id FROM gap_cover_questions") == [(first, "b1")]
    assert rows(db_path, "SELECT id FROM gap_covers ORDER BY id") == [(first,), (second,)]


async def test_forget_scrubs_the_spill_file(db_path: Path, make_record: MakeRecord) -> None:
    """A forgotten user's spilled rows are removed from the spill file too."""
    log = await QuestionLog.open(db_path, queue_max=1, **FAST)
    lock = ExclusiveLock(db_path)
    try:
        for i, user in enumerate(["bob", "alice", "alice", "bob"]):
            log.record(make_record(id=f"r{i}", user_hash=user))
        await wait_until(lambda: log.pending <= 1)
    finally:
        lock.release()
    assert await log.forget("alice") == 2 * 3
    await log.close()
    reopened = await QuestionLog.open(db_path)
    await reopened.close()
    assert rows(db_path, "SELECT id FROM questions ORDER BY id") == [("r0",), ("r3",)]


def _delete_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


async def _count(path: Path) -> int:
    return int(rows(path, "SELECT count(*) FROM questions")[0][0])
