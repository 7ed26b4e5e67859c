"""ASGI wrappers around the editors' Datasette: what reaches it, and what CSV leaves it.

* only GET and HEAD (405 otherwise): nothing can write, whatever Datasette would allow;
* only known ``Host`` names (400 otherwise): a page on another site that points its own
  domain at 127.0.0.1 (DNS rebinding) would otherwise read the log from the editor's
  browser;
* under ``/-/`` only the static assets: the introspection pages show the database's
  absolute path, settings and versions, which editors never need (repeated slashes are
  read as one, so ``//-/databases.json`` is hidden too);
* every ``.csv`` response rewritten cell by cell through
  :func:`bot.reports.cells.neutralise`, the rule every CSV of the project follows, and
  given a byte-order mark so that Excel reads it as UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from bot.reports.cells import neutralise_row

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

READ_METHODS = frozenset({"GET", "HEAD"})
PUBLIC_INTERNAL_PREFIXES = ("/-/static/",)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


async def _plain(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def read_only_methods(app: ASGIApp) -> ASGIApp:
    """Every HTTP method other than GET and HEAD gets 405."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READ_METHODS:
            log.info(
                "refused %s %s: the editors' view is read-only", scope["method"], scope["path"]
            )
            await _plain(send, 405, b"read-only view\n", [(b"allow", b"GET, HEAD")])
            return
        await app(scope, receive, send)

    return guarded


def host_name(scope: Scope) -> str:
    """The request's ``Host`` without its port, lower-cased; brackets of IPv6 removed."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"host":
            host = bytes(value).decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1 : host.find("]")] if "]" in host else host
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


def allowed_hosts(app: ASGIApp, hosts: Iterable[str]) -> ASGIApp:
    """Answer only requests whose ``Host`` is one of ``hosts`` (400 otherwise)."""
    allowed = frozenset(h.strip().lower().strip("[]") for h in hosts if h.strip())

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and host_name(scope) not in allowed:
            log.warning("refused a request for unknown host %r", host_name(scope)[:100])
            await _plain(send, 400, b"unknown host: set EDITORS_ALLOWED_HOSTS\n")
            return
        await app(scope, receive, send)

    return guarded


def hidden_internals(app: ASGIApp) -> ASGIApp:
    """404 for Datasette's ``/-/`` pages except static assets."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        path = re.sub("/{2,}", "/", str(scope.get("path", "")))
        if (
            scope["type"] == "http"
            and path.startswith("/-/")
            and not path.startswith(PUBLIC_INTERNAL_PREFIXES)
        ):
            await _plain(send, 404, b"not found\n")
            return
        await app(scope, receive, send)

    return guarded


def logged_refusals(app: ASGIApp) -> ASGIApp:
    """One log line per answer of 400 or more (an unknown URL, a mistyped query): the
    error page itself says the rest, and no traceback is printed."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and int(message["status"]) >= 400:
                path = str(scope.get("path", ""))[:200]
                log.info("%d %s %r", message["status"], scope.get("method", ""), path)
            await send(message)

        await app(scope, receive, watched)

    return logged


def neutralised_csv(app: ASGIApp) -> ASGIApp:
    """Rewrite every ``.csv`` response so no cell can run as a spreadsheet formula.

    The body is collected before it is rewritten; Datasette's ``max_csv_mb`` bounds it.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).endswith(".csv"):
            await app(scope, receive, send)
            return
        start: Message = {}
        body = bytearray()

        async def collect(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_rewritten(send, start, bytes(body))

        await app(scope, receive, collect)

    return guarded


async def _send_rewritten(send: Send, start: Message, body: bytes) -> None:
    if start.get("status") == 200:
        body = rewrite_csv(body)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def rewrite_csv(data: bytes) -> bytes:
    """The same CSV with every cell neutralised (the header row too: harmless), starting
    with a UTF-8 byte-order mark as the CLI's export does: without it Excel reads the
    Japanese as mojibake."""
    text = data.decode("utf-8-sig", errors="replace")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow(neutralise_row(list(row)))
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
