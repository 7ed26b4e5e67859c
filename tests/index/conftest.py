"""Shared fixtures of the index tests: one Sudachi dictionary load, a toy BM25 corpus."""

from __future__ import annotations

import pytest

from bot.index.analysis import JapaneseAnalyzer
from bot.index.bm25 import LexicalIndex

TOY_DOCS = [
    "GPT-4oの新機能を詳しく解説します。",
    "GPT-4の性能を比べてみた。",
    "Llama 4.5の画像生成はすごい。",
    "Metaが$50Bの投資計画を発表した。",
    "グループチャットでAIが手伝ってくれる機能。",
]


@pytest.fixture(scope="session")
def analyzer() -> JapaneseAnalyzer:
    """One analyzer (one Sudachi dictionary load) for the whole run."""
    return JapaneseAnalyzer()


@pytest.fixture(scope="module")
def toy_index(analyzer: JapaneseAnalyzer) -> LexicalIndex:
    """A BM25 index over the five toy documents."""
    return LexicalIndex.build([analyzer.terms(doc) for doc in TOY_DOCS])
