"""Answer with ONNX Runtime and the model's tokenizer alone: torch is for building.

Serving a question needs three things: the tokenizer, the forward pass and the prompt
that goes before the text. The exported graph already holds the forward pass with its
pooling and normalisation (:mod:`bot.embedding.runtime`); :func:`write_bundle` puts the
model's ``tokenizer.json`` and a small manifest beside it. :class:`OnnxEmbedder` then loads
in a fraction of a second with ``onnxruntime`` and ``tokenizers`` only: importing torch and
sentence-transformers was 12 of the 14.6 s a fresh ``python -m bot ask`` took, and torch's
libraries several hundred megabytes of the serving process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.embedding.finite import require_finite

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

log = logging.getLogger(__name__)

MANIFEST_FILE = "serving.json"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_VERSION = 1
OUTPUT = "sentence_embedding"
TOKENS = "token_embeddings"
POOLED_VERSION = 1  # bump when pooled sentence vectors change for the same model
# Tokens of padding a text may carry to share a forward pass with longer ones.
MAX_PADDING = 8
# What each graph input is called in a tokenizers Encoding.
_ENCODING_FIELDS = {
    "input_ids": "ids",
    "attention_mask": "attention_mask",
    "token_type_ids": "type_ids",
}


@dataclass(frozen=True)
class Manifest:
    """What the graph cannot say about itself: how to turn text into its inputs."""

    dimension: int
    max_tokens: int  # the model's max_seq_length: longer texts are truncated, as in training
    query_prompt: str
    document_prompt: str
    inputs: tuple[str, ...]  # the graph's token inputs, in order
    lower_case: bool = False
    pad_id: int = 0  # what padded positions hold (RoBERTa-like models number positions by it)
    version: int = MANIFEST_VERSION


class BundleError(Exception):
    """The folder holds no usable serving bundle (it is then exported again)."""


def write_manifest(folder: Path, manifest: Manifest) -> None:
    unknown = set(manifest.inputs) - set(_ENCODING_FIELDS)
    if unknown:
        raise BundleError(f"the graph takes inputs a tokenizer does not give: {sorted(unknown)}")
    content = asdict(manifest) | {"inputs": list(manifest.inputs)}
    (folder / MANIFEST_FILE).write_text(json.dumps(content, indent=2), encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    try:
        content = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        manifest = Manifest(**{**content, "inputs": tuple(content["inputs"])})
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BundleError(f"{folder / MANIFEST_FILE}: {exc}") from None
    if manifest.version != MANIFEST_VERSION:
        raise BundleError(f"{folder / MANIFEST_FILE}: version {manifest.version}")
    return manifest


def load_tokenizer(folder: Path, max_tokens: int) -> Tokenizer:
    """The model's fast tokenizer, truncating as sentence-transformers does; no padding
    (batches are padded here, to the longest text of each)."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception
        raise BundleError(f"{folder / TOKENIZER_FILE}: {exc}") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def length_groups(counts: np.ndarray, size: int, max_padding: int) -> list[np.ndarray]:
    """Positions grouped for batching: at most ``size`` each, token counts within
    ``max_padding`` of the group's shortest, so no text pays for much padding."""
    order = np.argsort(counts, kind="stable")
    groups: list[np.ndarray] = []
    start = 0
    while start < len(order):
        end = start + 1
        while (
            end < len(order)
            and end - start < size
            and counts[order[end]] - counts[order[start]] <= max_padding
        ):
            end += 1
        groups.append(order[start:end])
        start = end
    return groups


