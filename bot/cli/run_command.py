"""``python -m bot run`` on the command line, without importing discord.py.

Every command's parser is built on each start, so the ``run`` sub-command is registered
here and :mod:`bot.cli.discord_run` (which imports discord.py) is loaded only when it runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    run.set_defaults(handler=run_bot)


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import discord_run

    return discord_run.run_bot(args, settings)
