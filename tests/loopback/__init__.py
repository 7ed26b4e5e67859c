"""A Discord-compatible REST + gateway server on 127.0.0.1 for end-to-end bot tests."""

from .interactions import CommandNotPermitted, InteractionHandle
from .models import Channel, Guild, Member, Perm, Role, User
from .patching import point_discord_py_at
from .records import Ack, RecordedFile, RecordedMessage
from .server import LoopbackDiscord

__all__ = [
    "Ack",
    "Channel",
    "CommandNotPermitted",
    "Guild",
    "InteractionHandle",
    "LoopbackDiscord",
    "Member",
    "Perm",
    "RecordedFile",
    "RecordedMessage",
    "Role",
    "User",
    "point_discord_py_at",
]
