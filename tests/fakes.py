"""Fake embedders: deterministic hashed n-gram vectors, for tests and the benchmarks.

The core only sees the `Embedder` protocol, so a fake that hashes character n-grams is
enough wherever the vectors' values do not matter, and it is still lexical enough that
a question shares direction with the passages that share its words.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Sequence

import numpy as np

from bot.embedding.embedded import DIMENSION, IDENTITY

_MIX = np.uint64(0x9E3779B97F4A7C15)


class HashEmbedder:
    """Hashed character 1- and 2-grams, normalized; counts what it embeds, and for how long."""

    def __init__(self, dimension: int = 384, name: str = "hash") -> None:
        self._dimension = dimension
        self._name = f"{name}-{dimension}"
        self.calls = 0  # texts embedded, for cache tests
        self.seconds = 0.0  # time spent embedding, for the benchmarks to subtract

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
            self._fill(out[row], text)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        self.calls += len(texts)
        self.seconds += time.perf_counter() - started
        return out

    def _fill(self, row: np.ndarray, text: str) -> None:
        """Add one signed count per n-gram of `text` to its bucket of `row`."""
        for gram in _ngrams(unicodedata.normalize("NFKC", text).lower()):
            digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self._dimension
            row[bucket] += 1.0 if digest[4] & 1 else -1.0


class StandInEmbedder(HashEmbedder):
    """The real embedded model's name and dimension, with vectorised bigram hashing.

    The benchmarks fill the real model's vector cache with it: start-up, search, memory
    and latency do not depend on the vectors' values, and the real model would take hours
    on 180 000 passages. Under the real name, a later run with the real model finds the
    cache warm, as it would after a real first index.
    """

    def __init__(self, name: str = IDENTITY, dimension: int = DIMENSION) -> None:
        super().__init__(dimension)
        self._name = name

    def _fill(self, row: np.ndarray, text: str) -> None:
        codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)
        if len(codes) < 2:
            codes = np.concatenate([codes, np.zeros(2, np.uint64)])
        grams = (codes[:-1] * np.uint64(1_000_003) + codes[1:]) * _MIX
        buckets = (grams >> np.uint64(40)) % np.uint64(self._dimension)
        signs = ((grams >> np.uint64(20)) & np.uint64(1)).astype(np.float32) * 2 - 1
        row[:] = np.bincount(buckets.astype(np.int64), signs, self._dimension)


def _ngrams(text: str) -> list[str]:
    compact = re.sub(r"\s+", " ", text)
    return [compact[i : i + n] for n in (1, 2) for i in range(len(compact) - n + 1)]
