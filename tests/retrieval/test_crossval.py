"""Cross-validation picks on the other question sets only, and measures on the held-out one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.retrieval.crossval import (
    Config,
    Observation,
    Table,
    apply,
    choose_config,
    cross_validate,
    fit_all,
    fit_confidence,
)
from bot.retrieval.evaluation import Labelled

GOOD, BAD = Config("dense", 0.0), Config("hybrid", math.inf)


def _item(n: int, fold: str, answerable: bool = True) -> Labelled:
    return Labelled(
        id=f"{fold}{n}",
        question="q",
        kind=None,
        articles=frozenset({"a.md"}) if answerable else frozenset(),
        evidence=("e",) if answerable else (),
        labelled=True,
        corpus=fold,
        by_path=True,
        fold=fold,
    )


def _seen(rank: int, strength: float) -> Observation:
    """Three hits, the acceptable article (with the evidence) at `rank`."""
    x = (strength, 0.8, 1.0, 0.0)
    at = tuple(n == rank for n in (1, 2, 3))
    return Observation(at, at, rank == 1, x, (x, x, x), False, False)


def _data() -> tuple[list[Labelled], Table]:
    """Three sets; GOOD ranks first on `x` and `y`, BAD only on `z`. Strength separates
    answerable from unanswerable questions."""
    rng = np.random.default_rng(0)
    items: list[Labelled] = []
    table: Table = {GOOD: [], BAD: []}
    for fold in ("x", "y", "z"):
        for n in range(20):
            answerable = n < 14
            items.append(_item(n, fold, answerable))
            strength = float(rng.normal(3.0 if answerable else 0.0, 0.7))
            good_rank = 1 if fold != "z" else 2
            table[GOOD].append(_seen(good_rank, strength))
            table[BAD].append(_seen(3 - good_rank, strength))
    return items, table


def test_choice_ignores_the_held_out_set() -> None:
    """Holding out `z` (where BAD wins) still picks GOOD: the choice saw only x and y."""
    items, table = _data()
    held = cross_validate(items, table)
    assert held.choices["z"].config == GOOD
    z_hits = [o.rank == 1 for i, o in zip(items, held.outcomes, strict=True) if i.fold == "z"]
    assert not any(z_hits)  # GOOD's rank on z, honestly reported as misses
    assert fit_all(items, table).config == GOOD


def test_ties_go_to_the_simpler_configuration() -> None:
    """Equal scores: the first configuration in the table (the simpler) is chosen."""
    items, table = _data()
    same: Table = {GOOD: table[GOOD], Config("rrf", 0.0): table[GOOD]}
    assert choose_config(items, same, range(len(items))) == GOOD


def test_confidence_threshold_separates_held_out_questions() -> None:
    """A model fitted on two sets answers most answerable and few unanswerable of the third."""
    items, table = _data()
    held = cross_validate(items, table)
    answered = [o.tier == "answer" for o in held.outcomes]
    answerable = [i.answerable for i in items]
    ok = [a for a, y in zip(answered, answerable, strict=True) if y]
    wrong = [a for a, y in zip(answered, answerable, strict=True) if not y]
    assert np.mean(ok) > 0.8 and np.mean(wrong) < 0.3
    assert len(held.confidences) == len(items)


def test_threshold_is_chosen_from_the_grid() -> None:
    """The answer threshold lies in the searched grid and below every strong answerable one."""
    items, table = _data()
    model, thresholds = fit_confidence(items, table[GOOD])
    assert 0.3 <= thresholds.answer <= 0.9 and thresholds.related == 0.2
    assert model.probability_of((6.0, 0.8, 1.0, 0.0)) > thresholds.answer


def test_one_set_cannot_be_cross_validated() -> None:
    """Leave-one-set-out needs two sets at least."""
    items, table = _data()
    only = [i for i in items if i.fold == "x"]
    with pytest.raises(ValueError, match="two question sets"):
        cross_validate(only, {c: rows[: len(only)] for c, rows in table.items()})


def test_weak_hits_after_the_first_are_not_counted() -> None:
    """A hit too weak to be related is dropped, as the reader would not see it."""
    items, table = _data()
    fitted = fit_all(items, table)
    strong, weak = (6.0, 0.8, 1.0, 0.0), (-6.0, 0.8, 1.0, 0.0)
    seen = Observation((False, True), (False, True), False, strong, (strong, weak), False, False)
    got, _ = apply(fitted, items[0], seen)
    assert got.tier == "answer" and got.rank is None and not got.evidence3
    shown = Observation((False, True), (False, True), False, strong, (strong, strong), False, False)
    assert apply(fitted, items[0], shown)[0].rank == 2
