"""BM25 scoring over the passages' analysed terms (see `bot.index.analysis`).

BM25 (Lucene variant, k1=1.5, b=0.75: bm25s defaults) comes from bm25s: it precomputes
per-(term, document) scores into a sparse CSC matrix, so a query is a few column sums, i.e.
milliseconds over 180 000 passages. Its arrays are saved as .npy without pickle, its vocabulary
and parameters as JSON; `lexical.json` adds our FORMAT_VERSION and shape checks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import bm25s
import numpy as np

log = logging.getLogger(__name__)

_EMPTY_PLACEHOLDER = "\x00"  # never produced by the analyser


class LexicalIndex:
    """BM25 over pre-tokenized passages, backed by a bm25s sparse score matrix."""

    FORMAT_VERSION: ClassVar[int] = 1
    META_FILE: ClassVar[str] = "lexical.json"

    def __init__(self, model: Any, empty: bool = False) -> None:
        """Wrap a built or loaded `bm25s.BM25`; use `build` or `load` instead."""
        self._model = model
        self._empty = empty  # a corpus with no passages: bm25s needs one placeholder
        self._vocab: dict[str, int] = model.vocab_dict
        self._n_docs = int(model.scores["num_docs"])
        self._df = np.diff(np.asarray(model.scores["indptr"], dtype=np.int64))

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]]) -> LexicalIndex:
        """Index documents given as lists of terms (from `JapaneseAnalyzer.terms`)."""
        if not documents:
            return cls._build([[_EMPTY_PLACEHOLDER]], empty=True)
        return cls._build(documents, empty=False)

    @classmethod
    def _build(cls, documents: Sequence[Sequence[str]], empty: bool) -> LexicalIndex:
        if any(isinstance(doc, str) for doc in documents):
            raise TypeError("each document must be a sequence of terms, not a str")
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(term, len(vocab)) for term in doc] for doc in documents]
        model = bm25s.BM25(k1=1.5, b=0.75, method="lucene", backend="numpy")
        with np.errstate(divide="ignore", invalid="ignore"):  # all-empty documents: 0 / 0
            model.index((ids, vocab), create_empty_token=False, show_progress=False)
        log.info("built lexical index: %d documents, %d terms", len(ids), len(vocab))
        return cls(model, empty)

    def __len__(self) -> int:
        return 0 if self._empty else self._n_docs

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score per document (float32); each distinct query term counts once."""
        if isinstance(query_terms, str):
            raise TypeError("query_terms must be a sequence of terms, not a str")
        ids = sorted({self._vocab[t] for t in query_terms if t in self._vocab})
        if not ids or self._empty:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self._model.get_scores_from_ids(ids), dtype=np.float32)

    def top(
        self, query_terms: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and scores of the best k matching documents (score > 0), best first."""
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        scores = self.scores(query_terms)
        allowed = scores > 0
        if mask is not None:
            if mask.shape != scores.shape or mask.dtype != np.bool_:
                raise ValueError(f"mask must be a bool array of shape {scores.shape}")
            allowed &= mask
        found = np.flatnonzero(allowed)
        if found.size > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]] if k else found[:0]
        order = np.lexsort((found, -scores[found]))
        return found[order].astype(np.int64), scores[found[order]]

    def document_frequency(self, term: str) -> int:
        """How many documents contain `term` (0 when it never occurs)."""
        term_id = self._vocab.get(term)
        return 0 if term_id is None or self._empty else int(self._df[term_id])

    def idf(self, term: str) -> float:
        """Lucene BM25 idf, as bm25s uses: log(1 + (N - df + 0.5) / (df + 0.5))."""
        df = self.document_frequency(term)
        return float(np.log1p((self._n_docs - df + 0.5) / (df + 0.5)))

    def save(self, directory: Path) -> None:
        """Write bm25s's .npy/JSON files, then `lexical.json` last (absent = torn save)."""
        directory.mkdir(parents=True, exist_ok=True)
        meta_path = directory / self.META_FILE
        meta_path.unlink(missing_ok=True)
        self._model.save(str(directory), show_progress=False)
        tmp = meta_path.with_suffix(".tmp")
        meta = {
            "format_version": self.FORMAT_VERSION,
            "num_docs": self._n_docs,
            "vocab_size": len(self._vocab),
            "nnz": len(self._model.scores["data"]),
            "bm25": {"k1": self._model.k1, "b": self._model.b, "method": self._model.method},
            "bm25s_version": bm25s.__version__,
            "empty": self._empty,
        }
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        tmp.replace(meta_path)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read an index written by `save`; ValueError if missing, mismatched or corrupt."""
        meta = _read_meta(directory / cls.META_FILE)
        if meta.get("format_version") != cls.FORMAT_VERSION:
            found = meta.get("format_version")
            raise ValueError(
                f"lexical index in {directory}: format {found!r}, not {cls.FORMAT_VERSION}"
            )
        try:
            model = bm25s.BM25.load(str(directory), mmap=False, allow_pickle=False)
            index = cls(model, empty=bool(meta.get("empty", False)))
            consistent = index._consistent(meta)
        except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"lexical index in {directory} is unreadable: {exc}") from exc
        if not consistent:
            raise ValueError(f"lexical index in {directory} is corrupt: arrays disagree; rebuild")
        return index

    def _consistent(self, meta: dict[str, Any]) -> bool:
        """Whether the arrays agree with each other and with `lexical.json`."""
        s = self._model.scores
        data, indices, indptr = s["data"], s["indices"], s["indptr"]
        problems = [
            meta.get("num_docs") != self._n_docs,
            meta.get("vocab_size") != len(self._vocab) or meta.get("nnz") != len(data),
            len(indptr) != len(self._vocab) + 1 or len(indices) != len(data),
            sorted(self._vocab.values()) != list(range(len(self._vocab))),
            len(indptr) > 0 and (indptr[0] != 0 or indptr[-1] != len(data)),
            bool(np.any(self._df < 0)),
            len(indices) > 0 and (indices.min() < 0 or indices.max() >= self._n_docs),
            not np.all(np.isfinite(data)),
        ]
        return not any(problems)


def _read_meta(path: Path) -> dict[str, Any]:
    """Parse `lexical.json` or explain in one line why not."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"no lexical index at {path.parent} ({path.name} missing)") from exc
    except (OSError, ValueError) as exc:
        raise ValueError(f"lexical index metadata {path} is unreadable: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"lexical index metadata {path} is not a JSON object")
    return meta
