"""Coverage: each index is asked the bundled probes, and a question is measured against
what they got there, so "not covered" means the same on every blog."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from bot.retrieval.coverage import (
    MIN_SPREAD,
    NullScores,
    Spread,
    measure,
    probe_texts,
    probe_vectors,
)
from bot.retrieval.engine import Engine
from bot.retrieval.probes import PROBES_EN, PROBES_JA
from tests.conftest import PostWriter, engine_for
from tests.fakes import HashEmbedder


@pytest.fixture
def engine(post: PostWriter, site: Path, tmp_path: Path) -> Engine:
    post("2025-01-01-invest.md", "Metaは$50Bを投じると発表した。これはAIインフラへの投資だ。")
    post("2025-02-01-garden.md", "トマトは日当たりの良い場所で育てる。水やりは朝に行う。")
    return engine_for(site, tmp_path / "cache", HashEmbedder(64))


def test_probes_are_many_distinct_and_in_both_languages() -> None:
    """Enough probes per language for a spread, none repeated."""
    assert len(PROBES_JA) >= 30 and len(PROBES_EN) >= 30
    assert len(set(probe_texts())) == len(PROBES_JA) + len(PROBES_EN)


def test_distance_is_in_standard_deviations_of_the_probes() -> None:
    """The same cosine is far above one blog's null and near another's."""
    quiet = NullScores("a", Spread(0.70, 0.02), Spread(0.75, 0.02), Spread(0.72, 0.03))
    noisy = NullScores("b", Spread(0.84, 0.02), Spread(0.85, 0.02), Spread(0.84, 0.03))
    assert quiet.above(0.86, "ja") == pytest.approx(8.0)
    assert noisy.above(0.86, "ja") == pytest.approx(1.0)
    assert quiet.above(0.79, "en") == pytest.approx(2.0)
    assert quiet.above(0.75, "other") == pytest.approx(1.0)
    assert Spread(0.8, 0.0).distance(0.81) == pytest.approx(0.01 / MIN_SPREAD)


def test_the_null_is_measured_per_index_and_follows_a_reindex(engine: Engine) -> None:
    """The engine measures the probes on the index it serves, and again after a reindex."""
    vectors = engine.embedder.embed_queries(probe_texts())
    expected = measure(engine.index, np.asarray(vectors))
    assert engine.serving.null == expected
    assert engine.serving.null.index_version == engine.index.version
    old = engine.serving
    asyncio.run(engine.reindex())
    assert engine.serving is not old
    assert engine.serving.null.index_version == engine.index.version


def test_every_answer_carries_its_distance_from_the_null(engine: Engine) -> None:
    """The question's signals hold how far it stands above this blog's probes."""
    query = engine.clean("トマトの水やりはいつ？")
    vector = engine.embedder.embed_queries([query.text])[0]
    _, found = engine.evidence(query, vector)
    top = float(max(np.asarray(engine.index.vectors) @ vector))
    assert found.signals.above_null == pytest.approx(engine.serving.null.above(top, "ja"))


def test_probe_vectors_are_embedded_once_per_model_and_cache(tmp_path: Path) -> None:
    """A second start reads the probes' vectors from the cache; a damaged file or one of
    another dimension is embedded again; an unwritable cache only costs the embedding."""
    first = HashEmbedder(64)
    vectors = probe_vectors(first, tmp_path / "cache")
    assert first.calls == len(probe_texts())
    again = HashEmbedder(64)
    np.testing.assert_array_equal(probe_vectors(again, tmp_path / "cache"), vectors)
    assert again.calls == 0
    assert probe_vectors(HashEmbedder(32), tmp_path / "cache").shape == (len(probe_texts()), 32)
    for cached in (tmp_path / "cache" / "probes").glob("hash-64-*.npy"):
        cached.write_bytes(b"damaged")
    damaged = HashEmbedder(64)
    np.testing.assert_array_equal(probe_vectors(damaged, tmp_path / "cache"), vectors)
    assert damaged.calls == len(probe_texts())
    (tmp_path / "file").write_text("not a folder")
    np.testing.assert_array_equal(probe_vectors(HashEmbedder(64), tmp_path / "file"), vectors)
