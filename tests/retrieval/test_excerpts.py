"""Excerpts: the best sentence in bold, neighbours by score, always within the limit."""

from __future__ import annotations

import numpy as np
import pytest

from bot.index.analysis import JapaneseAnalyzer
from bot.retrieval.excerpts import best_window, emphasis_target, emphasise_terms, make_excerpt

SENTENCES = ["前置きの文です。", "Metaは$50Bを投じる。", "これはAIへの投資だ。", "無関係な文。"]


@pytest.fixture(scope="module")
def analyzer() -> JapaneseAnalyzer:
    return JapaneseAnalyzer()


def test_window_grows_towards_the_better_neighbour() -> None:
    """Up to three sentences, the best one always inside."""
    assert best_window(np.array([0.1, 0.9, 0.5, 0.0]), 1) == (0, 3, 1)
    assert best_window(np.array([0.9]), 0) == (0, 1, 0)


def test_best_sentence_is_bold_and_terms_emphasised(analyzer: JapaneseAnalyzer) -> None:
    """The best sentence is wrapped whole; query terms in its neighbours are marked."""
    scores = np.array([0.0, 0.9, 0.5, -1.0])
    text = make_excerpt(SENTENCES, scores, 1, {"投資"}, analyzer)
    assert "**Metaは$50Bを投じる。**" in text
    assert "**投資**" in text


@pytest.mark.parametrize("limit", [40, 100, 1024])
def test_excerpt_never_exceeds_the_limit(analyzer: JapaneseAnalyzer, limit: int) -> None:
    """Markup included, even when the best sentence alone is too long."""
    long = ["あ" * 3000, "投資の話。" * 50, "い" * 500]
    text = make_excerpt(long, np.array([0.9, 0.5, 0.1]), 0, {"投資"}, analyzer, limit)
    assert len(text) <= limit
    assert text.startswith("**") and text.endswith("**")


def test_article_asterisks_cannot_break_markup(analyzer: JapaneseAnalyzer) -> None:
    """Asterisks from the article are dropped so ours pair up."""
    assert emphasise_terms("**強調**と投資", {"投資"}, analyzer) == "強調と**投資**"


def test_rare_question_term_moves_the_emphasis_to_its_sentence(analyzer: JapaneseAnalyzer) -> None:
    """A neighbour holding the question's rarest word takes the bold from a vaguer sentence."""
    sentences = [
        "Metaは大胆な企業だ。",
        "InstagramやWhatsAppの買収で巻き返した。",
        "その後も投資した。",
    ]
    scores = np.array([0.0, 1.0, 0.5])
    weights = {"meta": 0.4, "買収": 4.4}
    assert emphasis_target(sentences, scores, 0, weights, analyzer) == 1
    text = make_excerpt(sentences, scores, 0, set(weights), analyzer, term_weights=weights)
    assert "**InstagramやWhatsAppの買収で巻き返した。**" in text


def test_emphasis_stays_without_rare_terms(analyzer: JapaneseAnalyzer) -> None:
    """With no question word in the neighbours, the most similar sentence keeps the bold."""
    sentences = ["一文目。", "二文目。", "三文目。"]
    weights = {"買収": 4.4}
    assert emphasis_target(sentences, np.array([0.2, 1.0, 0.1]), 1, weights, analyzer) == 1
