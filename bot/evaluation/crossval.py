"""Choose every tuned number on some question sets and measure it on another.

A question set (one file) is a fold. For each fold the ranker (mode and diversity), the
sentence model (which sentence is bold) and the confidence model (coverage floor,
logistic coefficients and the answer threshold) are chosen on the other folds only, and
the fold's figures are those of that choice: held-out figures. What ships is the same
choice made on every fold at once.

Everything here works on `Observation`s (what one ranking configuration gave one
question), gathered once per question and configuration, so trying a choice costs no
search.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.evaluation.calibration import Example, calibrate, fit_choice, fit_logistic
from bot.evaluation.labelled import Labelled, Outcome
from bot.retrieval.answers import Tier
from bot.retrieval.confidence import (
    ABSENT_NAME_CAP,
    ANSWER_TYPE_CAP,
    UNCOVERED_CAP,
    Model,
    Thresholds,
    coverage_inputs,
    coverage_logit,
    tier_for,
)
from bot.retrieval.emphasis import UNFITTED, SentenceModel
from bot.retrieval.scoring import Mode
from bot.retrieval.search import LEXICAL_WEIGHT

log = logging.getLogger(__name__)

RELATED = 0.2  # below this an excerpt is not even related; a product choice, not fitted
# unanswerable questions the fit may show as `answer`: the 15% target, less a margin
WRONG_ANSWERS = 0.10
ANSWER_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.30 … 0.90
# answerable questions the coverage floor may refuse: the 5% target, less a margin
REFUSED = 0.03
COVERAGE_C = 1.0  # L2 strength of the coverage model, as the confidence model's
SENTENCE_C = 1.0  # L2 strength of the sentence model, as the confidence model's


@dataclass(frozen=True, slots=True)
class Config:
    """One way to rank: what scores passages, and what a second passage of an article pays."""

    mode: Mode
    diversity: float
    lexical_weight: float = LEXICAL_WEIGHT

    @property
    def name(self) -> str:
        parts: list[str] = [self.mode]
        if self.diversity:
            parts.append("1/article" if math.isinf(self.diversity) else f"div{self.diversity:g}")
        if self.lexical_weight != LEXICAL_WEIGHT:
            parts.append(f"bm25x{self.lexical_weight:g}")
        return "+".join(parts)


@dataclass(frozen=True, slots=True)
class HitView:
    """One ranked hit as the metrics and the sentence model see it."""

    matched: bool  # its article is an acceptable one
    ranker_best: int  # the sentence the ranker liked best
    sentence_rows: np.ndarray  # `bot.retrieval.emphasis.SENTENCE_FEATURES`, one row a sentence
    evidence_if: tuple[
        bool, ...
    ]  # per sentence: its excerpt with that sentence bold holds evidence
    bold_if: tuple[bool, ...]  # per sentence: that sentence itself holds evidence

    def pick(self, sentences: SentenceModel | None) -> int:
        """The bold sentence: the model's choice, or the ranker's without a model."""
        return self.ranker_best if sentences is None else sentences.pick(self.sentence_rows)


@dataclass(frozen=True, slots=True)
class Observation:
    """One question under one configuration: what the metrics and the confidence model
    read. Which hits a reader sees depends on the model (a weak hit after the first is
    dropped), and which sentence is bold on the sentence model: both decided when applied."""

    hits: tuple[HitView, ...]
    features: tuple[float, ...]  # the question's, as the answer's confidence reads them
    hit_features: tuple[tuple[float, ...], ...]  # each hit's own evidence
    absent_names: bool
    missing_type: bool
    above_null: float

    def example(self, answerable: bool) -> Example:
        return Example(self.features, answerable, self.absent_names, self.missing_type)

    def outcome(self, shown: Sequence[int], tier: Tier, sentences: SentenceModel | None) -> Outcome:
        """The metrics' view when the hits at positions `shown` are what the reader sees."""
        views = [self.hits[j] for j in shown]
        ranks = [n for n, view in enumerate(views, 1) if view.matched]
        return Outcome(
            rank=ranks[0] if ranks else None,
            evidence3=any(v.evidence_if[v.pick(sentences)] for v in views[:3]),
            evidence_bold=bool(views) and views[0].bold_if[views[0].pick(sentences)],
            tier=tier,
        )

    @property
    def rank(self) -> int | None:
        """The rank of the first acceptable article when every hit is shown."""
        return next((n for n, h in enumerate(self.hits, 1) if h.matched), None)


Table = dict[Config, list[Observation]]  # per configuration, one per item, items' order


