"""The question log: every question kept for editors, without ever slowing a reply.

:meth:`QuestionLog.record` only puts a row on an in-memory queue; one writer task
drains it in batches. When the database is locked, the disk is full or the file has
gone, rows wait on the queue and the writer retries with backoff (one warning per
outage). Past ``queue_max`` rows, and on close if the database still refuses them,
rows are appended to the spill file that the next :meth:`QuestionLog.open` writes
back. Inserts are idempotent on the question id, so a retry or a re-imported spill
never duplicates a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import sqlite3
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.questions import spill
from bot.questions.maintenance import delete_older_than, delete_user
from bot.questions.migrations import migrate
from bot.questions.store import (
    QuestionLogError,
    QuestionRecord,
    QuestionRow,
    Row,
    VoteRow,
    connect,
    format_time,
    row_count,
    write_rows,
)

log = logging.getLogger(__name__)

BATCH_ROWS = 200
DB_ERRORS = (sqlite3.Error, OSError, QuestionLogError)


@dataclass(slots=True)
class _Entry:
    """A queued row; ``done`` is created only when someone waits for it."""

    row: Row
    done: asyncio.Future[None] | None = None
    rejected: bool = False


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


class QuestionLog:
    """Asynchronous, loss-averse log of questions, answers and readers' votes."""

    def __init__(
        self,
        path: Path,
        conn: aiosqlite.Connection,
        *,
        queue_max: int,
        busy_timeout_ms: int,
        retry_initial_s: float,
        retry_max_s: float,
    ) -> None:
        self._path = path
        self._spill = spill.spill_path(path)
        self._conn: aiosqlite.Connection | None = conn
        self._identity = _file_identity(path)
        self._queue_max = queue_max
        self._busy_timeout_ms = busy_timeout_ms
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._queue: deque[_Entry] = deque()
        self._overflow: list[_Entry] = []
        self._spilled_ids: set[str] = set()
        self._db_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._next_attempt = 0.0
        self._failed_attempts = 0
        self._outage = False
        self._spill_failing = False
        self._closing = False
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="question-log")

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
        """Open (creating or migrating) the log and write back a previous run's spill."""
        if queue_max < 1:
            raise ValueError("queue_max must be at least 1")
        conn = await open_database(path, busy_timeout_ms)
        self = cls(
            path,
            conn,
            queue_max=queue_max,
            busy_timeout_ms=busy_timeout_ms,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
        )
        await self._import_spill()
        return self

    @property
    def path(self) -> Path:
        return self._path

    @property
    def pending(self) -> int:
        """Rows recorded but not yet in the database or the spill file."""
        return len(self._queue) + len(self._overflow)

    @property
    def retrying(self) -> bool:
        """True while the database refuses writes (rows are waiting)."""
        return self._outage

    # ----------------------------------------------------------------- writing

    def record(self, record: QuestionRecord) -> None:
        """Queue a question for writing; never blocks, never awaits."""
        row = QuestionRow.from_record(record)
        if self._closed:
            log.warning("question log: recorded after close; appending to %s", self._spill)
            spill.append(self._spill, [row])
            return
        self._enqueue(_Entry(row))

    async def vote(
        self, question_id: str, voter_hash: str, vote: int, reason: str | None = None
    ) -> None:
        """Record a reader's vote (one per voter, the latest wins) once its question is stored."""
        if vote not in (-1, 1):
            raise ValueError("vote must be 1 or -1")
        if self._closed:
            raise QuestionLogError("the question log is closed")
        now = format_time(datetime.now(UTC))
        entry = _Entry(VoteRow(question_id, voter_hash, vote, reason, now))
        entry.done = asyncio.get_running_loop().create_future()
        self._enqueue(entry)
        await asyncio.shield(entry.done)
        if entry.rejected:
            raise QuestionLogError(f"no question {question_id} to vote on")

    def _enqueue(self, entry: _Entry) -> None:
        row = entry.row
        follows_spill = isinstance(row, VoteRow) and row.question_id in self._spilled_ids
        if self._overflow or follows_spill or len(self._queue) >= self._queue_max:
            self._overflow.append(entry)  # keeps order with what is already spilled
            if isinstance(row, QuestionRow):
                self._spilled_ids.add(row.id)
        else:
            self._queue.append(entry)
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything recorded so far is in the database (or spilled)."""
        waits = [self._waiter(q[-1]) for q in (self._queue, self._overflow) if q]
        if not waits:
            return
        self._next_attempt = 0.0  # retry now rather than at the end of the backoff
        self._wake.set()
        await asyncio.gather(*(asyncio.shield(w) for w in waits))

    def _waiter(self, entry: _Entry) -> asyncio.Future[None]:
        if entry.done is None:
            entry.done = asyncio.get_running_loop().create_future()
        return entry.done

    async def close(self) -> None:
        """Write what the database accepts, spill the rest, then close the connection."""
        if self._closed:
            return
        self._closing = True
        self._next_attempt = 0.0
        self._wake.set()
        await self._task
        self._closed = True
        leftover = [*self._queue, *self._overflow]
        self._queue.clear()
        self._overflow.clear()
        if leftover:
            await self._spill_entries(leftover, final=True)
        async with self._db_lock:
            await self._drop_connection()

    # ------------------------------------------------------------- the writer

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._overflow:
                entries, self._overflow = self._overflow, []
                await self._spill_entries(entries, final=False)
            if self._queue and loop.time() >= self._next_attempt:
                if not await self._attempt() and self._closing:
                    return
                continue
            if self._closing and not self._queue and not self._overflow:
                return
            timeout = max(0.0, self._next_attempt - loop.time()) if self._queue else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _attempt(self) -> bool:
        """Write one batch; on failure leave it queued and schedule a retry."""
        try:
            async with self._db_lock:
                batch = list(itertools.islice(self._queue, BATCH_ROWS))
                conn = await self._connection()
                outcomes = await write_rows(conn, [entry.row for entry in batch])
                for _ in batch:
                    self._queue.popleft()
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
            _settle(entry)
        self._recovered()
        return True

    async def _failed(self, exc: BaseException) -> None:
        self._failed_attempts += 1
        if not self._outage:
            self._outage = True
            log.warning(
                "question log: cannot write to %s (%s); %d rows wait and will be retried",
                self._path,
                exc,
                self.pending,
            )
        if not _is_busy(exc):
            async with self._db_lock:
                await self._drop_connection()  # reopen (and recreate a deleted file) next time
        delay = min(self._retry_max_s, self._retry_initial_s * 2 ** min(self._failed_attempts, 30))
        self._next_attempt = asyncio.get_running_loop().time() + delay * random.uniform(0.5, 1)

    def _recovered(self) -> None:
        if self._outage:
            log.warning(
                "question log: writing to %s again after %d failed attempts",
                self._path,
                self._failed_attempts,
            )
        self._outage = False
        self._failed_attempts = 0
        self._next_attempt = 0.0

    def _reject(self, entry: _Entry, error: Exception) -> None:
        entry.rejected = True
        if isinstance(entry.row, VoteRow):
            log.warning("question log: vote for unknown question %s dropped", entry.row.question_id)
        else:
            log.error("question log: question %s rejected (%s)", entry.row.id, error)

    async def _connection(self) -> aiosqlite.Connection:
        """The writer's connection, reopened if it was dropped or the file replaced."""
        if self._conn is not None and _file_identity(self._path) == self._identity:
            return self._conn
        await self._drop_connection()
        self._conn = await open_database(self._path, self._busy_timeout_ms)
        self._identity = _file_identity(self._path)
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except sqlite3.Error as exc:
                log.debug("question log: closing the connection failed: %s", exc)

    # -------------------------------------------------------------- spilling

    async def _spill_entries(self, entries: list[_Entry], *, final: bool) -> None:
        try:
            await asyncio.to_thread(spill.append, self._spill, [e.row for e in entries])
        except OSError as exc:
            self._spill_failed(entries, exc, final=final)
            return
        if not self._spill_failing and not self._outage:
            log.warning("question log: %d rows spilled to %s", len(entries), self._spill)
        self._spill_failing = False
        for entry in entries:
            _settle(entry)

    def _spill_failed(self, entries: list[_Entry], exc: OSError, *, final: bool) -> None:
        if final:
            log.error(
                "question log: %d rows lost: cannot write %s (%s)", len(entries), self._spill, exc
            )
            for entry in entries:
                _settle(entry, QuestionLogError(f"could not save the question log: {exc}"))
            return
        if not self._spill_failing:
            log.error(
                "question log: cannot write %s (%s); keeping rows in memory", self._spill, exc
            )
        self._spill_failing = True
        for entry in entries:  # the database may come back before the disk does
            if isinstance(entry.row, QuestionRow):
                self._spilled_ids.discard(entry.row.id)
        self._queue.extend(entries)

    async def _import_spill(self) -> None:
        """Write back rows spilled by a previous run, then remove their file."""
        for part in await asyncio.to_thread(spill.claim, self._spill):
            rows = await asyncio.to_thread(spill.read, part)
            try:
                async with self._db_lock:
                    outcomes = await write_rows(await self._connection(), rows)
            except DB_ERRORS as exc:
                log.warning(
                    "question log: cannot import %s yet (%s); kept for next start", part, exc
                )
                continue
            await asyncio.to_thread(part.unlink, missing_ok=True)
            dropped = sum(error is not None for error in outcomes)
            log.info("question log: imported %d spilled rows (%d dropped)", len(rows), dropped)

    # ----------------------------------------------------------- maintenance

    async def count(self) -> int:
        """Questions stored in the database (queued ones are in :attr:`pending`)."""
        async with (
            self._maintenance() as conn,
            conn.execute("SELECT count(*) FROM questions") as cur,
        ):
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def purge(self, older_than: datetime) -> int:
        """Delete questions asked before ``older_than`` with their results and feedback."""
        async with self._maintenance() as conn:
            return await delete_older_than(conn, format_time(older_than))

    async def forget(self, user_hash: str) -> int:
        """Delete a user's questions (queued, spilled and stored) and the votes they gave."""
        async with self._maintenance() as conn:
            matches = _belongs_to(user_hash, set())
            removed = self._forget_queued(matches)
            removed += await asyncio.to_thread(spill.remove_matching, self._spill, matches)
            return removed + await delete_user(conn, user_hash)

    def _forget_queued(self, matches: Callable[[Row], bool]) -> int:
        removed = 0
        for name in ("_queue", "_overflow"):
            kept: list[_Entry] = []
            for entry in getattr(self, name):
                if matches(entry.row):
                    removed += row_count(entry.row)
                    _settle(entry)
                else:
                    kept.append(entry)
            setattr(self, name, deque(kept) if name == "_queue" else kept)
        return removed

    def _maintenance(self) -> _Maintenance:
        if self._closed:
            raise QuestionLogError("the question log is closed")
        return _Maintenance(self)


