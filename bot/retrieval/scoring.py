"""The sentence-level score of `bot.retrieval.search`, computed on the candidate passages only.

A question re-scores the ~1 000 sentences of up to 256 candidate passages, so this is
the part of search that costs: each sentence vector is gathered (float16, memory-mapped)
once, and the neighbourhood cosine comes from the cosines of the sentence and its two
neighbours divided by the stored norm of their summed vectors (`Units.window_norm`),
instead of gathering and summing three vectors per sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from bot.index.snapshot import Index

Mode = Literal["dense", "lexical", "rrf", "hybrid", "passages"]
MODES: tuple[Mode, ...] = ("dense", "lexical", "rrf", "hybrid")
# "passages": the hybrid score with every sentence cosine replaced by its passage's, so no
# sentence vector is read: what the ranker would be if the index did not embed sentences
# (a baseline `eval --cv` measures, never chosen).
CANDIDATES = 128  # passages taken from each of the dense and the lexical ranking
WINDOW_WEIGHT = 0.5  # neighbourhood cosine, relative to the sentence's own
PASSAGE_WEIGHT = 0.5  # passage cosine
INTERROGATIVE_PENALTY = 1.0  # in standard deviations
EXCERPT_REACH = 2  # sentences on each side of the best one offered to the excerpt
RRF_K = 60  # the constant of reciprocal-rank fusion, as its authors use it


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked passage, its best sentence, and the evidence that put it there."""

    row: int
    relevance: float  # summed standardised signals of its best sentence (the confidence input)
    dense: float  # cosine of the passage vector
    sentence: float  # cosine of the best sentence
    lexical: float  # BM25, scaled to [0, 1] by the best candidate for this question
    sentences: tuple[str, ...]  # the best sentence and its neighbours, in reading order
    sentence_scores: np.ndarray  # how well each of `sentences` answers, alone
    best: int  # position of the best sentence in `sentences`
    # the relevance of the passage nearest the question by its vector, whatever ranked the
    # hits: a plain dense view of how well the blog answers (the same for every hit)
    nearest_relevance: float = 0.0


def _rrf(values: np.ndarray) -> np.ndarray:
    """Reciprocal-rank fusion's share of one ranking (a zero score ranks nowhere)."""
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    return np.where(values > 0, 1.0 / (RRF_K + ranks), 0.0)


def _best_pair_per_row(pair_row: np.ndarray, scores: np.ndarray, rows: int) -> np.ndarray:
    """For each candidate passage, the position of its best-scoring sentence."""
    order = np.lexsort((-scores, pair_row))
    first = np.ones(len(order), bool)
    first[1:] = pair_row[order][1:] != pair_row[order][:-1]
    best = np.full(rows, -1, np.int64)
    best[pair_row[order][first]] = order[first]
    return best


def _diverse_top(
    scores: np.ndarray, article: np.ndarray, unit: np.ndarray, k: int, diversity: float
) -> list[int]:
    """Greedy top `k`: each pick lowers its article's other passages by `diversity`, and
    rules out the passages whose best sentence lies within its excerpt's reach (passages
    overlap by a sentence, so two of them may be represented by the same sentence, or by
    neighbours: their excerpts would repeat each other)."""
    adjusted = np.array(scores, np.float64)
    chosen: list[int] = []
    while len(chosen) < min(k, len(scores)):
        pick = int(np.argmax(adjusted))
        if not np.isfinite(adjusted[pick]):
            break
        chosen.append(pick)
        adjusted[article == article[pick]] -= diversity
        near = (article == article[pick]) & (np.abs(unit - unit[pick]) <= EXCERPT_REACH)
        adjusted[near] = -np.inf
    return chosen


def _z(values: np.ndarray) -> np.ndarray:
    spread = float(values.std()) if len(values) else 0.0
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


# float16 → float32 by table: exact, and ~3× faster than numpy's astype on this CPU
# (0.29 against 0.91 ms for 1 000 sentence vectors).
_HALF = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)


