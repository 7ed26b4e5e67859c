"""Encode questions that arrive together in one model call.

The batcher collects questions that arrive within a few milliseconds (or until
`max_batch` are waiting), encodes them with one `embed_queries` call in a worker thread,
and resolves each caller's future. While the model is busy, new questions queue up and
form the next batch, so under load batches grow by themselves. On a GPU the model runs
the batch as one forward pass; on the CPU the embedder runs one question per pass (a
batch only adds padding there, and keeps int8 vectors independent of their batch), so
the batch saves the thread hops and the model lock's hand-offs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import numpy as np

from bot.embedding.models import Embedder

log = logging.getLogger(__name__)

Waiting = tuple[str, "asyncio.Future[np.ndarray]"]


class QueryBatcher:
    """`await batcher.embed(text)` → the normalized query vector; one instance per loop."""

    def __init__(self, embedder: Embedder, max_batch: int = 32, max_wait_ms: float = 3.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.embedder = embedder
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._waiting: list[Waiting] = []
        self._full = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    async def embed(self, text: str) -> np.ndarray:
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._waiting.append((text, future))
        if len(self._waiting) >= self.max_batch:
            self._full.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        """Several questions at once (each still shares batches with other callers)."""
        vectors = await asyncio.gather(*(self.embed(t) for t in texts))
        return np.stack(vectors) if vectors else np.zeros((0, self.embedder.dimension))

    async def close(self) -> None:
        """Finish the batches already queued."""
        if self._worker is not None:
            await self._worker

    async def _drain(self) -> None:
        while self._waiting:
            if len(self._waiting) < self.max_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.max_wait)
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            if len(self._waiting) < self.max_batch:
                self._full.clear()
            await self._run(batch)

    async def _run(self, batch: list[Waiting]) -> None:
        live = [(text, future) for text, future in batch if not future.cancelled()]
        if not live:
            return
        try:
            vectors = await asyncio.to_thread(self.embedder.embed_queries, [t for t, _ in live])
        except Exception as exc:  # noqa: BLE001 - handed to every caller of this batch
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), vector in zip(live, vectors, strict=True):
            if not future.done():
                future.set_result(vector)
