"""Measure retrieval on labelled questions: hit@1, hit@3, MRR, evidence@3 and refusals;
and fit the confidence model on them (`calibrate`), so its coefficients come from data.

A label names an article by its original file name; it matches an article through the
16-hex-digit key in both names, so the corpus may rename posts as Jekyll wants.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.corpus.articles import article_key
from bot.retrieval.answers import Answer
from bot.retrieval.confidence import FEATURES, Model, Thresholds

log = logging.getLogger(__name__)

ALL = "all"


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    question: str
    kind: str | None
    articles: frozenset[str]  # acceptable article keys; empty when unanswerable
    evidence: str | None
    labelled: bool  # whether the line says anything about the right article

    @property
    def answerable(self) -> bool:
        return bool(self.articles)


class EvalFileError(ValueError):
    """A line of the question file is not usable; the message names it."""


def read_questions(path: Path) -> list[Labelled]:
    out: list[Labelled] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                out.append(_parse(line, f"{path}:{number}"))
    return out


def _parse(line: str, where: str) -> Labelled:
    try:
        row = json.loads(line)
        question = str(row["question"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise EvalFileError(f"{where}: needs a JSON object with a 'question' ({exc})") from None
    names = [row.get("article"), *(row.get("also_ok") or [])]
    return Labelled(
        id=str(row.get("id", where)),
        question=question,
        kind=row.get("kind"),
        articles=frozenset(article_key(str(n)) for n in names if n),
        evidence=row.get("evidence"),
        labelled="article" in row,
    )


def _squash(text: str) -> str:
    return re.sub(r"\s+|\*\*|__", "", text)


@dataclass(slots=True)
class Tally:
    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal: float = 0.0
    evidence: int = 0
    evidence_labelled: int = 0
    refused: int = 0
    unanswerable: int = 0
    unanswerable_refused: int = 0

    def add(self, item: Labelled, answer: Answer, keys: list[str]) -> None:
        if not item.answerable:
            self.unanswerable += 1
            self.unanswerable_refused += answer.tier != "answer"
            return
        self.answerable += 1
        ranks = [i for i, key in enumerate(keys, 1) if key in item.articles]
        self.hit1 += bool(ranks) and ranks[0] == 1
        self.hit3 += bool(ranks) and ranks[0] <= 3
        self.reciprocal += 1 / ranks[0] if ranks else 0.0
        self.refused += answer.tier != "answer"
        if item.evidence:
            self.evidence_labelled += 1
            shown = [_squash(r.excerpt) for r in answer.results[:3]]
            self.evidence += any(_squash(item.evidence) in s for s in shown)

    def row(self) -> dict[str, float | int | None]:
        n = self.answerable
        return {
            "n": n + self.unanswerable,
            "hit@1": _ratio(self.hit1, n),
            "hit@3": _ratio(self.hit3, n),
            "MRR": _ratio(self.reciprocal, n),
            "evidence@3": _ratio(self.evidence, self.evidence_labelled),
            "false_refusals": _ratio(self.refused, n),
            "unanswerable_refused": _ratio(self.unanswerable_refused, self.unanswerable),
        }


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass(slots=True)
class Report:
    tallies: dict[str, Tally] = field(default_factory=dict)

    def add(self, item: Labelled, answer: Answer, keys: list[str]) -> None:
        for name in (ALL, item.kind or "unlabelled"):
            self.tallies.setdefault(name, Tally()).add(item, answer, keys)

    def rows(self) -> dict[str, dict[str, float | int | None]]:
        order = [*sorted(k for k in self.tallies if k != ALL), ALL]
        return {name: self.tallies[name].row() for name in order}


def score(items: Iterable[tuple[Labelled, Answer, list[str]]]) -> Report:
    report = Report()
    for item, answer, keys in items:
        if item.labelled:
            report.add(item, answer, keys)
    return report


METRICS = ("hit@1", "hit@3", "MRR", "evidence@3", "false_refusals", "unanswerable_refused")


def format_table(reports: dict[str, Report]) -> str:
    """A markdown table: one row per (mode, kind), one column per metric."""
    lines = ["| mode | kind | n | " + " | ".join(METRICS) + " |"]
    lines.append("|" + "---|" * (len(METRICS) + 3))
    for mode, report in reports.items():
        for kind, row in report.rows().items():
            cells = [_cell(row[m]) for m in METRICS]
            lines.append(f"| {mode} | {kind} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: float | int | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def result_line(item: Labelled, answer: Answer) -> dict[str, Any]:
    return {"id": item.id, **answer.to_json()}


def iter_result_keys(answer: Answer) -> Iterator[str]:
    for result in answer.results:
        yield article_key(Path(result.source).name)


# -- calibration -------------------------------------------------------------------
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
    return Model(intercept, *(float(w) for w in weights))


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
    return (
        f'"{name}": (\n    Model(intercept={_g(model.intercept)}, {weights}),\n'
        f"    Thresholds(answer={thresholds.answer}, related={thresholds.related}),\n),"
    )


def _g(value: float) -> str:
    return f"{value:.4g}"
