"""Interaction handles and the INTERACTION_CREATE payloads Discord would build.

Options are typed from the stored command definition (string, integer, boolean, number,
user, channel, role, mentionable, attachment) so a bot sees exactly what Discord sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .models import JSON, Channel, Guild, Perm, Role, User
from .records import Ack, RecordedFile, RecordedMessage, Recorder

log = logging.getLogger(__name__)

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class CommandNotPermitted(Exception):
    """Discord would not show the command to this member (or in this context)."""


@dataclass
class InteractionHandle:
    """One dispatched interaction: its token, acknowledgement and every message it made."""

    id: int
    token: str
    type: int
    payload: JSON
    user: User
    guild_id: int | None
    channel_id: int
    recorder: Recorder
    dispatched_at: float
    expires_at: float
    ack: Ack | None = None
    original_id: int | None = None
    message_ids: set[int] = field(default_factory=set)
    messages: list[RecordedMessage] = field(default_factory=list)
    choices: list[JSON] | None = None
    modal: JSON | None = None
    rejected_callbacks: list[int] = field(default_factory=list)

    @property
    def followups(self) -> list[RecordedMessage]:
        """Messages sent through the followup webhook, in order."""
        return [m for m in self.messages if m.kind == "followup"]

    @property
    def original(self) -> RecordedMessage | None:
        """The latest snapshot of the original response message."""
        mine = [m for m in self.messages if m.id == self.original_id]
        return mine[-1] if mine else None

    async def wait_acknowledged(self, within: float = 5.0) -> Ack:
        """Wait for the accepted initial response (type and server-side latency)."""
        return await self.recorder.wait_for(lambda: self.ack, within, f"ack of {self.id}")

    async def wait_rejected(self, within: float = 5.0) -> int:
        """Wait for a refused callback (late or duplicate); returns its callback type."""
        probe = lambda: self.rejected_callbacks[0] if self.rejected_callbacks else None  # noqa: E731
        return await self.recorder.wait_for(probe, within, f"refused callback of {self.id}")

    async def wait_followup(self, index: int = 0, within: float = 5.0) -> RecordedMessage:
        """Wait for the ``index``-th followup message (0 = first)."""
        probe = lambda: self.followups[index] if len(self.followups) > index else None  # noqa: E731
        return await self.recorder.wait_for(probe, within, f"followup {index} of {self.id}")

    async def wait_message(self, kind: str | None = None, within: float = 5.0) -> RecordedMessage:
        """Wait for the first message snapshot of ``kind`` (any kind when None)."""
        probe = lambda: Recorder.first(self.messages, lambda m: kind in (None, m.kind))  # noqa: E731
        return await self.recorder.wait_for(probe, within, f"{kind or 'a'} message of {self.id}")


_SCALAR_TYPES = {3: str, 4: int, 5: bool, 10: float}


def _snowflake_of(value: Any) -> int:
    return int(value.id) if hasattr(value, "id") else int(value)


def typed_options(
    definitions: list[JSON],
    given: dict[str, Any],
    resolved: JSON,
    *,
    focused: str | None = None,
    guild: Guild | None = None,
    check_required: bool = True,
) -> list[JSON]:
    """Turn ``{name: value}`` into Discord's typed option list, filling ``resolved``."""
    by_name = {d["name"]: d for d in definitions}
    unknown = set(given) - set(by_name)
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; defined: {sorted(by_name)}")
    out: list[JSON] = []
    for definition in definitions:
        name, otype = definition["name"], int(definition["type"])
        if name not in given:
            if check_required and definition.get("required") and name != focused:
                raise ValueError(f"missing required option {name!r}")
            continue
        value = given[name]
        option: JSON = {"name": name, "type": otype}
        if name == focused:
            option.update(value=value if isinstance(value, str) else str(value), focused=True)
        elif otype in _SCALAR_TYPES:
            option["value"] = _scalar(definition, value)
        else:
            option["value"] = str(_resolve(otype, value, resolved, guild))
        out.append(option)
    return out


def _scalar(definition: JSON, value: Any) -> Any:
    otype = int(definition["type"])
    kind = _SCALAR_TYPES[otype]
    if otype == 4 and (isinstance(value, bool) or int(value) != value):
        raise ValueError(f"option {definition['name']!r} needs an integer, got {value!r}")
    if otype != 5 and isinstance(value, bool):
        raise ValueError(f"option {definition['name']!r} got a boolean")
    typed = kind(value)
    choices = definition.get("choices")
    if choices and typed not in [c["value"] for c in choices]:
        raise ValueError(f"{typed!r} is not a choice of {definition['name']!r}")
    if otype == 3:
        lo, hi = definition.get("min_length", 0), definition.get("max_length", 6000)
        if not lo <= len(typed) <= hi:
            raise ValueError(f"option {definition['name']!r} length outside {lo}..{hi}")
    elif otype in (4, 10):
        lo, hi = definition.get("min_value"), definition.get("max_value")
        if (lo is not None and typed < lo) or (hi is not None and typed > hi):
            raise ValueError(f"option {definition['name']!r} outside {lo}..{hi}")
    return typed


def _resolve(otype: int, value: Any, resolved: JSON, guild: Guild | None) -> int:
    """Add a user/role/channel/attachment to ``resolved`` like Discord and return its id."""
    if otype == 11 and isinstance(value, RecordedFile):
        ident = abs(hash((value.name, value.data))) % (1 << 60)
        resolved.setdefault("attachments", {})[str(ident)] = {
            "id": str(ident),
            "filename": value.name,
            "size": len(value.data),
            "content_type": value.content_type,
            "url": f"attachment://{value.name}",
            "proxy_url": f"attachment://{value.name}",
        }
        return ident
    ident = _snowflake_of(value)
    if isinstance(value, User):
        resolved.setdefault("users", {})[str(ident)] = value.payload()
        member = guild.members.get(ident) if guild else None
        if member is not None and guild is not None:
            data = member.payload(guild.permissions_for(ident))
            data.pop("user")
            resolved.setdefault("members", {})[str(ident)] = data
    elif isinstance(value, Role):
        resolved.setdefault("roles", {})[str(ident)] = value.payload()
    elif isinstance(value, Channel):
        data = value.payload()
        data["permissions"] = str(Perm.EVERYONE_DEFAULT)
        resolved.setdefault("channels", {})[str(ident)] = data
    return ident


def find_component(components: list[JSON], custom_id: str) -> JSON | None:
    """Depth-first search for the component with ``custom_id``."""
    for item in components:
        if item.get("custom_id") == custom_id:
            return item
        children = list(item.get("components", []))
        if isinstance(item.get("accessory"), dict):
            children.append(item["accessory"])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None


def member_may_use(
    command: JSON, guild: Guild, user: User, permissions: int, roles: list[int], overrides: JSON
) -> bool:
    """Discord's default_member_permissions check plus simple per-command overrides.

    The owner and administrators always may; otherwise the member needs every bit, unless
    an override for this command allows the user or one of their roles.
    """
    required = command.get("default_member_permissions")
    if required is None or user.id == guild.owner_id or permissions & Perm.ADMINISTRATOR:
        return True
    if int(required) != 0 and permissions & int(required) == int(required):
        return True
    allowed = overrides.get(str(command["id"]), set())
    return user.id in allowed or any(r in allowed for r in [guild.id, *roles])
