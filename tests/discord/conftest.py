"""Fixtures for the Discord tests: ``world`` is the loopback Discord plus a restartable bot.

After each test it checks that Discord would have accepted every request, that no route
was unknown, and that no message the bot sent could ping anyone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord_world import NO_PINGS, POSTS, World, every_message, people

from tests.loopback import LoopbackDiscord, point_discord_py_at


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    posts = tmp_path / "corpus" / "_posts"
    posts.mkdir(parents=True)
    for name, text in POSTS.items():
        (posts / name).write_text(text, encoding="utf-8")
    cast = people()
    users = [cast[k] for k in ("reader", "editor", "moderator", "owner", "other_owner")]
    server = LoopbackDiscord(guilds=[cast["guild"], cast["other"]], users=users)
    async with server:
        with point_discord_py_at(server):
            here = World(server, tmp_path, cast)
            try:
                yield here
            finally:
                here.embedder.release.set()
                await here.stop()
        for message in every_message(server):
            assert message.allowed_mentions == NO_PINGS, message
        assert server.violations == []
        assert server.unknown_routes == []
