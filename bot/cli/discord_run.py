"""``python -m bot run``: the Discord bot, with the same engine as the other commands.

Loaded only when ``run`` runs (:mod:`bot.cli.run_command` registers the sub-command), so
no other command imports discord.py.

Resources are built in order before the bot connects: the index is ready (from the
cache) before any command is served, and the question log is open before the first
question. SIGTERM (and Ctrl-C) stops taking questions, lets those in flight finish,
then flushes and closes the log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator

import aiohttp
import discord

from bot.cli.errors import UserError
from bot.discordbot.client import BlogBot, point_at_endpoints
from bot.questions import QuestionLog, QuestionLogError, redaction
from bot.questions.privacy import UserHasher, load_or_create_salt
from bot.retrieval.engine import Engine
from bot.settings import Settings

log = logging.getLogger(__name__)

EngineOpener = Callable[[Settings], Engine]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DiscordUnreachable(Exception):
    """Logging in failed before Discord answered: no route, refused, DNS, timeout."""


def discord_token(settings: Settings) -> str:
    """The bot token, or one line saying how to provide it. Never printed or logged."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise UserError(
            "DISCORD_TOKEN is not set: put the bot token in the environment or in .env "
            "(see docs/discord-setup.md)"
        )
    return token


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    token = discord_token(settings)
    redaction.add_secret(token)
    settings.admin_users()  # an admin id without a server stops the bot here, before loading
    from bot.cli.compose import open_engine  # loads the model stack only when needed

    try:
        asyncio.run(serve(settings, token, open_engine))
    except discord.LoginFailure:
        raise UserError(
            "DISCORD_TOKEN was rejected by Discord: copy the token again from the "
            "Developer Portal (Bot → Reset Token)"
        ) from None
    except QuestionLogError as exc:
        raise UserError(str(exc)) from None
    except DiscordUnreachable as exc:
        raise UserError(f"cannot reach Discord: {exc}") from None
    return 0


async def serve(settings: Settings, token: str, open_engine: EngineOpener) -> None:
    """Open the engine and the question log, run the bot until stopped, close the log."""
    point_at_endpoints(settings)
    engine = await asyncio.to_thread(open_engine, settings)
    index = engine.index
    log.info("index ready: %d articles, %d passages", len(index.articles), len(index.passages))
    questions = await QuestionLog.open(settings.question_db, queue_max=settings.log_queue_max)
    try:
        hasher = UserHasher(await asyncio.to_thread(load_or_create_salt, settings))
        async with BlogBot(
            settings=settings, engine=engine, questions=questions, hasher=hasher
        ) as bot:
            with stop_on_signals(bot):
                try:
                    await bot.start(token)
                except (aiohttp.ClientError, OSError, TimeoutError, discord.GatewayNotFound) as exc:
                    reason = redaction.REDACTOR.redact(str(exc)) or type(exc).__name__
                    raise DiscordUnreachable(reason) from exc
    finally:
        await questions.close()
        log.info("question log closed")


@contextlib.contextmanager
def stop_on_signals(bot: BlogBot) -> Iterator[None]:
    """Turn SIGTERM/SIGINT into a graceful :meth:`BlogBot.shutdown`."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def stop(signum: int) -> None:
        log.info("received %s", signal.Signals(signum).name)
        if not tasks:
            tasks.add(loop.create_task(bot.shutdown(), name="shutdown"))

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        yield
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
