"""ONNX Runtime as the CPU forward pass: chosen as documented, same vectors, robust cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bot.embedding import embedded, runtime
from bot.embedding.embedded import MODEL_DIR_NAME
from bot.embedding.models import LoadedEmbedder, ModelNotFound, load_embedder
from bot.embedding.runtime import (
    GRAPH_FILE,
    SOURCE_FILE,
    WEIGHTS_FILE,
    drop_superseded,
    graph_path,
    graph_source,
    resolve_runtime,
)
from bot.settings import EMBEDDED_MODEL
from tests.conftest import ROOT

TEXTS = [
    "Metaが過去に買収した会社は？",
    "What example explains deeper word meaning?",
    "InstagramやWhatsAppの買収で一気に巻き返した。" * 6,  # a long passage: padding-free
    "Llama 4.5で作業が速くなる職種は？ $50B",
]


@pytest.mark.parametrize(
    ("setting", "device", "precision", "expected"),
    [
        ("auto", "cpu", "fp32", "onnx"),
        ("auto", "cpu", "int8", "onnx"),  # ONNX Runtime's own int8 of the exported graph
        ("auto", "cuda", "fp32", "torch"),
        ("torch", "cpu", "fp32", "torch"),
        ("onnx", "cpu", "fp32", "onnx"),
    ],
)
def test_runtime_is_chosen_as_documented(
    setting: str, device: str, precision: str, expected: str
) -> None:
    assert resolve_runtime(setting, device, precision) == expected


@pytest.mark.parametrize(
    ("setting", "device", "precision", "words"),
    [
        ("onnx", "cuda", "fp32", "DEVICE=cpu"),
        ("tensorrt", "cpu", "fp32", "EMBEDDING_RUNTIME must be one of"),
    ],
)
def test_impossible_runtime_is_a_clear_error(
    setting: str, device: str, precision: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        resolve_runtime(setting, device, precision)


def test_auto_without_onnxruntime_is_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "onnx_available", lambda: False)
    assert resolve_runtime("auto", "cpu", "fp32") == "torch"
    with pytest.raises(ValueError, match="needs the onnxruntime and onnx packages"):
        resolve_runtime("onnx", "cpu", "fp32")


def test_graph_is_named_by_model_and_files(tmp_path: Path) -> None:
    """Same model and files, same graph; changed weights or another model, another graph."""
    folder = tmp_path / "model"
    folder.mkdir()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"weights")
    first = graph_path(tmp_path, "local:model", folder)
    assert graph_path(tmp_path, "local:model", folder) == first
    assert graph_path(tmp_path, "other", folder) != first
    assert graph_path(tmp_path, "local:model", folder, "int8") != first
    weights.write_bytes(b"new weights!")
    assert graph_path(tmp_path, "local:model", folder) != first
    assert first.parent.parent == tmp_path / "models" / "onnx"
    pinned = graph_path(tmp_path, "embedded@1+abc", None)  # the identity pins the files
    assert pinned == graph_path(tmp_path, "embedded@1+abc", None) != first


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """An empty cache that shares the project's built model (no ONNX graph yet)."""
    folder = tmp_path / "cache"
    (folder / "models").mkdir(parents=True)
    built = embedded.build(embedded.target(ROOT / "cache"))  # removed once a graph serves
    os.symlink(built, folder / "models" / MODEL_DIR_NAME)
    return folder


