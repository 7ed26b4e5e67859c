"""The bot's slash commands, one feature per module, and what they share.

Each module ends in ``async def setup(bot)`` so :meth:`BlogBot.setup_hook` can load it
by name with ``load_extension`` (the client never imports the cogs). Command names and
descriptions are written in English with :class:`discord.app_commands.locale_str`;
:mod:`bot.discordbot.translations` adds Japanese.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discordbot.interactions import NO_MENTIONS, NotAdmin, UserFacingError
from bot.discordbot.messages import Lang, language_of
from bot.retrieval import days

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)

__all__ = ["NO_MENTIONS", "UserFacingError", "admin_only", "parse_range", "reader_language"]


def reader_language(interaction: discord.Interaction[BlogBot]) -> Lang:
    return language_of(interaction.locale)


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD option, or a UserFacingError naming what was typed."""
    if value is None or not value.strip():
        return None
    try:
        return days.parse_day(value)
    except days.NotADay as exc:
        raise UserFacingError("bad_date", value=exc.text[:40]) from None


def parse_range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start, end = parse_day(since), parse_day(until)
    if start is not None and end is not None and start > end:
        raise UserFacingError("bad_range")
    return start, end


def is_admin(interaction: discord.Interaction[BlogBot]) -> bool:
    """Manage Server in this guild, or listed for this guild in ADMIN_USER_IDS, or holding
    a role in ADMIN_ROLE_IDS (a role belongs to one guild, so it is per guild already).

    Discord hides admin commands by default permissions, but a server owner can
    override that visibility, so the bot decides again on every call.
    """
    bot = interaction.client
    if interaction.guild_id is None:
        return False
    if (interaction.guild_id, interaction.user.id) in bot.admin_users:
        return True
    perms = interaction.permissions
    if perms.administrator or perms.manage_guild:
        return True
    roles = getattr(interaction.user, "roles", [])
    return any(role.id in bot.settings.admin_role_ids for role in roles)


async def _admin_predicate(interaction: discord.Interaction[BlogBot]) -> bool:
    if not is_admin(interaction):
        log.info("refused admin command for a non-admin (interaction %s)", interaction.id)
        raise NotAdmin("not_admin")
    return True


admin_only = app_commands.check(_admin_predicate)
