"""Which sentence of a hit answers: the one the excerpt shows in bold.

The ranker finds the passage; the reader needs the sentence. Each sentence around the
hit's best one is described by a few signals (its fused similarity and its neighbours',
the share of the question's rare words it holds, whether it states the value the question
asks for, its distance from the ranker's choice, its length, and its similarity again
when it is written in another language than the question, where shared words cannot
exist) and a linear model picks the best. The weights are learned by `python -m bot eval
--cv` where the labelled evidence marks the answering sentence, chosen on other question
sets than those they are measured on (docs/eval.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.index.analysis import JapaneseAnalyzer

SENTENCE_FEATURES = (
    "similarity",  # the sentence's fused score (standard deviations among candidates)
    "neighbours",  # the better of its two neighbours' scores
    "rare_words",  # share of the question's idf mass the sentence holds
    "states_value",  # it states the date, price, number or version asked for
    "ranker_choice",  # it is the ranker's own best sentence
    "distance",  # sentences away from the ranker's choice
    "length",  # log of its length in characters
    "other_language",  # its similarity again, when it is not in the question's language
)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class SentenceModel:
    """Linear weights over `SENTENCE_FEATURES`; the highest-scoring sentence is bolded."""

    weights: tuple[float, ...]

    def pick(self, features: np.ndarray) -> int:
        """The position of the answering sentence; ties go to the earlier one."""
        if not len(features):
            return 0
        return int(np.argmax(features @ np.asarray(self.weights)))


# Before any fit: similarity, then the question's rare words, a stated value first of all.
UNFITTED = SentenceModel((1.0, 0.0, 6.0, 100.0, 0.01, 0.0, 0.0, 0.0))


@dataclass(frozen=True, slots=True)
class Question:
    """What the sentence signals need to know about the question."""

    term_weights: Mapping[str, float]  # idf of each question term the blog knows
    states_asked: Callable[[str], bool] | None  # whether a sentence states the value asked
    language: str


def sentence_language(text: str) -> str:
    return "ja" if _JAPANESE.search(text) else "en"


def sentence_features(
    sentences: Sequence[str],
    scores: np.ndarray,
    ranker_best: int,
    question: Question,
    analyzer: JapaneseAnalyzer,
) -> np.ndarray:
    """One row of `SENTENCE_FEATURES` per sentence."""
    total = sum(question.term_weights.values()) or 1.0
    rows = []
    for i, text in enumerate(sentences):
        found = set(analyzer.terms(text)) & question.term_weights.keys()
        around = [float(scores[j]) for j in (i - 1, i + 1) if 0 <= j < len(sentences)]
        other = sentence_language(text) != ("ja" if question.language == "ja" else "en")
        states = question.states_asked is not None and question.states_asked(text)
        rows.append(
            (
                float(scores[i]),
                max(around, default=0.0),
                sum(question.term_weights[t] for t in found) / total,
                1.0 if states else 0.0,
                1.0 if i == ranker_best else 0.0,
                float(abs(i - ranker_best)),
                math.log1p(len(text)),
                float(scores[i]) if other else 0.0,
            )
        )
    return np.asarray(rows, np.float64).reshape(len(sentences), len(SENTENCE_FEATURES))


# `python -m bot eval ... --calibrate` (docs/eval.md): fitted on every labelled answering
# sentence of the question sets (the development questions never).
FITTED = SentenceModel((0.3964, 0.2248, 1.516, 2.567, 0.7068, -0.06739, 0.6608, 0.0226))
