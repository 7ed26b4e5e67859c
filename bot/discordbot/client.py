"""The Discord client: resources injected, commands loaded and synced, one error handler,
and the question log's retention period (RETENTION_DAYS) applied once a day.

With ALLOWED_GUILD_IDS set the bot serves only those servers: it leaves any other on
start-up and as soon as it is added to one, and ignores their interactions meanwhile.

The bot owns no resources it did not receive: ``main()`` (see :mod:`bot.cli.discord_run`)
opens the engine and the question log and passes them in, and tests build the bot the
same way around a temporary log and a tiny corpus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.ext import commands, tasks

from bot.discordbot.interactions import NO_MENTIONS, UserFacingError, tell
from bot.discordbot.messages import language_of, say
from bot.discordbot.translations import CommandTranslator
from bot.questions import QuestionLog, QuestionLogError
from bot.questions.privacy import UserHasher
from bot.retrieval.engine import Engine
from bot.settings import Settings

log = logging.getLogger(__name__)

# Loaded by name, so the client never imports the cogs (which import the client's type).
EXTENSIONS = (
    "bot.discordbot.cogs.feedback",
    "bot.discordbot.cogs.ask",
    "bot.discordbot.cogs.admin",
    "bot.discordbot.cogs.privacy",
    "bot.discordbot.cogs.follow",
)
DRAIN_SECONDS = 30.0
PURGE_EVERY_HOURS = 24
# in CACHE_DIR: the servers a run with DISCORD_GUILD_ID gave guild commands to
GUILD_COMMANDS_FILE = "discord-guild-commands-{app}.json"


def point_at_endpoints(settings: Settings) -> None:
    """Use DISCORD_API_BASE / DISCORD_GATEWAY_URL instead of discord.com when set.

    An AutoShardedBot asks ``GET /gateway/bot`` (under the API base) where to connect,
    and resumes at READY's ``resume_gateway_url``; the default gateway is only used to
    identify again after a session that cannot be resumed.
    """
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class BlogTree(app_commands.CommandTree["BlogBot"]):
    """Sends every command error to the bot's single error handler."""

    async def interaction_check(self, interaction: discord.Interaction[BlogBot]) -> bool:
        """Commands run only in allowed servers (and DMs, where none of them works)."""
        if interaction.client.settings.guild_allowed(interaction.guild_id):
            return True
        log.warning("ignored an interaction from server %s (not allowed)", interaction.guild_id)
        return False

    async def on_error(
        self, interaction: discord.Interaction[BlogBot], error: app_commands.AppCommandError
    ) -> None:
        await interaction.client.report_error(interaction, error)


