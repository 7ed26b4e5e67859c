"""REST half of the loopback server: middleware (auth, faults, rate-limit headers) and the
bot-authenticated routes (users, application, gateway, commands, DM channels, messages).

Interaction callbacks and webhook routes live in :mod:`.webhooks`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from . import webhooks
from .limits import check_commands
from .models import JSON, Channel, snowflake
from .records import RecordedMessage, RequestRecord
from .responses import API, Handler, bind, discord_error, json_response

if TYPE_CHECKING:
    from .server import LoopbackDiscord

log = logging.getLogger(__name__)


@dataclass
class Fault:
    """One injected failure: a 429 (with ``retry_after``) or a 5xx for matching requests."""

    pattern: str
    status: int
    retry_after: float = 0.0
    is_global: bool = False
    remaining: int = 1

    def matches(self, method: str, path: str) -> bool:
        """fnmatch ``"METHOD /path"``; a pattern without a method matches any method."""
        pattern = self.pattern if " " in self.pattern else f"* {self.pattern}"
        return fnmatch.fnmatchcase(f"{method} {path}", pattern)


def _bucket_headers(key: str, remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.md5(key.encode()).hexdigest(),
    }


def _fault_response(fault: Fault, key: str) -> web.Response:
    if fault.status != 429:
        return discord_error(fault.status, 0, f"{fault.status}: injected server error")
    body = {"message": "You are being rate limited.", "retry_after": fault.retry_after}
    body["global"] = fault.is_global
    headers = _bucket_headers(key, 0, fault.retry_after)
    headers.update(
        {
            "Via": "1.1 google",
            "Retry-After": str(math.ceil(fault.retry_after)),
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
    )
    if fault.is_global:
        headers["X-RateLimit-Global"] = "true"
    return json_response(body, 429, headers)


def build_app(server: LoopbackDiscord) -> web.Application:
    """The aiohttp application: gateway at ``/`` and ``/resume/``, REST under /api/v10."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(API)
        if request.path.startswith(API) and server.latency:
            await asyncio.sleep(server.latency)
        response = await _guarded(request, handler, path)
        if request.path.startswith(API):
            record = RequestRecord(request.method, path, dict(request.query), response.status)
            server.recorder.requests.append(record)
            server.recorder.notify()
        return response

    async def _guarded(request: web.Request, handler: Handler, path: str) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        resource = request.match_info.route.resource
        key = f"{request.method} {resource.canonical if resource else path}"
        fault = next((f for f in server.faults if f.matches(request.method, path)), None)
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                server.faults.remove(fault)
            server.faults_fired.append(f"{fault.status} {request.method} {path}")
            return _fault_response(fault, key)
        public = path.startswith(("/webhooks/", "/interactions/"))
        auth = request.headers.get("Authorization")
        if (auth is not None or not public) and auth != f"Bot {server.token}":
            server.recorder.violation("auth", f"{request.method} {path} with {auth!r}")
            return discord_error(401, 0, "401: Unauthorized")
        response = await handler(request)
        response.headers.update(_bucket_headers(key, 49, 1.0))
        return response

    app = web.Application(middlewares=[middleware], client_max_size=64 * 1024 * 1024)
    r = app.router
    r.add_get("/", server.gateway.handle)
    r.add_get("/resume/", server.gateway.handle)
    r.add_get("/attachments/{id}/{name}", bind(server, _get_attachment))
    r.add_get(API + "/users/@me", bind(server, _get_me))
    r.add_get(API + "/oauth2/applications/@me", bind(server, _get_application))
    r.add_get(API + "/gateway", bind(server, _get_gateway))
    r.add_get(API + "/gateway/bot", bind(server, _get_gateway))
    for suffix in ("/commands", "/guilds/{guild}/commands"):
        r.add_get(API + "/applications/{app}" + suffix, bind(server, _get_commands))
        r.add_put(API + "/applications/{app}" + suffix, bind(server, _put_commands))
    r.add_post(API + "/users/@me/channels", bind(server, _create_dm))
    r.add_delete(API + "/users/@me/guilds/{guild}", bind(server, _leave_guild))
    r.add_post(API + "/channels/{channel}/messages", bind(server, _create_message))
    webhooks.add_routes(server, r, API)
    r.add_route("*", "/{tail:.*}", bind(server, _unknown))
    return app


