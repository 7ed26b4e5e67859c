"""Plain data for the loopback Discord server: users, guilds, roles, channels and messages.

The server builds every Discord payload from these objects so that the gateway, the REST
routes and the interaction payloads all agree on ids, roles and permissions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000
_counter = itertools.count(1)

JSON = dict[str, Any]


class Perm:
    """Permission bits used by the loopback server (a subset of Discord's)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    ALL = (1 << 53) - 1

    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
    )
    BOT_DEFAULT = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY


def snowflake() -> int:
    """Return a fresh, time-ordered snowflake so ids sort and decode like Discord's."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    """Discord timestamps are ISO 8601 with an explicit UTC offset."""
    return dt.datetime.now(dt.UTC).isoformat()


def _words(text: str) -> list[str]:
    return text.split()


_NONE_KEYS = _words(
    "icon splash discovery_splash banner description afk_channel_id system_channel_id"
    " rules_channel_id public_updates_channel_id vanity_url_code application_id"
)
_EMPTY_KEYS = _words(
    "features emojis stickers threads presences voice_states stage_instances"
    " guild_scheduled_events soundboard_sounds"
)
_ZERO_KEYS = _words(
    "verification_level default_message_notifications explicit_content_filter"
    " mfa_level nsfw_level premium_tier premium_subscription_count"
    " system_channel_flags"
)
_GUILD_DEFAULTS: JSON = {
    **dict.fromkeys(_NONE_KEYS),
    **{k: [] for k in _EMPTY_KEYS},
    **dict.fromkeys(_ZERO_KEYS, 0),
    "afk_timeout": 300,
    "premium_progress_bar_enabled": False,
    "large": False,
    "unavailable": False,
    "max_members": 500000,
}


@dataclass
class User:
    """A Discord user (or the bot's own user when ``bot`` is true)."""

    username: str
    id: int = field(default_factory=snowflake)
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> JSON:
        """The user object as Discord sends it."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "mfa_enabled": False,
            "verified": True,
            "locale": "en-US",
        }


@dataclass
class Role:
    """A guild role; the @everyone role has the guild's id."""

    name: str
    permissions: int = 0
    id: int = field(default_factory=snowflake)
    position: int = 1
    managed: bool = False

    def payload(self) -> JSON:
        """The role object as Discord sends it (permissions as a string bitfield)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Channel:
    """A guild text channel (type 0) or a DM channel (type 1)."""

    name: str
    id: int = field(default_factory=snowflake)
    type: int = 0
    position: int = 0
    guild_id: int | None = None
    recipient: User | None = None

    def payload(self) -> JSON:
        """The channel object as Discord sends it."""
        if self.type == 1:
            recipients = [self.recipient.payload()] if self.recipient else []
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "recipients": recipients,
            }
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class Member:
    """A user's membership in one guild: which roles they hold."""

    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    def payload(self, permissions: int | None = None) -> JSON:
        """The guild member object; ``permissions`` is added in interaction payloads."""
        data: JSON = {
            "user": self.user.payload(),
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Guild:
    """A guild with its roles, channels and members; build one with :meth:`make`."""

    name: str
    owner_id: int
    id: int = field(default_factory=snowflake)
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    preferred_locale: str = "en-US"

    @classmethod
    def make(
        cls,
        name: str,
        *,
        owner: User,
        members: list[User] | None = None,
        channels: list[str] | None = None,
        everyone_permissions: int = Perm.EVERYONE_DEFAULT,
        preferred_locale: str = "en-US",
    ) -> Guild:
        """A guild with an @everyone role, a 'general' channel and the given members."""
        guild = cls(name=name, owner_id=owner.id, preferred_locale=preferred_locale)
        guild.roles.append(Role("@everyone", everyone_permissions, id=guild.id, position=0))
        for pos, cname in enumerate(channels or ["general"]):
            guild.channels.append(Channel(cname, position=pos, guild_id=guild.id))
        for user in [owner, *(members or [])]:
            guild.add_member(user)
        return guild

    def add_role(self, name: str, permissions: int = 0, *, managed: bool = False) -> Role:
        """Create a role (positions grow upwards like Discord's)."""
        role = Role(name, permissions, position=len(self.roles), managed=managed)
        self.roles.append(role)
        return role

    def add_member(self, user: User, roles: list[Role] | None = None) -> Member:
        """Add (or update) a member holding the given roles."""
        member = Member(user, [r.id for r in roles or []])
        self.members[user.id] = member
        return member

    def role(self, role_id: int) -> Role | None:
        """Look a role up by id."""
        return next((r for r in self.roles if r.id == role_id), None)

    @property
    def default_channel(self) -> Channel:
        """The first channel; interactions happen here unless a test names another."""
        return self.channels[0]

    def permissions_for(self, user_id: int, role_ids: list[int] | None = None) -> int:
        """Guild-level permissions like Discord computes them (owner and admin get all)."""
        if user_id == self.owner_id:
            return Perm.ALL
        member = self.members.get(user_id)
        ids = role_ids if role_ids is not None else (member.roles if member else [])
        perms = 0
        for role in self.roles:
            if role.id == self.id or role.id in ids:
                perms |= role.permissions
        return Perm.ALL if perms & Perm.ADMINISTRATOR else perms

    def payload(self, *, include_all_members: bool) -> JSON:
        """The GUILD_CREATE payload; without the members intent only the bot's member."""
        members = [m.payload() for m in self.members.values() if include_all_members or m.user.bot]
        return {
            **_GUILD_DEFAULTS,
            "id": str(self.id),
            "name": self.name,
            "owner_id": str(self.owner_id),
            "preferred_locale": self.preferred_locale,
            "roles": [r.payload() for r in self.roles],
            "joined_at": iso_now(),
            "member_count": len(self.members),
            "members": members,
            "channels": [
                {k: v for k, v in c.payload().items() if k != "guild_id"} for c in self.channels
            ],
        }
