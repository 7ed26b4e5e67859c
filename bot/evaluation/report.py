"""`eval --cv`: held-out figures of the baselines and of the chosen ranker, in one table.

Every method is measured the same way: whatever it has to choose (the chosen ranker:
its mode and diversity; every method: its confidence model and answer threshold) is
chosen without the question set it is measured on. The development questions are
never chosen on: they are measured apart, under the choice made on all the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.evaluation.crossval import (
    Config,
    Fitted,
    Table,
    apply,
    cross_validate,
    fit_all,
    fixed,
)
from bot.evaluation.labelled import Labelled, Report, format_table, score
from bot.evaluation.observe import BASELINES, candidate_configs

log = logging.getLogger(__name__)

CHOSEN = "tuned (CV-chosen)"
SHIPPED = "hybrid"  # the fused ranker with the learned bold sentence
SHIPPED_CONFIG = Config("hybrid", 0.0)
RANKERS_SENTENCE = "hybrid, ranker's sentence bold"  # what the learned sentence model adds


@dataclass(frozen=True, slots=True)
class Summary:
    text: str
    shipped: Fitted  # the shipped method, fitted on every non-development question
    confidences: list[float]  # its held-out confidences, one per labelled question
    answerable: list[bool]


def _methods(table: Table) -> dict[str, tuple[Table, bool]]:
    """Each method's table and whether it learns the bold sentence. The baselines choose
    nothing but the confidence model, and bold the sentence their ranker liked best."""
    names = {"lexical": "bm25", "passages": "hybrid, no sentence vectors"}
    out = {names.get(c.mode, c.mode): (fixed(table, c), False) for c in BASELINES}
    out[RANKERS_SENTENCE] = (fixed(table, SHIPPED_CONFIG), False)
    out[SHIPPED] = (fixed(table, SHIPPED_CONFIG), True)
    choosable = set(candidate_configs())
    out[CHOSEN] = ({c: seen for c, seen in table.items() if c in choosable}, True)
    return out


def _rows(table: Table, rows: Sequence[int]) -> Table:
    return {c: [seen[n] for n in rows] for c, seen in table.items()}


def held_out_summary(
    items: Sequence[Labelled], table: Table, keep: Sequence[int], apart: Sequence[int]
) -> Summary:
    """The held-out table for `keep`, the development table for `apart`, and the choice."""
    kept = [items[n] for n in keep]
    held: dict[str, Report] = {}
    dev: dict[str, Report] = {}
    lines: list[str] = []
    shipped: Fitted | None = None
    confidences: list[float] = []
    for method, (own, learned) in _methods(table).items():
        sub = _rows(own, keep)
        result = cross_validate(kept, sub, learned)
        held[method] = score(zip(kept, result.outcomes, strict=True))
        everywhere = fit_all(kept, sub, learned)
        dev[method] = score(
            (items[n], apply(everywhere, items[n], own[everywhere.config][n])[0]) for n in apart
        )
        if method == SHIPPED:
            shipped, confidences = everywhere, result.confidences
        if method == CHOSEN:
            for fold, fitted in result.choices.items():
                lines.append(f"#   held out {fold}: chose {fitted.config.name}, {_model(fitted)}")
    assert shipped is not None
    text = [
        f"# held-out figures: each question set (file) measured under choices made on the "
        f"other {len({i.fold for i in kept}) - 1} sets (leave-one-set-out)",
        format_table(held),
        f"# {CHOSEN}: what it chose for each held-out set:",
        *lines,
        f"# shipped: {SHIPPED} (confidence fitted on all sets: {_model(shipped)})",
    ]
    if apart:
        text += ["# development questions, never chosen on:", format_table(dev)]
    labelled = [n for n, i in enumerate(kept) if i.labelled]
    return Summary(
        "\n".join(text),
        shipped,
        [confidences[n] for n in labelled],
        [kept[n].answerable for n in labelled],
    )


def _model(fitted: Fitted) -> str:
    floor = fitted.model.coverage_floor
    return f"answer threshold {fitted.thresholds.answer}, coverage floor (logit) {floor:.3g}"


def reliability_plot(confidences: Sequence[float], answerable: Sequence[bool], path: Path) -> None:
    """Held-out confidence against the share of questions the blog answers, by decile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p, y = np.asarray(confidences, float), np.asarray(answerable, float)
    edges = np.linspace(0.0, 1.0, 11)
    which = np.clip(np.digitize(p, edges) - 1, 0, 9)
    used = [b for b in range(10) if (which == b).any()]
    mean_p = [float(p[which == b].mean()) for b in used]
    share = [float(y[which == b].mean()) for b in used]
    counts = [int((which == b).sum()) for b in used]
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(mean_p, share, marker="o", label="held-out")
    for x, s, c in zip(mean_p, share, counts, strict=True):
        axes.annotate(str(c), (x, s), textcoords="offset points", xytext=(4, -10), fontsize=8)
    axes.set_xlabel("confidence (held out)")
    axes.set_ylabel("share answerable")
    axes.set_title(f"Reliability, {len(p)} questions")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