class BlogBot(commands.AutoShardedBot):
    """Answers readers' questions in slash commands; admins reindex and export."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        questions: QuestionLog,
        hasher: UserHasher,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # roles for the admin check; nothing else is needed
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            tree_cls=BlogTree,
            **options,
        )
        self.settings = settings
        self.engine = engine
        self.questions = questions
        self.hasher = hasher
        self.admin_users = settings.admin_users()  # SettingsError for an id without a server
        self.accepting = True
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # servers whose leftover guild commands were removed; None until that was checked
        self.cleared_guilds: list[int] | None = None

    async def setup_hook(self) -> None:
        """Translations, commands, persistent buttons, then one sync (guild or global)."""
        await self.tree.set_translator(CommandTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        self.daily_purge.start()

    # -- command registration -----------------------------------------------------------

    async def sync_commands(self) -> None:
        """Register the commands in DISCORD_GUILD_ID (at once, for trying the bot out) or
        globally; copies left elsewhere are removed once the servers are known (on ready).
        A server given guild commands is noted in CACHE_DIR for that cleanup."""
        if self.settings.discord_guild_id is not None:
            guild = discord.Object(self.settings.discord_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            self._note_guild_commands(self._guilds_with_commands() | {guild.id})
        else:
            synced = await self.tree.sync()
        log.info("synced %d commands: %s", len(synced), ", ".join(c.name for c in synced))

    async def clear_stale_guild_commands(self) -> list[int]:
        """Remove this bot's guild commands from servers other than DISCORD_GUILD_ID.

        Guild commands come only from a run with DISCORD_GUILD_ID. Once it is unset they
        stay beside the global ones, and members see every command twice: so without it,
        Discord is asked about every server the bot is in (a note can be lost with the
        cache). With it, only the servers noted as given guild commands by an earlier run
        are asked, so that a new id leaves no stale copy in the old server either.
        Returns the servers cleared; one that cannot be read is skipped and logged.
        """
        keep = self.settings.discord_guild_id
        noted = self._guilds_with_commands()
        servers = [g.id for g in self.guilds if keep is None or g.id in noted]
        cleared: list[int] = []
        checked: set[int] = set()
        for guild_id in servers:
            if guild_id == keep or not self.settings.guild_allowed(guild_id):
                continue
            guild = discord.Object(guild_id)
            try:
                stale = await self.tree.fetch_commands(guild=guild)
                if stale:
                    self.tree.clear_commands(guild=guild)
                    await self.tree.sync(guild=guild)
            except discord.Forbidden as exc:  # added without applications.commands
                log.debug("cannot read the commands of server %s: %s", guild_id, exc)
                continue
            except discord.HTTPException as exc:
                log.warning("could not remove old commands from server %s: %s", guild_id, exc)
                continue
            checked.add(guild_id)
            if stale:
                log.info(
                    "removed %d commands an earlier run left in server %s", len(stale), guild_id
                )
                cleared.append(guild_id)
        if noted & checked:
            self._note_guild_commands(noted - checked)
        return cleared

    def _guild_commands_file(self) -> Path:
        return self.settings.cache_dir / GUILD_COMMANDS_FILE.format(app=self.application_id)

    def _guilds_with_commands(self) -> set[int]:
        """The servers noted as given guild commands; none if the note is missing or bad."""
        path = self._guild_commands_file()
        try:
            return {int(guild) for guild in json.loads(path.read_text(encoding="utf-8"))}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring %s (%s)", path, exc)
            return set()

    def _note_guild_commands(self, guilds: set[int]) -> None:
        """Replace the note; a note that cannot be written is logged, never fatal."""
        path = self._guild_commands_file()
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            draft.write_text(json.dumps(sorted(guilds)), encoding="utf-8")
            draft.replace(path)
        except OSError as exc:
            log.warning("could not note the servers with guild commands in %s (%s)", path, exc)
            draft.unlink(missing_ok=True)

    async def close(self) -> None:
        """Stop the daily purge, then disconnect."""
        self.daily_purge.cancel()
        await super().close()

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers", self.user, len(self.guilds))
        if not self.settings.allowed_guild_ids:
            log.warning(
                "ALLOWED_GUILD_IDS is empty: any server that adds this bot can use it "
                "(turn off Public Bot, see docs/discord-setup.md)"
            )
        for guild in list(self.guilds):
            await self.leave_if_not_allowed(guild)
        if self.cleared_guilds is None:  # on_ready comes again after a new session
            self.cleared_guilds = await self.clear_stale_guild_commands()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.leave_if_not_allowed(guild)

    async def leave_if_not_allowed(self, guild: discord.Guild) -> bool:
        """Leave a server that ALLOWED_GUILD_IDS does not list; True if it was left."""
        if self.settings.guild_allowed(guild.id):
            return False
        log.warning("leaving server %s: not in ALLOWED_GUILD_IDS", guild.id)
        try:
            await guild.leave()
        except discord.HTTPException as exc:
            log.error("could not leave server %s: %s", guild.id, exc)
            return False
        return True

    # -- retention ----------------------------------------------------------------------

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete questions older than RETENTION_DAYS (with their results and votes).

        Returns the rows removed; a log that cannot be purged right now is left for the
        next day rather than stopping the bot.
        """
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.settings.retention_days)
        try:
            removed = await self.questions.purge(cutoff)
        except QuestionLogError as exc:
            log.warning("retention: could not purge the question log (%s); next try tomorrow", exc)
            return 0
        log.info(
            "retention: removed %d rows of questions asked before %s (RETENTION_DAYS=%d)",
            removed,
            cutoff.isoformat(timespec="seconds"),
            self.settings.retention_days,
        )
        return removed

    @tasks.loop(hours=PURGE_EVERY_HOURS)
    async def daily_purge(self) -> None:
        """Apply the retention period once a day, the first time just after start-up."""
        await self.purge_expired()

    @daily_purge.before_loop
    async def _before_daily_purge(self) -> None:
        await self.wait_until_ready()

    # -- questions in flight ----------------------------------------------------------

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a question being answered, so shutdown can wait for it."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def shutdown(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop taking questions, let the ones in flight finish, then disconnect."""
        self.accepting = False
        self.engine.stop_reindexing()
        log.info("shutting down: waiting for %d questions in flight", self._in_flight)
        try:
            await asyncio.wait_for(self._idle.wait(), drain_seconds)
        except TimeoutError:
            log.warning("shutting down with %d questions unanswered", self._in_flight)
        await self.close()

    # -- errors -----------------------------------------------------------------------

    async def report_error(
        self, interaction: discord.Interaction[BlogBot], error: Exception
    ) -> None:
        """The one place errors end: readers get a short private message, bugs get logged."""
        lang = language_of(interaction.locale)
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(original, UserFacingError):
            text = original.message(lang)
        elif isinstance(original, app_commands.CommandOnCooldown):
            text = say("cooldown", lang, seconds=max(1, round(original.retry_after)))
        elif isinstance(original, app_commands.NoPrivateMessage):
            text = say("guild_only", lang)
        elif isinstance(original, app_commands.CheckFailure):  # NotAdmin and Discord's own
            text = say("not_admin", lang)
        else:
            log.error(
                "bug while handling interaction %s (%s)",
                interaction.id,
                _describe(interaction),
                exc_info=original,
            )
            text = say("bug", lang)
        await tell(interaction, text)


def _describe(interaction: discord.Interaction[BlogBot]) -> str:
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data = cast("dict[str, Any]", interaction.data or {})
    custom_id = data.get("custom_id")
    return str(custom_id or interaction.type.name)
