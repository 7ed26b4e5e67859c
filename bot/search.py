"""Rank sentences, then passages, then articles: dense and lexical evidence in one score.

Most articles of a news blog cover the same story, so finding the article is the easy
half; the reader needs the sentence that answers. Each sentence of the candidate
passages is scored by a sum of standardised signals, every one measured against the
other candidates for this question (so the mix does not depend on a model's cosine
range):

* its own cosine with the question and that of its three-sentence neighbourhood,
* its passage's cosine, and its passage's BM25 score, weighted by the share of the
  question's idf mass that exists in the corpus at all (an English question about
  Japanese text has few terms the corpus knows, so lexical evidence steps back),
* minus a penalty when the sentence is itself a question: a reader's question is most
  similar to the author's rhetorical ones, which never answer it.

A passage scores as its best sentence, an article as its best passage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from bot import ann
from bot.index import Index
from bot.sentence_units import Units, units_for

log = logging.getLogger(__name__)

Mode = Literal["dense", "lexical", "hybrid"]
CANDIDATES = 128  # passages taken from each of the dense and the lexical ranking
WINDOW_WEIGHT = 0.5  # neighbourhood cosine, relative to the sentence's own
PASSAGE_WEIGHT = 0.5  # passage cosine
LEXICAL_WEIGHT = 1.0  # passage BM25, times the share of question terms the corpus knows
INTERROGATIVE_PENALTY = 1.0  # in standard deviations
EXCERPT_REACH = 2  # sentences on each side of the best one offered to the excerpt


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict a question to part of the blog (the slash command's options)."""

    category: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.category, self.tag, self.since, self.until))


@dataclass(frozen=True, slots=True)
class Hit:
    """The best passage of one article, with the evidence that put it there."""

    row: int
    relevance: float  # summed standardised signals of its best sentence; unbounded
    dense: float  # cosine of the passage vector
    sentence: float  # cosine of the best sentence
    lexical: float  # BM25, scaled to [0, 1] by the best candidate for this question
    sentences: tuple[str, ...]  # the best sentence and its neighbours, in reading order
    sentence_scores: np.ndarray  # how well each of `sentences` answers, alone
    best: int  # position of the best sentence in `sentences`


@dataclass(frozen=True, slots=True)
class Signals:
    """Question-level evidence the confidence tiers are decided from."""

    relevance: float  # the top hit's relevance
    top_sentence: float  # best sentence cosine
    term_coverage: float  # share of the question's idf mass whose terms occur in the corpus
    english: bool  # English questions score lower cosines against Japanese text
    absent_names: tuple[str, ...]  # names or numbers in the question the corpus never uses
    margin: float  # relevance gap between the first and second article


def article_mask(index: Index, filters: Filters | None) -> np.ndarray | None:
    """Passages allowed by the filters, or None when nothing is filtered."""
    if filters is None or not filters.active:
        return None
    allowed = np.array(
        [_article_matches(index, source, filters) for source in index.article_order], bool
    )
    mask: np.ndarray = allowed[index.passage_article]
    return mask


def _article_matches(index: Index, source: str, filters: Filters) -> bool:
    article = index.articles[source]
    day = article.date.date()
    return (
        (filters.category is None or _has(article.categories, filters.category))
        and (filters.tag is None or _has(article.tags, filters.tag))
        and (filters.since is None or day >= filters.since)
        and (filters.until is None or day <= filters.until)
    )


def _has(names: Sequence[str], wanted: str) -> bool:
    return wanted.casefold() in (n.casefold() for n in names)


def dense_candidates(
    index: Index, query_vector: np.ndarray, mask: np.ndarray | None, n: int
) -> np.ndarray:
    """Rows of the `n` passages nearest to the question: exact for small blogs, HNSW above."""
    rows, _ = ann.dense_candidates(index, query_vector, n, mask)
    return rows


