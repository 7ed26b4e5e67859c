"""``LoopbackDiscord``: a Discord-compatible REST + gateway server on 127.0.0.1 for tests.

Usage::

    async with LoopbackDiscord() as server, point_discord_py_at(server):
        ...start a real discord.py bot with server.token...
        await server.wait_ready()
        inter = await server.invoke_command("ask", {"question": "..."})
        ack = await inter.wait_acknowledged()

On a clean exit the context manager fails if any violation or unknown route is left;
tests that provoke violations on purpose consume them with :meth:`take_violations`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from aiohttp import web

from .actions import InteractionActions
from .gateway import Gateway
from .interactions import InteractionHandle
from .models import JSON, Channel, Guild, Perm, User, snowflake
from .records import RecordedFile, RecordedMessage, Recorder, RequestRecord
from .rest import Fault, build_app

log = logging.getLogger(__name__)


class LoopbackDiscord(InteractionActions):
    """Discord REST v10 + gateway for one bot application, with enforcement and faults."""

    def __init__(
        self,
        *,
        app_id: int | None = None,
        bot_user: User | None = None,
        guilds: list[Guild] | None = None,
        users: list[User] | None = None,
        token: str = "loopback.bot.token",
        bot_permissions: int = Perm.BOT_DEFAULT,
        ack_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        heartbeat_interval_ms: int = 41250,
        latency: float = 0.0,
        strict: bool = True,
    ) -> None:
        self.token = token
        self.bot_user = bot_user or User("blog-bot", bot=True)
        self.app_id = app_id or self.bot_user.id
        self.owner = User("owner")
        self.users = users or [User("reader")]
        self.guilds = guilds or [Guild.make("Blog readers", owner=self.owner, members=self.users)]
        for guild in self.guilds:
            if self.bot_user.id not in guild.members:
                role = guild.add_role(self.bot_user.username, bot_permissions, managed=True)
                guild.add_member(self.bot_user, [role])
        self.ack_deadline = ack_deadline
        self.token_lifetime = token_lifetime
        self.latency = latency
        self.strict = strict
        self.recorder = Recorder()
        self.faults: list[Fault] = []
        self.faults_fired: list[str] = []
        self.commands: dict[int | None, list[JSON]] = {}
        self.command_syncs: list[int | None] = []
        self.overrides: dict[int, dict[str, set[int]]] = {}
        self.interactions: list[InteractionHandle] = []
        self.interactions_by_id: dict[int, InteractionHandle] = {}
        self.interactions_by_token: dict[str, InteractionHandle] = {}
        self.messages: dict[int, RecordedMessage] = {}
        self.channel_messages: dict[int, list[RecordedMessage]] = {}
        self.attachments: dict[int, RecordedFile] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.port = 0
        self.gateway = Gateway(
            token=token,
            bot_user=self.bot_user,
            app_id=self.app_id,
            guilds=self.guilds,
            recorder=self.recorder,
            resume_url=lambda: f"ws://127.0.0.1:{self.port}/resume/",
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a random free port on 127.0.0.1."""
        self._runner = web.AppRunner(build_app(self), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = int(server.sockets[0].getsockname()[1])
        log.info("loopback Discord listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close websockets and the listener."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc_type is None and self.strict:
            self.assert_clean()

    def assert_clean(self) -> None:
        """Fail when any violation or unknown route is left unconsumed."""
        problems = [*self.violations, *(f"unknown route: {r}" for r in self.unknown_routes)]
        assert not problems, "loopback Discord recorded problems:\n" + "\n".join(problems)

    # -- addresses and records -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Root of this server (attachment URLs live under it)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Gateway URL returned by ``GET /gateway/bot`` (and for DEFAULT_GATEWAY)."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def violations(self) -> list[str]:
        """Everything Discord would have refused, as ``"kind: detail"`` strings."""
        return self.recorder.violations

    @property
    def unknown_routes(self) -> list[str]:
        """``"METHOD /path"`` of every request no route handled (answered 404)."""
        return self.recorder.unknown_routes

    @property
    def requests(self) -> list[RequestRecord]:
        """Every REST request, in arrival order."""
        return self.recorder.requests

    def take_violations(self, kind: str | None = None) -> list[str]:
        """Consume expected violations of ``kind`` (e.g. ``"late-ack"``) and return them."""
        return self.recorder.take_violations(kind)

    # -- lookups used by the routes ------------------------------------------------------

    def find_user(self, user_id: int) -> User | None:
        """A known user: guild members, configured users or the bot."""
        for guild in self.guilds:
            if user_id in guild.members:
                return guild.members[user_id].user
        return next((u for u in self.users if u.id == user_id), None)

    def find_channel(self, channel_id: int) -> Channel | None:
        """A guild channel or an open DM channel."""
        for guild in self.guilds:
            found = next((c for c in guild.channels if c.id == channel_id), None)
            if found is not None:
                return found
        return next((c for c in self.dm_channels.values() if c.id == channel_id), None)

    def guild_of(self, channel_id: int) -> Guild | None:
        """The guild owning a channel (None for DMs)."""
        return next((g for g in self.guilds if any(c.id == channel_id for c in g.channels)), None)

    def dm_channel(self, user: User) -> Channel:
        """The (single, reused) DM channel with ``user``."""
        if user.id not in self.dm_channels:
            self.dm_channels[user.id] = Channel(f"dm-{user.username}", type=1, recipient=user)
        return self.dm_channels[user.id]

    def dms(self, user: User) -> list[RecordedMessage]:
        """Messages the bot sent to ``user`` in DMs."""
        channel = self.dm_channels.get(user.id)
        return list(self.channel_messages.get(channel.id, [])) if channel else []

    async def wait_dm(self, user: User, index: int = 0, within: float = 5.0) -> RecordedMessage:
        """Wait for the ``index``-th DM to ``user``."""
        probe = lambda: self.dms(user)[index] if len(self.dms(user)) > index else None  # noqa: E731
        return await self.recorder.wait_for(probe, within, f"DM {index} to {user.username}")

    def store_message(self, message: RecordedMessage, handle: InteractionHandle | None) -> None:
        """Keep the latest state by id and append the snapshot to its interaction/channel."""
        self.messages[message.id] = message
        if handle is not None:
            handle.message_ids.add(message.id)
            handle.messages.append(message)
        else:
            self.channel_messages.setdefault(message.channel_id, []).append(message)
        self.recorder.notify()

    def message_payload(self, message: RecordedMessage) -> JSON:
        """The message JSON discord.py receives."""
        return message.payload(self.bot_user.payload(), self.app_id)

    # -- waiting ---------------------------------------------------------------------------

    async def wait_ready(self, within: float = 5.0) -> None:
        """Wait until every shard identified and got READY plus its GUILD_CREATEs."""

        def probe() -> bool:
            shards = self.gateway.by_shard
            return len(shards) == self.gateway.shard_count and all(
                s.seq >= 1 + len(self.guilds) for s in shards.values()
            )

        await self.recorder.wait_for(probe, within, "gateway READY")

    async def wait_commands_synced(
        self, names: set[str] | None = None, *, guild: Guild | None = None, within: float = 5.0
    ) -> list[JSON]:
        """Wait for a command sync (global, or ``guild``) that contains ``names``."""
        scope = guild.id if guild else None

        def probe() -> list[JSON] | None:
            if scope not in self.command_syncs:
                return None
            stored = self.commands.get(scope, [])
            return stored if names is None or names <= {c["name"] for c in stored} else None

        return await self.recorder.wait_for(probe, within, f"command sync of {names or 'any'}")

    async def wait_resumed(self, count: int = 1, within: float = 5.0) -> None:
        """Wait until ``count`` RESUMEs were accepted (each answered with RESUMED)."""

        def probe() -> bool:
            resumed = [f for s in self.gateway.sessions.values() for f in s.events]
            return sum(1 for f in resumed if f["t"] == "RESUMED") >= count

        await self.recorder.wait_for(probe, within, f"{count} RESUMED")

    # -- fault injection -------------------------------------------------------------------

    def rate_limit_next(
        self,
        route_pattern: str,
        retry_after: float = 0.1,
        *,
        is_global: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next matching request(s) 429 (``"POST /webhooks/*"``, fnmatch style)."""
        self.faults.append(Fault(route_pattern, 429, retry_after, is_global, times))

    def fail_next(self, route_pattern: str, status: int = 500, *, times: int = 1) -> None:
        """Answer the next matching request(s) with a 5xx error."""
        self.faults.append(Fault(route_pattern, status, remaining=times))

    def expire_token(self, inter: InteractionHandle) -> None:
        """Make the interaction's token expire now (followups then get 10015)."""
        inter.expires_at = asyncio.get_running_loop().time()

    async def disconnect(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Close the gateway connection(s) server-side; the session stays resumable."""
        await self.gateway.disconnect(code, shard_id=shard_id)

    def override_command_permissions(
        self, guild: Guild, command: str, *, users: Sequence[User] = (), roles: Sequence[int] = ()
    ) -> None:
        """Model the guild owner allowing a command for users/roles despite its defaults."""
        cmd = self.find_command(command, guild.id)
        if cmd is None:
            raise LookupError(f"command {command!r} is not registered")
        allowed = self.overrides.setdefault(guild.id, {}).setdefault(str(cmd["id"]), set())
        allowed.update(u.id for u in users)
        allowed.update(roles)

    def find_command(self, name: str, guild_id: int | None) -> JSON | None:
        """Guild command first, then global, like Discord resolves names."""
        for scope in ([guild_id] if guild_id else []) + [None]:
            found = next((c for c in self.commands.get(scope, []) if c["name"] == name), None)
            if found is not None:
                return found
        return None

    def new_ids(self) -> tuple[int, str]:
        """A fresh interaction id and token."""
        ident = snowflake()
        return ident, f"aW50ZXJhY3Rpb246{ident}:loopback-token-{snowflake():x}"
