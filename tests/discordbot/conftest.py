"""Fixtures for the Discord tests: ``world`` is the loopback Discord plus a restartable bot.

After each test it checks that Discord would have accepted every request, that no route
was unknown, and that no message the bot sent could ping anyone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discordbot.discord_world import World, open_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path) as here:
        yield here
    assert here.server.violations == []
    assert here.server.unknown_routes == []
