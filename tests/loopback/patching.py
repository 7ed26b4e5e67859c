"""Point an installed discord.py at a loopback server for the duration of a test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import discord.gateway
import discord.http
import yarl

if TYPE_CHECKING:
    from .server import LoopbackDiscord

log = logging.getLogger(__name__)


@contextmanager
def point_discord_py_at(server: LoopbackDiscord) -> Iterator[None]:
    """Swap ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``; restore them after.

    REST (including interaction webhooks) goes through ``Route.BASE``; the default gateway
    matters after a non-resumable invalid session, when discord.py re-identifies there.
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
