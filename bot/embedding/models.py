"""Turn text into normalized vectors: sentence-transformers behind a small protocol.

The core only sees :class:`Embedder`; the CLI, the bot and the benchmarks get the real
model, unit tests a fake (tests/fakes.py). Every model, the embedded default included,
is built through the same ``SentenceTransformer(path)`` call, and served from its
exported graph without torch where ONNX Runtime can run it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from bot.embedding import embedded as embedded_model
from bot.embedding.finite import require_finite
from bot.embedding.precision import (
    apply_precision,
    identity_for,
    resolve_device,
    use_threads,
)
from bot.embedding.provenance import SourceMismatch
from bot.embedding.runtime import (
    ExportFailed,
    ensure_graph,
    graph_path,
    graph_source,
    open_graph,
    quantize_graph,
    resolve_runtime,
    session_threads,
)
from bot.embedding.serving import OnnxEmbedder
from bot.settings import EMBEDDED_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

HUB_FALLBACK = "intfloat/multilingual-e5-small"
# Hub commits the fallback is fetched at, so a later push to the repository cannot change
# the weights under the same name (and cache identity). 614241f6 is the commit whose
# tokenizer.json is byte for byte the one the embedded model is built with.
HUB_REVISIONS = {HUB_FALLBACK: "614241f622f53c4eeff9890bdc4f31cfecc418b3"}
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
# Prompts of the models recommended for Japanese in the README, for folders that lack them.
KNOWN_PROMPTS: dict[str, dict[str, str]] = {
    "intfloat/multilingual-e5-small": E5_PROMPTS,
    "intfloat/multilingual-e5-base": E5_PROMPTS,
    "intfloat/multilingual-e5-large": E5_PROMPTS,
    "cl-nagoya/ruri-v3-30m": {"query": "検索クエリ: ", "document": "検索文書: "},
    "cl-nagoya/ruri-v3-130m": {"query": "検索クエリ: ", "document": "検索文書: "},
}


@runtime_checkable
class PoolsSentences(Protocol):
    """An embedder that can give sentence vectors from the passage's own forward pass."""

    pools_sentences: bool

    def embed_passages_with_sentences(
        self, texts: Sequence[str], sentences: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


class ModelNotFound(Exception):
    """The configured model cannot be loaded; the message says what to set."""


class Embedder(Protocol):
    """What the index and search need from a model: normalized float32 rows."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model on torch; one lock so batches from reindex and
    questions interleave. ONNX Runtime serves without it (:class:`OnnxEmbedder`)."""

    def __init__(
        self,
        model: SentenceTransformer,
        name: str,
        batch_size: int = 16,
        remedy: str = "",
    ) -> None:
        self._model = model
        self._remedy = remedy  # what to do about damaged files, for a non-finite vector
        self._name = name
        self._batch_size = batch_size
        self._lock = threading.Lock()
        prompts = getattr(model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._document_prompt = "document" if "document" in prompts else None
        self._device = model.device
        self._normalized = any(type(m).__name__ == "Normalize" for m in model.children())

    @property
    def name(self) -> str:
        return self._name

    @property
    def runtime(self) -> str:
        """Where the forward pass runs."""
        return "torch"

    @property
    def dimension(self) -> int:
        size = self._model.get_embedding_dimension()
        return int(size or 0)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._document_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._query_prompt)

    def _embed(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        """Normalized rows: on the CPU one text per forward pass, on a GPU in batches.

        On torch's CPU a batch saves nothing but pays for the padding of its shorter texts.
        It also keeps an int8 vector a function of its text alone: dynamic quantization
        scales activations per forward pass, so a text batched with others would get a
        slightly different vector.

        A NaN or infinite value (damaged model files) raises `DamagedModel`: such a vector
        must never reach a cache.
        """
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        prompt = self._model.prompts.get(prompt_name or "") or ""
        prompted = [prompt + text for text in texts]
        size = 1 if self._device.type == "cpu" else self._batch_size
        with self._lock:
            rows = [self._forward(prompted[i : i + size]) for i in range(0, len(prompted), size)]
        vectors = np.concatenate(rows).astype(np.float32, copy=False)
        return require_finite(vectors, self._remedy)

    def _forward(self, texts: list[str]) -> np.ndarray:
        """The model's modules called directly, without `SentenceTransformer.encode`.

        `encode` switches every module to eval mode and finds the device by walking the
        parameters on each call, about 2 ms of a question's 10 ms on the CPU; the model
        is in eval mode from load.
        """
        import torch

        with torch.inference_mode():
            features = self._model.preprocess(texts)
            features = {
                k: v.to(self._device) if isinstance(v, torch.Tensor) else v
                for k, v in features.items()
            }
            vectors = self._model.forward(features)["sentence_embedding"]
            if not self._normalized:
                vectors = torch.nn.functional.normalize(vectors, dim=-1)
            return np.asarray(vectors.float().cpu().numpy())


LoadedEmbedder = SentenceTransformerEmbedder | OnnxEmbedder


def load_embedder(
    name: str,
    cache_dir: Path,
    batch_size: int = 16,
    *,
    precision: str = "fp32",
    device: str = "auto",
    threads: int = 0,
    runtime: str = "auto",
    pooled_sentences: bool = False,
) -> LoadedEmbedder:
    """Resolve ``EMBEDDING_MODEL`` and load it, or raise one clear ModelNotFound.

    On the CPU the model runs in ONNX Runtime when it is installed (``runtime``): the
    graph is exported once (with torch), then served with ONNX Runtime and the tokenizer
    alone (:class:`OnnxEmbedder`), giving torch's vectors, so the same cache. ``int8`` on
    torch quantizes its Linear layers at load (opt-in, as it lowers held-out retrieval).
    The precision is part of the identity, so int8 and fp32 vectors never share a cache.
    ``pooled_sentences``: on ONNX Runtime, sentence vectors come from the passage's own
    forward pass (another cache name too).
    """
    try:  # settings that cannot work here are one clear error, like a missing model
        target = resolve_device(device)
        chosen = resolve_runtime(runtime, target, precision)
    except ValueError as exc:
        raise ModelNotFound(str(exc)) from None
    if chosen == "onnx":
        served = _onnx_embedder(
            name, cache_dir, batch_size, threads, runtime, precision, pooled_sentences
        )
        if served is not None:
            return served
    folder, identity, prompts = resolve_model(name, cache_dir)
    use_threads(threads)
    model = _load_sentence_transformer(folder, name, target, prompts)
    applied = apply_precision(model, precision, target)
    built = [folder] if name == EMBEDDED_MODEL else []  # rebuilt when removed
    return SentenceTransformerEmbedder(
        model, identity_for(identity, applied), batch_size, _remedy(built, folder)
    )


def _onnx_embedder(
    name: str,
    cache_dir: Path,
    batch_size: int,
    threads: int,
    setting: str,
    precision: str,
    pooled_sentences: bool = False,
) -> OnnxEmbedder | None:
    """The exported graph served without torch; None (torch) when ``auto`` meets a model
    it cannot export.

    The embedded model's graph is found by its identity alone, and once exported its
    sentence-transformers folder (rebuilt from the wheels whenever torch needs it) is
    removed: the model is stored once.
    """
    embedded = name == EMBEDDED_MODEL and _embedded_available()
    if embedded:
        identity, folder, prompts = embedded_model.IDENTITY, None, E5_PROMPTS
    else:
        folder, identity, prompts = resolve_model(name, cache_dir)
    fp32 = graph_path(cache_dir, identity, folder)
    path = graph_path(cache_dir, identity, folder, precision) if precision != "fp32" else fp32
    built = embedded_model.target(cache_dir) if embedded else folder
    assert built is not None

    def load_model() -> tuple[SentenceTransformer, Path]:
        source = built if not embedded else resolve_model(name, cache_dir)[0]
        return _load_sentence_transformer(source, name, "cpu", prompts), source

    source = graph_source(identity, built)

    def int8_from_fp32(folder: Path) -> None:
        ensure_graph(fp32, load_model, source)
        quantize_graph(fp32)(folder)

    try:
        session = open_graph(
            path,
            session_threads(threads, os.cpu_count()),
            load_model,
            source,
            None if path == fp32 else int8_from_fp32,
        )
    except ExportFailed as exc:
        if setting == "onnx":
            message = f"EMBEDDING_RUNTIME=onnx: the model cannot be exported ({exc})"
            raise ModelNotFound(message) from None
        log.warning("embedding on torch: the model cannot be exported to ONNX (%s)", exc)
        return None
    if embedded:
        embedded_model.remove_built(cache_dir)
    remedy = _remedy([path.parent], built if not embedded else path.parent)
    name_of_vectors = identity_for(identity, precision, "onnx")
    # Dynamic int8 scales activations per forward pass: one text per pass keeps its vector
    # a function of the text alone, as the vector cache requires.
    size = batch_size if precision == "fp32" else 1
    return OnnxEmbedder(path.parent, session, name_of_vectors, size, remedy, pooled_sentences)


def _embedded_available() -> bool:
    try:
        embedded_model.q4_weights_path()
        embedded_model.tokenizer_path()
    except embedded_model.EmbeddedModelUnavailable:
        return False
    return True


def _remedy(built: list[Path], folder: Path) -> str:
    """What to do when the model's vectors are not finite: its files are damaged."""
    steps = []
    if built:
        paths = " and ".join(str(path) for path in built)
        steps.append(f"remove {paths} (rebuilt at the next start)")
    if folder not in built:
        steps.append(f"check or replace the model's files in {folder}")
    return "; ".join(steps)


def resolve_model(name: str, cache_dir: Path) -> tuple[Path, str, dict[str, str]]:
    """Map a setting value to (local folder, cache identity, prompts)."""
    if name == EMBEDDED_MODEL:
        try:
            folder = embedded_model.build(embedded_model.target(cache_dir))
        except embedded_model.EmbeddedModelUnavailable as exc:
            log.warning("embedded model unavailable (%s); trying %s", exc, HUB_FALLBACK)
            return resolve_model(HUB_FALLBACK, cache_dir)
        except SourceMismatch as exc:  # a changed wheel is a finding, never a silent fallback
            raise ModelNotFound(f"embedding model {name!r} cannot be built: {exc}") from None
        return folder, embedded_model.IDENTITY, E5_PROMPTS
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve(), f"local:{path.resolve()}", KNOWN_PROMPTS.get(path.name, {})
    if path.is_absolute() or name.startswith((".", "~")):
        raise ModelNotFound(_missing(name, "no such folder"))
    return _hub_snapshot(name, cache_dir), name, KNOWN_PROMPTS.get(name, {})


def _hub_snapshot(name: str, cache_dir: Path) -> Path:
    """Use the Hugging Face cache; download only when the hub answers within seconds.

    A model with a pinned commit is only ever taken at that commit, cached or downloaded.
    """
    from huggingface_hub import snapshot_download

    hub_cache, revision = cache_dir / "hub", HUB_REVISIONS.get(name)
    try:
        return Path(
            snapshot_download(name, revision=revision, cache_dir=hub_cache, local_files_only=True)
        )
    except Exception:  # noqa: BLE001 - any miss means "not cached"; we decide below
        log.debug("%s is not in the local model cache", name)
    if os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable():
        raise ModelNotFound(_missing(name, "not cached and the Hugging Face hub is unreachable"))
    try:
        return Path(snapshot_download(name, revision=revision, cache_dir=hub_cache, etag_timeout=5))
    except Exception as exc:  # noqa: BLE001 - the hub's errors are many; all mean "missing"
        raise ModelNotFound(_missing(name, type(exc).__name__)) from None


def _hub_reachable(timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _missing(name: str, reason: str) -> str:
    return (
        f"embedding model {name!r} cannot be loaded ({reason}). Set EMBEDDING_MODEL to a "
        f"local sentence-transformers folder, a cached Hugging Face name, or the embedded "
        f"default {EMBEDDED_MODEL!r} (needs `make setup`)."
    )


def _load_sentence_transformer(
    folder: Path, name: str, device: str = "cpu", prompts: dict[str, str] | None = None
) -> SentenceTransformer:
    """The folder as a SentenceTransformer, given ``prompts`` where it has none of its own."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a resolved folder never needs the hub
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    try:
        model = SentenceTransformer(str(folder), device=device, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFound(_missing(name, f"{folder} is not a model folder: {exc}")) from None
    if prompts and not getattr(model, "prompts", None):
        model.prompts = dict(prompts)
    return model
