"""A damaged model's NaN vectors are refused before they are cached, and a snapshot that
holds some (written before this check) is refused as damaged and rebuilt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.embedding.serving import TOKENIZER_FILE, Manifest, OnnxEmbedder, write_manifest
from bot.index import snapshot as index_store
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, params_for, refresh
from bot.index.resume import ResumeSpool
from bot.index.snapshot import IndexParams
from bot.settings import SettingsError
from tests.conftest import SITE_URL, PostWriter, engine_for
from tests.fakes import HashEmbedder

BODY = "### 見出し{n}\n\n記事{n}の一文目です。記事{n}の二文目です。\n\n記事{n}の三文目です。"
MESSAGE = "the model produced non-finite vectors; its files may be damaged"


class NaNEmbedder(HashEmbedder):
    """HashEmbedder whose vectors for texts containing `marker` are NaN (a damaged model)."""

    def __init__(self, marker: str = "", dimension: int = 32) -> None:
        super().__init__(dimension)
        self.marker = marker

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = super()._embed(texts)
        out[[self.marker in text for text in texts]] = np.nan
        return out


class _DamagedSession:
    """What OnnxEmbedder calls on an ONNX Runtime session: the last row of each pass NaN."""

    def run(self, outputs: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        rows = len(feed["input_ids"])
        vectors = np.full((rows, 4), 0.5, np.float32)
        vectors[-1] = np.nan
        return [vectors]


def tiny_bundle(folder: Path) -> Path:
    """A serving folder with a word-level tokenizer and its manifest (no graph needed)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "query:": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / TOKENIZER_FILE))
    manifest = Manifest(4, 16, "query: ", "passage: ", ("input_ids", "attention_mask"))
    write_manifest(folder, manifest)
    return folder


@pytest.fixture
def damaged(tmp_path: Path) -> OnnxEmbedder:
    return OnnxEmbedder(tiny_bundle(tmp_path / "bundle"), _DamagedSession(), "damaged")


@pytest.mark.parametrize("texts", [["一つの質問"], ["文書一", "文書二", "文書三"]])
def test_non_finite_query_vectors_are_one_clear_error(
    damaged: OnnxEmbedder, texts: list[str]
) -> None:
    with pytest.raises(SettingsError) as raised:
        damaged.embed_queries(texts)
    assert str(raised.value).startswith(MESSAGE) and "\n" not in str(raised.value)


def test_non_finite_document_vectors_are_one_clear_error(
    damaged: OnnxEmbedder,
) -> None:
    with pytest.raises(SettingsError, match=MESSAGE):
        damaged.embed_documents(["文書一", "文書二"])


def _spec(site: Path) -> CorpusSpec:
    return CorpusSpec(site, SITE_URL, "Asia/Tokyo", passage_chars=40, overlap=0)


def _params(site: Path, embedder: HashEmbedder) -> IndexParams:
    """Where `refresh` keeps this blog's snapshot for this model."""
    return params_for(_spec(site), embedder)


@pytest.fixture
def three_posts(post: PostWriter) -> list[Path]:
    return [post(f"2025-01-0{n}-post{n}.md", BODY.format(n=n)) for n in (1, 2, 3)]


def test_nan_vectors_are_never_cached(three_posts: list[Path], site: Path, tmp_path: Path) -> None:
    """A reindex with a model giving NaN stops; nothing of it is kept; a sound one works."""
    cache = tmp_path / "cache"
    with pytest.raises(SettingsError, match=MESSAGE):
        refresh(_spec(site), NaNEmbedder("記事2"), JapaneseAnalyzer(), cache)
    assert index_store.load(cache, _params(site, NaNEmbedder())) is None
    repaired = HashEmbedder(32)
    index, report = refresh(_spec(site), repaired, JapaneseAnalyzer(), cache)
    assert bool(np.isfinite(index.vectors).all())
    assert bool(np.isfinite(index.sentence_vectors).all())
    assert repaired.calls > 0 and report.passages == len(index.passages)


def _current_folder(site: Path, cache: Path, embedder: HashEmbedder) -> Path:
    root = index_store.snapshot_root(cache, _params(site, embedder))
    return root / (root / index_store.CURRENT).read_text(encoding="utf-8").strip()


def _as_older_version(folder: Path) -> None:
    """Drop what this version records about its checks from the manifest."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("finite", None)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("column", ["vectors.npy", "sentence_vectors.npy"])
def test_snapshot_with_nan_vectors_is_refused_and_rebuilt(
    three_posts: list[Path], site: Path, tmp_path: Path, column: str
) -> None:
    """NaN in a vector column, from an older version: refused as damaged, then rebuilt."""
    cache = tmp_path / "cache"
    built, _ = refresh(_spec(site), HashEmbedder(32), JapaneseAnalyzer(), cache)
    folder = _current_folder(site, cache, HashEmbedder(32))
    _as_older_version(folder)
    damaged = np.load(folder / column, mmap_mode="r+")
    damaged[1] = np.nan
    damaged.flush()
    del damaged
    assert index_store.load(cache, _params(site, HashEmbedder(32))) is None
    embedder = HashEmbedder(32)
    engine = engine_for(site, cache, embedder)
    assert embedder.calls >= len(built.passages)  # embedded again
    assert bool(np.isfinite(engine.index.vectors).all())
    assert engine.answer("記事2の二文目").results


def test_older_snapshot_with_finite_vectors_is_still_used(
    three_posts: list[Path], site: Path, tmp_path: Path
) -> None:
    """Checked once and kept: an older snapshot whose vectors are sound is not rebuilt."""
    cache = tmp_path / "cache"
    built, _ = refresh(_spec(site), HashEmbedder(32), JapaneseAnalyzer(), cache)
    _as_older_version(_current_folder(site, cache, HashEmbedder(32)))
    embedder = HashEmbedder(32)
    index, report = refresh(_spec(site), embedder, JapaneseAnalyzer(), cache)
    assert embedder.calls == 0 and report.embedded == 0
    assert index.version == built.version


def test_nan_rows_kept_for_resuming_are_not_reused(tmp_path: Path) -> None:
    """Vectors an older version kept for an interrupted reindex are checked before reuse."""
    folder = tmp_path / "resume-4"
    spool = ResumeSpool(folder, 4)
    vectors = np.full((2, 4), 0.5, np.float32)
    spool.add(["00" * 16, "11" * 16], vectors, [vectors[:1], vectors[:1]])
    spool.close()
    kept = np.memmap(folder / "vectors.bin", np.float32, "r+", shape=(2, 4))
    kept[1] = np.nan
    kept.flush()
    del kept
    again = ResumeSpool(folder, 4)
    assert again.fresh == {}
    again.close()
