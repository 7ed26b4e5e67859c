"""Does the blog cover a question at all? Measured against the blog itself.

A question's best passage cosine means little alone: an unrelated question scores 0.78 on
one blog and 0.83 on another. Each index is therefore asked the bundled probes
(`bot.retrieval.probes`, questions no blog covers) when it is loaded, and a question is
scored by how many standard deviations its best cosine stands above what the probes of
its language got there. Below the fitted floor the blog does not cover it: tier `none`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.index.snapshot import Index
from bot.retrieval.probes import PROBES_EN, PROBES_JA

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
