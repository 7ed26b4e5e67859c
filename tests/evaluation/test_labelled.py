"""Evaluation metrics on hand-made answers, and the calibration fit on synthetic data."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.evaluation.calibration import (
    Example,
    calibrate,
    fit_logistic,
    format_model,
    format_sentences,
    refusal_rates,
)
from bot.evaluation.labelled import (
    answer_outcome,
    bold_sentence,
    format_table,
    read_questions,
    score,
)
from bot.retrieval.answers import Answer, Result, Tier
from bot.retrieval.confidence import Model, Thresholds
from bot.retrieval.emphasis import SENTENCE_FEATURES, SentenceModel

A, B, C = "a" * 16, "b" * 16, "c" * 16


def _answer(tier: Tier, shown: list[tuple[str, str]]) -> Answer:
    results = tuple(
        Result("t", "u", "2025-01-01", None, excerpt, 0.5, source, "p", n)
        for n, (source, excerpt) in enumerate(shown, 1)
    )
    return Answer("q", tier, results, 0.5, "ja", "v1")


def _old(key: str) -> str:
    return f"_posts/2025-01-01-{key}.md"


def _write(tmp_path: Path, rows: Sequence[object], name: str = "q.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def _questions(tmp_path: Path) -> Path:
    rows = [
        {"id": "1", "question": "q1", "article": f"001_{A}.txt", "evidence": "30%の 性能向上",
         "kind": "fact"},
        {"id": "2", "question": "q2", "article": f"002_{B}.txt", "also_ok": [f"003_{C}.txt"],
         "evidence": "倍", "kind": "fact"},
        {"id": "3", "question": "q3", "article": f"001_{A}.txt", "kind": "keyword"},
        {"id": "4", "question": "q4", "article": None, "kind": "unanswerable"},
        {"id": "5", "question": "q5", "article": None, "kind": "unanswerable"},
        {"id": "6", "question": "q6"},  # says nothing about the right article: not scored
    ]  # fmt: skip
    return _write(tmp_path, rows)


def test_metrics_on_hand_made_answers_in_the_old_format(tmp_path: Path) -> None:
    """Ranks, evidence (markup and spaces ignored), bold, refusals; old rows are `sample`."""
    items = read_questions(_questions(tmp_path))
    answers = [
        _answer("answer", [(_old(A), "さらに**30%の\n性能**向上です"), (_old(B), "x")]),
        _answer("related", [(_old(A), "x"), (_old(B), "y"), (_old(C), "倍")]),
        _answer("none", [(_old(B), "x"), (_old(C), "y"), (_old(B), "z")]),  # missed, refused
        _answer("related", [(_old(A), "x")]),  # unanswerable kept out of `answer`
        _answer("answer", [(_old(A), "x")]),  # unanswerable answered
        _answer("answer", [(_old(A), "x")]),
    ]
    report = score((i, answer_outcome(i, a)) for i, a in zip(items, answers, strict=True))
    rows = report.rows()
    assert list(rows) == ["sample", "all"]
    total = rows["all"]
    assert total["n"] == 5
    assert total["hit@1"] == pytest.approx(1 / 3, abs=1e-3)
    assert total["hit@3"] == pytest.approx(2 / 3, abs=1e-3)
    assert total["MRR"] == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-3)
    assert total["evidence@3"] == 1.0  # both labelled evidences shown
    assert total["evidence_in_bold"] == 0.0  # the bold span is "30%の性能", not the evidence
    assert total["answerable_refused"] == pytest.approx(1 / 3, abs=1e-3)
    assert total["answerable_as_answer"] == pytest.approx(1 / 3, abs=1e-3)
    assert total["unanswerable_as_answer"] == 0.5


def test_new_format_matches_paths_and_any_evidence(tmp_path: Path) -> None:
    """Corpus per row, articles by path (also_ok too), any evidence string, per-corpus rows."""
    rows = [
        {"id": "r1", "corpus": "ruby-lang", "lang": "en", "question": "q", "article": "ja/a.md",
         "also_ok": ["en/a.md"], "evidence_any": ["first one", "second one"], "kind": "fact"},
        {"id": "v1", "corpus": "vim-jp", "lang": "ja", "question": "q", "article": None,
         "also_ok": [], "evidence_any": [], "kind": "unanswerable"},
    ]  # fmt: skip
    items = read_questions(_write(tmp_path, rows, "set.jsonl"))
    assert [i.corpus for i in items] == ["ruby-lang", "vim-jp"]
    assert items[0].fold == "set" and items[0].matches("en/a.md")
    assert not items[0].matches("_posts/a.md")
    answers = [
        _answer("answer", [("_posts/x.md", "x"), ("en/a.md", "a **second one** here")]),
        _answer("related", [("_posts/x.md", "x")]),
    ]
    report = score((i, answer_outcome(i, a)) for i, a in zip(items, answers, strict=True))
    table = report.rows()
    assert list(table) == ["ruby-lang", "vim-jp", "all"]
    assert table["ruby-lang"]["hit@1"] == 0.0 and table["ruby-lang"]["MRR"] == 0.5
    assert table["ruby-lang"]["evidence@3"] == 1.0
    assert table["vim-jp"]["unanswerable_as_answer"] == 0.0
    assert "| m | ruby-lang | 1 |" in format_table({"m": report})


def test_unlabelled_rows_give_an_empty_report(tmp_path: Path) -> None:
    """A file without labels scores nothing (and nothing raises)."""
    items = read_questions(_write(tmp_path, [{"question": "q"}]))
    report = score((i, answer_outcome(i, _answer("none", []))) for i in items)
    assert report.rows() == {}


def test_bold_sentence_is_the_longest_bold_span() -> None:
    """Emphasised question words are short; the answering sentence is the long span."""
    assert bold_sentence("**Meta**は言う。**500億ドルを投資する。**") == "500億ドルを投資する。"
    assert bold_sentence("no bold") == ""


def _synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seven features in very different units; only the first two carry the label."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(6.0, 3.0, n),  # like relevance
            rng.normal(0.85, 0.03, n),  # like a cosine
            rng.uniform(0.0, 1.0, n),
            rng.integers(0, 2, n).astype(float),
            rng.normal(2.0, 1.5, n),  # like a distance from the null
            rng.uniform(0.0, 1.0, n),
            rng.normal(3.0, 2.0, n),  # like the nearest passage's relevance
        ]
    )
    logit = -30.0 + 1.0 * x[:, 0] + 30.0 * x[:, 1]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(float)
    return x, y


def test_fit_recovers_known_coefficients() -> None:
    """With many points and a weak penalty the raw-unit coefficients come back."""
    x, y = _synthetic(20000)
    intercept, weights = fit_logistic(x, y, c=100.0)
    assert weights[0] == pytest.approx(1.0, rel=0.1)
    assert weights[1] == pytest.approx(30.0, rel=0.15)
    assert (
        abs(weights[2]) < 0.3
        and abs(weights[3]) < 0.3
        and abs(weights[4]) < 0.3
        and abs(weights[5]) < 0.3
    )
    assert intercept == pytest.approx(-30.0, rel=0.15)


def test_calibrate_separates_and_rates_refusals() -> None:
    """A fitted model answers the answerable side; vetoes refuse whatever it says."""
    x, y = _synthetic(400, seed=1)
    examples = [Example(tuple(row), bool(label), False) for row, label in zip(x, y, strict=True)]
    model = calibrate(examples)
    predicted = np.array([model.probability_of(e.features) >= 0.5 for e in examples])
    assert (predicted == y.astype(bool)).mean() > 0.8
    vetoed = [Example(e.features, e.answerable, True) for e in examples]
    assert refusal_rates(model, vetoed, 0.5) == {
        "false_refusals": 1.0,
        "unanswerable_refused": 1.0,
    }
    rates = refusal_rates(model, examples, 0.5)
    assert rates["false_refusals"] is not None and rates["false_refusals"] < 0.2


def test_calibrate_leaves_out_absent_names_but_not_missing_types() -> None:
    """Absent names decide alone; a missing answer type still informs the fit."""
    base = [Example((float(i), 0.8, 1.0, 0.0, 2.0, 0.5, 3.0), i >= 5, False) for i in range(10)]
    noise = [Example((9.0, 0.8, 1.0, 0.0, 2.0, 0.5, 3.0), False, True)] * 20
    assert calibrate(base + noise) == calibrate(base)
    typed = [Example((9.0, 0.8, 1.0, 0.0, 2.0, 0.5, 3.0), False, False, True)] * 20
    assert calibrate(base + typed) != calibrate(base)
    with pytest.raises(ValueError, match="answerable and unanswerable"):
        calibrate(base[5:])


def test_format_model_is_a_calibrated_entry() -> None:
    """The printed entry evaluates to the stored form."""
    covering = (-3.5, 1.0, 0.5, 2.0, -1.0, 0.25, 0.5, 0.1, -2.0)
    for coverage, floor in (((), -math.inf), (covering, 1.25)):
        model = Model(-25.27, 0.3751, 26.73, 0.4911, 2.537, 0.75, 1.5, 0.2, coverage, floor)
        text = format_model("m", model, Thresholds(0.6, 0.2))
        entry = eval("{" + text + "}", {"Model": Model, "Thresholds": Thresholds})
        assert entry == {"m": (model, Thresholds(0.6, 0.2))}


def test_format_sentences_is_the_fitted_entry() -> None:
    """The printed sentence model evaluates to the fitted one."""
    fitted = SentenceModel(tuple(0.5 * n for n in range(len(SENTENCE_FEATURES))))
    text = format_sentences(fitted).split("  #")[0].removeprefix("FITTED = ")
    assert eval(text, {"SentenceModel": SentenceModel}) == fitted
