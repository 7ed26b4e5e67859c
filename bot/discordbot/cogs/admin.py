"""``/reindex`` and ``/export``: the editors' commands, for server admins only.

Both can outlive an interaction token (15 minutes), so their result is delivered by
:func:`deliver`, which falls back to a direct message when the token has expired.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from io import BytesIO
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.discordbot.cogs import NO_MENTIONS, admin_only, parse_range, reader_language
from bot.discordbot.messages import Lang, say
from bot.discordbot.replies import report_embed
from bot.index.refresh import ReindexReport
from bot.reports.export import ExportQuery, Format, export_questions
from bot.retrieval.engine import ReindexFailed, ReindexInProgress

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)

TOKEN_GONE = frozenset({10015, 50027})  # Unknown Webhook, Invalid Webhook Token
FORMATS: dict[str, Format] = {"csv": "csv", "jsonl": "jsonl"}


class Admin(commands.Cog):
    """Keeping the index fresh and handing the question log to the editors."""

    def __init__(self, bot: BlogBot) -> None:
        self.bot = bot

    @app_commands.command(
        name=_("reindex"),
        description=_("Re-read the blog's articles and update the index (admins)"),
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only
    async def reindex(self, interaction: discord.Interaction[BlogBot]) -> None:
        lang = reader_language(interaction)
        if self.bot.engine.reindexing:
            await interaction.response.send_message(
                say("reindex.busy", lang), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.bot.engine.reindex()  # questions keep using the old index
        except ReindexInProgress:
            await deliver(interaction, say("reindex.busy", lang))
            return
        except ReindexFailed as exc:
            await deliver(interaction, say("reindex.failed", lang, reason=str(exc)))
            return
        await deliver(interaction, say("reindex.done", lang), embed=reindex_embed(report, lang))

    @app_commands.command(
        name=_("export"), description=_("Download this server's questions as a file (admins)")
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only
    @app_commands.rename(
        fmt=_("format"), since=_("since"), until=_("until"), unanswered_only=_("unanswered_only")
    )
    @app_commands.describe(
        fmt=_("File format"),
        since=_("Only questions asked on or after this day (YYYY-MM-DD)"),
        until=_("Only questions asked on or before this day (YYYY-MM-DD)"),
        unanswered_only=_("Only questions the blog could not answer"),
    )
    @app_commands.choices(
        fmt=[
            app_commands.Choice(name=_("CSV (spreadsheets)"), value="csv"),
            app_commands.Choice(name=_("JSON Lines (programs)"), value="jsonl"),
        ]
    )
    async def export(
        self,
        interaction: discord.Interaction[BlogBot],
        fmt: str = "csv",
        since: str | None = None,
        until: str | None = None,
        unanswered_only: bool = False,
    ) -> None:
        lang = reader_language(interaction)
        start, end = parse_range(since, until)
        await interaction.response.defer(ephemeral=True, thinking=True)
        # This server's questions only: the guild id comes from Discord, never an option.
        query = ExportQuery(start, end, unanswered_only, guild_id=interaction.guild_id)
        data, count = await self.export_bytes(query, FORMATS.get(fmt, "csv"))
        if len(data) > interaction.filesize_limit:
            await deliver(interaction, say("export.too_big", lang, size=len(data)))
            return
        name = export_file_name(interaction.guild_id, fmt, datetime.now(UTC), self.bot.settings.tz)
        await deliver(interaction, say("export.done", lang, count=count), data=data, name=name)

    async def export_bytes(self, query: ExportQuery, fmt: Format) -> tuple[bytes, int]:
        """The export file in memory, including questions still queued for writing."""
        await self.bot.questions.flush()
        out = BytesIO()
        count = await export_questions(
            self.bot.questions.path, query, fmt, out, self.bot.settings.tz
        )
        log.info("exported %d questions of guild %s as %s", count, query.guild_id, fmt)
        return out.getvalue(), count


def reindex_embed(report: ReindexReport, lang: Lang) -> discord.Embed:
    """What changed, article by article, within embed limits."""
    return report_embed(
        report.summary(),
        [
            (say("reindex.added", lang), report.added),
            (say("reindex.changed", lang), report.changed),
            (say("reindex.removed", lang), report.removed),
            (say("reindex.skipped", lang), [f"{s.source}: {s.reason}" for s in report.skipped]),
        ],
    )


async def deliver(
    interaction: discord.Interaction[BlogBot],
    text: str,
    *,
    embed: discord.Embed | None = None,
    data: bytes | None = None,
    name: str = "export",
) -> None:
    """A private followup, or a direct message once the interaction token has expired."""
    extra: dict[str, Any] = {}
    if embed is not None:
        extra["embed"] = embed
    if not interaction.is_expired():
        if data is not None:
            extra["file"] = discord.File(BytesIO(data), filename=name)
        try:
            await interaction.followup.send(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS, **extra
            )
            return
        except discord.HTTPException as exc:
            if not isinstance(exc, discord.NotFound) and exc.code not in TOKEN_GONE:
                raise
            log.info("interaction %s expired (%s); sending by DM", interaction.id, exc.code)
    if data is not None:
        extra["file"] = discord.File(BytesIO(data), filename=name)
    text = f"{say('late_dm', reader_language(interaction))}\n{text}"
    try:
        await interaction.user.send(text, allowed_mentions=NO_MENTIONS, **extra)
    except discord.HTTPException as exc:
        log.warning("could not DM the result of interaction %s: %s", interaction.id, exc)


async def setup(bot: BlogBot) -> None:
    await bot.add_cog(Admin(bot))


def export_file_name(guild_id: int | None, fmt: str, moment: datetime, tz: tzinfo) -> str:
    """The attachment's name, dated by the day in TIMEZONE, as its rows are (the
    machine's local day could be another one)."""
    return f"questions-{guild_id}-{moment.astimezone(tz).date().isoformat()}.{fmt}"
