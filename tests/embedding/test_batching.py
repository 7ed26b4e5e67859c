"""Questions that arrive together share one encoder call; each caller gets its own vector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from bot.embedding.batching import QueryBatcher
from tests.fakes import HashEmbedder


class CountingEmbedder(HashEmbedder):
    """Records the size of every `embed_queries` call."""

    def __init__(self) -> None:
        super().__init__(32)
        self.sizes: list[int] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.sizes.append(len(texts))
        return super().embed_queries(texts)


class FailingEmbedder(HashEmbedder):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("model failed")


async def test_concurrent_questions_share_one_call() -> None:
    """32 questions asked at once are encoded in a single call, each with its own vector."""
    embedder = CountingEmbedder()
    batcher = QueryBatcher(embedder, max_batch=32, max_wait_ms=50)
    texts = [f"質問 {i}" for i in range(32)]
    vectors = await asyncio.gather(*(batcher.embed(t) for t in texts))
    assert embedder.sizes == [32]
    expected = HashEmbedder(32).embed_queries(texts)
    np.testing.assert_allclose(np.stack(vectors), expected)


async def test_batches_never_exceed_the_limit() -> None:
    """Beyond max_batch the rest waits for the next call."""
    embedder = CountingEmbedder()
    batcher = QueryBatcher(embedder, max_batch=8, max_wait_ms=20)
    await batcher.embed_many([f"q{i}" for i in range(20)])
    assert sum(embedder.sizes) == 20
    assert max(embedder.sizes) <= 8


async def test_a_lone_question_waits_only_briefly() -> None:
    """A single question is encoded after the short wait, alone."""
    embedder = CountingEmbedder()
    batcher = QueryBatcher(embedder, max_wait_ms=1)
    vector = await asyncio.wait_for(batcher.embed("ひとつ"), timeout=5)
    assert embedder.sizes == [1]
    assert vector.shape == (32,)


async def test_model_error_reaches_every_caller() -> None:
    """A failing batch raises in each waiting caller instead of hanging them."""
    batcher = QueryBatcher(FailingEmbedder(16), max_wait_ms=5)
    results = await asyncio.gather(batcher.embed("a"), batcher.embed("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_cancelled_caller_does_not_break_the_batch() -> None:
    """A caller that gives up is skipped; the others still get their vectors."""
    embedder = CountingEmbedder()
    batcher = QueryBatcher(embedder, max_wait_ms=30)
    doomed = asyncio.create_task(batcher.embed("gone"))
    kept = asyncio.create_task(batcher.embed("kept"))
    await asyncio.sleep(0)
    doomed.cancel()
    vector = await kept
    assert vector.shape == (32,)
    assert embedder.sizes == [1]


def test_rejects_empty_batches() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        QueryBatcher(HashEmbedder(8), max_batch=0)
