"""What a user does in the Discord client: run a slash command, type into an autocompleted
option, click a button. Each builds the INTERACTION_CREATE Discord would send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .gateway import Gateway
from .interactions import (
    APPLICATION_COMMAND,
    ATTACHMENT_SIZE_LIMIT,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    CommandNotPermitted,
    InteractionHandle,
    find_component,
    member_may_use,
    typed_options,
)
from .models import JSON, Channel, Guild, Perm, Role, User, snowflake
from .records import RecordedMessage, Recorder

log = logging.getLogger(__name__)

GUILD_CONTEXT, BOT_DM_CONTEXT = 0, 1


class InteractionActions:
    """Mixin for :class:`LoopbackDiscord` with the user-side actions.

    The state and lookups below are LoopbackDiscord's; they are declared here so that the
    actions are type-checked against what they use (mypy checks the server's match).
    """

    app_id: int
    bot_user: User
    users: list[User]
    guilds: list[Guild]
    token_lifetime: float
    recorder: Recorder
    gateway: Gateway
    overrides: dict[int, dict[str, set[int]]]
    messages: dict[int, RecordedMessage]
    interactions: list[InteractionHandle]
    interactions_by_id: dict[int, InteractionHandle]
    interactions_by_token: dict[str, InteractionHandle]

    if TYPE_CHECKING:

        def find_command(self, name: str, guild_id: int | None) -> JSON | None: ...
        def find_channel(self, channel_id: int) -> Channel | None: ...
        def guild_of(self, channel_id: int) -> Guild | None: ...
        def dm_channel(self, user: User) -> Channel: ...
        def new_ids(self) -> tuple[int, str]: ...
        def message_payload(self, message: RecordedMessage) -> JSON: ...
        def store_message(
            self, message: RecordedMessage, handle: InteractionHandle | None
        ) -> None: ...

    async def invoke_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        guild: Guild | None = None,
        channel: Channel | None = None,
        dm: bool = False,
        locale: str = "en-US",
        roles: list[int] | None = None,
        permissions: int | None = None,
        owner_override: bool = False,
    ) -> InteractionHandle:
        """Run ``/name`` (``"group sub"`` for subcommands) with typed ``options``.

        Raises :class:`CommandNotPermitted` when Discord would not let this member run it
        (``default_member_permissions``), unless ``owner_override`` or a stored override
        allows it. ``roles``/``permissions`` override the member's roles or computed bits.
        """
        root, *path = name.split()
        guild = None if dm else (guild or self.guilds[0])
        command = self.find_command(root, guild.id if guild else None)
        if command is None:
            raise LookupError(f"command {root!r} is not registered (was the tree synced?)")
        definitions = command.get("options") or []
        data_options: list[JSON] = []
        target = data_options
        for sub in path:
            found = next((o for o in definitions if o["name"] == sub and o["type"] in (1, 2)), None)
            if found is None:
                raise ValueError(f"{root!r} has no subcommand {sub!r}")
            node: JSON = {"name": sub, "type": found["type"], "options": []}
            target.append(node)
            target, definitions = node["options"], found.get("options") or []
        resolved: JSON = {}
        target.extend(typed_options(definitions, options or {}, resolved, guild=guild))
        data: JSON = {"id": command["id"], "name": root, "type": 1, "options": data_options}
        data["resolved"] = resolved
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return await self._interact(
            APPLICATION_COMMAND, data, command, user, guild, channel, locale, roles, permissions,
            owner_override,
        )  # fmt: skip

    async def autocomplete(
        self,
        name: str,
        focused: str,
        value: str = "",
        options: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        guild: Guild | None = None,
        locale: str = "en-US",
        within: float = 5.0,
    ) -> list[JSON]:
        """Type ``value`` into option ``focused`` of ``/name``; returns the bot's choices."""
        command = self.find_command(name, (guild or self.guilds[0]).id)
        if command is None:
            raise LookupError(f"command {name!r} is not registered")
        definitions = command.get("options") or []
        spec = next((o for o in definitions if o["name"] == focused), None)
        if spec is None or not spec.get("autocomplete"):
            raise ValueError(f"option {focused!r} of {name!r} does not autocomplete")
        resolved: JSON = {}
        given = {**(options or {}), focused: value}
        typed = typed_options(
            definitions, given, resolved, focused=focused, guild=guild, check_required=False
        )
        data: JSON = {"id": command["id"], "name": name, "type": 1, "options": typed}
        handle = await self._interact(
            AUTOCOMPLETE, data, command, user, guild or self.guilds[0], None, locale, None, None,
            False,
        )  # fmt: skip
        ack = await handle.wait_acknowledged(within)
        if ack.type != 8 or handle.choices is None:
            raise AssertionError(f"autocomplete answered with callback type {ack.type}")
        return handle.choices

    async def click(
        self,
        message: Any,
        custom_id: str,
        *,
        user: User | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Click the button (or pick ``values`` in the select) ``custom_id`` on ``message``."""
        current = self.messages.get(message.id)
        if current is None:
            raise LookupError(f"message {message.id} does not exist (deleted?)")
        component = find_component(current.components, custom_id)
        if component is None:
            raise ValueError(
                f"{custom_id!r} is not on message {current.id}: {current.custom_ids()}"
            )
        if component.get("disabled"):
            raise ValueError(f"{custom_id!r} is disabled")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        guild = self.guild_of(current.channel_id)
        channel = self.find_channel(current.channel_id)
        handle = await self._interact(
            MESSAGE_COMPONENT, data, None, user, guild, channel, locale, None, None, False,
            message=self.message_payload(current),
        )  # fmt: skip
        return handle

    def seed_bot_message(
        self, channel: Channel, content: str = "", components: Sequence[JSON] = ()
    ) -> RecordedMessage:
        """A message the bot posted before this process started (e.g. persistent buttons)."""
        message = RecordedMessage(snowflake(), channel.id, "channel", content, [], list(components))
        self.store_message(message, None)
        return message

    async def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        """Create a role at runtime and tell the bot (GUILD_ROLE_CREATE), as Discord would."""
        role = guild.add_role(name, permissions)
        data = {"guild_id": str(guild.id), "role": role.payload()}
        await self.gateway.dispatch("GUILD_ROLE_CREATE", data, guild_id=guild.id)
        return role

    async def _interact(
        self,
        itype: int,
        data: JSON,
        command: JSON | None,
        user: User | None,
        guild: Guild | None,
        channel: Channel | None,
        locale: str,
        roles: list[int] | None,
        permissions: int | None,
        owner_override: bool,
        message: JSON | None = None,
    ) -> InteractionHandle:
        """Check who may do it, build the payload, dispatch it and track the handle."""
        user = user or self.users[0]
        if guild is None:
            channel = self.dm_channel(user)
            if command is not None and (
                "guild_id" in command
                or command.get("dm_permission") is False
                or BOT_DM_CONTEXT
                not in (command.get("contexts") or [GUILD_CONTEXT, BOT_DM_CONTEXT])
            ):
                raise CommandNotPermitted(f"/{command['name']} is not available in DMs")
        else:
            channel = channel or guild.default_channel
            member = guild.members.get(user.id) or guild.add_member(user)
            role_ids = roles if roles is not None else member.roles
            perms = (
                permissions if permissions is not None else guild.permissions_for(user.id, role_ids)
            )
            overrides = self.overrides.get(guild.id, {})
            if (
                command is not None
                and not owner_override
                and not member_may_use(command, guild, user, perms, role_ids, overrides)
            ):
                needed = command["default_member_permissions"]
                raise CommandNotPermitted(f"{user.username} lacks {needed} for /{command['name']}")
        ident, token = self.new_ids()
        payload: JSON = {
            "id": str(ident),
            "application_id": str(self.app_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "entitlements": [],
            "channel_id": str(channel.id),
            "channel": channel.payload(),
        }
        if message is not None:
            payload["message"] = message
        if guild is None:
            payload.update(
                user=user.payload(),
                context=BOT_DM_CONTEXT,
                app_permissions=str(Perm.BOT_DEFAULT),
                authorizing_integration_owners={"0": "0"},
            )
        else:
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                member=guild.members[user.id].payload(perms)
                | {"roles": [str(r) for r in role_ids]},
                context=GUILD_CONTEXT,
                app_permissions=str(guild.permissions_for(self.bot_user.id)),
                authorizing_integration_owners={"0": str(guild.id)},
            )
        loop = asyncio.get_running_loop()
        handle = InteractionHandle(
            id=ident, token=token, type=itype, payload=payload, user=user,
            guild_id=guild.id if guild else None, channel_id=channel.id, recorder=self.recorder,
            dispatched_at=loop.time(), expires_at=loop.time() + self.token_lifetime,
        )  # fmt: skip
        self.interactions.append(handle)
        self.interactions_by_id[ident] = handle
        self.interactions_by_token[token] = handle
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=handle.guild_id)
        return handle
