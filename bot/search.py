"""Rank passages for a question: dense and lexical evidence, fused, one excerpt per article.

Dense vectors catch paraphrases and English questions about Japanese text; the lexical
index catches names and numbers ("$50B", "GPT-4o") that a dense model blurs. Passages,
not articles, are ranked, and within the best candidates the sentence vectors decide
which passage actually holds the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from bot.index import Index

log = logging.getLogger(__name__)

Mode = Literal["dense", "lexical", "hybrid"]
CANDIDATES = 64  # passages re-scored with sentence vectors
RRF_K = 20


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
    """One ranked passage with the evidence that put it there."""

    row: int
    score: float  # fused relevance in [0, 1]
    dense: float  # cosine of the passage vector
    sentence: float  # best cosine among its sentences
    lexical: float  # BM25, scaled to [0, 1] by the best passage for this question
    sentence_scores: np.ndarray


@dataclass(frozen=True, slots=True)
class Signals:
    """Question-level evidence the confidence tiers are decided from."""

    top_dense: float
    top_sentence: float
    term_coverage: float  # share of the question's idf mass whose terms occur in the corpus
    agreement: bool  # the dense and lexical rankings agree on the top article
    margin: float  # fused score gap between the first and second article


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
    dense = index.vectors @ query_vector
    lexical = _scaled(index.lexical.scores(query_terms)) if query_terms else np.zeros_like(dense)
    candidates = _candidates(dense, lexical, mode, mask)
    hits = [_hit(index, row, dense, lexical, query_vector) for row in candidates]
    fused = _fuse(hits, mode)
    ordered = sorted(zip(fused, hits, strict=True), key=lambda pair: -pair[0])
    return _one_per_article(index, ordered, k)


def _scaled(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if len(scores) else 0.0
    return scores / top if top > 0 else scores


def _candidates(
    dense: np.ndarray, lexical: np.ndarray, mode: Mode, mask: np.ndarray | None
) -> np.ndarray:
    pools = {"dense": [dense], "lexical": [lexical], "hybrid": [dense, lexical]}[mode]
    chosen: list[np.ndarray] = []
    for scores in pools:
        allowed = np.where(mask, scores, -np.inf) if mask is not None else scores
        top = min(CANDIDATES, len(allowed))
        rows = np.argpartition(-allowed, top - 1)[:top]
        chosen.append(rows[np.isfinite(allowed[rows])])
    return np.unique(np.concatenate(chosen))


def _hit(index: Index, row: int, dense: np.ndarray, lexical: np.ndarray, q: np.ndarray) -> Hit:
    sentence_scores = index.sentences_of(int(row)).astype(np.float32) @ q
    best_sentence = float(sentence_scores.max()) if len(sentence_scores) else 0.0
    return Hit(
        int(row), 0.0, float(dense[row]), best_sentence, float(lexical[row]), sentence_scores
    )


def _fuse(hits: list[Hit], mode: Mode) -> list[float]:
    """Reciprocal-rank fusion of the passage, sentence and lexical rankings."""
    signals = {
        "dense": ("dense", "sentence"),
        "lexical": ("lexical",),
        "hybrid": ("dense", "sentence", "lexical"),
    }[mode]
    fused = np.zeros(len(hits))
    for name in signals:
        values = np.array([getattr(h, name) for h in hits])
        ranks = np.empty(len(hits))
        ranks[np.argsort(-values, kind="stable")] = np.arange(len(hits))
        fused += 1.0 / (RRF_K + ranks + 1)
    return list(fused / (len(signals) / (RRF_K + 1)))


def _one_per_article(index: Index, ordered: list[tuple[float, Hit]], k: int) -> list[Hit]:
    seen: set[int] = set()
    out: list[Hit] = []
    for score, hit in ordered:
        article = int(index.passage_article[hit.row])
        if article in seen:
            continue
        seen.add(article)
        out.append(
            Hit(hit.row, float(score), hit.dense, hit.sentence, hit.lexical, hit.sentence_scores)
        )
        if len(out) == k:
            break
    return out
