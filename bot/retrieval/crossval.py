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

from bot.retrieval.answers import Tier
from bot.retrieval.calibration import Example, calibrate
from bot.retrieval.confidence import ABSENT_NAME_CAP, ANSWER_TYPE_CAP, Model, Thresholds, tier_for
from bot.retrieval.evaluation import Labelled, Outcome
from bot.retrieval.scoring import Mode

log = logging.getLogger(__name__)

RELATED = 0.2  # below this an excerpt is not even related; a product choice, not fitted
# unanswerable questions the fit may show as `answer`: the 15% target, less a margin
WRONG_ANSWERS = 0.10
ANSWER_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.30 … 0.90


@dataclass(frozen=True, slots=True)
class Config:
    """One way to rank: what scores passages, and what a second passage of an article pays."""

    mode: Mode
    diversity: float
    emphasis: float | None = None  # rare-term weight moving the bold; None: the shipped one

    @property
    def name(self) -> str:
        parts: list[str] = [self.mode]
        if self.diversity:
            parts.append("1/article" if math.isinf(self.diversity) else f"div{self.diversity:g}")
        if self.emphasis is not None:
            parts.append(f"emphasis{self.emphasis:g}")
        return "+".join(parts)


@dataclass(frozen=True, slots=True)
class Observation:
    """One question under one configuration, per ranked hit: what the metrics and the
    confidence model read. Which hits a reader sees depends on the model (a weak hit after
    the first is dropped), so that is decided only when a model is applied."""

    matched: tuple[bool, ...]  # the hit's article is an acceptable one
    evidence: tuple[bool, ...]  # the hit's excerpt holds an evidence string
    evidence_bold: bool  # the first excerpt's bold sentence holds one
    features: tuple[float, ...]  # the question's, as the answer's confidence reads them
    hit_features: tuple[tuple[float, ...], ...]  # each hit's own evidence
    absent_names: bool
    missing_type: bool

    def example(self, answerable: bool) -> Example:
        return Example(self.features, answerable, self.absent_names, self.missing_type)

    def outcome(self, shown: Sequence[int], tier: Tier) -> Outcome:
        """The metrics' view when the hits at positions `shown` are what the reader sees."""
        ranks = [n for n, j in enumerate(shown, 1) if self.matched[j]]
        return Outcome(
            rank=ranks[0] if ranks else None,
            evidence3=any(self.evidence[j] for j in shown[:3]),
            evidence_bold=bool(shown) and self.evidence_bold,
            tier=tier,
        )

    @property
    def rank(self) -> int | None:
        """The rank of the first acceptable article when every hit is shown."""
        return next((n for n, m in enumerate(self.matched, 1) if m), None)

    @property
    def evidence3(self) -> bool:
        return any(self.evidence[:3])


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
    """What a ranker is chosen by: hit@1 over the answerable questions, plus evidence@3 and
    evidence-in-bold over those with evidence, equally weighted."""
    pairs = list(zip(items, observed, strict=True))
    hits = [o.rank == 1 for i, o in pairs if i.answerable]
    shown = [o.evidence3 for i, o in pairs if i.evidence]
    bold = [o.evidence_bold for i, o in pairs if i.evidence]
    return sum(float(np.mean(v)) if v else 0.0 for v in (hits, shown, bold))


def choose_config(items: Sequence[Labelled], table: Table, rows: Sequence[int]) -> Config:
    """The configuration that scores best on `rows`; ties go to the earlier (simpler) one."""
    chosen = [items[r] for r in rows]
    scores = {c: ranking_score(chosen, [table[c][r] for r in rows]) for c in table}
    best = max(scores.values())
    return next(c for c in table if scores[c] >= best - 1e-12)


def _capped(model: Model, seen: Observation, x: Sequence[float]) -> float:
    p = model.probability_of(x)
    if seen.absent_names:
        p = min(p, ABSENT_NAME_CAP)
    if seen.missing_type:
        p = min(p, ANSWER_TYPE_CAP)
    return p


def confidence_of(model: Model, seen: Observation) -> float:
    """The answer's confidence as `bot.retrieval.confidence.confidence` computes it."""
    return _capped(model, seen, seen.features)


def shown_hits(fitted: Fitted, seen: Observation, tier: Tier) -> list[int]:
    """The hits a reader sees, as `bot.retrieval.verdict.labelled` keeps them: the first,
    then those whose own tier (capped by the answer's) is not `none`."""
    keep: list[int] = []
    for j, x in enumerate(seen.hit_features):
        own = tier_for(_capped(fitted.model, seen, x), fitted.thresholds)
        if keep and (own == "none" or tier == "none"):
            continue
        keep.append(j)
    return keep


def fit_confidence(
    items: Sequence[Labelled], observed: Sequence[Observation]
) -> tuple[Model, Thresholds]:
    """The model, then the lowest answer threshold that keeps unanswerable questions shown
    as `answer` within `WRONG_ANSWERS` on the same questions (an answerable question under
    it is still shown, as `related`)."""
    model = calibrate([o.example(i.answerable) for i, o in zip(items, observed, strict=True)])
    scores = np.array([confidence_of(model, o) for o in observed])
    unanswerable = np.array([not i.answerable for i in items])

    def wrong(threshold: float) -> float:
        return float((scores[unanswerable] >= threshold).mean()) if unanswerable.any() else 0.0

    fitting = [t for t in ANSWER_GRID if wrong(t) <= WRONG_ANSWERS]
    threshold = fitting[0] if fitting else ANSWER_GRID[-1]
    return model, Thresholds(answer=threshold, related=RELATED)


def fit(items: Sequence[Labelled], table: Table, rows: Sequence[int]) -> Fitted:
    """The ranker and the confidence model chosen on `rows` only."""
    config = choose_config(items, table, rows)
    chosen = [items[r] for r in rows]
    model, thresholds = fit_confidence(chosen, [table[config][r] for r in rows])
    return Fitted(config, model, thresholds)


def apply(fitted: Fitted, item: Labelled, seen: Observation) -> tuple[Outcome, float]:
    """One question's outcome and confidence under a choice, hits dropped as shown."""
    p = confidence_of(fitted.model, seen)
    tier = tier_for(p, fitted.thresholds)
    return seen.outcome(shown_hits(fitted, seen, tier), tier), p


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
