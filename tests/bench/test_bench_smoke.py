"""The benchmark's approximate path on a small synthetic blog, its serving measurement and
its report (no timings asserted)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import corpus as synthetic
from bench import report, serving
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.retrieval.coverage import probe_texts
from tests.conftest import SAMPLE_CORPUS, SITE_URL
from tests.fakes import StandInEmbedder


def test_synthetic_blog_with_approximate_index(tmp_path: Path) -> None:
    """200 generated articles: distinct passages, and HNSW top results equal brute force."""
    synthetic.generate(tmp_path / "blog", 200)
    spec = CorpusSpec(tmp_path / "blog", SITE_URL, "Asia/Tokyo", approximate_min_passages=100)
    embedder = StandInEmbedder()
    index, report = refresh(spec, embedder, JapaneseAnalyzer(), tmp_path / "cache")
    assert report.articles == 200
    assert len(set(index.table.hex_hashes())) == len(index.passages)  # every passage distinct
    assert index.ann is not None and index.ann.size == len(index.passages)

    rng = np.random.default_rng(0)
    rows = rng.choice(len(index.vectors), 30, replace=False)
    noisy = np.asarray(index.vectors[rows]) + 0.02 * rng.standard_normal((30, 384))
    probes = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    for probe in probes:  # distinct vectors: the approximate top 3 is the exact top 3
        exact = np.argsort(-(np.asarray(index.vectors) @ probe), kind="stable")[:3]
        found, _ = index.dense_candidates(probe, 3)
        assert found.tolist() == exact.tolist()
    assert index.dense_recall(probes, 10) >= 0.98

    # Stand-in questions sit far from every passage, where near-ties are many: the graph
    # must still return rows in exact order, with a best cosine close to the exact best.
    for question in embedder.embed_queries(["Llamaの派生モデルはどこで見られる？", "Metaの買収"]):
        cosines = np.asarray(index.vectors) @ question
        found, scores = index.dense_candidates(question, 3)
        assert np.all(np.diff(scores) <= 0) and np.allclose(scores, cosines[found], atol=1e-5)
        assert scores[0] >= cosines.max() - 0.02


def test_edit_reembeds_only_the_edited_articles(tmp_path: Path) -> None:
    """Editing 1% of a generated blog embeds only the edited articles' new passages."""
    synthetic.generate(tmp_path / "blog", 100)
    spec = CorpusSpec(tmp_path / "blog", SITE_URL, "Asia/Tokyo")
    embedder = StandInEmbedder("stand-in")
    first, _ = refresh(spec, embedder, JapaneseAnalyzer(), tmp_path / "cache")
    assert synthetic.edit(tmp_path / "blog", 100, 0.01) == 1
    second, report = refresh(spec, embedder, JapaneseAnalyzer(), tmp_path / "cache", first)
    assert len(report.changed) == 1
    assert 0 < report.embedded < 10
    assert len(second.passages) > len(first.passages)


def test_serving_times_each_stage_through_the_public_engine(tmp_path: Path) -> None:
    """`serve` on the sample corpus times encode, the engine's stages and total; throughput."""
    spec = CorpusSpec(SAMPLE_CORPUS, SITE_URL, "Asia/Tokyo")
    embedder = StandInEmbedder()
    index, _ = refresh(spec, embedder, JapaneseAnalyzer(), tmp_path / "cache")
    args = {"corpus": str(SAMPLE_CORPUS), "cache": str(tmp_path / "cache"), "questions": 4}
    embedder.calls = 0
    out = serving.serve(args, embedder, index)
    stages = list(out["latency_ms"])
    assert stages[0] == "encode" and stages[-1] == "total" and len(stages) > 2
    assert out["latency_ms"]["total"]["p50"] >= out["latency_ms"]["encode"]["p50"] > 0
    # the engine's probes once, then no question embedded twice
    assert embedder.calls == len(probe_texts()) + 1 + 4 + 32 + 32
    assert out["concurrent_32_s"] > 0 and out["throughput_gain"] > 0


def test_report_lists_the_stages_the_runs_timed() -> None:
    """The table has one latency row per stage timed, old runs' stages included."""
    latency = {"p50": 1.0, "p95": 2.0, "p99": 3.0}
    new = {"n": 5, "serve": {"latency_ms": dict.fromkeys(["encode", "rank", "total"], latency)}}
    old = {"n": 9, "serve": {"latency_ms": dict.fromkeys(["embed", "search", "total"], latency)}}
    assert report.stages_timed([new, old]) == ["encode", "rank", "total", "embed", "search"]
    assert (
        report.stage_cell(old, "rank") == "–"
        and report.stage_cell(new, "rank") == "1.0 / 2.0 / 3.0"
    )
