"""Confidence tiers: the logistic model, the absent-name veto and the threshold overrides."""

from __future__ import annotations

from bot.confidence import ABSENT_NAME_CAP, E5_SMALL, confidence, thresholds_for, tier_for
from bot.search import Signals

STRONG = Signals(12.0, 0.91, 1.0, False, (), 5.0)
WEAK = Signals(3.5, 0.81, 0.0, False, (), 0.1)


def test_strong_evidence_answers_and_weak_is_refused() -> None:
    """A sentence far above the others with known terms answers; an off-topic one does not."""
    thresholds = thresholds_for("embedded:multilingual-e5-small@1", None, None)
    assert tier_for(confidence(STRONG, E5_SMALL), thresholds) == "answer"
    assert tier_for(confidence(WEAK, E5_SMALL), thresholds) != "answer"


def test_absent_name_caps_confidence_below_answer() -> None:
    """A name the blog never uses ("Gemini 2.0") can at most be `related`."""
    vetoed = Signals(12.0, 0.91, 1.0, False, ("2.0",), 5.0)
    score = confidence(vetoed, E5_SMALL)
    assert score <= ABSENT_NAME_CAP
    assert tier_for(score, thresholds_for("embedded:multilingual-e5-small@1", None, None)) != (
        "answer"
    )


def test_confidence_is_a_probability() -> None:
    """Extreme signals stay within [0, 1]."""
    for signals in (
        Signals(1e6, 1.0, 1.0, True, (), 0.0),
        Signals(-1e6, -1.0, 0.0, False, (), 0.0),
    ):
        assert 0.0 <= confidence(signals, E5_SMALL) <= 1.0


def test_settings_override_calibrated_thresholds() -> None:
    """ANSWER_THRESHOLD / RELATED_THRESHOLD win over the per-model values."""
    assert thresholds_for("embedded:multilingual-e5-small@1", 0.9, 0.1).answer == 0.9
    assert thresholds_for("unknown-model", None, 0.05).related == 0.05
