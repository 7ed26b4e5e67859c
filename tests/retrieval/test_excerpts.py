"""Excerpts: the answering sentence in bold, whole; neighbours by score; within the limit."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bot.index.analysis import JapaneseAnalyzer
from bot.retrieval.emphasis import (
    SENTENCE_FEATURES,
    UNFITTED,
    Question,
    SentenceModel,
    sentence_features,
)
from bot.retrieval.excerpts import best_window, make_excerpt

SENTENCES = ["前置きの文です。", "Metaは$50Bを投じる。", "これはAIへの投資だ。", "無関係な文。"]


@pytest.fixture(scope="module")
def analyzer() -> JapaneseAnalyzer:
    return JapaneseAnalyzer()


def test_window_grows_towards_the_better_neighbour() -> None:
    """Up to three sentences, the best one always inside."""
    assert best_window(np.array([0.1, 0.9, 0.5, 0.0]), 1) == (0, 3, 1)
    assert best_window(np.array([0.9]), 0) == (0, 1, 0)


def test_only_the_answering_sentence_is_bold_and_whole() -> None:
    """One bold span, the chosen sentence entire: no term highlighting cuts it up."""
    scores = np.array([0.0, 0.9, 0.5, -1.0])
    text = make_excerpt(SENTENCES, scores, 1)
    assert re.findall(r"\*\*(.+?)\*\*", text) == ["Metaは$50Bを投じる。"]
    assert "これはAIへの投資だ。" in text


@pytest.mark.parametrize("limit", [40, 100, 1024])
def test_excerpt_never_exceeds_the_limit(limit: int) -> None:
    """Markup included, even when the best sentence alone is too long."""
    long = ["あ" * 3000, "投資の話。" * 50, "い" * 500]
    text = make_excerpt(long, np.array([0.9, 0.5, 0.1]), 0, limit)
    assert len(text) <= limit
    assert text.startswith("**") and text.endswith("**")


def test_article_asterisks_cannot_break_markup() -> None:
    """Asterisks from the article are dropped so ours pair up."""
    text = make_excerpt(["**強調**と投資。", "次の文。"], np.array([1.0, 0.0]), 1)
    assert text == "強調と投資。**次の文。**"


def _question(weights: dict[str, float], language: str = "ja") -> Question:
    return Question(weights, None, language)


def test_features_see_rare_words_and_the_other_language(analyzer: JapaneseAnalyzer) -> None:
    """The rare-word share counts the question's words by idf; similarity in another
    language than the question's is repeated in its own column."""
    sentences = ["Metaは大胆な企業だ。", "InstagramやWhatsAppの買収で巻き返した。", "It grew."]
    scores = np.array([0.0, 1.0, 0.5])
    rows = sentence_features(sentences, scores, 0, _question({"買収": 4.4, "meta": 0.4}), analyzer)
    column = {name: rows[:, n] for n, name in enumerate(SENTENCE_FEATURES)}
    assert column["rare_words"][1] == pytest.approx(4.4 / 4.8)
    assert column["ranker_choice"].tolist() == [1.0, 0.0, 0.0]
    assert column["distance"].tolist() == [0.0, 1.0, 2.0]
    assert column["other_language"].tolist() == [0.0, 0.0, 0.5]


def test_a_stated_value_takes_the_bold_before_the_model_is_fitted(
    analyzer: JapaneseAnalyzer,
) -> None:
    """Asked for a number, the sentence that states one wins under the unfitted weights."""
    sentences = ["Metaは投資を続ける。", "総額は650億ドルだ。"]
    question = Question({}, lambda text: "ドル" in text, "ja")
    rows = sentence_features(sentences, np.array([1.0, 0.2]), 0, question, analyzer)
    assert UNFITTED.pick(rows) == 1
    assert SentenceModel((1.0, *[0.0] * (len(SENTENCE_FEATURES) - 1))).pick(rows) == 0


def test_list_items_keep_their_line_breaks() -> None:
    """Sentences without a full stop (list items) are not glued into one word."""
    items = ["コードレビューの導入", "Issue #679", "テストを書いた。", "次の文。"]
    text = make_excerpt(items, np.array([0.5, 1.0, 0.4, 0.0]), 1)
    assert "の導入\n**Issue #679**" in text
    assert "**テストを書いた。**次の文。" in make_excerpt(items, np.array([0, 0, 1.0, 0.9]), 2)
