"""The bot's slash commands, one feature per module, and what they share.

Each module ends in ``async def setup(bot)`` so :meth:`BlogBot.setup_hook` can load it
with ``load_extension``. Command names and descriptions are written in English with
:class:`discord.app_commands.locale_str`; :class:`CommandTranslator` adds Japanese.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discordbot.messages import Lang, language_of, say

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discordbot.cogs.feedback",
    "bot.discordbot.cogs.ask",
    "bot.discordbot.cogs.admin",
    "bot.discordbot.cogs.privacy",
)
NO_MENTIONS = discord.AllowedMentions.none()

JA: dict[str, str] = {
    # /ask
    "ask": "質問",
    "Ask the blog a question; the answer quotes its articles": (
        "ブログに質問します（記事から引用して答えます）"
    ),
    "question": "内容",
    "Your question, in Japanese or English": "質問の内容（日本語または英語）",
    "category": "カテゴリ",
    "Only articles in this category": "このカテゴリの記事だけを探します",
    "tag": "タグ",
    "Only articles with this tag": "このタグの記事だけを探します",
    "since": "開始日",
    "Only articles published on or after this day (YYYY-MM-DD)": (
        "この日以降の記事だけ（YYYY-MM-DD）"
    ),
    "until": "終了日",
    "Only articles published on or before this day (YYYY-MM-DD)": (
        "この日以前の記事だけ（YYYY-MM-DD）"
    ),
    "private": "非公開",
    "Only you see the answer": "回答を自分だけに表示します",
    # /reindex and /export
    "reindex": "再索引",
    "Re-read the blog's articles and update the index (admins)": (
        "記事を読み直して索引を更新します（管理者）"
    ),
    "export": "エクスポート",
    "Download this server's questions as a file (admins)": (
        "このサーバーの質問をファイルで取得します（管理者）"
    ),
    "format": "形式",
    "File format": "ファイル形式",
    "CSV (spreadsheets)": "CSV（表計算ソフト用）",
    "JSON Lines (programs)": "JSON Lines（プログラム用）",
    "Only questions asked on or after this day (YYYY-MM-DD)": "この日以降の質問だけ（YYYY-MM-DD）",
    "Only questions asked on or before this day (YYYY-MM-DD)": "この日以前の質問だけ（YYYY-MM-DD）",
    "unanswered_only": "未回答のみ",
    "Only questions the blog could not answer": "ブログで答えられなかった質問だけ",
    # /forget-me
    "forget-me": "履歴を削除",
    "Delete the questions you asked and your votes": "自分の質問と評価を削除します",
}


class CommandTranslator(app_commands.Translator):
    """Japanese names and descriptions for every command, option and choice."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is not discord.Locale.japanese:
            return None
        return JA.get(string.message)


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


def reader_language(interaction: discord.Interaction[BlogBot]) -> Lang:
    return language_of(interaction.locale)


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD option, or a UserFacingError naming what was typed."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserFacingError("bad_date", value=value.strip()[:40]) from None


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


async def tell(interaction: discord.Interaction[BlogBot], text: str) -> None:
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
