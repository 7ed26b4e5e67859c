"""The loopback Discord server, proven against the real discord.py client.

A throwaway ``AutoShardedBot`` defined here registers a few slash commands; each test
drives it through the server the way a Discord user would and checks what the server
saw, including the rules it enforces (acknowledgement deadline, single acknowledgement,
token lifetime, message limits, command permissions).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.loopback import CommandNotPermitted, LoopbackDiscord, Perm, point_discord_py_at

log = logging.getLogger(__name__)

HELPFUL_ID = "feedback:helpful"
TOPICS = ["install", "indexing", "japanese", "search", "deploy"]


class FeedbackView(discord.ui.View):
    """Persistent view: survives restarts because it has a fixed custom_id and no timeout."""

    def __init__(self, results: asyncio.Queue[tuple[str, Any]]) -> None:
        super().__init__(timeout=None)
        self.results = results

    @discord.ui.button(label="Helpful", custom_id=HELPFUL_ID, style=discord.ButtonStyle.success)
    async def helpful(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.send_message("Thanks!", ephemeral=True)
        self.results.put_nowait(("click", interaction.user.id))


class ThrowawayBot(commands.AutoShardedBot):
    """Just enough bot to exercise defer/followup, autocomplete, files, views and errors."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.ready = asyncio.Event()
        self.release = asyncio.Event()
        self.results: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._register()

    async def setup_hook(self) -> None:
        self.add_view(FeedbackView(self.results))
        await self.tree.sync()

    async def on_ready(self) -> None:
        self.ready.set()

    async def result(self, name: str) -> Any:
        """The next outcome reported by a command, checked to come from ``name``."""
        got, value = await asyncio.wait_for(self.results.get(), 5)
        assert got == name, (got, value)
        return value

    def _register(self) -> None:
        tree, results = self.tree, self.results

        @tree.command(name="ask", description="Ask the blog a question")
        @app_commands.describe(question="What you want to know")
        async def ask(interaction: discord.Interaction, question: str, top: int = 3) -> None:
            await interaction.response.defer(thinking=True)
            embed = discord.Embed(title=question[:256], description=f"top={top}")
            embed.add_field(name="locale", value=str(interaction.locale))
            await interaction.followup.send(embed=embed, view=FeedbackView(results))

        @tree.command(name="search", description="Search a topic")
        async def search(interaction: discord.Interaction, topic: str) -> None:
            await interaction.response.send_message(topic)

        @search.autocomplete("topic")
        async def topic_choices(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=t, value=t) for t in TOPICS if current in t]

        @tree.command(name="file", description="Reply with a file")
        async def file(interaction: discord.Interaction) -> None:
            data = discord.File(io.BytesIO(b"answer bytes\n"), filename="answer.txt")
            await interaction.response.send_message("here", file=data)

        @tree.command(name="slow", description="Answers too late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(3.5)  # deliberately past Discord's 3 s deadline
            try:
                await interaction.response.send_message("late")
            except discord.HTTPException as exc:
                results.put_nowait(("slow", exc))

        @tree.command(name="twice", description="Acknowledges twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            try:
                await discord.InteractionResponse(interaction).send_message("again")
            except discord.HTTPException as exc:
                results.put_nowait(("twice", exc))

        @tree.command(name="expiring", description="Follows up when released")
        async def expiring(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await self.release.wait()
            try:
                await interaction.followup.send("too late")
            except discord.HTTPException as exc:
                results.put_nowait(("expiring", exc))

        @tree.command(name="overflow", description="Sends an oversized embed")
        async def overflow(interaction: discord.Interaction) -> None:
            try:
                embed = discord.Embed(description="x" * 4097)
                await interaction.response.send_message(embed=embed)
            except discord.HTTPException as exc:
                results.put_nowait(("overflow", exc))
                await interaction.response.send_message("fallback")

        @tree.command(name="admin", description="Managers only")
        @app_commands.default_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            assert isinstance(interaction.user, discord.Member)
            perms = interaction.user.guild_permissions
            results.put_nowait(
                ("admin", (perms.manage_guild, interaction.permissions.manage_guild))
            )
            await interaction.response.send_message("ok", ephemeral=True)

        @tree.command(name="edit", description="Replies, then edits the reply")
        async def edit(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("draft")
            first = await interaction.original_response()
            await interaction.edit_original_response(content="final")
            extra = await interaction.followup.send("extra", wait=True)
            await extra.edit(content="extra, edited")
            await interaction.delete_original_response()
            results.put_nowait(("edit", first.content))

        @tree.command(name="dm", description="Sends you a DM")
        async def dm(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("check your DMs", ephemeral=True)
            await interaction.user.send("hello from the blog bot")


@pytest.fixture
async def env() -> AsyncIterator[tuple[LoopbackDiscord, ThrowawayBot]]:
    """A started server and a ready, synced bot connected to it."""
    async with LoopbackDiscord() as server:
        with point_discord_py_at(server):
            bot = ThrowawayBot()
            running = asyncio.create_task(bot.start(server.token))
            try:
                await server.wait_ready()
                await asyncio.wait_for(bot.ready.wait(), 5)
                await server.wait_commands_synced({"ask", "search"})
                yield server, bot
            finally:
                await bot.close()
                await asyncio.wait_for(running, 5)


async def test_startup_identifies_and_syncs_commands(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """Start-up uses only known routes, identifies once with shard/intents and stores commands."""
    server, bot = env
    routes = {(r.method, r.path) for r in server.requests}
    assert ("GET", "/users/@me") in routes
    assert ("GET", "/gateway/bot") in routes
    assert ("PUT", f"/applications/{server.app_id}/commands") in routes
    assert server.gateway.connect_queries[0]["compress"] == "zlib-stream"
    (identify,) = server.gateway.identifies
    assert identify["shard"] == [0, 1]
    assert identify["intents"] == discord.Intents.default().value
    stored = {c["name"]: c for c in server.commands[None]}
    assert stored["admin"]["default_member_permissions"] == str(Perm.MANAGE_GUILD)
    ask_options = {o["name"]: o for o in stored["ask"]["options"]}
    assert ask_options["question"]["type"] == 3 and ask_options["question"]["required"]
    assert ask_options["top"]["type"] == 4 and not ask_options["top"].get("required")
    assert all(int(c["id"]) for c in stored.values())
    guild = bot.get_guild(server.guilds[0].id)
    assert guild is not None and guild.me is not None


async def test_defer_then_followup_with_embed_and_button(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """/ask defers in time, then one followup replaces the thinking message with an embed."""
    server, _ = env
    inter = await server.invoke_command("ask", {"question": "How to index?", "top": 5}, locale="ja")
    ack = await inter.wait_acknowledged()
    assert ack.type == 5
    followup = await inter.wait_followup()
    assert followup.id == inter.original_id and not followup.loading
    assert followup.embeds[0]["title"] == "How to index?"
    assert followup.embeds[0]["description"] == "top=5"
    assert followup.embeds[0]["fields"][0]["value"] == "ja"
    assert followup.custom_ids() == [HELPFUL_ID]
    assert followup.allowed_mentions == {"parse": []}


async def test_autocomplete_choices(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """Autocomplete answers with type 8 and the bot's filtered choices."""
    server, _ = env
    choices = await server.autocomplete("search", focused="topic", value="in")
    assert [c["value"] for c in choices] == ["install", "indexing"]


async def test_button_click_on_followup(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """A click on the followup's button is answered with an ephemeral message."""
    server, bot = env
    inter = await server.invoke_command("ask", {"question": "q"})
    followup = await inter.wait_followup()
    click = await server.click(followup, HELPFUL_ID)
    assert (await click.wait_acknowledged()).type == 4
    assert click.original is not None and click.original.ephemeral
    assert click.original.content == "Thanks!"
    assert await bot.result("click") == server.users[0].id


async def test_button_click_reaches_persistent_view(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """A button on a message from an earlier run is handled by the view added in setup_hook."""
    server, bot = env
    button = {"type": 2, "style": 3, "label": "Helpful", "custom_id": HELPFUL_ID}
    channel = server.guilds[0].default_channel
    old = server.seed_bot_message(channel, "old answer", [{"type": 1, "components": [button]}])
    click = await server.click(old, HELPFUL_ID, user=server.owner)
    assert (await click.wait_acknowledged()).type == 4
    assert await bot.result("click") == server.owner.id


async def test_late_acknowledgement_is_rejected_and_recorded(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """A response after 3 s gets 10062 Unknown interaction and a late-ack violation."""
    server, bot = env
    inter = await server.invoke_command("slow")
    assert await inter.wait_rejected(within=6) == 4
    error = await bot.result("slow")
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert inter.ack is None
    assert len(server.take_violations("late-ack")) == 1


async def test_double_acknowledgement_is_rejected_and_recorded(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """A second initial response gets 40060 and a double-ack violation."""
    server, bot = env
    inter = await server.invoke_command("twice")
    assert (await inter.wait_acknowledged()).type == 5
    error = await bot.result("twice")
    assert isinstance(error, discord.HTTPException) and error.code == 40060
    assert len(server.take_violations("double-ack")) == 1


async def test_rate_limited_followup_is_retried(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """A 429 (with Via and retry_after) on the followup route is retried and then succeeds."""
    server, _ = env
    server.rate_limit_next("POST /webhooks/*", retry_after=0.2)
    inter = await server.invoke_command("ask", {"question": "rate limited?"})
    followup = await inter.wait_followup()
    assert followup.embeds[0]["title"] == "rate limited?"
    posts = [r.status for r in server.requests if r.method == "POST" and "/webhooks/" in r.path]
    assert posts == [429, 200]
    assert server.faults_fired and not server.faults


async def test_disconnect_then_resume_replays_missed_events(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """After a server-side close the client RESUMEs (op 6) and gets the missed interaction."""
    server, _ = env
    await server.disconnect(code=4000)
    inter = await server.invoke_command("ask", {"question": "while away"})
    await server.wait_resumed()
    assert (await inter.wait_acknowledged()).type == 5
    ops = [op for _, op in server.gateway.ops]
    assert ops.count(2) == 1 and ops.count(6) == 1 and 1 in ops
    assert ("/resume/", 6) in server.gateway.ops
    assert len(server.gateway.identifies) == 1


async def test_expired_token_fails_followups(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """Once the token expired, a followup gets 10015 Unknown Webhook."""
    server, bot = env
    inter = await server.invoke_command("expiring")
    await inter.wait_acknowledged()
    server.expire_token(inter)
    bot.release.set()
    error = await bot.result("expiring")
    assert isinstance(error, discord.NotFound) and error.code == 10015
    assert len(server.take_violations("expired-token")) == 1


async def test_file_reply_is_parsed_from_multipart(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """A reply with a file arrives as multipart; name and bytes are recorded."""
    server, _ = env
    inter = await server.invoke_command("file")
    assert (await inter.wait_acknowledged()).type == 4
    assert inter.original is not None
    (file,) = inter.original.files
    assert (file.name, file.data) == ("answer.txt", b"answer bytes\n")
    assert inter.original.attachments[0]["filename"] == "answer.txt"


async def test_embed_over_limit_is_refused(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """A 4097-character embed description is refused with 50035 and recorded."""
    server, bot = env
    inter = await server.invoke_command("overflow")
    error = await bot.result("overflow")
    assert isinstance(error, discord.HTTPException) and error.code == 50035
    assert (await inter.wait_acknowledged()).type == 4
    (violation,) = server.take_violations("limits")
    assert "BASE_TYPE_MAX_LENGTH" in violation


async def test_default_member_permissions_and_override(
    env: tuple[LoopbackDiscord, ThrowawayBot],
) -> None:
    """A member without MANAGE_GUILD cannot run /admin unless the owner overrides it."""
    server, bot = env
    with pytest.raises(CommandNotPermitted):
        await server.invoke_command("admin")
    manager = await server.add_role(server.guilds[0], "manager", Perm.MANAGE_GUILD)
    allowed = await server.invoke_command("admin", roles=[manager.id])
    await allowed.wait_acknowledged()
    assert await bot.result("admin") == (True, True)
    server.override_command_permissions(server.guilds[0], "admin", users=[server.users[0]])
    overridden = await server.invoke_command("admin")
    await overridden.wait_acknowledged()
    assert await bot.result("admin") == (False, False)


async def test_direct_message(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """A DM opens a channel with the user and records the message there."""
    server, _ = env
    inter = await server.invoke_command("dm")
    await inter.wait_acknowledged()
    message = await server.wait_dm(server.users[0])
    assert message.content == "hello from the blog bot"
    assert message.allowed_mentions == {"parse": []}


async def test_edit_original_response(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """GET/PATCH/DELETE of @original and PATCH of a followup; every snapshot is kept."""
    server, bot = env
    inter = await server.invoke_command("edit")
    assert await bot.result("edit") == "draft"
    kinds = [(m.kind, m.content) for m in inter.messages]
    assert kinds == [
        ("response", "draft"),
        ("edit", "final"),
        ("followup", "extra"),
        ("edit", "extra, edited"),
        ("delete", "final"),
    ]
    assert inter.original_id not in server.messages


async def test_command_in_dm(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """A global command used in the bot's DM has no guild and a user instead of a member."""
    server, _ = env
    inter = await server.invoke_command("search", {"topic": "deploy"}, dm=True)
    assert (await inter.wait_acknowledged()).type == 4
    assert "guild_id" not in inter.payload and "user" in inter.payload
    assert inter.original is not None and inter.original.content == "deploy"
    assert inter.channel_id == server.dm_channel(server.users[0]).id


async def test_injected_server_error(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """fail_next answers the next matching request with the given 5xx."""
    server, bot = env
    server.fail_next("GET /oauth2/applications/@me", status=503)
    with pytest.raises(discord.DiscordServerError):
        await bot.application_info()
    assert (await bot.application_info()).id == server.app_id


async def test_reconnect_request_resumes(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """Op 7 RECONNECT makes the client close and RESUME instead of identifying again."""
    server, _ = env
    await server.gateway.request_reconnect()
    await server.wait_resumed()
    assert len(server.gateway.identifies) == 1 and len(server.gateway.resumes) == 1


async def test_unknown_route_is_recorded(env: tuple[LoopbackDiscord, ThrowawayBot]) -> None:
    """A route the server does not implement answers 404 and is recorded."""
    server, bot = env
    channel_id = server.guilds[0].default_channel.id
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/channels/{c}/pins", c=channel_id))
    assert server.unknown_routes == [f"GET /channels/{channel_id}/pins"]
    server.unknown_routes.clear()
