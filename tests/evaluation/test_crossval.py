"""Cross-validation picks on the other question sets only, and measures on the held-out one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.evaluation.crossval import (
    REFUSED,
    Config,
    Fitted,
    HitView,
    Observation,
    Table,
    apply,
    choose_config,
    cross_validate,
    fit_all,
    fit_confidence,
    fit_coverage,
    fit_sentences,
)
from bot.evaluation.labelled import Labelled
from bot.retrieval.emphasis import SENTENCE_FEATURES

GOOD, BAD = Config("dense", 0.0), Config("hybrid", math.inf)


def _item(n: int, fold: str, answerable: bool = True, kind: str | None = None) -> Labelled:
    return Labelled(
        id=f"{fold}{n}",
        question="q",
        kind=kind,
        articles=frozenset({"a.md"}) if answerable else frozenset(),
        evidence=("e",) if answerable else (),
        labelled=True,
        corpus=fold,
        by_path=True,
        fold=fold,
    )


def _view(matched: bool, answer_at: int | None = 0, sentences: int = 3) -> HitView:
    """A hit whose sentence `answer_at` holds the evidence (None: none does); the ranker
    liked sentence 0 best, and feature 2 marks the answering sentence."""
    rows = np.zeros((sentences, len(SENTENCE_FEATURES)))
    rows[:, 0] = [1.0, 0.5, 0.2][:sentences]
    marks = tuple(j == answer_at for j in range(sentences))
    rows[:, 2] = marks
    return HitView(matched, 0, rows, marks, marks)


def _observation(
    views: tuple[HitView, ...], x: tuple[float, ...], above_null: float = 5.0
) -> Observation:
    return Observation(views, x, tuple(x for _ in views), False, False, above_null)


def _seen(rank: int, strength: float, above_null: float = 5.0) -> Observation:
    """Three hits, the acceptable article (with the evidence, in sentence 0) at `rank`."""
    x = (strength, 0.8, 1.0, 0.0, above_null, 0.5, 3.0)
    views = tuple(_view(n == rank, 0 if n == rank else None) for n in (1, 2, 3))
    return _observation(views, x, above_null)


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
    assert choose_config(items, same, range(len(items)), learned=False)[0] == GOOD


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
    assert model.probability_of((6.0, 0.8, 1.0, 0.0, 5.0, 0.5, 3.0)) > thresholds.answer


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
    strong, weak = (6.0, 0.8, 1.0, 0.0, 5.0, 0.5, 3.0), (-6.0, 0.8, 1.0, 0.0, 5.0, 0.5, 3.0)
    views = (_view(False, None), _view(True, 0))
    seen = Observation(views, strong, (strong, weak), False, False, 5.0)
    got, _ = apply(fitted, items[0], seen)
    assert got.tier == "answer" and got.rank is None and not got.evidence3
    shown = Observation(views, strong, (strong, strong), False, False, 5.0)
    assert apply(fitted, items[0], shown)[0].rank == 2


def test_coverage_is_learned_from_probes_and_refuses_few_answerable() -> None:
    """Answerable questions against the probes: the floor refuses at most REFUSED of the
    answerable ones, and an off-topic question that looks like a probe gets `none`,
    though no off-topic question was fitted on."""
    rng = np.random.default_rng(1)
    items = [_item(n, "x", answerable=n < 60) for n in range(80)]
    observed = [_seen(1, 3.0, float(rng.normal(3.0 if n < 60 else 2.0, 1.0))) for n in range(80)]
    probes = [_seen(1, 3.0, float(rng.normal(0.0, 1.0))) for _ in range(80)]
    coverage, floor = fit_coverage(items, observed, probes)
    model, thresholds = fit_confidence(items, observed, probes)
    assert (model.coverage, model.coverage_floor) == (coverage, floor)
    refused = [not model.covers(o.features, False) for o in observed[:60]]
    assert float(np.mean(refused)) <= REFUSED
    assert np.mean([not model.covers(o.features, False) for o in probes]) > 0.7
    fitted = Fitted(GOOD, model, thresholds, None)
    off = _item(0, "o", answerable=False, kind="off_topic")
    assert apply(fitted, off, _seen(1, 6.0, -1.0))[0].tier == "none"
    assert apply(fitted, items[0], _seen(1, 6.0, 4.0))[0].tier != "none"


def test_without_probes_everything_is_covered() -> None:
    """No probes, no coverage model: the tiers come from the answer model alone."""
    items, table = _data()
    assert fit_coverage(items, table[GOOD], []) == ((), -math.inf)
    assert fit_all(items, table).model.covers((-9.0, 0.0, 0.0, 0.0, -9.0, 0.0, 0.0), True)


def test_sentence_model_learns_the_answering_sentence() -> None:
    """Where the evidence sits in another sentence than the ranker's, the fitted model
    finds it; the ranker's own choice does not."""
    items = [_item(n, "x") for n in range(30)]
    observed = [
        _observation((_view(True, n % 3),), (3.0, 0.8, 1.0, 0.0, 5.0, 0.5, 3.0)) for n in range(30)
    ]
    model = fit_sentences(items, observed)
    assert all(o.hits[0].pick(model) == n % 3 for n, o in enumerate(observed))
    ranker = [o.outcome([0], "answer", None).evidence_bold for o in observed]
    learned = [o.outcome([0], "answer", model).evidence_bold for o in observed]
    assert sum(learned) == 30 and sum(ranker) == 10
