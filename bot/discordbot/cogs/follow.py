"""Follow the blog while the bot runs, and announce new articles in a channel.

The following itself is the core's (`bot.retrieval.follow`); this cog starts it with the
bot, stops it with the bot, and posts each newly indexed article's title and link to
ANNOUNCE_CHANNEL_ID when that is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discordbot.cogs import NO_MENTIONS
from bot.discordbot.messages import Lang, language_of, say
from bot.index.refresh import ReindexReport
from bot.retrieval.follow import Follower

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)

ANNOUNCED_MAX = 10  # articles listed in one announcement; the rest are counted


class Follow(commands.Cog):
    def __init__(self, bot: BlogBot) -> None:
        self.bot = bot
        settings = bot.settings
        announce = self.announce if settings.announce_channel_id is not None else None
        self.follower = Follower(bot.engine, settings.refresh, settings.refresh_minutes, announce)
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self._task = asyncio.create_task(self.follower.run(), name="follow the blog")

    async def cog_unload(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def announce(self, report: ReindexReport) -> None:
        """One message listing the new articles (title and link), mentioning no one."""
        channel_id = self.bot.settings.announce_channel_id
        assert channel_id is not None
        await self.bot.wait_until_ready()
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except discord.HTTPException as exc:
            log.warning("cannot announce new articles in channel %s: %s", channel_id, exc)
            return
        if not isinstance(channel, discord.abc.Messageable):
            log.warning(
                "cannot announce new articles in channel %s: not a text channel", channel_id
            )
            return
        guild = getattr(channel, "guild", None)
        lang = language_of(getattr(guild, "preferred_locale", None))
        await self._send(channel, report, lang)

    async def _send(
        self, channel: discord.abc.Messageable, report: ReindexReport, lang: Lang
    ) -> None:
        articles = self.bot.engine.index.articles
        lines = [
            f"- [{discord.utils.escape_markdown(a.title)}](<{a.url}>)"
            for a in (articles.get(s) for s in report.added[:ANNOUNCED_MAX])
            if a is not None
        ]
        if len(report.added) > ANNOUNCED_MAX:
            lines.append(say("announce.more", lang, count=len(report.added) - ANNOUNCED_MAX))
        text = "\n".join([say("announce.new", lang), *lines])
        try:
            await channel.send(text[:2000], allowed_mentions=NO_MENTIONS, suppress_embeds=True)
        except discord.HTTPException as exc:
            log.warning("cannot announce new articles: %s", exc)


async def setup(bot: BlogBot) -> None:
    await bot.add_cog(Follow(bot))
