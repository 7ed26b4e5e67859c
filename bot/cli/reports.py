"""`gaps`, `stats` and `editors`: what readers asked, for the blog's editors.

`gaps` is the to-do list (unanswered questions grouped by meaning; ``--covered`` closes a
group once an article answers it), `stats` the health of the bot, `editors` the weekly page
and a read-only web view of the whole log. Apart from marking a gap covered they only read
the database (a log an older bot wrote is first brought up to date, as the bot would).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from bot.cli.errors import UserError
from bot.cli.options import day
from bot.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.embedding.models import Embedder
    from bot.reports.gaps import GapGroup

log = logging.getLogger(__name__)

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: SubParsers) -> None:
    """Add the report sub-commands to the main parser."""
    _register_gaps(sub)
    _register_stats(sub)
    _register_editors(sub)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def _register_gaps(sub: SubParsers) -> None:
    from bot.reports.gaps import DEFAULT_THRESHOLD

    gaps = sub.add_parser(
        "gaps",
        help="unanswered questions, grouped by meaning and ranked by readers",
        description="Group questions answered only with related articles or not at all "
        "(near-duplicates by embedding similarity), most readers first. Times are in TIMEZONE.",
    )
    gaps.add_argument("--since", type=day, metavar="DATE", help="first day, YYYY-MM-DD")
    gaps.add_argument("--top", type=_positive, default=20, metavar="N", help="groups (20)")
    gaps.add_argument(
        "--format", choices=("table", "csv", "jsonl"), default="table", help="output (table)"
    )
    gaps.add_argument("--out", type=Path, metavar="FILE", help="write to FILE, not stdout")
    gaps.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"cosine similarity to join a group ({DEFAULT_THRESHOLD}); lower merges more",
    )
    closing = gaps.add_mutually_exclusive_group()
    closing.add_argument(
        "--covered",
        nargs=2,
        metavar=("GROUP", "URL"),
        help="mark the open group GROUP (its key) as answered by the article at URL",
    )
    closing.add_argument(
        "--uncover", type=_positive, metavar="ID", help="undo cover ID (listed on the page)"
    )
    gaps.set_defaults(handler=run_gaps)


def _register_stats(sub: SubParsers) -> None:
    stats = sub.add_parser(
        "stats",
        help="questions per day, share answered, top articles, votes",
        description="Summarise the question log; days are in TIMEZONE.",
    )
    stats.add_argument("--since", type=day, metavar="DATE", help="first day, YYYY-MM-DD")
    stats.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw a chart")
    stats.set_defaults(handler=run_stats)


def _register_editors(sub: SubParsers) -> None:
    editors = sub.add_parser(
        "editors",
        help="serve the read-only web view of the question log (Datasette)",
        description="Serve the question log with Datasette, read-only, until Ctrl-C.",
    )
    editors.add_argument("--host", help="address to bind (EDITORS_HOST, 127.0.0.1)")
    editors.add_argument("--port", type=int, help="port (EDITORS_PORT, 8001)")
    editors.set_defaults(handler=run_editors)


def _database_or_none(settings: Settings) -> Path | None:
    if settings.question_db.is_file():
        return settings.question_db
    print(f"no questions logged yet: {settings.question_db} does not exist")
    return None


def run_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import compose
    from bot.reports.gaps import find_gaps

    db_path = _database_or_none(settings)
    if db_path is None:
        return 0
    _bring_up_to_date(db_path)
    if args.uncover is not None:
        return _uncover(db_path, args.uncover)
    embedder = compose.root(settings).embedder()
    if args.covered is not None:
        return _cover(db_path, embedder, args, settings)
    groups = asyncio.run(
        find_gaps(
            db_path,
            embedder,
            since=args.since,
            top=args.top,
            tz=settings.tz,
            threshold=args.threshold,
        )
    )
    _emit(_render_gaps(groups, args.format), args.out, bom=args.format == "csv")
    return 0


def _bring_up_to_date(db_path: Path) -> None:
    from bot.questions import QuestionLogError
    from bot.questions.covers import bring_up_to_date

    try:
        asyncio.run(bring_up_to_date(db_path))
    except QuestionLogError as exc:
        raise UserError(str(exc)) from None


def _cover(db_path: Path, embedder: Embedder, args: argparse.Namespace, settings: Settings) -> int:
    from bot.questions import QuestionLogError
    from bot.reports.covers import cover_gap

    group, url = args.covered
    if not url.startswith(("https://", "http://", "/")):
        raise UserError(f"not an article URL: {url!r} (give the address readers open)")
    try:
        cover_id, found = asyncio.run(
            cover_gap(db_path, embedder, group, url, tz=settings.tz, threshold=args.threshold)
        )
    except QuestionLogError as exc:
        raise UserError(str(exc)) from None
    print(
        f"cover {cover_id}: {found.size} question(s) like {found.example!r} "
        f"are answered by {url}; they leave the open list"
    )
    return 0


def _uncover(db_path: Path, cover_id: int) -> int:
    from bot.questions.covers import remove_cover

    if not asyncio.run(remove_cover(db_path, cover_id)):
        raise UserError(f"no cover {cover_id}")
    print(f"cover {cover_id} removed: its questions are back on the open list")
    return 0


def _render_gaps(groups: Sequence[GapGroup], fmt: str) -> str:
    from bot.reports.gaps_format import format_csv, format_jsonl, format_table

    if fmt == "csv":
        return format_csv(groups)
    if fmt == "jsonl":
        return format_jsonl(groups)
    return format_table(groups, width=shutil.get_terminal_size((120, 24)).columns) + "\n"


def _emit(text: str, out: Path | None, *, bom: bool) -> None:
    """Print, or write a file (CSV files get a BOM so spreadsheets detect UTF-8)."""
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8-sig" if bom else "utf-8", newline="")
    print(f"wrote {out}", file=sys.stderr)


def run_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports.stats import compute_stats, format_stats, plot_stats

    db_path = _database_or_none(settings)
    if db_path is None:
        return 0
    _bring_up_to_date(db_path)
    stats = asyncio.run(compute_stats(db_path, since=args.since, tz=settings.tz))
    print(format_stats(stats))
    if args.plot is not None:
        if not stats.days:
            raise UserError("nothing to plot: no questions in this period")
        plot_stats(stats, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def run_editors(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports.editors import EditorsViewError, serve

    host = args.host or settings.editors_host
    port = args.port or settings.editors_port
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("editors' view bound to %s: put it behind a login (docs/editors.md)", host)
    if settings.question_db.is_file():
        _bring_up_to_date(settings.question_db)
    print(f"editors' view: http://{host}:{port}/  (Ctrl-C to stop)", file=sys.stderr)
    try:
        serve(settings, host, port, _page_model(settings))
    except EditorsViewError as exc:
        raise UserError(str(exc)) from None
    return 0


def _page_model(settings: Settings) -> Callable[[], Embedder]:
    """The configured model, loaded on the page's first visit; a missing model is one line."""
    from bot.cli import compose
    from bot.reports.editors_app import PageUnavailable

    def load() -> Embedder:
        try:
            return compose.root(settings).embedder()
        except UserError as exc:
            raise PageUnavailable(str(exc)) from None

    return load
