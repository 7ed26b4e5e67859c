"""The question log as the editors' Datasette reads it: bounded, and without askers' hashes.

Every connection Datasette opens gets these before it runs a query:

* a length limit on any one string or blob (``SQLITE_LIMIT_LENGTH``) and on the columns of
  a result: one SQLite instruction such as ``hex(zeroblob(150000000))`` would otherwise
  build 300 MB, and the time limit only checks between instructions. Some functions
  (``instr``, ``replace``) take time that grows with the square of their arguments' length,
  so the limit is kept far below what any report needs;
* a time-limit check every :data:`PROGRESS_STEPS` instructions at most, whatever interval
  the caller asks for (Datasette asks for 1000, long enough for seconds of work on large
  values);
* a bound on the text and bytes one query may return (:data:`MAX_RESULT_CHARS`): rows are
  read one by one and the query fails once the bound is passed, before Datasette holds
  its up to ``max_returned_rows`` rows and renders them;
* an authorizer that reads ``user_hash`` and ``voter_hash`` as NULL everywhere, so tables,
  custom SQL, JSON and ``_stream=on`` CSV never show a hash, and refuses ``ATTACH`` and the
  creation of new views or tables. The editors' page counts distinct askers with its own
  read-only connection and shows only the counts. ``pragma_database_list`` reads its
  ``file`` column as NULL: it holds the absolute path the hidden ``/-/`` pages would show.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from datasette.database import Database

MAX_VALUE_BYTES = 256 * 1024  # largest string or blob a query may build
MAX_RESULT_COLUMNS = 100  # columns in one result row (each up to MAX_VALUE_BYTES)
MAX_RESULT_CHARS = 8_000_000  # characters of text and bytes of blobs one query returns
PROGRESS_STEPS = 100  # SQLite instructions between two checks of the time limit at most
HEAP_LIMIT_BYTES = 512 * 1024 * 1024  # the editors' process, all connections together
HIDDEN_COLUMNS = frozenset({("questions", "user_hash"), ("feedback", "voter_hash")})
PATH_COLUMNS = frozenset({("pragma_database_list", "file")})  # read as NULL everywhere

DENIED_ACTIONS = frozenset(
    {
        sqlite3.SQLITE_ATTACH,
        sqlite3.SQLITE_DETACH,
        sqlite3.SQLITE_CREATE_TEMP_VIEW,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_CREATE_TEMP_TABLE,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
        sqlite3.SQLITE_CREATE_TRIGGER,
    }
)


def authorize(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _source: str | None
) -> int:
    """SQLite authorizer: askers' hashes and the file's path read as NULL; no new schema."""
    if action in DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (arg1, arg2) in HIDDEN_COLUMNS | PATH_COLUMNS:
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


class ResultTooBig(sqlite3.OperationalError):
    """A query returned more than :data:`MAX_RESULT_CHARS`; Datasette shows the message."""


def _row_size(row: Any) -> int:
    return sum(len(value) for value in row if isinstance(value, str | bytes))


class BoundedCursor(sqlite3.Cursor):
    """Reads rows one at a time and fails once their text and bytes pass the bound."""

    _returned = 0

    def _count(self, row: Any) -> Any:
        if row is not None:
            self._returned += _row_size(row)
            if self._returned > MAX_RESULT_CHARS:
                raise ResultTooBig(
                    f"result too big: over {MAX_RESULT_CHARS:,} characters; "
                    "select fewer or shorter columns, or add a LIMIT"
                )
        return row

    def fetchone(self) -> Any:
        return self._count(super().fetchone())

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = []
        for _ in range(self.arraysize if size is None else size):
            row = self.fetchone()
            if row is None:
                break
            rows.append(row)
        return rows

    def fetchall(self) -> list[Any]:
        return list(iter(self.fetchone, None))

    def __next__(self) -> Any:
        return self._count(super().__next__())


class BoundedConnection(sqlite3.Connection):
    """Cursors that bound their result, and a time-limit check every few instructions."""

    def cursor(self, factory: Any = BoundedCursor) -> Any:
        return super().cursor(factory)

    def set_progress_handler(self, progress_handler: Any, n: int) -> None:
        super().set_progress_handler(progress_handler, min(n, PROGRESS_STEPS))


def guard_connection(conn: sqlite3.Connection) -> None:
    """Apply the limits and the authorizer to one connection."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_RESULT_COLUMNS)
    conn.set_authorizer(authorize)


class EditorsDatabase(Database):  # type: ignore[misc]
    """A read-only Datasette database whose every connection is guarded."""

    def __init__(self, ds: Any, path: str) -> None:
        super().__init__(ds, path=path, is_mutable=True)

    def connect(self, write: bool = False) -> sqlite3.Connection:
        if write:
            raise PermissionError("the editors' view never writes")
        # Datasette's own read-only connection, made with the bounded connection class
        query = "?mode=ro&nolock=1" if self.ds.nolock else "?mode=ro"
        conn = sqlite3.connect(
            f"file:{self.path}{query}",
            uri=True,
            check_same_thread=False,
            factory=BoundedConnection,
        )
        self._all_file_connections.append(conn)  # closed by Database.close()
        guard_connection(conn)
        return conn


def limit_heap() -> None:
    """Cap SQLite's memory in this process (``PRAGMA hard_heap_limit`` is process-wide)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")
    finally:
        conn.close()