class OnnxEmbedder:
    """Unit vectors from ONNX Runtime; one lock, so reindex batches and questions interleave."""

    def __init__(
        self,
        folder: Path,
        session: onnxruntime.InferenceSession,
        name: str,
        batch_size: int = 16,
        remedy: str = "",
        pooled_sentences: bool = False,
    ) -> None:
        self.folder = folder
        self._manifest = read_manifest(folder)
        outputs = {item.name for item in session.get_outputs()} if pooled_sentences else set()
        self.pools_sentences = TOKENS in outputs
        if self.pools_sentences:  # sentence vectors differ from separate passes: another cache
            name = f"{name}+pooled.{POOLED_VERSION}"
        self._tokenizer = load_tokenizer(folder, self._manifest.max_tokens)
        self._session = session
        self._name = name
        self._batch_size = batch_size
        self._remedy = remedy  # what to do about damaged files, for a non-finite vector
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def runtime(self) -> str:
        return "onnx"

    @property
    def dimension(self) -> int:
        return self._manifest.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._manifest.document_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._manifest.query_prompt)

    def _embed(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        """Normalized rows, one forward pass per group of texts of like token count.

        A NaN or infinite value (damaged model files) raises `DamagedModel`: such a vector
        must never reach a cache.
        """
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.empty((len(texts), self.dimension), np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(self._prompted(texts, prompt))
            for group in self._groups(encodings):
                vectors[group] = self._forward([encodings[i] for i in group])
        return require_finite(vectors, self._remedy)

    def _prompted(self, texts: Sequence[str], prompt: str) -> list[str]:
        """What is tokenized: the prompt and the text, stripped (as sentence-transformers
        does) and lower-cased for a model that wants it."""
        prompted = [(prompt + text).strip() for text in texts]
        return [text.lower() for text in prompted] if self._manifest.lower_case else prompted

    def _groups(self, encodings: Sequence[Encoding]) -> list[np.ndarray]:
        """Positions that share a forward pass: like token counts (`length_groups`)."""
        counts = np.array([len(e.ids) for e in encodings], dtype=np.int64)
        return length_groups(counts, self._batch_size, MAX_PADDING)

    def embed_passages_with_sentences(
        self, texts: Sequence[str], sentences: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, one vector per sentence: the
        mean of the passage's last-layer token states over the sentence's characters,
        normalised. A sentence cut off by truncation gets a pass of its own."""
        if not self.pools_sentences:
            raise RuntimeError("this model's graph has no token states to pool")
        prompted = self._prompted(texts, self._manifest.document_prompt)
        vectors = np.empty((len(texts), self.dimension), np.float32)
        pooled: list[np.ndarray] = [np.empty(0)] * len(texts)
        missing: list[tuple[int, int, str]] = []
        with self._lock:
            encodings = self._tokenizer.encode_batch(prompted)
            for group in self._groups(encodings):
                batch = [encodings[i] for i in group]
                out, states = self._session.run([OUTPUT, TOKENS], self._feed(batch))
                for row, i in enumerate(group):
                    vectors[i] = out[row]
                    spans = sentence_spans(prompted[i], sentences[i], self._manifest.lower_case)
                    truncated = len(encodings[i].ids) >= self._manifest.max_tokens
                    pooled[i], cut = pool_spans(
                        states[row], encodings[i], spans, self.dimension, truncated
                    )
                    missing += [(int(i), j, sentences[i][j]) for j in cut]
        if missing:  # beyond the model's token limit: embedded alone
            alone = self.embed_documents([text for _, _, text in missing])
            for (i, j, _), vector in zip(missing, alone, strict=True):
                pooled[i][j] = vector
        require_finite(vectors, self._remedy)
        return vectors, [require_finite(rows, self._remedy) for rows in pooled]

    def _forward(self, encodings: Sequence[Encoding]) -> np.ndarray:
        (vectors,) = self._session.run([OUTPUT], self._feed(encodings))
        return np.asarray(vectors, dtype=np.float32)

    def _feed(self, encodings: Sequence[Encoding]) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        feed = {}
        for name in self._manifest.inputs:
            field = _ENCODING_FIELDS[name]
            fill = self._manifest.pad_id if name == "input_ids" else 0
            array = np.full((len(encodings), width), fill, dtype=np.int64)
            for row, encoding in enumerate(encodings):
                values = getattr(encoding, field)
                array[row, : len(values)] = values
            feed[name] = array
        return feed


def sentence_spans(
    passage: str, sentences: Sequence[str], lower_case: bool = False
) -> list[tuple[int, int] | None]:
    """Each sentence's character range in the (prompted) passage, found in order; None for
    one that is not there as written."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for sentence in sentences:
        wanted = sentence.lower() if lower_case else sentence
        start = passage.find(wanted, cursor) if wanted else -1
        if start < 0:
            start = passage.find(wanted) if wanted else -1
        if start < 0:
            spans.append(None)
            continue
        spans.append((start, start + len(wanted)))
        cursor = start + len(wanted)
    return spans


def pool_spans(
    states: np.ndarray,
    encoding: Encoding,
    spans: Sequence[tuple[int, int] | None],
    dimension: int,
    truncated: bool = False,
) -> tuple[np.ndarray, list[int]]:
    """Mean token state over each span, normalised; the spans not wholly among the kept
    tokens (cut off by truncation, or not found) are listed for a pass of their own."""
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    real = np.asarray(encoding.special_tokens_mask, dtype=bool) == 0
    kept_end = int(offsets[real, 1].max()) if truncated and real.any() else None
    rows = np.zeros((len(spans), dimension), np.float32)
    cut: list[int] = []
    for j, span in enumerate(spans):
        if span is None or (kept_end is not None and span[1] > kept_end):
            cut.append(j)
            continue
        inside = real & (offsets[:, 0] < span[1]) & (offsets[:, 1] > span[0])
        if not inside.any():
            cut.append(j)
            continue
        mean = states[: len(offsets)][inside].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            cut.append(j)
            continue
        rows[j] = mean / norm
    return rows, cut
