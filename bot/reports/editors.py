"""The editors' web view: Datasette over the question log, read-only, on localhost.

Editors want to browse questions, filter them, and run a few standing reports without a
terminal. Datasette gives that for free. The bot keeps writing the database, so it is opened
as a *mutable* file (never ``--immutable``, whose cached counts and hashes would go stale),
and Datasette reads it through ``mode=ro`` connections. Nothing here can write:

* the ASGI app answers only GET and HEAD (405 for anything else), so no form, canned query
  or API can change data, whatever Datasette or a future version of it would allow;
* no canned query is marked ``write: true`` and Datasette 0.65 has no write API of its own;
  plugins could add one, so :func:`make_datasette` refuses to start when any is installed;
* ``allow_download`` is off: the raw file holds every hashed asker, and a copy taken mid-write
  could be torn (Datasette refuses downloads of mutable files anyway; this makes it explicit);
* custom SQL stays on (``default_allow_sql``): editors ask ad-hoc questions, the connection is
  read-only, and ``sql_time_limit_ms`` stops a runaway query from pinning a read snapshot.

The view binds to 127.0.0.1 by default; docs/editors.md shows how to publish it behind the
site's reverse proxy with a login.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import DEFAULT_PLUGINS, get_plugins

from bot.settings import Settings

log = logging.getLogger(__name__)

METADATA_PATH = Path(__file__).with_name("editors_metadata.yml")
DATABASE_NAME = "questions"  # fixed, so URLs in docs/editors.md work whatever the file is called
OFFSET_TOKEN = "LOCAL_OFFSET"  # noqa: S105 - a placeholder in SQL, not a secret
DATASETTE_SETTINGS: dict[str, Any] = {
    "allow_download": False,
    "default_allow_sql": True,
    "sql_time_limit_ms": 3000,
    "max_returned_rows": 1000,
    "allow_csv_stream": True,
    "suggest_facets": False,
    "template_debug": False,
    "trace_debug": False,
}


READ_METHODS = frozenset({"GET", "HEAD"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EditorsViewError(Exception):
    """The view cannot start; the message says what to do."""


def read_only_methods(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so that every HTTP method other than GET and HEAD gets 405."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READ_METHODS:
            log.info(
                "refused %s %s: the editors' view is read-only", scope["method"], scope["path"]
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"read-only view\n"})
            return
        await app(scope, receive, send)

    return guarded


class EditorsDatasette(Datasette):  # type: ignore[misc]
    """Datasette whose app, test client included, only serves reads."""

    def app(self) -> ASGIApp:
        return read_only_methods(super().app())


def utc_offset_modifier(tz: ZoneInfo, at: datetime | None = None) -> str:
    """SQLite's `datetime()` modifier for the zone's current offset, e.g. '+540 minutes'."""
    offset = (at or datetime.now(tz)).astimezone(tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return f"{minutes:+d} minutes"


def load_metadata(tz: ZoneInfo) -> dict[str, Any]:
    """The metadata file, with local-time offsets filled into every canned query."""
    metadata: dict[str, Any] = yaml.safe_load(METADATA_PATH.read_text(encoding="utf-8"))
    modifier = utc_offset_modifier(tz)
    for query in metadata["databases"][DATABASE_NAME]["queries"].values():
        query["sql"] = query["sql"].replace(OFFSET_TOKEN, modifier)
    return metadata


def make_datasette(settings: Settings) -> EditorsDatasette:
    """A Datasette instance over the question log, configured read-only."""
    path = settings.question_db
    if not path.is_file():
        raise EditorsViewError(f"no questions logged yet: {path} does not exist")
    plugins = [p["name"] for p in get_plugins() if p["name"] not in DEFAULT_PLUGINS]
    if plugins:
        raise EditorsViewError(
            f"Datasette plugins are installed ({', '.join(plugins)}); the editors' view only "
            "runs without plugins so that nothing can write to the question log"
        )
    ds = EditorsDatasette(metadata=load_metadata(settings.tz), settings=DATASETTE_SETTINGS)
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(path.resolve()), is_mutable=True), DATABASE_NAME)
    return ds


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the view until Ctrl-C; uvicorn shuts down cleanly on SIGINT/SIGTERM."""
    import uvicorn

    ds = make_datasette(settings)
    log.info("editors' view on http://%s:%d/%s", host, port, DATABASE_NAME)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")
