"""The gateway half of the loopback server: HELLO, IDENTIFY, READY, RESUME and dispatches.

Sessions outlive connections so that a forced disconnect can be followed by a RESUME that
replays exactly the events the client missed, as Discord does.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .models import JSON, Guild, User
from .records import Recorder

log = logging.getLogger(__name__)

INTENT_GUILD_MEMBERS = 1 << 1
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE = 0, 1, 2, 3
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11


class _Compressor:
    """zlib-stream (one context per connection, Z_SYNC_FLUSH per message) or zstd-stream."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._obj: Any
        if kind == "zlib-stream":
            self._obj = zlib.compressobj()
        else:
            # Only requested by discord.py when zstandard is installed; it is no dependency here.
            zstandard = importlib.import_module("zstandard")
            self._flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK
            self._obj = zstandard.ZstdCompressor().compressobj()

    def compress(self, data: bytes) -> bytes:
        """One message, flushed so the client can decode it on its own."""
        if self.kind == "zlib-stream":
            return bytes(self._obj.compress(data) + self._obj.flush(zlib.Z_SYNC_FLUSH))
        return bytes(self._obj.compress(data) + self._obj.flush(self._flush))


@dataclass
class Connection:
    """One websocket; frames are serialised because the compression context is shared."""

    ws: web.WebSocketResponse
    path: str
    compressor: _Compressor | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: Session | None = None

    async def send(self, frame: JSON) -> None:
        """Send one frame (compressed when the client asked for it)."""
        text = json.dumps(frame)
        async with self.lock:
            if self.ws.closed:
                return
            if self.compressor is None:
                await self.ws.send_str(text)
            else:
                await self.ws.send_bytes(self.compressor.compress(text.encode()))


@dataclass
class Session:
    """A gateway session: sequence numbers and every dispatched frame, for replay."""

    session_id: str
    shard: tuple[int, int]
    intents: int
    seq: int = 0
    events: list[JSON] = field(default_factory=list)
    conn: Connection | None = None


