"""`python -m bot`: the same pipeline as the Discord bot, from a terminal.

Each module in :data:`COMMAND_MODULES` adds its sub-commands through ``register``; a
handler takes the parsed arguments and the settings and returns the exit code.

Output never fails on what it prints: a file name that is not valid UTF-8 is shown with
its bytes escaped (``\\xff``), and a reader that stops reading (``ask … | head``) ends the
command quietly with exit code 141, as a shell reports a SIGPIPE.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.cli.errors import UserError as UserError  # re-exported: the handlers raise it
from bot.corpus.errors import SiteReadFailed
from bot.questions import redaction
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.embedding.models import Embedder

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]

COMMAND_MODULES = (
    "bot.cli.answering",  # ask, reindex, eval
    "bot.cli.questions",  # export, purge, forget
    "bot.cli.reports",  # gaps, stats, editors
    "bot.cli.run_command",  # run (imports discord.py only when it runs)
    "bot.cli.ops",  # backup, invite
)


BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE, what a shell reports for `cmd | head`


def printable(text: str) -> str:
    """`text` with undecodable bytes from file names (lone surrogates) shown as ``\\xff``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no file name byte gives
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _escape_unprintable_output() -> None:
    """Let stdout escape what it cannot encode instead of failing mid-report."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", None) == "strict":
        reconfigure(errors="backslashreplace")


def _quiet_broken_pipe() -> int:
    """The reader has gone: later writes (the final flush included) go to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout
        pass
    return BROKEN_PIPE_EXIT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions about a blog with excerpts from its articles.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def configure_logging(level: str, verbose: bool) -> None:
    """Logs go to stderr so `--json` output on stdout stays machine-readable; every
    handler redacts tokens and user names, whatever the level."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redaction.install()
    for noisy in ("sentence_transformers", "transformers", "httpx", "urllib3", "filelock", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(
    argv: Sequence[str] | None = None, *, embedder: Callable[[Settings], Embedder] | None = None
) -> int:
    """Run one command; `embedder` builds the model in place of EMBEDDING_MODEL (tests)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _escape_unprintable_output()
    try:
        settings = load_settings()
        configure_logging(settings.log_level, args.verbose)
        handler: Handler = args.handler
        if embedder is None:
            code = handler(args, settings)
        else:
            from bot.cli import compose

            with compose.embedders(embedder):
                code = handler(args, settings)
        sys.stdout.flush()  # here, where a closed pipe can still be handled
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except (SettingsError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SiteReadFailed as exc:
        print(f"error: setting CORPUS_DIR: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