def _cosines(vectors: np.ndarray, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cosines of sentence vector rows (sorted, so the memory map is read in order)."""
    gathered = np.ascontiguousarray(vectors[rows], np.float16)
    return np.asarray(np.take(_HALF, gathered.view(np.uint16)) @ q, np.float32)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated `arange(start, start + count)` for each pair, without a Python loop."""
    total = int(counts.sum())
    shift = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return np.asarray(shift + np.arange(total), np.int64)


class _UnitCosines:
    """Cosine of any unit's sentence vector, reusing those of the candidates' sentences."""

    def __init__(self, index: Index, q: np.ndarray, rows: np.ndarray, cos: np.ndarray) -> None:
        self.index, self.q, self.rows, self.cos = index, q, rows, cos

    def of(self, units: np.ndarray) -> np.ndarray:
        """One cosine per unit; 0 for -1 (no such neighbour)."""
        out = np.zeros(len(units), np.float32)
        valid = units >= 0
        wanted = np.asarray(self.index.units.vector_row[units[valid]], np.int64)
        if not len(wanted):
            return out
        at = np.minimum(np.searchsorted(self.rows, wanted), max(len(self.rows) - 1, 0))
        known = self.rows[at] == wanted if len(self.rows) else np.zeros(len(wanted), bool)
        values = np.empty(len(wanted), np.float32)
        values[known] = self.cos[at[known]]
        if not known.all():
            missing = np.unique(wanted[~known])
            found = _cosines(self.index.sentence_vectors, missing, self.q)
            values[~known] = found[np.searchsorted(missing, wanted[~known])]
        out[valid] = values
        return out

    def window(self, units: np.ndarray) -> np.ndarray:
        """Cosine of the summed vectors of each unit and its two neighbours."""
        every = self.index.units
        total = self.of(units) + self.of(every.prev[units]) + self.of(every.next[units])
        norms = every.window_norm[units]
        return np.asarray(total / np.where(norms > 0, norms, 1.0), np.float32)


class Scorer:
    """The candidate passages' sentences and the signals measured on them."""

    def __init__(
        self,
        index: Index,
        q: np.ndarray,
        rows: np.ndarray,
        bm25: np.ndarray,
        sentence_vectors: bool = True,
    ) -> None:
        self.index, self.units, self.q, self.rows = index, index.units, q, rows
        starts = index.sentence_offsets[rows]
        counts = index.sentence_offsets[rows + 1] - starts
        self.pair_row = np.repeat(np.arange(len(rows)), counts)
        vector_rows = _ranges(starts, counts)  # ascending: rows are sorted and disjoint
        self.pair_unit = np.asarray(self.units.unit_of[vector_rows], np.int64)
        self.dense = np.asarray(index.vectors[rows], np.float32) @ q
        top = float(bm25.max()) if len(bm25) else 0.0
        self.lexical = bm25 / top if top > 0 else np.zeros(len(rows))
        self.unit_cosines: _UnitCosines | None = None
        if sentence_vectors:
            self.cosine = _cosines(index.sentence_vectors, vector_rows, q)
            self.unit_cosines = _UnitCosines(index, q, vector_rows, self.cosine)
            window = self.unit_cosines.window(self.pair_unit)
        else:
            self.cosine = np.asarray(self.dense[self.pair_row], np.float32)
            window = self.cosine
        mean, spread = float(self.cosine.mean()), float(self.cosine.std()) or 1.0
        self._stats = (mean, spread, mean, spread)
        self.own = self._sentence_part(self.pair_unit, self.cosine, window)

    def _sentence_part(
        self, unit_ids: np.ndarray, cosine: np.ndarray, window: np.ndarray
    ) -> np.ndarray:
        """The sentence's own signals, standardised against all candidate sentences."""
        mu, sd, wmu, wsd = self._stats
        penalty = INTERROGATIVE_PENALTY * self.units.interrogative[unit_ids]
        return np.asarray((cosine - mu) / sd + WINDOW_WEIGHT * (window - wmu) / wsd - penalty)

    def hits(self, mode: Mode, lexical_weight: float, k: int, diversity: float) -> list[Hit]:
        """The `k` best passages under `mode`, wherever they are.

        Each passage is represented by its best sentence under the fused sentence score,
        which is also the relevance the confidence model reads, whatever ranked the passage.
        `diversity` (standard deviations of the passage scores) is taken off a passage for
        each passage of its article already chosen: a tie-breaker, not a rule.
        """
        fused = (
            self.own
            + (PASSAGE_WEIGHT * _z(self.dense) + lexical_weight * _z(self.lexical))[self.pair_row]
        )
        best_pair = _best_pair_per_row(self.pair_row, fused, len(self.rows))
        passage = self._passage_scores(mode, fused)
        passage = np.where(np.isfinite(passage), passage, passage[np.isfinite(passage)].min())
        article = self.index.passage_article[self.rows]
        unit = self.pair_unit[best_pair]
        chosen = _diverse_top(_z(passage), article, unit, k, diversity)
        nearest = float(fused[best_pair[int(np.argmax(self.dense))]])
        return [
            replace(
                self._hit(int(best_pair[r]), float(fused[best_pair[r]])), nearest_relevance=nearest
            )
            for r in chosen
        ]

    def _passage_scores(self, mode: Mode, fused: np.ndarray) -> np.ndarray:
        """One score per candidate passage (higher is better)."""
        if mode == "dense":
            return np.asarray(self.dense, np.float64)
        if mode == "lexical":
            return np.asarray(self.lexical + 1e-6 * self.dense)  # dense breaks BM25's ties
        if mode == "rrf":
            return np.asarray(_rrf(self.dense) + _rrf(self.lexical))
        out = np.full(len(self.rows), -np.inf)
        np.maximum.at(out, self.pair_row, fused)
        return out

    def _hit(self, pair: int, relevance: float) -> Hit:
        local = int(self.pair_row[pair])
        unit = int(self.pair_unit[pair])
        around = np.array(self.units.around(unit, EXCERPT_REACH), np.int64)
        if self.unit_cosines is None:  # "passages": every sentence carries its passage's cosine
            cosines = window = np.full(len(around), self.dense[local], np.float32)
        else:
            cosines, window = self.unit_cosines.of(around), self.unit_cosines.window(around)
        return Hit(
            row=int(self.rows[local]),
            relevance=relevance,
            dense=float(self.dense[local]),
            sentence=float(self.cosine[pair]),
            lexical=float(self.lexical[local]),
            sentences=self.index.unit_texts(around.tolist()),
            sentence_scores=self._sentence_part(around, cosines, window),
            best=int(np.flatnonzero(around == unit)[0]),
        )
