"""The editors' page inside the web view: ``/`` answers with the weekly view.

The page groups unanswered questions by meaning, so the view needs the search's model. It
is loaded once, in a thread, on the first visit (the view itself starts at once), and
every wording's vector is kept: a weekly visit embeds only the questions asked since the
last one. Pages are built one at a time; a second visitor waits for the first.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np

from bot.embedding.models import Embedder
from bot.index.recent import RecentVectors
from bot.reports.editors_guard import ASGIApp, Receive, Scope, Send
from bot.reports.editors_html import CONTENT_SECURITY_POLICY, render_report, render_unavailable
from bot.reports.weekly import build_report

log = logging.getLogger(__name__)

PAGE_PATHS = frozenset({"/", "/editors"})
DEFAULT_WEEKS = 12
MAX_WEEKS = 104
CACHED_WORDINGS = 50_000  # about 75 MB of 384-dimension vectors


class PageUnavailable(Exception):
    """The page cannot be built now (the model is missing); the message says why."""


class CachedQueries:
    """An embedder that remembers each question's vector (the least recently used
    forgotten first), the indexer's :class:`RecentVectors` in front of the model."""

    def __init__(self, embedder: Embedder, limit: int = CACHED_WORDINGS) -> None:
        self._embedder = embedder
        self._recent = RecentVectors(embedder.embed_queries, limit)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._embedder.name

    @property
    def dimension(self) -> int:
        return self._embedder.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._recent.vectors(texts), dtype=np.float32)


class EditorsPage:
    """Builds the page for one request; owns the lazily loaded model."""

    def __init__(
        self,
        db_path: Path,
        tz: tzinfo,
        load_embedder: Callable[[], Embedder],
        datasette_path: str,
    ) -> None:
        self._db_path = db_path
        self._tz = tz
        self._load_embedder = load_embedder
        self._datasette_path = datasette_path
        self._embedder: CachedQueries | None = None
        self._lock = asyncio.Lock()

    async def html(self, weeks: int) -> str:
        async with self._lock:
            if self._embedder is None:
                self._embedder = CachedQueries(await asyncio.to_thread(self._load_embedder))
            report = await build_report(self._db_path, self._embedder, tz=self._tz, weeks=weeks)
        return render_report(report, weeks=weeks, datasette_path=self._datasette_path)


def requested_weeks(scope: Scope) -> int:
    """``?weeks=N`` within 1…104; anything else is the default."""
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    text = (query.get("weeks") or [""])[0]
    return min(int(text), MAX_WEEKS) if text.isdigit() and int(text) >= 1 else DEFAULT_WEEKS


def with_editors_page(app: ASGIApp, page: EditorsPage) -> ASGIApp:
    """Answer ``/`` and ``/editors`` with the page; everything else goes to `app`."""

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in PAGE_PATHS:
            await app(scope, receive, send)
            return
        try:
            status, body = 200, await page.html(requested_weeks(scope))
        except (sqlite3.Error, OSError) as exc:
            log.warning("editors' page unavailable: %s", exc)
            message = f"質問ログを読めません / cannot read the log: {exc}"
            status, body = 503, render_unavailable(message)
        except PageUnavailable as exc:
            log.error("editors' page unavailable: %s", exc)
            status, body = 503, render_unavailable(str(exc))
        await _html(send, status, body.encode("utf-8"), scope.get("method") == "HEAD")

    return routed


async def _html(send: Send, status: int, body: bytes, head: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