@dataclass(frozen=True, slots=True)
class Fitted:
    """A choice made on some folds: the ranker, the confidence model, the sentence model."""

    config: Config
    model: Model
    thresholds: Thresholds
    sentences: SentenceModel | None  # None: the ranker's own best sentence is bold


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Held-out outcomes (items' order), the choice made for each fold, and the held-out
    confidence of every question (for the reliability plot)."""

    outcomes: list[Outcome]
    choices: dict[str, Fitted]
    confidences: list[float]


def ranking_score(
    items: Sequence[Labelled], observed: Sequence[Observation], sentences: SentenceModel | None
) -> float:
    """What a ranker is chosen by: hit@1 over the answerable questions, plus evidence@3 and
    evidence-in-bold over those with evidence, equally weighted (every hit shown)."""
    pairs = list(zip(items, observed, strict=True))
    hits = [o.rank == 1 for i, o in pairs if i.answerable]
    every = [(o.outcome(range(len(o.hits)), "answer", sentences)) for i, o in pairs if i.evidence]
    shown = [o.evidence3 for o in every]
    bold = [o.evidence_bold for o in every]
    return sum(float(np.mean(v)) if v else 0.0 for v in (hits, shown, bold))


def fit_sentences(items: Sequence[Labelled], observed: Sequence[Observation]) -> SentenceModel:
    """The sentence model, fitted where the evidence marks the answering sentence: among
    the sentences of each hit whose excerpt can show the evidence in bold, the one that
    holds it (a conditional logit: what sets it apart from its neighbours)."""
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    for item, seen in zip(items, observed, strict=True):
        if not item.evidence:
            continue
        for view in seen.hits:
            if any(view.bold_if) and not all(view.bold_if):
                groups.append((view.sentence_rows, np.array(view.bold_if)))
    if not groups:
        return UNFITTED
    return SentenceModel(tuple(float(w) for w in fit_choice(groups, c=SENTENCE_C)))


def choose_config(
    items: Sequence[Labelled], table: Table, rows: Sequence[int], learned: bool
) -> tuple[Config, SentenceModel | None]:
    """The configuration that scores best on `rows`, with its sentence model fitted on the
    same rows; ties go to the earlier (simpler) one."""
    chosen = [items[r] for r in rows]
    best: tuple[float, Config, SentenceModel | None] | None = None
    for config, seen in table.items():
        observed = [seen[r] for r in rows]
        sentences = fit_sentences(chosen, observed) if learned else None
        value = ranking_score(chosen, observed, sentences)
        if best is None or value > best[0] + 1e-12:
            best = (value, config, sentences)
    assert best is not None
    return best[1], best[2]


def _capped(model: Model, seen: Observation, x: Sequence[float]) -> float:
    p = model.probability_of(x)
    if not model.covers(seen.features, seen.absent_names):
        p = min(p, UNCOVERED_CAP)
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


def fit_coverage(
    items: Sequence[Labelled], observed: Sequence[Observation], probes: Sequence[Observation]
) -> tuple[tuple[float, ...], float]:
    """The coverage model and its floor: answerable questions against the bundled probes
    asked of the same blogs, then the highest floor that refuses at most `REFUSED` of the
    answerable questions. No off-topic question is fitted on: the probes stand for them."""
    positive = [o for i, o in zip(items, observed, strict=True) if i.answerable]
    if not positive or not probes:
        return (), -math.inf
    rows = [coverage_inputs(o.features, o.absent_names) for o in [*positive, *probes]]
    labels = np.array([1.0] * len(positive) + [0.0] * len(probes))
    intercept, weights = fit_logistic(np.array(rows, float), labels, c=COVERAGE_C)
    coverage = (intercept, *(float(w) for w in weights))
    logits = np.array([coverage_logit(coverage, o.features, o.absent_names) for o in positive])
    return coverage, float(np.quantile(logits, REFUSED, method="lower"))


def fit_confidence(
    items: Sequence[Labelled], observed: Sequence[Observation], probes: Sequence[Observation] = ()
) -> tuple[Model, Thresholds]:
    """The coverage model and floor, the answer model on the covered questions, then the
    lowest answer threshold that keeps on-topic unanswerable questions shown as `answer`
    within `WRONG_ANSWERS` on the same questions (an answerable question under it is still
    shown, as `related`)."""
    coverage, floor = fit_coverage(items, observed, probes)
    pairs = list(zip(items, observed, strict=True))
    covered = [
        (i, o) for i, o in pairs if coverage_logit(coverage, o.features, o.absent_names) >= floor
    ]
    fitted = calibrate([o.example(i.answerable) for i, o in covered])
    model = replace(fitted, coverage=coverage, coverage_floor=floor)
    scores = np.array([confidence_of(model, o) for o in observed])
    unanswerable = np.array([not i.answerable and not i.off_topic for i in items])

    def wrong(threshold: float) -> float:
        return float((scores[unanswerable] >= threshold).mean()) if unanswerable.any() else 0.0

    fitting = [t for t in ANSWER_GRID if wrong(t) <= WRONG_ANSWERS]
    threshold = fitting[0] if fitting else ANSWER_GRID[-1]
    return model, Thresholds(answer=threshold, related=RELATED)


def fit(items: Sequence[Labelled], table: Table, rows: Sequence[int], learned: bool) -> Fitted:
    """The ranker, the sentence model and the confidence model chosen on `rows` only."""
    config, sentences = choose_config(items, table, rows, learned)
    chosen = [items[r] for r in rows]
    probes = [table[config][n] for n, i in enumerate(items) if i.probe]
    model, thresholds = fit_confidence(chosen, [table[config][r] for r in rows], probes)
    return Fitted(config, model, thresholds, sentences)


def apply(fitted: Fitted, item: Labelled, seen: Observation) -> tuple[Outcome, float]:
    """One question's outcome and confidence under a choice, hits dropped as shown."""
    p = confidence_of(fitted.model, seen)
    tier = tier_for(p, fitted.thresholds)
    return seen.outcome(shown_hits(fitted, seen, tier), tier, fitted.sentences), p


def cross_validate(items: Sequence[Labelled], table: Table, learned: bool = True) -> HeldOut:
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
        fitted = fit(items, table, train, learned)
        choices[fold] = fitted
        log.info("fold %s: chose %s", fold, fitted.config.name)
        for n in (n for n in range(len(items)) if items[n].fold == fold):
            outcomes[n], confidences[n] = apply(fitted, items[n], table[fitted.config][n])
    return HeldOut([o for o in outcomes if o is not None], choices, confidences)


def fit_all(items: Sequence[Labelled], table: Table, learned: bool = True) -> Fitted:
    """What ships: the choice made on every labelled question."""
    return fit(items, table, [n for n, i in enumerate(items) if i.labelled], learned)


def fixed(table: Table, config: Config) -> Table:
    """The table restricted to one configuration: a baseline, with nothing to choose."""
    return {config: table[config]}
