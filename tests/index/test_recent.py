"""Repeated texts are embedded once while indexing, with the vectors unchanged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bot.index.recent import RecentVectors
from tests.fakes import HashEmbedder


class Counting:
    """The hashing embedder, recording every text it is asked to embed."""

    def __init__(self) -> None:
        self.inner = HashEmbedder(16)
        self.asked: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self.inner.embed_documents(texts)


def test_a_repeated_sentence_is_embedded_once() -> None:
    model = Counting()
    recent = RecentVectors(model)
    first = recent.vectors(["前の段落。", "重なる文。", "重なる文。"])
    second = recent.vectors(["重なる文。", "次の段落。"])
    assert model.asked == ["前の段落。", "重なる文。", "次の段落。"]
    assert np.array_equal(first[1], second[0]) and np.array_equal(first[1], first[2])
    assert (recent.embedded, recent.reused) == (3, 2)


@given(
    st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=12), max_size=8),
    st.integers(min_value=1, max_value=5),
)
def test_rows_equal_direct_embedding_whatever_the_capacity(
    calls: list[list[str]], capacity: int
) -> None:
    model = Counting()
    recent = RecentVectors(model, capacity)
    for texts in calls:
        rows = recent.vectors(texts)
        assert rows.shape == (len(texts), 16)
        assert np.array_equal(rows, model.inner.embed_documents(texts))
    assert recent.embedded == len(model.asked)
    assert recent.embedded + recent.reused == sum(len(t) for t in calls)
