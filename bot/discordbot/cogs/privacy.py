"""``/forget-me``: a reader erases their own questions and votes from the log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.discordbot.cogs import NO_MENTIONS, reader_language
from bot.discordbot.messages import say

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)


class Privacy(commands.Cog):
    """Erasure on request, matched by the same salted hash the log stores."""

    def __init__(self, bot: BlogBot) -> None:
        self.bot = bot

    @app_commands.command(
        name=_("forget-me"), description=_("Delete the questions you asked and your votes")
    )
    async def forget_me(self, interaction: discord.Interaction[BlogBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.bot.questions.forget(self.bot.hasher.hash(interaction.user.id))
        log.info("forgot %d rows on request (interaction %s)", removed, interaction.id)
        await interaction.followup.send(
            say("forgot", reader_language(interaction), count=removed),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: BlogBot) -> None:
    await bot.add_cog(Privacy(bot))
