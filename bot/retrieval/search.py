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

A passage scores as its best sentence; the best passages are shown wherever they are,
several of one article if they are the best (`python -m bot eval --cv`, docs/eval.md).
Plain dense, BM25 and reciprocal-rank fusion rank passages too, as the baselines `eval`
measures beside this one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from bot.index.snapshot import Index
from bot.retrieval.scoring import CANDIDATES, MODES, Hit, Mode, Scorer

__all__ = [
    "DIVERSITY",
    "MODES",
    "SHIPPED_MODE",
    "Filters",
    "Hit",
    "Mode",
    "Signals",
    "article_mask",
    "rank",
    "term_coverage",
]

log = logging.getLogger(__name__)

LEXICAL_WEIGHT = 1.0  # passage BM25, times the share of question terms the corpus knows
# What ranks passages, and how much a second passage of an already shown article is held
# back, both chosen by `python -m bot eval ... --cv` (docs/eval.md): the ranker and the
# diversity that won when chosen on the other question sets, fitted on all of them.
SHIPPED_MODE: Mode = "hybrid"
DIVERSITY = 0.0


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
class Signals:
    """Question-level evidence the confidence tiers are decided from."""

    relevance: float  # the top hit's relevance
    top_sentence: float  # best sentence cosine
    term_coverage: float  # share of the question's idf mass whose terms occur in the corpus
    english: bool  # English questions score lower cosines against Japanese text
    absent_names: tuple[str, ...]  # names or numbers in the question the corpus never uses
    # standard deviations the best passage cosine stands above the blog's own null
    # (`bot.retrieval.coverage`); infinite when not measured
    above_null: float = float("inf")
    # share of the question's idf mass (terms the blog knows) that the excerpt itself holds
    excerpt_terms: float = 0.0
    nearest_relevance: float = 0.0  # `Hit.nearest_relevance`


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
    # An article without a known date is outside every `since`/`until` range: nothing
    # says it was written then.
    day = article.date.date() if article.date is not None else None
    return (
        (filters.category is None or _has(article.categories, filters.category))
        and (filters.tag is None or _has(article.tags, filters.tag))
        and (filters.since is None or (day is not None and day >= filters.since))
        and (filters.until is None or (day is not None and day <= filters.until))
    )


def _has(names: Sequence[str], wanted: str) -> bool:
    return wanted.casefold() in (n.casefold() for n in names)


def dense_candidates(
    index: Index, query_vector: np.ndarray, mask: np.ndarray | None, n: int
) -> np.ndarray:
    """Rows of the `n` passages nearest to the question: exact for small blogs, HNSW above."""
    rows, _ = index.dense_candidates(query_vector, n, mask)
    return rows


def lexical_candidates(scores: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    """Rows of the `n` passages with the best BM25 score above zero; ties go to the lower row.

    Only passages sharing a term with the question score above zero, so the selection
    runs over those rather than over every passage.
    """
    rows = np.flatnonzero(scores > 0)
    if mask is not None:
        rows = rows[mask[rows]]
    if n <= 0:
        return np.zeros(0, np.int64)
    if len(rows) > n:
        values = scores[rows]
        cut = np.partition(values, len(values) - n)[len(values) - n]
        above, tied = rows[values > cut], rows[values == cut]
        rows = np.concatenate([above, tied[: n - len(above)]])
    return np.asarray(rows, np.int64)


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
    mode: Mode = SHIPPED_MODE,
    mask: np.ndarray | None = None,
    diversity: float = DIVERSITY,
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[Hit]:
    """The `k` best passages, best first; several may come from one article."""
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
    weight = lexical_weight * term_coverage(index, query_terms)
    scorer = Scorer(index, query_vector, rows, lexical[rows], sentence_vectors=mode != "passages")
    return scorer.hits(mode, weight, k, diversity)
