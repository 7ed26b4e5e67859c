"""Export the question log for editors: CSV for spreadsheets, JSONL for programs.

Shared by ``python -m bot export`` and the Discord ``/export`` command (which passes its
own guild id so a server never sees another's questions). Reads go through a separate
read-only connection and stream row by row, so a large log neither loads into memory
nor blocks the bot's writer.

CSV is UTF-8 with a byte-order mark because Excel, as commonly set up in Japan, reads a
file without one as Shift_JIS and garbles every question. Every cell goes through
:func:`bot.reports.cells.neutralise`, so a question like ``=HYPERLINK(...)`` stays text.

Each result carries the excerpt the reader was shown (its sentence in ``**…**``) and
that excerpt's tier; both are empty (CSV) or null (JSONL) for questions logged before
they were kept, and for a file the bot has not yet brought to that schema (an export
only reads, it never migrates).
"""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

import aiosqlite

from bot.questions.migrations import check_version, read_version
from bot.questions.store import QuestionLogError, format_time, parse_time, read_only_uri
from bot.reports.cells import neutralise

Format = Literal["csv", "jsonl"]
BOM = "\ufeff"

QUESTION_COLUMNS = (
    "id, asked_at, question, language, source, guild_id, channel_id, user_hash, tier, "
    "answered, best_score, latency_ms, index_version, model"
)
# The schema version whose results keep the excerpt shown and its tier (SCHEMA_V3).
SHOWN_SINCE = 3
CSV_EXTRAS = """,
  (SELECT title FROM results r WHERE r.question_id = q.id ORDER BY rank LIMIT 1) AS top_title,
  (SELECT url FROM results r WHERE r.question_id = q.id ORDER BY rank LIMIT 1) AS top_url,
  (SELECT {excerpt} FROM results r WHERE r.question_id = q.id ORDER BY rank LIMIT 1)
    AS top_excerpt,
  (SELECT {tier} FROM results r WHERE r.question_id = q.id ORDER BY rank LIMIT 1) AS top_tier,
  (SELECT count(*) FROM feedback f WHERE f.question_id = q.id AND f.vote = 1) AS thumbs_up,
  (SELECT count(*) FROM feedback f WHERE f.question_id = q.id AND f.vote = -1) AS thumbs_down
"""
JSONL_EXTRAS = """,
  (SELECT json_group_array(json_object('rank', rank, 'source', source, 'title', title,
      'url', url, 'passage_id', passage_id, 'heading', heading, 'score', score,
      'excerpt', {excerpt}, 'tier', {tier}))
   FROM (SELECT * FROM results r WHERE r.question_id = q.id ORDER BY rank) r) AS results,
  (SELECT json_group_array(json_object('voter_hash', voter_hash, 'vote', vote,
      'reason', reason, 'voted_at', voted_at))
   FROM (SELECT * FROM feedback f WHERE f.question_id = q.id
         ORDER BY voted_at, voter_hash)) AS feedback
"""


def extras_sql(fmt: Format, version: int) -> str:
    """The per-question result and vote columns of ``fmt`` for a file at ``version``."""
    shown = version >= SHOWN_SINCE
    template = CSV_EXTRAS if fmt == "csv" else JSONL_EXTRAS
    return template.format(
        excerpt="r.excerpt" if shown else "NULL", tier="r.tier" if shown else "NULL"
    )


@dataclass(frozen=True)
class ExportQuery:
    """Which questions to export; dates are whole days in the site's time zone."""

    since: date | None = None
    until: date | None = None  # inclusive
    unanswered_only: bool = False  # tier 'related' or 'none'
    guild_id: int | None = None