@pytest.mark.model
def test_onnx_and_torch_give_the_same_vectors(
    real_embedder: LoadedEmbedder, torch_embedder: LoadedEmbedder
) -> None:
    """The default CPU runtime is ONNX Runtime, and its vectors are torch's to float error,
    which is why both share one vector cache (same name)."""
    assert real_embedder.runtime == "onnx" and torch_embedder.runtime == "torch"
    assert real_embedder.name == torch_embedder.name
    for embed in ("embed_queries", "embed_documents"):
        ours = getattr(real_embedder, embed)(TEXTS)
        theirs = getattr(torch_embedder, embed)(TEXTS)
        assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
        assert float(np.abs(ours - theirs).max()) < 1e-5
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
def test_unreadable_cached_graph_is_exported_again(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged graph file costs one re-export, never a wrong vector or a crash."""
    first = load_embedder(EMBEDDED_MODEL, cache)
    (graph,) = (cache / "models" / "onnx").glob(f"*/{GRAPH_FILE}")
    assert (graph.parent / WEIGHTS_FILE).stat().st_size > 100_000_000  # mapped, not copied
    assert first.name in (graph.parent / SOURCE_FILE).read_text(encoding="utf-8")
    expected = first.embed_queries(TEXTS[:1])
    graph.write_bytes(b"not a graph")
    with caplog.at_level(logging.INFO):
        again = load_embedder(EMBEDDED_MODEL, cache)
    assert "exporting the embedding model" in caplog.text
    assert again.runtime == "onnx" and graph.read_bytes() != b"not a graph"
    assert float(np.abs(again.embed_queries(TEXTS[:1]) - expected).max()) < 1e-5


@pytest.mark.model
def test_a_killed_export_leaves_nothing_behind(cache: Path) -> None:
    """A half-written export (the process was killed) is removed by the next load."""
    first = load_embedder(EMBEDDED_MODEL, cache)
    (graph,) = (cache / "models" / "onnx").glob(f"*/{GRAPH_FILE}")
    leftover = graph.parent.with_name(f"{graph.parent.name}.part-abc123")
    leftover.mkdir()
    (leftover / "traced.onnx").write_bytes(b"half a graph")
    again = load_embedder(EMBEDDED_MODEL, cache)
    assert not leftover.exists() and again.runtime == first.runtime == "onnx"


@pytest.mark.model
def test_model_that_cannot_be_exported(
    cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``auto`` keeps torch with a warning; ``onnx`` asked for explicitly is one clear error."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise torch.onnx.OnnxExporterError("operator not supported")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    with caplog.at_level(logging.WARNING):
        embedder = load_embedder(EMBEDDED_MODEL, cache)
    assert embedder.runtime == "torch" and "operator not supported" in caplog.text
    assert embedder.embed_queries(TEXTS[:1]).shape == (1, 384)
    with pytest.raises(ModelNotFound, match="EMBEDDING_RUNTIME=onnx"):
        load_embedder(EMBEDDED_MODEL, cache, runtime="onnx")
    assert not list((cache / "models" / "onnx").glob("*.part-*"))


def test_zero_threads_is_every_core_on_onnx_runtime() -> None:
    assert runtime.session_threads(0, 8) == 8
    assert runtime.session_threads(0, None) == 1
    assert runtime.session_threads(3, 8) == 3


def test_a_new_export_removes_the_graphs_it_supersedes(tmp_path: Path) -> None:
    """Graphs of the same source (model and folder) go when a newer one is exported;
    other models' graphs stay."""
    source = graph_source("local:model", tmp_path / "model")
    older, newer, other = (tmp_path / name for name in ("older", "newer", "other"))
    for folder, text in ((older, source), (newer, source), (other, "another model\n")):
        folder.mkdir()
        (folder / SOURCE_FILE).write_text(text, encoding="utf-8")
        (folder / WEIGHTS_FILE).write_bytes(b"weights")
    drop_superseded(newer, source)
    assert not older.exists() and newer.is_dir() and other.is_dir()


@pytest.mark.model
def test_a_cache_that_cannot_take_the_graph_keeps_torch(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache folder the graph cannot be written to is a warning and torch, not a crash."""
    (cache / "models" / "onnx").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        embedder = load_embedder(EMBEDDED_MODEL, cache)
    assert embedder.runtime == "torch" and "cannot write the graph" in caplog.text
    assert embedder.embed_queries(TEXTS[:1]).shape == (1, 384)
