"""Length-grouped batches for ONNX Runtime: every text once, little padding, bounded size."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bot.embedding.serving import length_groups


@given(
    st.lists(st.integers(min_value=1, max_value=512), max_size=200),
    st.integers(min_value=1, max_value=32),
    st.integers(min_value=0, max_value=16),
)
def test_groups_cover_every_text_once_within_bounds(
    counts: list[int], size: int, padding: int
) -> None:
    array = np.array(counts, np.int64)
    groups = length_groups(array, size, padding)
    seen = np.concatenate(groups) if groups else np.zeros(0, np.int64)
    assert sorted(seen.tolist()) == list(range(len(counts)))
    for group in groups:
        assert 1 <= len(group) <= size
        assert int(array[group].max() - array[group].min()) <= padding


def test_like_lengths_share_a_pass_and_unlike_ones_do_not() -> None:
    counts = np.array([30, 12, 31, 200, 11, 29, 13])
    groups = [sorted(g.tolist()) for g in length_groups(counts, 16, 8)]
    assert groups == [[1, 4, 6], [0, 2, 5], [3]]
