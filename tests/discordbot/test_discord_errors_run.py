"""Bugs reach the one error handler; `python -m bot run` fails clearly and stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import discord
import pytest

import bot.cli.discord_run as discord_run
from bot.cli import main
from bot.discordbot.client import BlogBot
from bot.retrieval.answers import Answer
from bot.retrieval.engine import Engine, EngineConfig
from bot.retrieval.search import Filters
from bot.settings import Settings
from tests.discordbot.discord_world import World, reply

REPO = Path(__file__).resolve().parents[2]


async def broken_ask(question: str, k: int | None = None, filters: Filters | None = None) -> Answer:
    raise RuntimeError("index exploded")


@pytest.mark.parametrize("private", [True, False])
async def test_a_bug_gives_a_generic_reply_and_is_logged_with_the_interaction_id(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, private: bool
) -> None:
    """The reader sees a short apology (private when the reply was); the log has the details."""
    await world.start()
    assert world.engine is not None
    monkeypatch.setattr(world.engine, "ask", broken_ask)
    with caplog.at_level(logging.ERROR, logger="bot.discordbot.client"):
        handle, message = await world.ask("Jekyllのテーマ", private=private)
    assert "something went wrong" in message.content and message.embeds == []
    assert message.ephemeral is private
    assert "index exploded" not in message.content
    logged = [r for r in caplog.records if str(handle.id) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "/ask" in logged[0].getMessage()


async def test_a_bug_in_a_button_is_handled_by_the_same_handler(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing vote answers the clicker privately and logs the click's interaction id."""
    bot = await world.start()
    handle, message = await world.ask("Jekyllのテーマ")

    async def broken_vote(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot.questions, "vote", broken_vote)
    with caplog.at_level(logging.ERROR, logger="bot.discordbot.client"):
        click = await world.server.click(message, f"vote:up:{handle.id}")
        apology = await reply(click)
    assert apology.ephemeral and "something went wrong" in apology.content
    assert any(str(click.id) in r.getMessage() and r.exc_info for r in caplog.records)


def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    """Without DISCORD_TOKEN, `python -m bot run` prints one line naming it and exits 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert "DISCORD_TOKEN" in done.stderr


def test_rejected_token_exits_2_without_printing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Discord refusing the token is one clear line (exit 2) that never shows the token."""

    async def refused(*args: Any) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "very-secret-token")
    monkeypatch.setattr(discord_run, "serve", refused)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "DISCORD_TOKEN" in err
    assert "very-secret-token" not in err


def opener(world: World) -> discord_run.EngineOpener:
    def open_engine(settings: Settings) -> Engine:
        return Engine.open(EngineConfig.from_settings(settings), world.embedder)[0]

    return open_engine


def served_settings(world: World) -> Settings:
    return world.make_settings(
        discord_api_base=world.server.api_base, discord_gateway_url=world.server.gateway_url
    )


async def test_serve_raises_login_failure_for_a_rejected_token(world: World) -> None:
    """Against Discord (the loopback), a wrong token ends in LoginFailure, resources closed."""
    with pytest.raises(discord.LoginFailure):
        await discord_run.serve(served_settings(world), "wrong-token", opener(world))
    assert world.server.take_violations("auth") != []


async def test_sigterm_finishes_questions_in_flight_then_closes_the_log(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM: new questions are turned away, the one in flight is answered and logged."""
    bots: list[BlogBot] = []

    def recording_bot(**kwargs: Any) -> BlogBot:
        bots.append(BlogBot(guild_ready_timeout=0.05, **kwargs))
        return bots[-1]

    monkeypatch.setattr(discord_run, "BlogBot", recording_bot)
    served = asyncio.create_task(discord_run.serve(served_settings(world), world.server.token,
                                                   opener(world)))  # fmt: skip
    await world.until(lambda: bots and bots[0].is_ready(), "served bot ready")
    world.embedder.hold_queries = True  # readers' questions only: the probes are embedded
    first = await world.server.invoke_command("ask", {"question": "Jekyllのテーマ"})
    assert await asyncio.to_thread(world.embedder.entered.wait, 5)
    os.kill(os.getpid(), signal.SIGTERM)
    await world.until(lambda: not bots[0].accepting, "shutdown started")
    late = await reply(await world.server.invoke_command("ask", {"question": "まだ？"}))
    assert late.ephemeral and "restarting" in late.content
    world.embedder.release.set()
    answered = await reply(first)
    assert answered.embeds
    await asyncio.wait_for(served, 10)
    assert bots[0].is_closed()
    assert world.rows("SELECT id FROM questions") == [(str(first.id),)]
