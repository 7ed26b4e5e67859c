"""The single coroutine that moves queued rows into the database, or else to the spill file.

When the database is locked, the disk is full or the file has gone, rows stay queued
and the writer retries with exponential backoff, warning once per outage; a deleted file
is recreated. Rows past the queue's limit are appended to the spill file, and so is
whatever the database still refuses when the log closes. Inserts are idempotent on the
question id, so a retried batch or a re-imported spill never duplicates a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.questions import spill
from bot.questions.migrations import open_database
from bot.questions.queue import Entry, RowQueue
from bot.questions.store import QuestionLogError, VoteRow, write_rows

log = logging.getLogger(__name__)

BATCH_ROWS = 200
DB_ERRORS = (sqlite3.Error, OSError, QuestionLogError)


class Writer:
    """Drains a :class:`RowQueue` into one SQLite file from a single background coroutine."""

    def __init__(
        self,
        path: Path,
        conn: aiosqlite.Connection | None,
        queue: RowQueue,
        *,
        busy_timeout_ms: int,
        retry_initial_s: float,
        retry_max_s: float,
    ) -> None:
        self.path = path
        self.spill_file = spill.spill_path(path)
        self._conn: aiosqlite.Connection | None = conn
        self._identity = _file_identity(path)
        self._queue = queue
        self._busy_timeout_ms = busy_timeout_ms
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._db_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._next_attempt = 0.0
        self.failed_attempts = 0  # in the current outage
        self.retrying = False  # True while the database refuses writes
        self._spill_failing = False
        self._spill_pending = spill.spill_path(path).exists()
        self._closing = False
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="question-log")

    def note_spilled(self) -> None:
        """Rows were appended to the spill file: write them back once the database is free."""
        self._spill_pending = True
        self.wake()

    def wake(self, *, retry_now: bool = False) -> None:
        """New rows are queued; ``retry_now`` also cuts a backoff short."""
        if retry_now:
            self._next_attempt = 0.0
        self._wake.set()

    async def stop(self) -> None:
        """Write what the database accepts, spill the rest, close the connection."""
        self._closing = True
        self.wake(retry_now=True)
        await self._runner
        leftover = self._queue.take_all()
        if leftover:
            await self._spill_entries(leftover, final=True)
        elif self._spill_pending and not self.retrying:
            await self.drain_spill()  # the next start would import it too; do it now
        async with self._db_lock:
            await self._drop_connection()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, with writes held off; SQLite errors become QuestionLogErrors."""
        try:
            async with self._db_lock:
                yield await self._connection()
        except (sqlite3.Error, OSError) as exc:
            raise QuestionLogError(f"{self.path}: {exc}") from exc

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            overflow = self._queue.take_overflow()
            if overflow:
                await self._spill_entries(overflow, final=False)
            due = loop.time() >= self._next_attempt
            if self._queue.ready and due:
                if not await self._attempt() and self._closing:
                    return
                continue
            if self._closing and not self._queue:
                return
            if self._drain_due() and due:
                await self.drain_spill()
                continue
            waiting = self._queue.ready or self._drain_due()
            timeout = max(0.0, self._next_attempt - loop.time()) if waiting else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _drain_due(self) -> bool:
        return self._spill_pending and not self._queue and not self.retrying

    async def _attempt(self) -> bool:
        """Write one batch; on failure leave it queued and schedule a retry."""
        try:
            async with self._db_lock:
                batch = self._queue.head(BATCH_ROWS)
                conn = await self._connection()
                outcomes = await write_rows(conn, [entry.row for entry in batch])
                self._queue.pop(len(batch))
        except DB_ERRORS as exc:
            await self._failed(exc)
            return False
        except Exception as exc:  # a bug must not stop the writer: keep the rows, retry
            log.exception("question log: unexpected error while writing")
            await self._failed(exc)
            return False
        for entry, error in zip(batch, outcomes, strict=True):
            if error is not None:
                self._reject(entry, error)
            entry.settle()
        self._recovered()
        return True

    async def _failed(self, exc: BaseException) -> None:
        self.failed_attempts += 1
        if not self.retrying:
            self.retrying = True
            log.warning(
                "question log: cannot write to %s (%s); %d rows wait and will be retried",
                self.path,
                exc,
                len(self._queue),
            )
        if not _is_busy(exc):
            async with self._db_lock:
                await self._drop_connection()  # reopen (and recreate a deleted file) next time
        delay = min(self._retry_max_s, self._retry_initial_s * 2 ** min(self.failed_attempts, 30))
        self._next_attempt = asyncio.get_running_loop().time() + delay * random.uniform(0.5, 1)

    def _recovered(self) -> None:
        if self.retrying:
            log.info(
                "question log: writing to %s again after %d failed attempts",
                self.path,
                self.failed_attempts,
            )
        self.retrying = False
        self.failed_attempts = 0
        self._next_attempt = 0.0

    def _reject(self, entry: Entry, error: Exception) -> None:
        entry.rejected = True
        if isinstance(entry.row, VoteRow):
            log.warning("question log: vote for unknown question %s dropped", entry.row.question_id)
        else:
            log.error("question log: question %s rejected (%s)", entry.row.id, error)

    async def _connection(self) -> aiosqlite.Connection:
        """The writer's connection, reopened if it was dropped or the file replaced."""
        if self._conn is not None and _file_identity(self.path) == self._identity:
            return self._conn
        await self._drop_connection()
        self._conn = await open_database(self.path, self._busy_timeout_ms)
        self._identity = _file_identity(self.path)
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except sqlite3.Error as exc:
                log.debug("question log: closing the connection failed: %s", exc)

    # -------------------------------------------------------------- spilling

    async def _spill_entries(self, entries: list[Entry], *, final: bool) -> None:
        try:
            await asyncio.to_thread(spill.append, self.spill_file, [e.row for e in entries])
        except OSError as exc:
            self._spill_failed(entries, exc, final=final)
            return
        if not self._spill_failing and not self.retrying:
            log.warning("question log: %d rows spilled to %s", len(entries), self.spill_file)
        self._spill_failing = False
        self._spill_pending = True
        for entry in entries:
            entry.settle()

    def _spill_failed(self, entries: list[Entry], exc: OSError, *, final: bool) -> None:
        if final:
            log.error(
                "question log: %d rows lost: cannot write %s (%s)",
                len(entries),
                self.spill_file,
                exc,
            )
            for entry in entries:
                entry.settle(QuestionLogError(f"could not save the question log: {exc}"))
            return
        if not self._spill_failing:
            log.error(
                "question log: cannot write %s (%s); keeping rows in memory", self.spill_file, exc
            )
        self._spill_failing = True
        self._queue.unspill(entries)  # the database may come back before the disk does

    async def drain_spill(self) -> None:
        """Write back what was spilled while the database was unavailable, now that it is not."""
        self._spill_pending = False
        await self.import_spill()
        if await asyncio.to_thread(self.spill_file.exists):  # not importable yet: try later
            self._spill_pending = True
            self._next_attempt = asyncio.get_running_loop().time() + self._retry_max_s

    async def import_spill(self) -> None:
        """Write back spilled rows, then remove their file.

        Holds the database lock throughout, so a :meth:`QuestionLog.forget` (which takes
        the same lock) never sees half an import and never has its rows written back
        after it. A spill file that cannot be read now stays; it never stops a start.
        """
        async with self._db_lock:
            try:
                parts = await asyncio.to_thread(spill.claim, self.spill_file)
            except OSError as exc:
                log.warning(
                    "question log: cannot claim %s (%s); not imported", self.spill_file, exc
                )
                return
            for part in parts:
                await self._import_part(part)

    async def _import_part(self, part: Path) -> None:
        try:
            rows = await asyncio.to_thread(spill.read, part)
            outcomes = await write_rows(await self._connection(), rows)
        except DB_ERRORS as exc:
            log.warning("question log: cannot import %s yet (%s); kept for next start", part, exc)
            return
        await asyncio.to_thread(part.unlink, missing_ok=True)
        dropped = sum(error is not None for error in outcomes)
        log.info("question log: imported %d spilled rows (%d dropped)", len(rows), dropped)


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
