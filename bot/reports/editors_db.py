"""The question log as the editors' Datasette reads it: bounded, and without askers' hashes.

Every connection Datasette opens gets three things before it runs a query:

* a length limit on any one string or blob (``SQLITE_LIMIT_LENGTH``): one SQLite
  instruction such as ``hex(zeroblob(150000000))`` would otherwise build 300 MB and run
  for seconds past the time limit, which only checks between instructions;
* temporary views for the standing reports that need to count askers
  (:data:`ASKER_VIEWS`), created before the authorizer is set;
* an authorizer that reads ``user_hash`` and ``voter_hash`` as NULL everywhere except
  inside those views, so tables, custom SQL, JSON and ``_stream=on`` CSV never show a
  hash, and refuses ``ATTACH`` and the creation of new views or tables. Counting distinct
  askers stays possible; listing them does not.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from datasette.database import Database

MAX_VALUE_BYTES = 10_000_000  # largest string or blob a query may build
HEAP_LIMIT_BYTES = 512 * 1024 * 1024  # the editors' process, all connections together
HIDDEN_COLUMNS = frozenset({("questions", "user_hash"), ("feedback", "voter_hash")})
OFFSET_TOKEN = "LOCAL_OFFSET"  # noqa: S105 - a placeholder in SQL, not a secret

# Unanswered questions with the same wording (case, spaces and punctuation ignored).
UNANSWERED_GROUPS = """
SELECT
  MIN(q.question) AS example,
  COUNT(*) AS asked,
  COUNT(DISTINCT q.user_hash) AS askers,
  datetime(MIN(q.asked_at), 'LOCAL_OFFSET') AS first_local,
  datetime(MAX(q.asked_at), 'LOCAL_OFFSET') AS last_local
FROM main.questions AS q
WHERE q.tier IN ('related', 'none')
GROUP BY lower(replace(replace(replace(replace(replace(replace(replace(replace(
  trim(q.question), ' ', ''), '　', ''), '？', ''), '?', ''), '！', ''), '!', ''),
  '。', ''), '.', ''))
"""
ASKER_VIEWS = {"unanswered_groups": UNANSWERED_GROUPS}

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
    action: int, arg1: str | None, arg2: str | None, _db: str | None, source: str | None
) -> int:
    """SQLite authorizer: hashes read as NULL outside the asker views; no new schema."""
    if action in DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (arg1, arg2) in HIDDEN_COLUMNS:
        return sqlite3.SQLITE_OK if source in ASKER_VIEWS else sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


def guard_connection(conn: sqlite3.Connection, offset: str) -> None:
    """Apply the limit, the asker views and the authorizer to one connection."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    for name, sql in ASKER_VIEWS.items():
        conn.execute(
            f"CREATE TEMP VIEW IF NOT EXISTS {name} AS {sql.replace(OFFSET_TOKEN, offset)}"
        )
    conn.set_authorizer(authorize)


class EditorsDatabase(Database):  # type: ignore[misc]
    """A read-only Datasette database whose every connection is guarded."""

    def __init__(self, ds: Any, path: str, offset: str) -> None:
        super().__init__(ds, path=path, is_mutable=True)
        self._offset = offset

    def connect(self, write: bool = False) -> sqlite3.Connection:
        if write:
            raise PermissionError("the editors' view never writes")
        conn: sqlite3.Connection = super().connect(write=False)
        guard_connection(conn, self._offset)
        return conn


def limit_heap() -> None:
    """Cap SQLite's memory in this process (``PRAGMA hard_heap_limit`` is process-wide)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")
    finally:
        conn.close()
