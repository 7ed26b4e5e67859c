"""An embedder that pools sentence vectors from the passage's pass is asked once per passage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from tests.conftest import SITE_URL, PostWriter
from tests.fakes import HashEmbedder


class PoolingEmbedder(HashEmbedder):
    """Sentence vectors are the passage's own vector (a stand-in for pooled token states)."""

    pools_sentences = True

    def __init__(self) -> None:
        super().__init__(32, name="pooling")
        self.pooled_calls = 0

    def embed_passages_with_sentences(
        self, texts: Sequence[str], sentences: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        self.pooled_calls += 1
        vectors = self.embed_documents(texts)
        pairs = zip(vectors, sentences, strict=True)
        rows = [np.repeat(v[None, :], len(s), axis=0) for v, s in pairs]
        return vectors, rows


def test_sentence_vectors_come_from_the_passage_pass(
    post: PostWriter, site: Path, tmp_path: Path
) -> None:
    post("2025-01-01-a.md", "一文目です。二文目です。\n\n三文目です。")
    post("2025-01-02-b.md", "別の記事の文です。もう一つの文です。")
    embedder = PoolingEmbedder()
    spec = CorpusSpec(site, SITE_URL, "Asia/Tokyo", passage_chars=40, overlap=0)
    index, _ = refresh(spec, embedder, JapaneseAnalyzer(), tmp_path / "cache")
    assert embedder.pooled_calls > 0
    passages = len(index.vectors)
    assert embedder.calls == passages, "only passage texts are embedded, no sentence alone"
    for row in range(passages):
        start, stop = index.sentence_offsets[row], index.sentence_offsets[row + 1]
        own = np.asarray(index.sentence_vectors[start:stop], np.float32)
        assert np.allclose(own, np.asarray(index.vectors[row], np.float32), atol=1e-2)
