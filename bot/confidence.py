"""Decide how sure the bot is: `answer`, `related` or `none`.

One cosine is not enough evidence: off-topic questions score inside the range of good
ones, and a question about Llama 4's price is close to every passage about Llama 4.
Two kinds of evidence are combined:

* a name or number the reader typed ("Gemini 2.0", "DeepSeek", "GWh") that occurs
  nowhere in the blog means the blog cannot hold the answer: at most `related`;
* otherwise a logistic model over four question-level signals (how far the best
  sentence stands above the other candidates, its cosine, the share of the question's
  idf mass the corpus knows, and whether the question is English) gives the probability
  that the top excerpt answers. Its coefficients are fitted per model on the labelled
  questions with `python -m bot eval FILE --calibrate` (L2-regularised, standardised
  features) and pasted here; the thresholds can be overridden by settings.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from bot.answers import Tier
from bot.search import Signals

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float  # confidence at or above which an excerpt is shown as the answer
    related: float  # at or above which related articles are shown, marked uncertain


@dataclass(frozen=True, slots=True)
class Model:
    """Logistic coefficients over the features of `features`, in their raw units."""

    intercept: float
    relevance: float
    top_sentence: float
    term_coverage: float
    english: float

    def probability(self, signals: Signals) -> float:
        x = features(signals)
        weights = (self.relevance, self.top_sentence, self.term_coverage, self.english)
        logit = self.intercept + sum(w * v for w, v in zip(weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


FEATURES = ("relevance", "top_sentence", "term_coverage", "english")
ABSENT_NAME_CAP = 0.3  # confidence ceiling when the question names what the blog never does

# Fitted on tests/data/questions.jsonl + the dev set (74 questions; the 8 vetoed by absent
# names left out): sklearn-style L2 logistic regression, C=1, standardised features,
# coefficients converted back to raw units. Answer threshold 0.6: no false refusal there.
E5_SMALL = Model(
    intercept=-25.27, relevance=0.375, top_sentence=26.73, term_coverage=0.492, english=2.537
)
CALIBRATED: dict[str, tuple[Model, Thresholds]] = {
    "embedded:multilingual-e5-small@1": (E5_SMALL, Thresholds(answer=0.6, related=0.2)),
    "intfloat/multilingual-e5-small": (E5_SMALL, Thresholds(answer=0.6, related=0.2)),
}
# A model nobody calibrated: its cosine range is unknown, so only the scale-free signals
# count; the question's terms must be known to the corpus for an `answer`.
DEFAULT = (
    Model(intercept=-3.0, relevance=0.3, top_sentence=0.0, term_coverage=5.0, english=0.0),
    Thresholds(answer=0.6, related=0.2),
)


def features(signals: Signals) -> tuple[float, float, float, float]:
    """The model's inputs, in the order of `FEATURES`."""
    return (
        signals.relevance,
        signals.top_sentence,
        signals.term_coverage,
        1.0 if signals.english else 0.0,
    )


def model_for(model: str) -> Model:
    return CALIBRATED.get(model, DEFAULT)[0]


def thresholds_for(model: str, answer: float | None, related: float | None) -> Thresholds:
    base = CALIBRATED.get(model, DEFAULT)[1]
    return Thresholds(
        answer=base.answer if answer is None else answer,
        related=base.related if related is None else related,
    )


def confidence(signals: Signals, model: Model = DEFAULT[0]) -> float:
    """Probability in [0, 1] that the top excerpt answers the question."""
    probability = model.probability(signals)
    if signals.absent_names:
        log.debug("names absent from the corpus: %s", ", ".join(signals.absent_names))
        probability = min(probability, ABSENT_NAME_CAP)
    return probability


def tier_for(score: float, thresholds: Thresholds) -> Tier:
    if score >= thresholds.answer:
        return "answer"
    if score >= thresholds.related:
        return "related"
    return "none"
