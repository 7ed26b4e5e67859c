"""Does the blog cover a question at all? Measured against the blog itself.

A question's best passage cosine means little alone: an unrelated question scores 0.78 on
one blog and 0.83 on another. Each index is therefore asked the bundled probes
(`bot.retrieval.probes`, questions no blog covers) when it is loaded, and a question is
scored by how many standard deviations its best cosine stands above what the probes of
its language got there. Below the fitted floor the blog does not cover it: tier `none`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.embedding.models import Embedder
from bot.index.snapshot import Index
from bot.retrieval.probes import PROBES_EN, PROBES_JA

log = logging.getLogger(__name__)

MIN_SPREAD = 0.01  # a cosine spread below this is noise; it would inflate every distance


@dataclass(frozen=True, slots=True)
class Spread:
    """Mean and standard deviation of the probes' best cosines."""

    mean: float
    sd: float

    def distance(self, cosine: float) -> float:
        return (cosine - self.mean) / max(self.sd, MIN_SPREAD)


@dataclass(frozen=True, slots=True)
class NullScores:
    """What questions about something else get on one index, per question language."""

    index_version: str
    ja: Spread
    en: Spread
    pooled: Spread  # for questions in neither language (symbols, other scripts)

    def above(self, cosine: float, language: str) -> float:
        """How far (in standard deviations) `cosine` stands above the blog's null."""
        spread = {"ja": self.ja, "en": self.en}.get(language, self.pooled)
        return spread.distance(cosine)


def probe_texts() -> list[str]:
    """Every probe, Japanese first: the order `measure` expects their vectors in."""
    return [*PROBES_JA, *PROBES_EN]


def probe_vectors(embedder: Embedder, cache_dir: Path) -> np.ndarray:
    """The probes' vectors, embedded once per model and kept in the cache: embedding 80
    questions would otherwise add about a second to every start (each `ask`, each bot).

    A cached file that is not exactly what this model gives the probes now (other probes,
    other dimension, damaged) is embedded again; a cache that cannot be written is only
    a slower start."""
    texts = probe_texts()
    path = _probe_file(cache_dir, embedder.name, texts)
    expected = (len(texts), embedder.dimension)
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.shape == expected and np.isfinite(cached).all():
            return np.asarray(cached, np.float32)
    except (OSError, ValueError):
        pass
    vectors = np.asarray(embedder.embed_queries(texts), np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as out:
            np.save(out, vectors, allow_pickle=False)
        partial.replace(path)
    except OSError as exc:
        log.debug("probe vectors not cached in %s: %s", path.parent, exc.strerror)
    return vectors


def _probe_file(cache_dir: Path, model: str, texts: Sequence[str]) -> Path:
    digest = hashlib.blake2b("\n".join([model, *texts]).encode(), digest_size=8).hexdigest()
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model)[:60]
    return cache_dir / "probes" / f"{readable}-{digest}.npy"


def top_cosine(index: Index, vector: np.ndarray) -> float:
    """The best passage cosine of a question vector (0 for an empty index)."""
    if not index.passages:
        return 0.0
    _, scores = index.dense_candidates(vector, 1)
    return float(scores[0]) if len(scores) else 0.0


def measure(index: Index, probe_vectors: np.ndarray) -> NullScores:
    """The probes' best cosines on `index`, summarised per language."""
    tops = np.array([top_cosine(index, v) for v in probe_vectors], np.float64)
    ja, en = tops[: len(PROBES_JA)], tops[len(PROBES_JA) :]
    return NullScores(index.version, _spread(ja), _spread(en), _spread(tops))


def _spread(values: Sequence[float] | np.ndarray) -> Spread:
    array = np.asarray(values, np.float64)
    if not len(array):
        return Spread(0.0, 1.0)
    return Spread(float(array.mean()), float(array.std()))
