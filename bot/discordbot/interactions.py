"""What every command and the client share about answering an interaction.

Kept apart from the cogs so that the client, which loads the cogs by name, never imports
them, and the cogs never import the client.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.discordbot.messages import Lang, say

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


class UserFacingError(app_commands.AppCommandError):
    """A mistake the reader can fix; shown to them privately, never logged as a bug."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def message(self, lang: Lang) -> str:
        return say(self.key, lang, **self.values)


class NotAdmin(app_commands.CheckFailure):
    """The member is neither a server manager nor a configured admin."""


async def tell(interaction: discord.Interaction[discord.Client], text: str) -> None:
    """Say ``text`` privately whatever state the interaction is in; never raise.

    Before any response this is an ephemeral reply; after a deferral it is a followup
    (which replaces the "thinking…" message and keeps that message's visibility).
    """
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            if not interaction.response.is_done():
                await interaction.response.autocomplete([])
        elif not interaction.response.is_done():
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        elif not interaction.is_expired():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("could not answer interaction %s: %s", interaction.id, exc)