class _Maintenance:
    """Holds the writer's lock and turns SQLite errors into one-line QuestionLogErrors."""

    def __init__(self, owner: QuestionLog) -> None:
        self._owner = owner

    async def __aenter__(self) -> aiosqlite.Connection:
        await self._owner._db_lock.acquire()
        try:
            return await self._owner._connection()
        except BaseException as exc:
            self._owner._db_lock.release()
            raise _as_log_error(self._owner.path, exc) from exc

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        self._owner._db_lock.release()
        if isinstance(exc, sqlite3.Error):
            raise _as_log_error(self._owner.path, exc) from exc


def _as_log_error(path: Path, exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.Error | OSError):
        return QuestionLogError(f"{path}: {exc}")
    return exc


def _belongs_to(user_hash: str, question_ids: set[str]) -> Callable[[Row], bool]:
    """Rows to forget: the user's questions, votes on them, and votes the user gave."""

    def matches(row: Row) -> bool:
        if isinstance(row, QuestionRow):
            if row.user_hash == user_hash:
                question_ids.add(row.id)
                return True
            return False
        return row.voter_hash == user_hash or row.question_id in question_ids

    return matches


def _settle(entry: _Entry, error: BaseException | None = None) -> None:
    if entry.done is not None and not entry.done.done():
        if error is None:
            entry.done.set_result(None)
        else:
            entry.done.set_exception(error)


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
