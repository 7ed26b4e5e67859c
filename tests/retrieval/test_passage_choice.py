"""The best passages wherever they are: no repeated excerpt, diversity only as a tie-breaker."""

from __future__ import annotations

import math

import numpy as np

from bot.retrieval.scoring import _diverse_top

SCORES = np.array([3.0, 2.9, 2.0, 1.0])
ARTICLE = np.array([0, 0, 0, 1])


def test_two_passages_of_one_article_may_both_be_shown() -> None:
    """Without diversity the best three passages win, two of them from one article."""
    unit = np.array([0, 10, 20, 0])
    assert _diverse_top(SCORES, ARTICLE, unit, 3, 0.0) == [0, 1, 2]


def test_passages_sharing_their_best_sentence_are_shown_once() -> None:
    """Overlapping passages represented by the same or a neighbouring sentence: one excerpt."""
    unit = np.array([5, 5, 7, 5])
    assert _diverse_top(SCORES, ARTICLE, unit, 3, 0.0) == [0, 3]


def test_diversity_breaks_near_ties_only() -> None:
    """A small diversity lets another article pass a near-tie, not a clear winner."""
    unit = np.array([0, 10, 20, 0])
    scores = np.array([3.0, 2.9, 1.0, 2.85])
    assert _diverse_top(scores, ARTICLE, unit, 2, 0.1) == [0, 3]
    assert _diverse_top(SCORES, ARTICLE, unit, 2, 0.1) == [0, 1]
    assert _diverse_top(SCORES, ARTICLE, unit, 2, math.inf) == [0, 3]
