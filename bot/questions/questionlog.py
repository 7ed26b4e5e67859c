"""The question log: every question kept for editors, without ever slowing a reply.

:meth:`QuestionLog.record` only puts a row on a bounded in-memory queue; one writer
coroutine (:mod:`bot.questions.writer`) drains it, retrying through outages and spilling to
a file past the queue's limit, so nothing is lost while the process lives. Votes go
through the same queue, after the question they are about.

A process can still be killed with rows queued, so a caller about to show an answer uses
:meth:`QuestionLog.record_durably`: it returns once the question is in the database or,
after a short wait, appended and fsync'ed to the spill file, which the next start imports
(question ids are unique, so a row both written and spilled is stored once). Nothing
here raises to a caller because the disk or the database failed: an answer is always
shown, and a question that could be kept nowhere is logged as lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import aiosqlite

from bot.questions import spill
from bot.questions.maintenance import belongs_to, delete_older_than, delete_user
from bot.questions.migrations import DatabaseUnavailable, open_database
from bot.questions.queue import Entry, RowQueue
from bot.questions.store import QuestionLogError, QuestionRecord, QuestionRow, VoteRow, format_time
from bot.questions.writer import Writer

log = logging.getLogger(__name__)

DURABLE_WAIT_S = 0.5
Kept = Literal["stored", "spilled", "lost"]
CLAIM_SHARE = "INSERT INTO shares (question_id, shared_at) VALUES (?, ?) ON CONFLICT DO NOTHING"


class QuestionLog:
    """Asynchronous, loss-averse log of questions, answers and readers' votes."""

    def __init__(self, queue: RowQueue, writer: Writer) -> None:
        self._queue = queue
        self._writer = writer
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        queue_max: int = 10_000,
        busy_timeout_ms: int = 5_000,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 30.0,
    ) -> QuestionLog:
        """Open (creating or migrating) the log and write back a previous run's spill.

        A database that cannot be opened now (locked, disk full, unwritable) is not an
        error: rows wait and spill as during any outage. A file from a newer bot is.
        """
        queue = RowQueue(queue_max)
        conn = await _open_or_wait(path, busy_timeout_ms)
        writer = Writer(
            path,
            conn,
            queue,
            busy_timeout_ms=busy_timeout_ms,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
        )
        try:
            await writer.import_spill()
        except BaseException:
            await writer.stop()
            raise
        return cls(queue, writer)

    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def pending(self) -> int:
        """Rows recorded but not yet in the database or the spill file."""
        return len(self._queue)

    @property
    def retrying(self) -> bool:
        """True while the database refuses writes and rows are waiting."""
        return self._writer.retrying

    @property
    def failed_attempts(self) -> int:
        """Failed writes in the current outage (0 when writing normally)."""
        return self._writer.failed_attempts

    def record(self, record: QuestionRecord) -> None:
        """Queue a question for writing; never blocks, never awaits, never raises."""
        row = QuestionRow.from_record(record)
        if self._closed:  # a late reply during shutdown: keep it for the next start
            log.warning("question log: recorded after close; appending to the spill file")
            self._spill_now(row)
            return
        self._queue.put(Entry(row))
        self._writer.wake()

    async def record_durably(self, record: QuestionRecord, wait_s: float = DURABLE_WAIT_S) -> Kept:
        """Record a question and return once a ``kill -9`` can no longer lose it.

        ``stored``: in the database (or spilled by the writer) within ``wait_s``;
        ``spilled``: appended and fsync'ed to the spill file after that wait (the queued
        row is still written later; the import ignores the copy); ``lost``: neither the
        database nor the disk took it, said in the log. Never raises for a failed write.
        """
        row = QuestionRow.from_record(record)
        if self._closed:
            return await asyncio.to_thread(self._spill_now, row)
        entry = Entry(row)
        self._queue.put(entry)
        self._writer.wake()
        waiter = entry.waiter()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), wait_s)
        except TimeoutError:
            waiter.add_done_callback(_retrieve)  # its outcome no longer matters: the spill
        except QuestionLogError:
            pass  # the writer could not keep it either; one more try below
        else:
            return "lost" if entry.rejected else "stored"
        kept = await asyncio.to_thread(self._spill_now, row)
        if kept == "spilled":
            self._writer.note_spilled()  # written back from the file once the database is free
        return kept

    def _spill_now(self, row: QuestionRow) -> Kept:
        try:
            spill.append(self._writer.spill_file, [row])
        except OSError as exc:
            log.error(
                "question log: question %s lost: cannot write %s (%s)",
                row.id,
                self._writer.spill_file,
                exc,
            )
            return "lost"
        return "spilled"

    async def claim_share(self, question_id: str) -> bool:
        """True the first time an answer is shared, False ever after (across restarts).

        Raises QuestionLogError when the database cannot say: sharing then waits.
        """
        self._check_open()
        now = format_time(datetime.now(UTC))
        async with (
            self._writer.connection() as conn,
            conn.execute(CLAIM_SHARE, (question_id, now)) as cursor,
        ):
            return cursor.rowcount == 1

    async def vote(
        self, question_id: str, voter_hash: str, vote: int, reason: str | None = None
    ) -> None:
        """Record a reader's vote (one per voter, the latest wins) once its question is stored.

        Waits until the vote is written (or spilled, after its question); a caller that
        stops waiting does not cancel the write.
        """
        if vote not in (-1, 1):
            raise ValueError("vote must be 1 or -1")
        self._check_open()
        now = format_time(datetime.now(UTC))
        entry = Entry(VoteRow(question_id, voter_hash, vote, reason, now))
        self._queue.put(entry)
        self._writer.wake()
        await asyncio.shield(entry.waiter())
        if entry.rejected:
            raise QuestionLogError(f"no question {question_id} to vote on")

    async def flush(self) -> None:
        """Wait until everything recorded so far is in the database (or spilled), and
        what was spilled is written back if the database takes writes again."""
        waits = [entry.waiter() for entry in self._queue.last()]
        if waits:
            self._writer.wake(retry_now=True)
            await asyncio.gather(*(asyncio.shield(w) for w in waits))
        if not self._closed and not self.retrying:
            await self._writer.drain_spill()

    async def close(self) -> None:
        """Write what the database accepts, spill the rest, then close the connection."""
        if not self._closed:
            self._closed = True
            await self._writer.stop()

    async def count(self) -> int:
        """Questions stored in the database (queued ones are in :attr:`pending`)."""
        self._check_open()
        async with (
            self._writer.connection() as conn,
            conn.execute("SELECT count(*) FROM questions") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def purge(self, older_than: datetime) -> int:
        """Delete questions asked before ``older_than``; returns rows removed (with their
        results, feedback and cover links)."""
        self._check_open()
        async with self._writer.connection() as conn:
            return await delete_older_than(conn, format_time(older_than))

    async def forget(self, user_hash: str) -> int:
        """Delete a user's questions (queued, spilled and stored) with their results,
        votes and cover links, and the votes the user gave; returns rows removed."""
        self._check_open()
        async with self._writer.connection() as conn:
            unwanted = belongs_to(user_hash)
            removed = self._queue.remove(unwanted)
            removed += await asyncio.to_thread(
                spill.remove_matching, self._writer.spill_file, unwanted
            )
            return removed + await delete_user(conn, user_hash)

    def _check_open(self) -> None:
        if self._closed:
            raise QuestionLogError("the question log is closed")


async def _open_or_wait(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection | None:
    """The connection, or None (with a warning) while the database cannot be used."""
    try:
        return await open_database(path, busy_timeout_ms)
    except DatabaseUnavailable as exc:
        log.warning("question log: %s; questions wait and spill until it can be written", exc)
        return None


def _retrieve(future: asyncio.Future[None]) -> None:
    """Collect the outcome of a write nobody waits for any more, so a late failure is not
    reported again as "Future exception was never retrieved" (the writer logged it)."""
    if not future.cancelled():
        future.exception()
