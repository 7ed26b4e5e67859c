"""What the loopback server remembers: messages, files, acknowledgements and violations.

Tests read these records instead of sleeping: every change notifies one condition that
``Recorder.wait_for`` waits on with a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .models import JSON, iso_now

log = logging.getLogger(__name__)

T = TypeVar("T")

EPHEMERAL = 1 << 6
LOADING = 1 << 7


@dataclass(frozen=True)
class RecordedFile:
    """One uploaded attachment: its file name and exact bytes."""

    name: str
    data: bytes
    content_type: str
    description: str | None = None


@dataclass
class RecordedMessage:
    """A message as the server stored it (one snapshot per create or edit).

    ``kind`` is ``"response"`` (interaction callback), ``"followup"``, ``"edit"``,
    ``"delete"`` (last state before deletion), or ``"dm"`` / ``"channel"`` for channel messages.
    """

    id: int
    channel_id: int
    kind: str
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    files: list[RecordedFile] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: JSON | None = None
    interaction_id: int | None = None
    edited_timestamp: str | None = None
    timestamp: str = field(default_factory=iso_now)

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees it (flag 64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Whether this is still a deferred 'thinking' placeholder (flag 128)."""
        return bool(self.flags & LOADING)

    def custom_ids(self) -> list[str]:
        """Every custom_id in the message's components, in order."""
        found: list[str] = []

        def walk(items: list[JSON]) -> None:
            for item in items:
                if "custom_id" in item:
                    found.append(str(item["custom_id"]))
                walk(item.get("components", []))
                if isinstance(item.get("accessory"), dict):
                    walk([item["accessory"]])

        walk(self.components)
        return found

    def payload(self, author: JSON, application_id: int | None) -> JSON:
        """The message object discord.py parses from REST replies and interaction data."""
        data: JSON = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": 20 if self.kind == "response" else 0,
            "content": self.content,
            "author": author,
            "embeds": self.embeds,
            "components": self.components,
            "attachments": self.attachments,
            "flags": self.flags,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
        }
        if application_id is not None and self.interaction_id is not None:
            data["application_id"] = str(application_id)
            data["webhook_id"] = str(application_id)
        return data


@dataclass(frozen=True)
class Ack:
    """An interaction's initial response: callback type and server-measured latency (s)."""

    type: int
    latency: float
    data: JSON


@dataclass(frozen=True)
class RequestRecord:
    """One REST request as received (path is relative to /api/v10)."""

    method: str
    path: str
    query: dict[str, str]
    status: int


class Recorder:
    """Shared state change notification plus the violation log."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.unknown_routes: list[str] = []
        self.left_guilds: list[int] = []  # servers the bot left (DELETE /users/@me/guilds/…)
        self.requests: list[RequestRecord] = []
        self._changed = asyncio.Event()

    def violation(self, kind: str, detail: str) -> None:
        """Record something real Discord would refuse, as ``"kind: detail"``."""
        text = f"{kind}: {detail}"
        log.warning("loopback violation %s", text)
        self.violations.append(text)
        self.notify()

    def take_violations(self, kind: str | None = None) -> list[str]:
        """Remove and return the violations of one kind (all when None); for expected ones."""
        taken = [v for v in self.violations if kind is None or v.startswith(kind + ":")]
        self.violations = [v for v in self.violations if v not in taken]
        return taken

    def notify(self) -> None:
        """Wake every waiter; called after each recorded change."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, probe: Callable[[], T | None], within: float, what: str) -> T:
        """Wait until ``probe()`` returns something other than None (or False)."""

        async def _wait() -> T:
            while True:
                changed = self._changed
                value = probe()
                if value is not None and value is not False:
                    return value
                await changed.wait()

        try:
            return await asyncio.wait_for(_wait(), within)
        except TimeoutError:
            raise TimeoutError(f"timed out after {within}s waiting for {what}") from None

    @staticmethod
    def first(items: list[Any], pred: Callable[[Any], bool]) -> Any | None:
        """The first item matching ``pred`` or None."""
        return next((i for i in items if pred(i)), None)