def lexical_candidates(scores: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    """Rows of the `n` passages with the best BM25 score above zero."""
    return _top_rows(np.where(scores > 0, scores, -np.inf), mask, n)


def _top_rows(scores: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    allowed = np.where(mask, scores, -np.inf) if mask is not None else scores
    top = min(n, len(allowed))
    if top == 0:
        return np.zeros(0, np.int64)
    rows = np.argpartition(-allowed, top - 1)[:top]
    return rows[np.isfinite(allowed[rows])].astype(np.int64)


def term_coverage(index: Index, terms: Sequence[str]) -> float:
    """Share of the question's idf mass carried by terms that occur in some passage."""
    unique = list(dict.fromkeys(terms))
    idf = np.array([index.lexical.idf(t) for t in unique])
    if not unique or idf.sum() <= 0:
        return 0.0
    present = np.array([index.lexical.document_frequency(t) > 0 for t in unique], bool)
    return float(idf[present].sum() / idf.sum())


def rank(
    index: Index,
    query_vector: np.ndarray,
    query_terms: Sequence[str],
    k: int,
    mode: Mode = "hybrid",
    mask: np.ndarray | None = None,
) -> list[Hit]:
    """The best passage of each of the `k` best articles, best first."""
    if not index.passages:
        return []
    lexical = index.lexical.scores(query_terms) if query_terms else np.zeros(len(index.passages))
    pools = []
    if mode != "lexical":
        pools.append(dense_candidates(index, query_vector, mask, CANDIDATES))
    if mode != "dense":
        pools.append(lexical_candidates(lexical, mask, CANDIDATES))
    rows = np.unique(np.concatenate(pools)) if pools else np.zeros(0, np.int64)
    if not len(rows):
        return []
    weight = LEXICAL_WEIGHT * term_coverage(index, query_terms)
    scorer = _Scorer(index, units_for(index), query_vector, rows, lexical[rows])
    return scorer.hits(mode, weight, k)


def _z(values: np.ndarray) -> np.ndarray:
    spread = float(values.std()) if len(values) else 0.0
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


class _Scorer:
    """The candidate passages' sentences and the signals measured on them."""

    def __init__(
        self, index: Index, units: Units, q: np.ndarray, rows: np.ndarray, bm25: np.ndarray
    ) -> None:
        self.index, self.units, self.q, self.rows = index, units, q, rows
        starts, ends = index.sentence_offsets[rows], index.sentence_offsets[rows + 1]
        self.pair_row = np.repeat(np.arange(len(rows)), ends - starts)
        vector_rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        self.pair_unit = units.unit_of[vector_rows]
        self.cosine = np.asarray(index.sentence_vectors[vector_rows], np.float32) @ q
        self.dense = index.vectors[rows] @ q
        top = float(bm25.max()) if len(bm25) else 0.0
        self.lexical = bm25 / top if top > 0 else np.zeros(len(rows))
        window = self._window_cosine(self.pair_unit)
        self._stats = (
            float(self.cosine.mean()),
            float(self.cosine.std()) or 1.0,
            float(self.cosine.mean()),
            float(self.cosine.std()) or 1.0,
        )
        self.own = self._sentence_part(self.pair_unit, self.cosine, window)

    def _window_cosine(self, unit_ids: np.ndarray) -> np.ndarray:
        """Cosine of the summed vectors of each sentence and its two neighbours."""
        vectors = self.index.sentence_vectors
        total = np.asarray(vectors[self.units.vector_row[unit_ids]], np.float32).copy()
        for side in (self.units.prev, self.units.next):
            other = side[unit_ids]
            has = other >= 0
            total[has] += np.asarray(vectors[self.units.vector_row[other[has]]], np.float32)
        norms = np.linalg.norm(total, axis=1)
        return np.asarray((total @ self.q) / np.where(norms > 0, norms, 1.0))

    def _sentence_part(
        self, unit_ids: np.ndarray, cosine: np.ndarray, window: np.ndarray
    ) -> np.ndarray:
        """The sentence's own signals, standardised against all candidate sentences."""
        mu, sd, wmu, wsd = self._stats
        penalty = INTERROGATIVE_PENALTY * self.units.interrogative[unit_ids]
        return np.asarray((cosine - mu) / sd + WINDOW_WEIGHT * (window - wmu) / wsd - penalty)

    def hits(self, mode: Mode, lexical_weight: float, k: int) -> list[Hit]:
        if mode == "lexical":
            passage = _z(self.lexical)[self.pair_row] + 1e-3 * self.own  # sentence breaks ties
        else:
            passage = PASSAGE_WEIGHT * _z(self.dense)
            if mode == "hybrid":
                passage = passage + lexical_weight * _z(self.lexical)
            passage = self.own + passage[self.pair_row]
        return self._best_per_article(passage, k)

    def _best_per_article(self, scores: np.ndarray, k: int) -> list[Hit]:
        seen: set[int] = set()
        out: list[Hit] = []
        for pair in np.argsort(-scores, kind="stable"):
            row = int(self.rows[self.pair_row[pair]])
            article = int(self.index.passage_article[row])
            if article in seen:
                continue
            seen.add(article)
            out.append(self._hit(int(pair), float(scores[pair])))
            if len(out) == k:
                break
        return out

    def _hit(self, pair: int, relevance: float) -> Hit:
        local = int(self.pair_row[pair])
        unit = int(self.pair_unit[pair])
        around = np.array(self.units.around(unit, EXCERPT_REACH), np.int64)
        vectors = np.asarray(self.index.sentence_vectors[self.units.vector_row[around]], np.float32)
        return Hit(
            row=int(self.rows[local]),
            relevance=relevance,
            dense=float(self.dense[local]),
            sentence=float(self.cosine[pair]),
            lexical=float(self.lexical[local]),
            sentences=tuple(self.units.texts[u] for u in around),
            sentence_scores=self._sentence_part(
                around, vectors @ self.q, self._window_cosine(around)
            ),
            best=int(np.flatnonzero(around == unit)[0]),
        )