async def _unknown(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    route = f"{request.method} {request.path.removeprefix(API)}"
    log.warning("unknown loopback route %s", route)
    server.recorder.unknown_routes.append(route)
    server.recorder.notify()
    return discord_error(404, 0, "404: Not Found")


async def _leave_guild(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    """The bot leaves a server: Discord answers 204, then sends GUILD_DELETE."""
    guild = next((g for g in server.guilds if str(g.id) == request.match_info["guild"]), None)
    if guild is None:
        return discord_error(404, 10004, "Unknown Guild")
    server.guilds.remove(guild)
    server.recorder.left_guilds.append(guild.id)
    await server.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild_id=guild.id)
    return web.Response(status=204)


async def _get_me(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    return json_response(server.bot_user.payload())


async def _get_application(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    return json_response(
        {
            "id": str(server.app_id),
            "name": server.bot_user.username,
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": server.owner.payload(),
            "verify_key": "0" * 64,
            "team": None,
            "flags": 0,
            "bot": server.bot_user.payload(),
            "interactions_endpoint_url": None,
            "install_params": None,
        }
    )


async def _get_gateway(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
    shards = server.gateway.shard_count
    return json_response(
        {"url": server.gateway_url, "shards": shards, "session_start_limit": limit}
    )


async def _get_attachment(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    found = server.attachments.get(int(request.match_info["id"]))
    if found is None:
        return discord_error(404, 0, "404: Not Found")
    return web.Response(body=found.data, content_type="application/octet-stream")


def _scope(server: LoopbackDiscord, request: web.Request) -> int | web.Response | None:
    if request.match_info["app"] != str(server.app_id):
        return discord_error(403, 50001, "Missing Access")
    guild = request.match_info.get("guild")
    if guild is None:
        return None
    if not any(str(g.id) == guild for g in server.guilds):
        return discord_error(403, 50001, "Missing Access")
    return int(guild)


async def _get_commands(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    scope = _scope(server, request)
    if isinstance(scope, web.Response):
        return scope
    return json_response(server.commands.get(scope, []))


async def _put_commands(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    scope = _scope(server, request)
    if isinstance(scope, web.Response):
        return scope
    body = await request.json()
    errors = check_commands(body)
    if errors:
        server.recorder.violation("commands", json.dumps(errors))
        return discord_error(400, 50035, "Invalid Form Body", errors)
    previous = {(c["name"], c.get("type", 1)): c["id"] for c in server.commands.get(scope, [])}
    stored: list[JSON] = []
    for cmd in body:
        perms = cmd.get("default_member_permissions")
        kind = cmd.get("type", 1)
        entry: JSON = {
            "id": previous.get((cmd["name"], kind)) or str(snowflake()),
            "application_id": str(server.app_id),
            "version": str(snowflake()),
            "type": kind,
            "name": cmd["name"],
            "description": cmd.get("description", ""),
            "options": cmd.get("options", []),
            "default_member_permissions": None if perms is None else str(perms),
            "dm_permission": cmd.get("dm_permission", True),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types", [0]),
            "nsfw": cmd.get("nsfw", False),
            "name_localizations": cmd.get("name_localizations"),
            "description_localizations": cmd.get("description_localizations"),
        }
        if scope is not None:
            entry["guild_id"] = str(scope)
        stored.append(entry)
    server.commands[scope] = stored
    server.command_syncs.append(scope)
    server.recorder.notify()
    return json_response(stored)


async def _create_dm(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    body = await request.json()
    user = server.find_user(int(body.get("recipient_id", 0)))
    if user is None:
        return discord_error(400, 50035, "Invalid Form Body", {"recipient_id": {"_errors": []}})
    return json_response(server.dm_channel(user).payload())


async def _create_message(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    channel: Channel | None = server.find_channel(int(request.match_info["channel"]))
    if channel is None:
        return discord_error(404, 10003, "Unknown Channel")
    parsed = await webhooks.read_body(server, request)
    if isinstance(parsed, web.Response):
        return parsed
    payload, files = parsed
    kind = "dm" if channel.type == 1 else "channel"
    base = RecordedMessage(id=snowflake(), channel_id=channel.id, kind=kind)
    message = webhooks.apply_message(server, base, payload, files, partial=False)
    if isinstance(message, web.Response):
        return message
    server.store_message(message, None)
    return json_response(server.message_payload(message))
