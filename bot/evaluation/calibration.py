"""Fit the confidence model on labelled questions' evidence, so its coefficients come from
data; `bot.evaluation.crossval` decides on which questions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.retrieval.confidence import FEATURES, Model, Thresholds
from bot.retrieval.emphasis import SENTENCE_FEATURES, SentenceModel


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled question as the confidence model sees it."""

    features: tuple[float, ...]  # in the order of `bot.retrieval.confidence.FEATURES`
    answerable: bool
    absent_names: bool  # names the corpus never uses: decided whatever the model says
    missing_type: bool = False  # no shown excerpt states the value asked for: capped too

    @property
    def vetoed(self) -> bool:
        return self.absent_names or self.missing_type


def fit_logistic(
    x: np.ndarray, y: np.ndarray, c: float = 1.0, steps: int = 100
) -> tuple[float, np.ndarray]:
    """L2-regularised logistic regression on standardised features, by Newton steps.

    Minimises  C · Σ log-loss + ½‖w‖²  (the intercept is not penalised), so the penalty
    means the same whatever the features' units; the result is converted back to raw
    units, the form `Model` stores. Returns (intercept, weights).
    """
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    design = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    penalty = np.eye(design.shape[1]) / c
    penalty[0, 0] = 0.0
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -50.0, 50.0)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    weights = w[1:] / scale
    return float(w[0] - (weights * mean).sum()), weights


def calibrate(examples: Sequence[Example], c: float = 1.0) -> Model:
    """The confidence model, fitted on the questions whose names the corpus knows.

    A missing answer type does not leave a question out: it depends on which excerpts
    were shown, and the question's signals still say where on-topic questions the blog
    cannot answer lie.
    """
    kept = [e for e in examples if not e.absent_names]
    if len({e.answerable for e in kept}) < 2:
        raise ValueError("calibration needs answerable and unanswerable questions")
    x = np.array([e.features for e in kept], float)
    y = np.array([e.answerable for e in kept], float)
    intercept, weights = fit_logistic(x, y, c)
    relevance, top_sentence, term_coverage, english, above_null, excerpt, nearest = map(
        float, weights
    )
    return Model(
        intercept, relevance, top_sentence, term_coverage, english, above_null, excerpt, nearest
    )


def refusal_rates(
    model: Model, examples: Sequence[Example], answer_threshold: float
) -> dict[str, float | None]:
    """False refusals and the unanswerable share kept out of `answer`, vetoes applied."""
    refused = [e.vetoed or model.probability_of(e.features) < answer_threshold for e in examples]
    answerable = [r for r, e in zip(refused, examples, strict=True) if e.answerable]
    other = [r for r, e in zip(refused, examples, strict=True) if not e.answerable]
    return {
        "false_refusals": _ratio(sum(answerable), len(answerable)),
        "unanswerable_refused": _ratio(sum(other), len(other)),
    }


def format_model(name: str, model: Model, thresholds: Thresholds) -> str:
    """The `CALIBRATED` entry for `name`, ready to paste into bot/confidence.py."""
    weights = ", ".join(f"{f}={_g(getattr(model, f))}" for f in FEATURES)
    floor = (
        "" if math.isinf(model.coverage_floor) else f", coverage_floor={_g(model.coverage_floor)}"
    )
    if model.coverage:
        floor = f",\n    coverage=({', '.join(_g(w) for w in model.coverage)}){floor}"
    return (
        f'"{name}": (\n    Model(intercept={_g(model.intercept)}, {weights}{floor}),\n'
        f"    Thresholds(answer={thresholds.answer}, related={thresholds.related}),\n),"
    )


def format_sentences(sentences: SentenceModel | None) -> str:
    """The `FITTED` sentence model, ready to paste into bot/retrieval/emphasis.py."""
    if sentences is None:
        return "# no sentence model: the ranker's sentence is bold"
    weights = ", ".join(f"{_g(w)}" for w in sentences.weights)
    names = ", ".join(SENTENCE_FEATURES)
    return f"FITTED = SentenceModel(({weights}))  # {names}"


def _g(value: float) -> str:
    return f"{value:.4g}"


def fit_choice(
    groups: Sequence[tuple[np.ndarray, np.ndarray]], c: float = 1.0, steps: int = 200
) -> np.ndarray:
    """Weights for picking one row of each group: a conditional logit.

    Each group is (rows, right): the candidates' features and which of them are right
    answers. The likelihood of a group is the softmax share of its right rows, so the fit
    learns what sets the right sentence apart from its neighbours, not what a good
    sentence looks like in general. L2-penalised (½‖w‖²/C) on standardised features, by
    Newton steps; returned in raw units (a group's shared offset cancels in the softmax).
    """
    stacked = np.vstack([rows for rows, _ in groups])
    mean = stacked.mean(axis=0)
    scale = np.where(stacked.std(axis=0) > 0, stacked.std(axis=0), 1.0)
    scaled = [((rows - mean) / scale, right.astype(bool)) for rows, right in groups]
    w = np.zeros(stacked.shape[1])
    for _ in range(steps):
        gradient = -w / c
        hessian = -np.eye(len(w)) / c
        for x, right in scaled:
            p = _softmax(x @ w)
            q = np.where(right, p, 0.0)
            q = q / q.sum()
            gradient += x.T @ (q - p)
            hessian += _moments(x, q) - _moments(x, p)
        step = np.linalg.solve(hessian - 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return np.asarray(w / scale, np.float64)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return np.asarray(e / e.sum(), np.float64)


def _moments(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Covariance of the rows of `x` under weights `p`."""
    centred = x - p @ x
    return np.asarray(centred.T @ (centred * p[:, None]), np.float64)
