"""👍/👎 and "share to channel" under answers, working across restarts.

The buttons are :class:`discord.ui.DynamicItem` s: their ``custom_id`` carries the
question id (``vote:up:<id>``), so a click on a message sent before a restart is
understood from the id alone, with nothing kept in memory between runs. An answer is
shared once: once the shared message was sent, the question log records it
(:meth:`QuestionLog.claim_share`), so further clicks, before or after a restart, only tell
the clicker it was shared. A share Discord refused records nothing, so the next click
tries again; clicks while a share is being sent are told to try again in a moment.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from typing import TYPE_CHECKING, Any, Self

import aiosqlite
import discord

from bot.discordbot.cogs import NO_MENTIONS, reader_language
from bot.discordbot.messages import Lang, say
from bot.discordbot.replies import shared_content
from bot.questions import QuestionLogError
from bot.questions.store import read_only_uri

if TYPE_CHECKING:
    from bot.discordbot.client import BlogBot

log = logging.getLogger(__name__)

CLAIM_WAIT_S = 2.0  # Discord wants the first response within three seconds
SHARED_SQL = "SELECT 1 FROM shares WHERE question_id = ?"
_sharing: dict[str, asyncio.Event] = {}  # shares being sent by this process, set when done

Button = discord.ui.Button[discord.ui.View]


class VoteButton(
    discord.ui.DynamicItem[Button],
    template=r"vote:(?P<direction>up|down):(?P<question_id>[0-9]{1,20})",
):
    """A reader's thumbs up or down on one answer; the latest vote per reader counts."""

    def __init__(self, question_id: str, vote: int) -> None:
        direction = "up" if vote > 0 else "down"
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if vote > 0 else "👎",
                custom_id=f"vote:{direction}:{question_id}",
            )
        )
        self.question_id = question_id
        self.vote = 1 if vote > 0 else -1

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(match["question_id"], 1 if match["direction"] == "up" else -1)

    async def callback(self, interaction: discord.Interaction[BlogBot]) -> None:  # type: ignore[override]
        try:
            await self._vote(interaction)
        except Exception as exc:  # noqa: BLE001 - report_error logs it with the interaction id
            await interaction.client.report_error(interaction, exc)

    async def _vote(self, interaction: discord.Interaction[BlogBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        lang = reader_language(interaction)
        try:
            await bot.questions.vote(
                self.question_id, bot.hasher.hash(interaction.user.id), self.vote
            )
            text = say("voted.up" if self.vote > 0 else "voted.down", lang)
        except QuestionLogError:
            text = say("vote_gone", lang)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


class ShareButton(
    discord.ui.DynamicItem[Button],
    template=r"share:(?P<question_id>[0-9]{1,20})",
):
    """Repost a privately shown answer in the channel, for everyone."""

    def __init__(self, question_id: str, label: str | None) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label=label or say("share", "en"),
                emoji="📣",
                custom_id=f"share:{question_id}",
            )
        )
        self.question_id = question_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["question_id"], label)

    async def callback(self, interaction: discord.Interaction[BlogBot]) -> None:  # type: ignore[override]
        try:
            await self._share(interaction)
        except Exception as exc:  # noqa: BLE001 - report_error logs it with the interaction id
            await interaction.client.report_error(interaction, exc)

    async def _share(self, interaction: discord.Interaction[BlogBot]) -> None:
        message = interaction.message
        if message is None:
            return
        lang = reader_language(interaction)
        bot = interaction.client
        if not await _wait_for_other_share(self.question_id):
            await _tell(interaction, "share_later", lang)
            return
        done = _sharing[self.question_id] = asyncio.Event()
        try:
            before = await _shared_before(bot, self.question_id)
            if before is not False:
                await _tell(
                    interaction, "share_later" if before is None else "already_shared", lang
                )
                return
            await interaction.response.send_message(
                shared_content(message.content, interaction.user.display_name, lang),
                embeds=message.embeds,
                view=answer_view(self.question_id, lang, private=False),
                allowed_mentions=NO_MENTIONS,
            )
            log.info("question %s shared to channel %s", self.question_id, interaction.channel_id)
            await _record_share(bot, self.question_id)
        finally:
            del _sharing[self.question_id]
            done.set()


async def _wait_for_other_share(question_id: str) -> bool:
    """Wait while another click's share of this answer is being sent and recorded; False
    when that takes longer than Discord lets this click wait for its response."""
    try:
        async with asyncio.timeout(CLAIM_WAIT_S):
            while (other := _sharing.get(question_id)) is not None:
                await other.wait()
    except TimeoutError:
        return False
    return True


async def _tell(interaction: discord.Interaction[BlogBot], key: str, lang: Lang) -> None:
    await interaction.response.send_message(
        say(key, lang), ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def _shared_before(bot: BlogBot, question_id: str) -> bool | None:
    """True when the log records a share of this answer; None when it cannot say now.

    Read-only, on its own connection: nothing is recorded before the share is sent.
    """
    uri = read_only_uri(bot.questions.path)
    try:
        async with (
            aiosqlite.connect(uri, uri=True, timeout=CLAIM_WAIT_S) as db,
            db.execute(SHARED_SQL, (question_id,)) as cursor,
        ):
            return await cursor.fetchone() is not None
    except (sqlite3.Error, OSError) as exc:
        log.warning("question %s: cannot tell whether it was shared (%s)", question_id, exc)
        return None


async def _record_share(bot: BlogBot, question_id: str) -> None:
    """Record a share that was sent; if the log cannot take it now, a later click may share
    the answer again, which is said in the log."""
    try:
        first = await asyncio.wait_for(bot.questions.claim_share(question_id), CLAIM_WAIT_S)
    except (QuestionLogError, TimeoutError) as exc:
        log.warning("question %s: shared but the share is not recorded (%s)", question_id, exc)
        return
    if not first:
        log.warning("question %s: shared again (another process shared it meanwhile)", question_id)


def answer_view(question_id: str, lang: Lang, *, private: bool) -> discord.ui.View:
    """The buttons under an answer: votes always, sharing when only the asker sees it."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(question_id, 1))
    view.add_item(VoteButton(question_id, -1))
    if private:
        view.add_item(ShareButton(question_id, say("share", lang)))
    return view


async def setup(bot: BlogBot) -> None:
    """Route clicks on any answer's buttons, including answers sent before a restart."""
    bot.add_dynamic_items(VoteButton, ShareButton)


async def teardown(bot: BlogBot) -> None:
    bot.remove_dynamic_items(VoteButton, ShareButton)
