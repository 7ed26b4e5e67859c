"""Dense candidates: exact below the size threshold, HNSW above it, same answers either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.index import ann
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.index.snapshot import Index, load
from tests.conftest import SAMPLE_CORPUS, SITE_URL
from tests.fakes import HashEmbedder


def _index(cache: Path, min_passages: int) -> Index:
    spec = CorpusSpec(SAMPLE_CORPUS, SITE_URL, "Asia/Tokyo", approximate_min_passages=min_passages)
    index, _ = refresh(spec, HashEmbedder(64), JapaneseAnalyzer(), cache)
    return index


@pytest.fixture(scope="module")
def approximate(tmp_path_factory: pytest.TempPathFactory) -> Index:
    return _index(tmp_path_factory.mktemp("ann"), min_passages=10)


def _queries(index: Index, count: int = 20) -> np.ndarray:
    rng = np.random.default_rng(7)
    rows = rng.choice(len(index.vectors), count, replace=False)
    noisy = np.asarray(index.vectors[rows]) + 0.05 * rng.standard_normal((count, 64))
    unit: np.ndarray = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return unit.astype(np.float32)


def test_small_index_has_no_graph(tmp_path: Path) -> None:
    """Below the threshold search stays exact and nothing extra is built or saved."""
    index = _index(tmp_path, min_passages=100_000)
    assert index.ann is None
    assert index.dense_recall(_queries(index)) == 1.0


def test_graph_is_saved_and_loaded(tmp_path: Path) -> None:
    """The graph travels with the snapshot and is used after loading."""
    built = _index(tmp_path, min_passages=10)
    loaded = load(tmp_path, built.params)
    assert built.ann is not None and loaded is not None and loaded.ann is not None
    assert loaded.ann.size == len(loaded.passages)
    query = _queries(loaded, 1)[0]
    assert (
        loaded.dense_candidates(query, 5)[0].tolist()
        == built.dense_candidates(query, 5)[0].tolist()
    )


def test_raising_the_threshold_drops_the_graph(tmp_path: Path) -> None:
    """A snapshot that no longer reaches the threshold loses its graph."""
    _index(tmp_path, min_passages=10)
    assert _index(tmp_path, min_passages=100_000).ann is None


def test_approximate_top_matches_exact(approximate: Index) -> None:
    """HNSW candidates, re-scored exactly, give the brute-force top 10."""
    assert approximate.dense_recall(_queries(approximate), k=10) >= 0.98


def test_candidates_are_sorted_with_exact_scores(approximate: Index) -> None:
    """Candidates come best first, each with its exact cosine."""
    query = _queries(approximate, 1)[0]
    rows, scores = approximate.dense_candidates(query, 10)
    assert np.all(np.diff(scores) <= 0)
    np.testing.assert_allclose(scores, np.asarray(approximate.vectors[rows]) @ query, rtol=1e-5)


def test_mask_is_respected(approximate: Index) -> None:
    """Filtered questions only ever see allowed passages, narrow filter or wide."""
    query = _queries(approximate, 1)[0]
    for share in (0.1, 0.9):
        mask = np.random.default_rng(1).random(len(approximate.vectors)) < share
        rows, _ = approximate.dense_candidates(query, 10, mask)
        assert len(rows) == min(10, int(mask.sum()))
        assert mask[rows].all()


def test_dense_scores_marks_only_the_top(approximate: Index) -> None:
    """With a graph only the k best rows get a score; the rest are -inf."""
    query = _queries(approximate, 1)[0]
    scores = approximate.dense_scores(query, 5)
    assert np.isfinite(scores).sum() == 5


def test_low_level_search_needs_only_the_vectors_and_graph(approximate: Index) -> None:
    """The module functions work on bare arrays; the index-level forms give the same rows."""
    query = _queries(approximate, 1)[0]
    vectors = np.asarray(approximate.vectors)
    rows, scores = ann.nearest(vectors, approximate.ann, query, 10)
    assert rows.tolist() == approximate.dense_candidates(query, 10)[0].tolist()
    assert rows.tolist() == approximate.dense_candidates(query, 10)[0].tolist()
    exact_rows, _ = ann.nearest(vectors, None, query, 10)
    assert len(np.intersect1d(rows, exact_rows)) >= 9
    np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5)


def test_small_graphs_are_built_the_same_every_time() -> None:
    """Below the single-thread size the graph is deterministic, so results repeat exactly."""
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    probes = vectors[:50] + 0.05 * rng.standard_normal((50, 64)).astype(np.float32)
    first, second = ann.AnnIndex.build(vectors), ann.AnnIndex.build(vectors)
    for probe in probes:
        assert first.search(probe, 10).tolist() == second.search(probe, 10).tolist()
