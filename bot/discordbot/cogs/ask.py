"""``/ask``: a reader's question in, excerpts with links out, the question logged.

The interaction is deferred before any work: Discord gives three seconds for the first
response, and embedding plus search may take longer on a busy machine. The engine runs
in a worker thread, so other readers' interactions keep being acknowledged meanwhile.
The question is kept (in the database, or fsync'ed to the spill file) before the answer
is sent, so a crash never loses a question whose answer a reader saw. Autocomplete
answers from a sorted index built off the event loop (:mod:`bot.discordbot.autocomplete`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str as _
from discord.ext import commands

from bot.discordbot.autocomplete import Completions
from bot.discordbot.cogs import NO_MENTIONS, UserFacingError, parse_range, reader_language
from bot.discordbot.cogs.feedback import answer_view
from bot.discordbot.replies import answer_content, answer_embeds
from bot.questions import Origin, QuestionRecord
from bot.retrieval.search import Filters
from bot.retrieval.serving import Options

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)

QUESTION_MAX = 1000  # the engine keeps MAX_QUESTION_CHARS of it
PRUNE_AT = 10_000


class Cooldowns:
    """One question per reader every ``seconds``; remembered only while it matters."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def check(self, user_id: int) -> None:
        """Note a question now, or raise CommandOnCooldown with the seconds left."""
        if self.seconds <= 0:
            return
        now = self._clock()
        left = self._last.get(user_id, -self.seconds) + self.seconds - now
        if left > 0:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, self.seconds), left)
        if len(self._last) >= PRUNE_AT:
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        self._last[user_id] = now


class Ask(commands.Cog):
    """The readers' command."""

    def __init__(self, bot: BlogBot) -> None:
        self.bot = bot
        self.cooldowns = Cooldowns(bot.settings.ask_cooldown_seconds)
        self.categories = Completions(lambda: bot.engine.categories(), self._index_version)
        self.tags = Completions(lambda: bot.engine.tags(), self._index_version)

    def _index_version(self) -> object:
        index = self.bot.engine.index
        return id(index), index.version

    async def cog_load(self) -> None:
        """Build the autocomplete indexes in the background before the first keystroke."""
        self.categories.refresh()
        self.tags.refresh()

    @app_commands.command(
        name=_("ask"), description=_("Ask the blog a question; the answer quotes its articles")
    )
    @app_commands.rename(
        question=_("question"),
        category=_("category"),
        tag=_("tag"),
        since=_("since"),
        until=_("until"),
        private=_("private"),
    )
    @app_commands.describe(
        question=_("Your question, in Japanese or English"),
        category=_("Only articles in this category"),
        tag=_("Only articles with this tag"),
        since=_("Only articles published on or after this day (YYYY-MM-DD)"),
        until=_("Only articles published on or before this day (YYYY-MM-DD)"),
        private=_("Only you see the answer"),
    )
    async def ask(
        self,
        interaction: discord.Interaction[BlogBot],
        question: app_commands.Range[str, 1, QUESTION_MAX],
        category: str | None = None,
        tag: str | None = None,
        since: str | None = None,
        until: str | None = None,
        private: bool = False,
    ) -> None:
        question_id = str(interaction.id)  # before anything else: logs and buttons use it
        if not self.bot.accepting:
            raise UserFacingError("closing")
        start, end = parse_range(since, until)
        self.cooldowns.check(interaction.user.id)
        with self.bot.in_flight():
            await interaction.response.defer(ephemeral=private, thinking=True)
            filters = Filters(category or None, tag or None, start, end)
            answer = await self.bot.engine.ask(question, Options(filters=filters))
            await self.bot.questions.record_durably(
                QuestionRecord(
                    id=question_id,
                    asked_at=interaction.created_at,
                    origin=Origin(
                        source="discord",
                        guild_id=interaction.guild_id,
                        channel_id=interaction.channel_id,
                        user_hash=self.bot.hasher.hash(interaction.user.id),
                    ),
                    answer=answer,
                    model=self.bot.engine.embedder.name,
                )
            )
            lang = reader_language(interaction)
            await interaction.followup.send(
                answer_content(answer, lang),
                embeds=answer_embeds(answer, lang),
                view=answer_view(question_id, lang, private=private),
                ephemeral=private,
                allowed_mentions=NO_MENTIONS,
            )
        log.info(
            "question %s answered: tier %s in %.0f ms", question_id, answer.tier, answer.latency_ms
        )

    @ask.autocomplete("category")
    async def _categories(
        self, interaction: discord.Interaction[BlogBot], current: str
    ) -> list[app_commands.Choice[str]]:
        """From the prefix index: autocomplete cannot be deferred and runs on the loop."""
        return _choices(await self.categories.complete(current))

    @ask.autocomplete("tag")
    async def _tags(
        self, interaction: discord.Interaction[BlogBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices(await self.tags.complete(current))


def _choices(names: list[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=name) for name in names]


async def setup(bot: BlogBot) -> None:
    await bot.add_cog(Ask(bot))
