"""The writer's in-memory queue: rows waiting for the database, and those bound for the spill.

Rows are kept in the order they were recorded. Up to ``limit`` wait for the database;
past that, rows go to the overflow that the writer appends to the spill file. Once
something overflows, later rows follow it there until the overflow is drained, and a
vote on a spilled question is spilled too, so on import a vote never precedes its
question.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.questions.store import QuestionRow, Row, VoteRow, row_count


@dataclass(slots=True)
class Entry:
    """A queued row; ``done`` exists only when someone waits for it."""

    row: Row
    done: asyncio.Future[None] | None = None
    rejected: bool = False

    def waiter(self) -> asyncio.Future[None]:
        if self.done is None:
            self.done = asyncio.get_running_loop().create_future()
        return self.done

    def settle(self, error: BaseException | None = None) -> None:
        """Wake whoever waits for this row: it is written, spilled, dropped or lost."""
        if self.done is None or self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)


class RowQueue:
    """FIFO of rows for the database, with an overflow for the spill file."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("queue_max must be at least 1")
        self._limit = limit
        self._ready: deque[Entry] = deque()
        self._overflow: list[Entry] = []
        self._spilled_ids: set[str] = set()

    def __len__(self) -> int:
        return len(self._ready) + len(self._overflow)

    @property
    def ready(self) -> int:
        """Rows waiting for the database."""
        return len(self._ready)

    def put(self, entry: Entry) -> None:
        row = entry.row
        follows_spill = isinstance(row, VoteRow) and row.question_id in self._spilled_ids
        if self._overflow or follows_spill or len(self._ready) >= self._limit:
            self._overflow.append(entry)
            if isinstance(row, QuestionRow):
                self._spilled_ids.add(row.id)
        else:
            self._ready.append(entry)

    def head(self, size: int) -> list[Entry]:
        """The oldest rows for the database, left queued until :meth:`pop` confirms them."""
        return list(itertools.islice(self._ready, size))

    def pop(self, count: int) -> None:
        for _ in range(count):
            self._ready.popleft()

    def take_overflow(self) -> list[Entry]:
        entries, self._overflow = self._overflow, []
        return entries

    def take_all(self) -> list[Entry]:
        entries = [*self._ready, *self._overflow]
        self._ready.clear()
        self._overflow.clear()
        return entries

    def unspill(self, entries: list[Entry]) -> None:
        """Queue rows for the database after the spill file refused them."""
        for entry in entries:
            if isinstance(entry.row, QuestionRow):
                self._spilled_ids.discard(entry.row.id)
        self._ready.extend(entries)

    def last(self) -> list[Entry]:
        """The newest row on each side: once both are settled, all earlier ones are."""
        return [side[-1] for side in (self._ready, self._overflow) if side]

    def remove(self, unwanted: Callable[[Row], bool]) -> int:
        """Drop (and settle) the rows ``unwanted`` selects; returns database rows removed."""
        removed = 0
        kept: list[list[Entry]] = [[], []]
        for side, entries in enumerate((self._ready, self._overflow)):
            for entry in entries:
                if unwanted(entry.row):
                    removed += row_count(entry.row)
                    entry.settle()
                else:
                    kept[side].append(entry)
        self._ready, self._overflow = deque(kept[0]), kept[1]
        return removed
