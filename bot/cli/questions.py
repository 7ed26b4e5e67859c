"""`export`, `purge` and `forget`: the question log from a terminal.

Editors export what readers asked; operators apply the retention period and honour a
reader's request to be forgotten. All three work on the same file as a running bot:
the log is SQLite in WAL mode, and its writes are idempotent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.cli.errors import UserError
from bot.questions import QuestionLog, QuestionLogError
from bot.questions.privacy import UserHasher, load_or_create_salt
from bot.reports.export import ExportQuery, export_questions
from bot.retrieval import days
from bot.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the question-log sub-commands to the main parser."""
    _register_export(sub)
    purge = sub.add_parser(
        "purge",
        help="delete logged questions older than RETENTION_DAYS",
        description="Delete questions (with their results and votes) older than "
        "RETENTION_DAYS days and print how many rows were removed.",
    )
    purge.set_defaults(handler=run_purge)
    forget = sub.add_parser(
        "forget",
        help="delete everything a Discord user asked or voted",
        description="Delete a user's questions, their results and votes, and the votes "
        "the user gave; prints how many rows were removed. The id is hashed with the "
        "log's salt, as when it was recorded.",
    )
    forget.add_argument("user_id", metavar="USER_ID", help="the Discord user id (digits)")
    forget.set_defaults(handler=run_forget)


def _register_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export",
        help="export logged questions as CSV or JSONL",
        description="Write logged questions, oldest first. CSV (UTF-8 with BOM, for Excel) "
        "has one row per question; JSONL has everything, results and votes included. "
        "Dates are days in TIMEZONE.",
    )
    export.add_argument(
        "--format", choices=("csv", "jsonl"), default="csv", help="output format (csv)"
    )
    export.add_argument("--since", metavar="DATE", help="first day to include, YYYY-MM-DD")
    export.add_argument("--until", metavar="DATE", help="last day to include, YYYY-MM-DD")
    export.add_argument(
        "--unanswered", action="store_true", help="only questions without a confident answer"
    )
    export.add_argument("--guild", metavar="ID", type=str, help="only this Discord server")
    export.add_argument("--out", metavar="FILE", type=Path, help="write here, not to stdout")
    export.set_defaults(handler=run_export)


def parse_day(option: str, value: str | None) -> date | None:
    """A YYYY-MM-DD option value, or a one-line UserError."""
    if value is None:
        return None
    try:
        return days.parse_day(value)
    except days.NotADay as exc:
        raise UserError(f"{option}: {exc}") from None


def parse_id(option: str, value: str | None) -> int | None:
    """A Discord snowflake given on the command line, or a one-line UserError."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise UserError(f"{option}: expected a numeric Discord id, got {value!r}")
    return int(value.strip())


def export_query(args: argparse.Namespace) -> ExportQuery:
    query = ExportQuery(
        since=parse_day("--since", args.since),
        until=parse_day("--until", args.until),
        unanswered_only=bool(args.unanswered),
        guild_id=parse_id("--guild", args.guild),
    )
    if query.since and query.until and query.since > query.until:
        raise UserError(f"--since {query.since} is after --until {query.until}")
    return query


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    query = export_query(args)
    try:
        count = _export(args, settings, query)
    except (QuestionLogError, OSError) as exc:
        raise UserError(str(exc)) from None
    where = f" to {args.out}" if args.out else ""
    print(f"exported {count} questions{where}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace, settings: Settings, query: ExportQuery) -> int:
    """Export to stdout, or to a file that appears only once complete."""
    db, fmt, tz = settings.question_db, args.format, settings.tz
    if args.out is None:
        count = asyncio.run(export_questions(db, query, fmt, sys.stdout.buffer, tz))
        sys.stdout.buffer.flush()
        return count
    partial = args.out.with_name(f".{args.out.name}.part")
    try:
        with partial.open("wb") as out:
            count = asyncio.run(export_questions(db, query, fmt, out, tz))
        partial.replace(args.out)
    finally:
        partial.unlink(missing_ok=True)
    return count


def run_purge(args: argparse.Namespace, settings: Settings) -> int:
    cutoff = datetime.now(UTC) - timedelta(days=settings.retention_days)
    removed = _with_log(settings, lambda log: log.purge(cutoff))
    print(
        f"removed {removed} rows asked before {cutoff:%Y-%m-%d %H:%M} UTC "
        f"(RETENTION_DAYS={settings.retention_days})"
    )
    return 0


def run_forget(args: argparse.Namespace, settings: Settings) -> int:
    user_id = parse_id("USER_ID", args.user_id)
    assert user_id is not None
    try:
        hasher = UserHasher(load_or_create_salt(settings))
    except (QuestionLogError, OSError) as exc:
        raise UserError(str(exc)) from None
    removed = _with_log(settings, lambda log: log.forget(hasher.hash(user_id)))
    print(f"removed {removed} rows for that user")
    return 0


def _with_log(settings: Settings, action: Callable[[QuestionLog], Awaitable[int]]) -> int:
    """Open the log, run ``action(log)``, close it; log errors become UserErrors."""

    async def run() -> int:
        log = await QuestionLog.open(settings.question_db, queue_max=settings.log_queue_max)
        try:
            return await action(log)
        finally:
            await log.close()

    try:
        return asyncio.run(run())
    except (QuestionLogError, OSError) as exc:
        raise UserError(str(exc)) from None
