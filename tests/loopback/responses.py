"""Response building shared by the REST and webhook routes."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import JSON

if TYPE_CHECKING:
    from .server import LoopbackDiscord

log = logging.getLogger(__name__)

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServerHandler = Callable[["LoopbackDiscord", web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with Content-Type exactly ``application/json`` (discord.py compares it verbatim)."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def discord_error(status: int, code: int, message: str, errors: JSON | None = None) -> web.Response:
    """Discord's error body: ``{"code", "message"[, "errors"]}``."""
    body: JSON = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


def bind(server: LoopbackDiscord, fn: ServerHandler) -> Handler:
    """Adapt ``fn(server, request)`` to an aiohttp handler."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await fn(server, request)

    return handler
