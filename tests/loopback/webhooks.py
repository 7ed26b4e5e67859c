"""Interaction callbacks and the interaction webhook (followups, @original edits).

This is where Discord's interaction rules are enforced: the acknowledgement deadline,
single acknowledgement, token lifetime, callback types per interaction type and the
message limits of :mod:`.limits`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import TYPE_CHECKING

from aiohttp import BodyPartReader, web

from .interactions import (
    APPLICATION_COMMAND,
    ATTACHMENT_SIZE_LIMIT,
    AUTOCOMPLETE,
    InteractionHandle,
)
from .limits import check_choices, check_message
from .models import JSON, iso_now, snowflake
from .records import EPHEMERAL, LOADING, Ack, RecordedFile, RecordedMessage
from .responses import API, bind, discord_error, json_response

if TYPE_CHECKING:
    from aiohttp.web_urldispatcher import UrlDispatcher

    from .server import LoopbackDiscord

log = logging.getLogger(__name__)

ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    3: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    5: {4, 5, 6, 7},
}
MESSAGE_FLAGS_KEPT = EPHEMERAL | (1 << 2) | (1 << 12) | (1 << 15)


def add_routes(server: LoopbackDiscord, router: UrlDispatcher, api: str) -> None:
    """Register the callback and webhook routes on ``router``."""
    base = api + "/webhooks/{app}/{token}"
    router.add_post(api + "/interactions/{id}/{token}/callback", bind(server, _callback))
    router.add_post(base, bind(server, _followup))
    for method in ("GET", "PATCH", "DELETE"):
        router.add_route(method, base + "/messages/{message}", bind(server, _message))


async def read_body(
    server: LoopbackDiscord, request: web.Request
) -> tuple[JSON, list[tuple[int, RecordedFile]]] | web.Response:
    """JSON body, or multipart with ``payload_json`` and ``files[n]`` parts."""
    if not request.content_type.startswith("multipart/"):
        return (await request.json() if request.can_read_body else {}), []
    payload: JSON = {}
    files: list[tuple[int, RecordedFile]] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.name == "payload_json":
            payload = json.loads(await part.text())
        elif part.name.startswith("files[") and part.name.endswith("]"):
            data = bytes(await part.read())
            if len(data) > ATTACHMENT_SIZE_LIMIT:
                server.recorder.violation("limits", f"file {part.filename} is {len(data)} bytes")
                return discord_error(413, 40005, "Request entity too large")
            ctype = part.headers.get("Content-Type", "application/octet-stream")
            files.append((int(part.name[6:-1]), RecordedFile(part.filename or "", data, ctype)))
        else:
            server.recorder.violation("multipart", f"unexpected form field {part.name!r}")
    return payload, files


def apply_message(
    server: LoopbackDiscord,
    base: RecordedMessage,
    payload: JSON,
    files: list[tuple[int, RecordedFile]],
    *,
    partial: bool,
    kind: str | None = None,
) -> RecordedMessage | web.Response:
    """Validate ``payload`` and return a new snapshot of ``base`` with it applied."""
    errors = check_message(payload, has_files=bool(files), partial=partial)
    if errors.pop("_empty", False):
        server.recorder.violation("limits", "empty message")
        return discord_error(400, 50006, "Cannot send an empty message")
    if errors:
        server.recorder.violation("limits", json.dumps(errors))
        return discord_error(400, 50035, "Invalid Form Body", errors)
    msg = copy.deepcopy(base)
    msg.kind = kind or base.kind
    for key in ("content", "embeds", "components"):
        if key in payload and payload[key] is not None:
            setattr(msg, key, payload[key])
    if "allowed_mentions" in payload:
        msg.allowed_mentions = payload["allowed_mentions"]
    if "flags" in payload and payload["flags"] is not None:
        keep = msg.flags & EPHEMERAL if partial else 0
        msg.flags = keep | (
            int(payload["flags"]) & MESSAGE_FLAGS_KEPT & ~(EPHEMERAL if partial else 0)
        )
    described = {str(a.get("id")): a for a in payload.get("attachments") or []}
    if partial and "attachments" in payload:
        kept = {str(a.get("id")) for a in payload["attachments"]}
        msg.attachments = [a for a in msg.attachments if a["id"] in kept]
        msg.files = [
            f for f, a in zip(msg.files, base.attachments, strict=False) if a["id"] in kept
        ]
    for index, file in files:
        meta = described.get(str(index), {})
        named = RecordedFile(
            meta.get("filename") or file.name, file.data, file.content_type, meta.get("description")
        )
        ident = snowflake()
        server.attachments[ident] = named
        url = f"{server.base_url}/attachments/{ident}/{named.name}"
        msg.files.append(named)
        msg.attachments.append(
            {"id": str(ident), "filename": named.name, "size": len(named.data), "url": url,
             "proxy_url": url, "content_type": named.content_type, "description": named.description}
        )  # fmt: skip
    if partial:
        msg.edited_timestamp = iso_now()
        msg.flags &= ~LOADING
    return msg


def _handle_for(server: LoopbackDiscord, request: web.Request) -> InteractionHandle | web.Response:
    """The interaction behind a webhook token, enforcing the token's lifetime."""
    token = request.match_info["token"]
    handle = server.interactions_by_token.get(token)
    path = request.path.removeprefix(API)
    if request.match_info["app"] != str(server.app_id) or handle is None:
        server.recorder.violation("unknown-webhook", f"{request.method} {path}")
        return discord_error(404, 10015, "Unknown Webhook")
    if asyncio.get_running_loop().time() >= handle.expires_at:
        server.recorder.violation("expired-token", f"{request.method} for interaction {handle.id}")
        return discord_error(404, 10015, "Unknown Webhook")
    if handle.ack is None:
        server.recorder.violation("unacknowledged", f"{request.method} {path} before a response")
        return discord_error(404, 10015, "Unknown Webhook")
    return handle


