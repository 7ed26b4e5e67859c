"""Sharing an answer is recorded once the shared message was sent, never before: a share
that Discord refused leaves nothing behind, and the next click shares it."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import discord.webhook.async_
import pytest

from bot.discordbot.messages import say
from tests.discordbot.discord_world import World, reply


class NoSleeps(types.ModuleType):
    """``asyncio`` inside discord.py's webhook module, without the retry sleeps."""

    def __init__(self) -> None:
        super().__init__("asyncio")

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        await asyncio.sleep(0)
        return result


@pytest.fixture
def no_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.webhook.async_, "asyncio", NoSleeps())


def shares(world: World, question_id: int) -> list[tuple[Any, ...]]:
    return world.rows("SELECT question_id FROM shares WHERE question_id = ?", str(question_id))


async def test_a_share_discord_refused_is_not_recorded(world: World, no_retry_sleeps: None) -> None:
    """Five 5xx on the share's response: the clicker gets the apology, no share is
    recorded, and the next click shares the answer publicly."""
    await world.start()
    handle, private = await world.ask("How is the Discord bot deployed?", private=True)
    share_id = f"share:{handle.id}"
    world.server.fail_next("POST /interactions/*", 500, times=5)
    failed = await reply(await world.server.click(private, share_id))
    assert failed.content == say("bug", "en")
    assert shares(world, handle.id) == []
    shared = await reply(await world.server.click(private, share_id))
    assert not shared.ephemeral and "shared an answer" in shared.content
    await world.until(lambda: shares(world, handle.id) == [(str(handle.id),)], "the record")


async def test_two_quick_clicks_share_once(world: World) -> None:
    """Two clicks at the same moment: one public share, the other click is told."""
    await world.start()
    handle, private = await world.ask("How is the Discord bot deployed?", private=True)
    share_id = f"share:{handle.id}"
    first, second = await asyncio.gather(
        world.server.click(private, share_id), world.server.click(private, share_id)
    )
    answers = [await reply(first), await reply(second)]
    assert sorted(m.ephemeral for m in answers) == [False, True]
    told = next(m for m in answers if m.ephemeral)
    assert "already been shared" in told.content
    await world.until(lambda: shares(world, handle.id) == [(str(handle.id),)], "the record")