class Gateway:
    """Gateway endpoint and session bookkeeping; ``dispatch`` sends (or buffers) events."""

    def __init__(
        self,
        *,
        token: str,
        bot_user: User,
        app_id: int,
        guilds: list[Guild],
        recorder: Recorder,
        resume_url: Callable[[], str],
        heartbeat_interval_ms: int = 41250,
        shard_count: int = 1,
    ) -> None:
        self.token = token
        self.bot_user = bot_user
        self.app_id = app_id
        self.guilds = guilds
        self.recorder = recorder
        self.resume_url = resume_url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = shard_count
        self.sessions: dict[str, Session] = {}
        self.by_shard: dict[int, Session] = {}
        self.connections: list[Connection] = []
        self.ops: list[tuple[str, int]] = []
        self.identifies: list[JSON] = []
        self.resumes: list[JSON] = []
        self.presence_updates: list[JSON] = []
        self.connect_queries: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway websocket connection until it closes."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        self.connect_queries.append(query)
        compress = query.get("compress")
        conn = Connection(ws, request.path, _Compressor(compress) if compress else None)
        if query.get("v") != "10" or query.get("encoding", "json") != "json":
            self.recorder.violation("gateway", f"unsupported version/encoding {query}")
            await ws.close(code=4012)
            return ws
        self.connections.append(conn)
        await conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, json.loads(msg.data))
                elif msg.type is WSMsgType.BINARY:
                    self.recorder.violation("gateway", "client sent a binary frame")
        finally:
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            self.connections.remove(conn)
        return ws

    async def _close(self, conn: Connection, code: int, why: str) -> None:
        self.recorder.violation("gateway", f"closing with {code}: {why}")
        await conn.ws.close(code=code, message=why.encode())

    async def _on_frame(self, conn: Connection, frame: JSON) -> None:
        op = frame.get("op")
        data = frame.get("d")
        self.ops.append((conn.path, int(op) if isinstance(op, int) else -1))
        self.recorder.notify()
        if op == OP_HEARTBEAT:
            await conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await self._close(conn, 4003, f"op {op} before IDENTIFY")
        elif op == OP_PRESENCE:
            self.presence_updates.append(data or {})
        elif op == OP_REQUEST_MEMBERS:
            await self._members_chunk(conn.session, data or {})
        else:
            await self._close(conn, 4001, f"unknown opcode {op}")

    async def _identify(self, conn: Connection, data: JSON) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "already authenticated")
            return
        if data.get("token") != self.token:
            await self._close(conn, 4004, "authentication failed")
            return
        shard = data.get("shard", [0, 1])
        if not isinstance(data.get("intents"), int):
            await self._close(conn, 4013, "missing intents")
            return
        if shard[1] != self.shard_count or not 0 <= shard[0] < shard[1]:
            await self._close(conn, 4010, f"invalid shard {shard}")
            return
        self.identifies.append(data)
        session = Session(secrets.token_hex(16), (shard[0], shard[1]), data["intents"], conn=conn)
        conn.session = session
        self.sessions[session.session_id] = session
        self.by_shard[shard[0]] = session
        ready = {
            "v": 10,
            "user": self.bot_user.payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self._shard_guilds(session)],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url(),
            "shard": list(session.shard),
            "application": {"id": str(self.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["loopback"],
        }
        await self.dispatch_to(session, "READY", ready)
        members = bool(session.intents & INTENT_GUILD_MEMBERS)
        for guild in self._shard_guilds(session):
            await self.dispatch_to(
                session, "GUILD_CREATE", guild.payload(include_all_members=members)
            )

    async def _resume(self, conn: Connection, data: JSON) -> None:
        self.resumes.append(data)
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            await conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        old, session.conn, conn.session = session.conn, conn, session
        if old is not None and old is not conn:
            await old.ws.close(code=4000)
        seq = int(data.get("seq") or 0)
        for frame in [f for f in session.events if f["s"] > seq]:
            await conn.send(frame)
        await self.dispatch_to(session, "RESUMED", {})

    async def _members_chunk(self, session: Session, data: JSON) -> None:
        guild = next((g for g in self.guilds if str(g.id) == str(data.get("guild_id"))), None)
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        await self.dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _shard_guilds(self, session: Session) -> list[Guild]:
        shard_id, count = session.shard
        return [g for g in self.guilds if (g.id >> 22) % count == shard_id]

    def shard_for(self, guild_id: int | None) -> int:
        """Discord's shard formula; DMs go to shard 0."""
        return 0 if guild_id is None else (guild_id >> 22) % self.shard_count

    async def dispatch_to(self, session: Session, event: str, data: JSON) -> None:
        """Number and store the event; send it now if the session has a live connection."""
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(frame)
        if session.conn is not None:
            await session.conn.send(frame)
        self.recorder.notify()

    async def dispatch(self, event: str, data: JSON, *, guild_id: int | None = None) -> None:
        """Dispatch to the shard that owns ``guild_id`` (buffered while it is disconnected)."""
        session = self.by_shard.get(self.shard_for(guild_id))
        if session is None:
            raise RuntimeError("no gateway session yet: wait_ready() first")
        await self.dispatch_to(session, event, data)

    async def disconnect(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Close live connections with ``code``; sessions stay resumable, events buffer."""
        for sid, session in list(self.by_shard.items()):
            if shard_id is not None and sid != shard_id:
                continue
            conn, session.conn = session.conn, None
            if conn is not None:
                with contextlib.suppress(ConnectionError):
                    await conn.ws.close(code=code, message=b"loopback disconnect")

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9; a non-resumable invalidation forgets the sessions (client re-identifies)."""
        for session in list(self.by_shard.values()):
            if not resumable:
                self.sessions.pop(session.session_id, None)
            if session.conn is not None:
                await session.conn.send({"op": OP_INVALID_SESSION, "d": resumable})

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; the client should come back with RESUME."""
        for session in list(self.by_shard.values()):
            if session.conn is not None:
                await session.conn.send({"op": OP_RECONNECT, "d": None})

    async def close_all(self) -> None:
        """Close every websocket (server shutdown)."""
        for conn in list(self.connections):
            with contextlib.suppress(ConnectionError):
                await conn.ws.close(code=1001)
