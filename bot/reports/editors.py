"""The editors' web view: the weekly page and Datasette over the question log, read-only.

``/`` is the page an editor opens every week (:mod:`bot.reports.editors_app`); ``/questions``
is Datasette, for browsing, filtering and free-form SQL, which it gives for free. The bot
keeps writing the database, so it is opened as a *mutable* file (never ``--immutable``,
whose cached counts and hashes would go stale), and Datasette reads it through ``mode=ro``
connections. Nothing here can write:

* the ASGI app answers only GET and HEAD, only for the host names in
  ``EDITORS_ALLOWED_HOSTS`` (and localhost), hides Datasette's ``/-/`` introspection pages
  (they show the database's absolute path), and escapes every CSV cell that a spreadsheet
  would run as a formula (:mod:`bot.reports.editors_guard`);
* every connection reads ``user_hash``/``voter_hash`` as NULL outside the views that
  count askers, refuses ``ATTACH``, and caps the size of any one value
  (:mod:`bot.reports.editors_db`); the editors' process caps SQLite's memory;
* no canned query is marked ``write: true`` and Datasette 0.65 has no write API of its own;
  plugins could add one, so :func:`make_datasette` refuses to start when any is installed;
* ``allow_download`` is off: the raw file holds every hashed asker, and a copy taken mid-write
  could be torn (Datasette refuses downloads of mutable files anyway; this makes it explicit);
* custom SQL stays on (``default_allow_sql``): editors ask ad-hoc questions, the connection is
  read-only, ``sql_time_limit_ms`` stops a runaway query from pinning a read snapshot, and
  the values and results a query may build are bounded (:mod:`bot.reports.editors_db`).

The view binds to 127.0.0.1 by default; docs/editors.md shows how to publish it behind the
site's reverse proxy with a login.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from datasette.app import Datasette
from datasette.plugins import DEFAULT_PLUGINS, get_plugins, pm

from bot.embedding.models import Embedder
from bot.reports import editors_cells
from bot.reports.editors_app import EditorsPage, with_editors_page
from bot.reports.editors_db import EditorsDatabase, limit_heap
from bot.reports.editors_guard import (
    LOCAL_HOSTS,
    ASGIApp,
    allowed_hosts,
    hidden_internals,
    logged_refusals,
    neutralised_csv,
    read_only_methods,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

METADATA_PATH = Path(__file__).with_name("editors_metadata.yml")
DATABASE_NAME = "questions"  # fixed, so URLs in docs/editors.md work whatever the file is called
OFFSET_TOKEN = "LOCAL_OFFSET"  # noqa: S105 - a placeholder in the queries' SQL, not a secret
DATASETTE_SETTINGS: dict[str, Any] = {
    "allow_download": False,
    "default_allow_sql": True,
    "sql_time_limit_ms": 3000,
    "max_returned_rows": 1000,
    "allow_csv_stream": True,
    "max_csv_mb": 20,  # CSV is collected whole to be neutralised
    "suggest_facets": False,
    "template_debug": False,
    "trace_debug": False,
}


class EditorsViewError(Exception):
    """The view cannot start; the message says what to do."""


class EditorsDatasette(Datasette):  # type: ignore[misc]
    """Datasette whose app, test client included, goes through every guard."""

    def __init__(
        self, *args: Any, allowed_hosts: frozenset[str], page: EditorsPage, **kwargs: Any
    ) -> None:
        self.allowed_hosts = allowed_hosts  # before Datasette builds its test client's app
        self.page = page
        super().__init__(*args, **kwargs)

    def app(self) -> ASGIApp:
        app: ASGIApp = super().app()
        app = with_editors_page(neutralised_csv(hidden_internals(app)), self.page)
        return allowed_hosts(read_only_methods(logged_refusals(app)), self.allowed_hosts)


def editors_hosts(settings: Settings) -> frozenset[str]:
    """Localhost, the address it binds to, and the names in EDITORS_ALLOWED_HOSTS."""
    extra: Iterable[str] = settings.editors_allowed_hosts
    bound = {settings.editors_host} - {"0.0.0.0", "::"}  # noqa: S104 - compared, not bound
    return LOCAL_HOSTS | frozenset(h.lower() for h in (*bound, *extra))


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


def quiet_error_pages() -> None:
    """Stop Datasette printing every error page it serves as a traceback.

    With rich installed, Datasette prints each error it answers (a 404, a mistyped query)
    as a rich traceback with every local variable, metadata included; for a 404 raised
    outside an ``except`` block the printing itself fails and the request gets no answer.
    The error pages stay as they are. The module is imported here, after
    ``datasette.app``: imported first, it would register its hook half-initialised.
    """
    setattr(importlib.import_module("datasette.handle_exception"), "rich", None)  # noqa: B010


def make_datasette(settings: Settings, load_embedder: Callable[[], Embedder]) -> EditorsDatasette:
    """A Datasette instance over the question log, configured read-only, with the
    editors' page at ``/`` (its model loaded by `load_embedder` on the first visit)."""
    path = settings.question_db
    if not path.is_file():
        raise EditorsViewError(f"no questions logged yet: {path} does not exist")
    ours = (*DEFAULT_PLUGINS, editors_cells.__name__)
    plugins = [p["name"] for p in get_plugins() if p["name"] not in ours]
    if plugins:
        raise EditorsViewError(
            f"Datasette plugins are installed ({', '.join(plugins)}); the editors' view only "
            "runs without plugins so that nothing can write to the question log"
        )
    if not pm.is_registered(editors_cells):
        pm.register(editors_cells, editors_cells.__name__)
    ds = EditorsDatasette(
        metadata=load_metadata(settings.tz),
        settings=DATASETTE_SETTINGS,
        allowed_hosts=editors_hosts(settings),
        page=EditorsPage(path, settings.tz, load_embedder, f"/{DATABASE_NAME}"),
    )
    quiet_error_pages()
    ds.remove_database("_memory")
    ds.add_database(EditorsDatabase(ds, str(path.resolve())), DATABASE_NAME)
    return ds


def serve(settings: Settings, host: str, port: int, load_embedder: Callable[[], Embedder]) -> None:
    """Serve the view until Ctrl-C; uvicorn shuts down cleanly on SIGINT/SIGTERM."""
    import uvicorn

    ds = make_datasette(settings, load_embedder)
    limit_heap()
    log.info("editors' view on http://%s:%d/", host, port)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")
