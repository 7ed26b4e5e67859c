"""A fast stand-in for the real model: same name and dimension, hashed-bigram vectors.

Start-up, search, memory and latency do not depend on the vectors' values, and filling
180 000 passages with the real model would take hours on two cores. Texts that share
words share directions, so the approximate index sees realistic neighbourhoods.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

_MIX = np.uint64(0x9E3779B97F4A7C15)


class StandInEmbedder:
    """Deterministic hashed character-bigram vectors under the real model's name."""

    def __init__(self, name: str, dimension: int = 384) -> None:
        self._name = name
        self._dimension = dimension
        self.seconds = 0.0  # time spent embedding, to subtract from measured totals
        self.texts = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        out = np.zeros((len(texts), self._dimension), np.float32)
        for row, text in enumerate(texts):
            codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)
            if len(codes) < 2:
                codes = np.concatenate([codes, np.zeros(2, np.uint64)])
            grams = (codes[:-1] * np.uint64(1_000_003) + codes[1:]) * _MIX
            buckets = (grams >> np.uint64(40)) % np.uint64(self._dimension)
            signs = ((grams >> np.uint64(20)) & np.uint64(1)).astype(np.float32) * 2 - 1
            out[row] = np.bincount(buckets.astype(np.int64), signs, self._dimension)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return out