def where_clause(query: ExportQuery, tz: ZoneInfo) -> tuple[str, list[Any]]:
    """SQL conditions and parameters selecting the query's questions."""
    conditions: list[str] = []
    params: list[Any] = []
    if query.since is not None:
        conditions.append("q.asked_at >= ?")
        params.append(_day_start(query.since, tz))
    if query.until is not None:
        conditions.append("q.asked_at < ?")
        params.append(_day_start(query.until + timedelta(days=1), tz))
    if query.unanswered_only:
        conditions.append("q.tier IN ('related', 'none')")
    if query.guild_id is not None:
        conditions.append("q.guild_id = ?")
        params.append(str(query.guild_id))
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", params


def _day_start(day: date, tz: ZoneInfo) -> str:
    return format_time(datetime.combine(day, time.min, tzinfo=tz))


async def export_questions(
    db_path: Path, query: ExportQuery, fmt: Format, out: BinaryIO, tz: ZoneInfo
) -> int:
    """Write the selected questions to ``out`` in ``fmt``; returns how many."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}")
    where, params = where_clause(query, tz)
    async with _read_only(db_path) as conn:
        extras = extras_sql(fmt, await read_version(conn))
        sql = f"SELECT {QUESTION_COLUMNS}{extras} FROM questions q{where} ORDER BY q.asked_at, q.id"
        conn.row_factory = aiosqlite.Row
        async with conn.execute(sql, params) as cursor:
            if fmt == "csv":
                return await _write_csv(cursor, out, tz)
            return await _write_jsonl(cursor, out)


def _read_only_uri(db_path: Path) -> str:
    if not db_path.is_file():
        raise QuestionLogError(f"no question log at {db_path}")
    return read_only_uri(db_path)


@asynccontextmanager
async def _read_only(db_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A read-only connection, refusing a file without our schema or from a newer bot."""
    uri = await asyncio.to_thread(_read_only_uri, db_path)
    try:
        async with aiosqlite.connect(uri, uri=True) as conn:
            version = await read_version(conn)
            if version < 1:
                raise QuestionLogError(f"{db_path} holds no question log yet")
            check_version(version, db_path)
            yield conn
    except sqlite3.Error as exc:
        raise QuestionLogError(f"cannot read {db_path}: {exc}") from exc


class _Utf8Sink:
    """A text ``write`` for :mod:`csv` that encodes each row straight onto the byte stream."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, text: str) -> int:
        return self._out.write(text.encode("utf-8"))


def csv_header(tz: ZoneInfo) -> list[str]:
    return [
        f"asked_at ({tz.key})",
        "question",
        "language",
        "tier",
        "answered",
        "best_score",
        "top_title",
        "top_url",
        "top_excerpt",
        "top_tier",
        "thumbs_up",
        "thumbs_down",
        "source",
        "guild_id",
    ]


async def _write_csv(cursor: aiosqlite.Cursor, out: BinaryIO, tz: ZoneInfo) -> int:
    sink = _Utf8Sink(out)
    sink.write(BOM)
    writer = csv.writer(sink)
    writer.writerow(csv_header(tz))
    count = 0
    async for row in cursor:
        local = parse_time(row["asked_at"]).astimezone(tz)
        writer.writerow(
            [
                neutralise(cell)
                for cell in (
                    local.strftime("%Y-%m-%d %H:%M:%S"),
                    row["question"],
                    row["language"],
                    row["tier"],
                    row["answered"],
                    f"{row['best_score']:.4f}",
                    row["top_title"],
                    row["top_url"],
                    row["top_excerpt"],
                    row["top_tier"],
                    row["thumbs_up"],
                    row["thumbs_down"],
                    row["source"],
                    row["guild_id"],
                )
            ]
        )
        count += 1
    return count


async def _write_jsonl(cursor: aiosqlite.Cursor, out: BinaryIO) -> int:
    count = 0
    async for row in cursor:
        item = dict(row)
        item["results"] = json.loads(item["results"])
        item["feedback"] = json.loads(item["feedback"])
        line = json.dumps(item, ensure_ascii=False) + "\n"
        out.write(line.encode("utf-8"))
        count += 1
    return count