async def _callback(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    handle = server.interactions_by_id.get(int(request.match_info["id"]))
    if handle is None or handle.token != request.match_info["token"]:
        server.recorder.violation("unknown-interaction", request.path)
        return discord_error(404, 10062, "Unknown interaction")
    latency = asyncio.get_running_loop().time() - handle.dispatched_at
    parsed = await read_body(server, request)
    if isinstance(parsed, web.Response):
        return parsed
    body, files = parsed
    ctype, data = int(body.get("type", 0)), body.get("data") or {}
    if handle.ack is not None:
        handle.rejected_callbacks.append(ctype)
        server.recorder.violation("double-ack", f"interaction {handle.id} callback type {ctype}")
        return discord_error(400, 40060, "Interaction has already been acknowledged.")
    if latency > server.ack_deadline:
        handle.rejected_callbacks.append(ctype)
        server.recorder.violation(
            "late-ack", f"interaction {handle.id} answered after {latency:.2f}s"
        )
        return discord_error(404, 10062, "Unknown interaction")
    if ctype not in ALLOWED_CALLBACKS.get(handle.type, set()):
        server.recorder.violation(
            "callback-type", f"type {ctype} for interaction type {handle.type}"
        )
        return discord_error(400, 50035, "Invalid Form Body", {"type": {"_errors": []}})
    message: RecordedMessage | None = None
    if ctype in (4, 5):
        flags = int(data.get("flags") or 0)
        base = RecordedMessage(id=snowflake(), channel_id=handle.channel_id, kind="response",
                               interaction_id=handle.id)  # fmt: skip
        if ctype == 5:
            base.flags = LOADING | (flags & EPHEMERAL)
            message = base
        else:
            applied = apply_message(server, base, data, files, partial=False)
            if isinstance(applied, web.Response):
                return applied
            message = applied
    elif ctype in (6, 7):
        clicked = handle.payload.get("message", {}).get("id")
        current = server.messages.get(int(clicked)) if clicked else None
        if current is not None and ctype == 7:
            applied = apply_message(server, current, data, files, partial=True, kind="edit")
            if isinstance(applied, web.Response):
                return applied
            applied.interaction_id = handle.id
            message = applied
        elif current is not None:
            handle.original_id = current.id
    elif ctype == 8:
        errors = check_choices(data.get("choices") or [])
        if errors:
            server.recorder.violation("limits", json.dumps(errors))
            return discord_error(400, 50035, "Invalid Form Body", errors)
        handle.choices = list(data.get("choices") or [])
    elif ctype == 9:
        handle.modal = data
    if message is not None:
        handle.original_id = message.id
        server.store_message(message, handle)
    handle.ack = Ack(ctype, latency, data)
    server.recorder.notify()
    if request.query.get("with_response") not in ("1", "true", "True"):
        return web.Response(status=204)
    return json_response(_callback_reply(server, handle, ctype, message))


def _callback_reply(
    server: LoopbackDiscord, handle: InteractionHandle, ctype: int, message: RecordedMessage | None
) -> JSON:
    """The ``with_response`` body: ``{"interaction": {...}, "resource": {...}}``."""
    info: JSON = {"id": str(handle.id), "type": handle.type}
    resource: JSON = {"type": ctype}
    if message is not None:
        info["response_message_id"] = str(message.id)
        info["response_message_loading"] = message.loading
        info["response_message_ephemeral"] = message.ephemeral
        resource["message"] = server.message_payload(message)
    return {"interaction": info, "resource": resource}


async def _followup(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    handle = _handle_for(server, request)
    if isinstance(handle, web.Response):
        return handle
    parsed = await read_body(server, request)
    if isinstance(parsed, web.Response):
        return parsed
    payload, files = parsed
    original = handle.original
    if original is not None and original.loading:
        # The first followup after a deferred response replaces the "thinking" message.
        base = copy.deepcopy(original)
        payload = {**payload, "flags": int(payload.get("flags") or 0) & ~EPHEMERAL}
        applied = apply_message(server, base, payload, files, partial=True, kind="followup")
        if not isinstance(applied, web.Response):
            applied.edited_timestamp = None
    else:
        base = RecordedMessage(id=snowflake(), channel_id=handle.channel_id, kind="followup",
                               interaction_id=handle.id)  # fmt: skip
        applied = apply_message(server, base, payload, files, partial=False)
    if isinstance(applied, web.Response):
        return applied
    server.store_message(applied, handle)
    if request.query.get("wait") not in ("1", "true", "True"):
        return web.Response(status=204)
    return json_response(server.message_payload(applied))


async def _message(server: LoopbackDiscord, request: web.Request) -> web.StreamResponse:
    handle = _handle_for(server, request)
    if isinstance(handle, web.Response):
        return handle
    wanted = request.match_info["message"]
    target = handle.original_id if wanted == "@original" else int(wanted)
    current = server.messages.get(target) if target is not None else None
    if current is None or (target not in handle.message_ids and target != handle.original_id):
        return discord_error(404, 10008, "Unknown Message")
    if request.method == "GET":
        return json_response(server.message_payload(current))
    if request.method == "DELETE":
        gone = copy.deepcopy(current)
        gone.kind = "delete"
        server.store_message(gone, handle)
        server.messages.pop(current.id, None)
        return web.Response(status=204)
    parsed = await read_body(server, request)
    if isinstance(parsed, web.Response):
        return parsed
    payload, files = parsed
    applied = apply_message(server, current, payload, files, partial=True, kind="edit")
    if isinstance(applied, web.Response):
        return applied
    server.store_message(applied, handle)
    return json_response(server.message_payload(applied))
