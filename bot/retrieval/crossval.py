"""Choose every tuned number on some question sets and measure it on another.

A question set (one file) is a fold. For each fold the ranker (mode and diversity) and
the confidence model (logistic coefficients and the answer threshold) are chosen on the
other folds only, and the fold's figures are those of that choice: held-out figures.
What ships is the same choice made on every fold at once.

Everything here works on `Observation`s (what one ranking configuration gave one
question), gathered once per question and configuration, so trying a choice costs no
search.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.retrieval.confidence import ABSENT_NAME_CAP, ANSWER_TYPE_CAP, Model, Thresholds, tier_for
from bot.retrieval.evaluation import Example, Labelled, Outcome, calibrate
from bot.retrieval.scoring import Mode

log = logging.getLogger(__name__)

RELATED = 0.2  # below this an excerpt is not even related; a product choice, not fitted
ANSWER_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.30 … 0.90


@dataclass(frozen=True, slots=True)
class Config:
    """One way to rank: what scores passages, and what a second passage of an article pays."""

    mode: Mode
    diversity: float

    @property
    def name(self) -> str:
        if self.diversity == 0:
            return self.mode
        per = "1/article" if math.isinf(self.diversity) else f"div{self.diversity:g}"
        return f"{self.mode}+{per}"


@dataclass(frozen=True, slots=True)
class Observation:
    """One question under one configuration: what the metrics and the model read."""

    rank: int | None
    evidence3: bool
    evidence_bold: bool
    features: tuple[float, ...]
    absent_names: bool
    missing_type: bool

    def example(self, answerable: bool) -> Example:
        return Example(self.features, answerable, self.absent_names, self.missing_type)


Table = dict[Config, list[Observation]]  # per configuration, one per item, items' order


@dataclass(frozen=True, slots=True)
class Fitted:
    """A choice made on some folds: the ranker and the confidence model."""

    config: Config
    model: Model
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Held-out outcomes (items' order), the choice made for each fold, and the held-out
    confidence of every question (for the reliability plot)."""

    outcomes: list[Outcome]
    choices: dict[str, Fitted]
    confidences: list[float]


def ranking_score(items: Sequence[Labelled], observed: Sequence[Observation]) -> float:
    """What a ranker is chosen by: hit@1 plus evidence@3, over the answerable questions."""
    hits = [o.rank == 1 for i, o in zip(items, observed, strict=True) if i.answerable]
    shown = [o.evidence3 for i, o in zip(items, observed, strict=True) if i.evidence]
    return (float(np.mean(hits)) if hits else 0.0) + (float(np.mean(shown)) if shown else 0.0)


def choose_config(items: Sequence[Labelled], table: Table, rows: Sequence[int]) -> Config:
    """The configuration that scores best on `rows`; ties go to the earlier (simpler) one."""
    chosen = [items[r] for r in rows]
    scores = {c: ranking_score(chosen, [table[c][r] for r in rows]) for c in table}
    best = max(scores.values())
    return next(c for c in table if scores[c] >= best - 1e-12)


def confidence_of(model: Model, seen: Observation) -> float:
    """The answer's confidence as `bot.retrieval.confidence.confidence` computes it."""
    p = model.probability_of(seen.features)
    if seen.absent_names:
        p = min(p, ABSENT_NAME_CAP)
    if seen.missing_type:
        p = min(p, ANSWER_TYPE_CAP)
    return p


def fit_confidence(
    items: Sequence[Labelled], observed: Sequence[Observation]
) -> tuple[Model, Thresholds]:
    """The model, then the answer threshold that best separates answerable questions
    (answered) from unanswerable ones (not answered) on the same questions."""
    model = calibrate([o.example(i.answerable) for i, o in zip(items, observed, strict=True)])
    scores = [confidence_of(model, o) for o in observed]
    answerable = np.array([i.answerable for i in items])

    def error(threshold: float) -> float:
        answered = np.array(scores) >= threshold
        missed = float((~answered[answerable]).mean()) if answerable.any() else 0.0
        wrong = float(answered[~answerable].mean()) if (~answerable).any() else 0.0
        return missed + wrong

    threshold = min(ANSWER_GRID, key=lambda t: (error(t), abs(t - 0.6)))
    return model, Thresholds(answer=threshold, related=RELATED)


def fit(items: Sequence[Labelled], table: Table, rows: Sequence[int]) -> Fitted:
    """The ranker and the confidence model chosen on `rows` only."""
    config = choose_config(items, table, rows)
    chosen = [items[r] for r in rows]
    model, thresholds = fit_confidence(chosen, [table[config][r] for r in rows])
    return Fitted(config, model, thresholds)


def apply(fitted: Fitted, item: Labelled, seen: Observation) -> tuple[Outcome, float]:
    """One question's outcome and confidence under a choice."""
    p = confidence_of(fitted.model, seen)
    return Outcome(seen.rank, seen.evidence3, seen.evidence_bold, tier_for(p, fitted.thresholds)), p


def cross_validate(items: Sequence[Labelled], table: Table) -> HeldOut:
    """Leave one question set out at a time: choose on the others, measure on it."""
    labelled = [n for n, i in enumerate(items) if i.labelled]
    folds = sorted({i.fold for i in items})
    if len({items[n].fold for n in labelled}) < 2:
        raise ValueError("cross-validation needs at least two question sets (files)")
    outcomes: list[Outcome | None] = [None] * len(items)
    confidences = [0.0] * len(items)
    choices: dict[str, Fitted] = {}
    for fold in folds:
        train = [n for n in labelled if items[n].fold != fold]
        fitted = fit(items, table, train)
        choices[fold] = fitted
        log.info("fold %s: chose %s", fold, fitted.config.name)
        for n in (n for n in range(len(items)) if items[n].fold == fold):
            outcomes[n], confidences[n] = apply(fitted, items[n], table[fitted.config][n])
    return HeldOut([o for o in outcomes if o is not None], choices, confidences)


def fit_all(items: Sequence[Labelled], table: Table) -> Fitted:
    """What ships: the choice made on every labelled question."""
    return fit(items, table, [n for n, i in enumerate(items) if i.labelled])


def fixed(table: Table, config: Config) -> Table:
    """The table restricted to one configuration: a baseline, with nothing to choose."""
    return {config: table[config]}
