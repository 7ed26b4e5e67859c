"""Serving from the exported graph: ONNX Runtime and the tokenizer, never torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.embedding.models import LoadedEmbedder
from bot.embedding.serving import (
    TOKENS,
    BundleError,
    Manifest,
    OnnxEmbedder,
    read_manifest,
    sentence_spans,
    write_manifest,
)
from tests.conftest import ROOT
from tests.embedding.test_bad_vectors import tiny_bundle

NO_TORCH = """
import json, sys
from pathlib import Path
from bot.embedding.models import load_embedder
from bot.settings import EMBEDDED_MODEL
embedder = load_embedder(EMBEDDED_MODEL, Path(sys.argv[1]))
vector = embedder.embed_queries(["Vim 10 はいつ出る？"])
print(json.dumps({"kind": type(embedder).__name__, "shape": list(vector.shape),
                  "modules": sorted(m for m in ("torch", "sentence_transformers", "transformers")
                                    if m in sys.modules)}))
"""

ASK = """
import sys
from bot.cli import main
code = main(["ask", "Metaが過去に買収した会社は？", "--no-log"])
print("IMPORTED", sorted(m for m in ("torch", "sentence_transformers") if m in sys.modules))
sys.exit(code)
"""


def _run(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.model
def test_an_exported_model_is_served_without_torch(real_embedder: LoadedEmbedder) -> None:
    """Once the graph is exported (the fixture), a new process loads and embeds with
    neither torch nor sentence-transformers imported."""
    assert real_embedder.runtime == "onnx"
    done = _run(NO_TORCH, str(ROOT / "cache"))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"kind": "OnnxEmbedder", "shape": [1, 384], "modules": []}


@pytest.mark.model
def test_ask_from_a_fresh_process_imports_no_torch(real_embedder: LoadedEmbedder) -> None:
    """The whole `python -m bot ask` path, corpus and index included, needs no torch."""
    done = _run(ASK, CACHE_DIR=str(ROOT / "cache"), CORPUS_DIR=str(ROOT / "corpus"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "IMPORTED []" in done.stdout, done.stdout[-2000:]


class _RecordingSession:
    def __init__(self) -> None:
        self.feeds: list[dict[str, np.ndarray]] = []

    def run(self, outputs: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.feeds.append(feed)
        rows = np.ones((len(feed["input_ids"]), 4), np.float32)
        return [rows / 2.0]


def test_batches_are_padded_with_the_models_pad_id(tmp_path: Path) -> None:
    """Texts of like length share a pass; padded positions hold pad_id and mask 0."""
    folder = tiny_bundle(tmp_path / "bundle")
    manifest = read_manifest(folder)
    write_manifest(
        folder,
        Manifest(4, 16, "query: ", "passage: ", manifest.inputs, pad_id=7),
    )
    session = _RecordingSession()
    embedder = OnnxEmbedder(folder, session, "tiny")
    vectors = embedder.embed_documents(["a b c", "a b"])
    assert vectors.shape == (2, 4)
    (feed,) = session.feeds
    ids, mask = feed["input_ids"], feed["attention_mask"]
    assert ids.shape == mask.shape == (2, 5)  # "passage", ":" and three words, the longest
    padded = mask == 0
    assert int(padded.sum()) == 1 and bool((ids[padded] == 7).all())


def test_a_manifest_for_inputs_a_tokenizer_cannot_give_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="pixel_values"):
        write_manifest(tmp_path, Manifest(4, 16, "", "", ("input_ids", "pixel_values")))


def test_a_damaged_manifest_is_a_bundle_error(tmp_path: Path) -> None:
    folder = tiny_bundle(tmp_path / "bundle")
    (folder / "serving.json").write_text("{", encoding="utf-8")
    with pytest.raises(BundleError):
        read_manifest(folder)


def test_sentences_are_found_in_order_even_when_repeated() -> None:
    passage = "passage: タイトル\n同じ文。違う文。同じ文。"
    spans = sentence_spans(passage, ["同じ文。", "違う文。", "同じ文。", "ない文。"])
    first, middle, again = spans[0], spans[1], spans[2]
    assert first is not None and middle is not None and again is not None
    assert passage[first[0] : first[1]] == passage[again[0] : again[1]] == "同じ文。"
    assert again[0] >= middle[1] > first[1]  # the second 同じ文, not the first again
    assert spans[3] is None


class _StatesSession(_RecordingSession):
    """Token states that say which token they are: row t is one-hot-ish at t."""

    def get_outputs(self) -> list[object]:
        return [type("Out", (), {"name": name})() for name in ("sentence_embedding", TOKENS)]

    def run(self, outputs: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.feeds.append(feed)
        batch, width = feed["input_ids"].shape
        states = np.zeros((batch, width, 4), np.float32)
        for t in range(width):
            states[:, t, t % 4] = 1.0
        vectors = np.full((batch, 4), 0.5, np.float32)
        return [vectors, states] if TOKENS in outputs else [vectors]


def test_sentence_vectors_pool_their_own_tokens(tmp_path: Path) -> None:
    """Each sentence's vector is the normalised mean of the states of its tokens, and the
    embedder is named apart from one that embeds sentences alone."""
    folder = tiny_bundle(tmp_path / "bundle")
    session = _StatesSession()
    plain = OnnxEmbedder(folder, session, "tiny")
    embedder = OnnxEmbedder(folder, session, "tiny", pooled_sentences=True)
    assert embedder.pools_sentences and not plain.pools_sentences
    assert embedder.name != plain.name
    vectors, (rows,) = embedder.embed_passages_with_sentences(["a b c d"], [["a b", "c d"]])
    assert vectors.shape == (1, 4) and rows.shape == (2, 4)
    # tokens: passage(0) :(1) a(2) b(3) c(4) d(5): "a b" is tokens 2,3; "c d" tokens 4,5
    expected_first = np.array([0, 0, 1, 1], np.float32) / np.sqrt(2)
    expected_second = np.array([1, 1, 0, 0], np.float32) / np.sqrt(2)
    assert np.allclose(rows[0], expected_first) and np.allclose(rows[1], expected_second)


def test_a_sentence_not_found_gets_a_pass_of_its_own(tmp_path: Path) -> None:
    embedder = OnnxEmbedder(
        tiny_bundle(tmp_path / "bundle"), _StatesSession(), "tiny", pooled_sentences=True
    )
    _, (rows,) = embedder.embed_passages_with_sentences(["a b"], [["a b", "zzz"]])
    assert np.allclose(rows[1], np.full(4, 0.5))  # the plain pass's vector (the stub's)
