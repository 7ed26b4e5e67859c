"""Dense candidates: exact below a size, an approximate (HNSW) index above it.

numpy's float32 brute force over every passage costs ~16 ms per question at 190 000
passages on two cores and grows linearly; an HNSW graph (usearch) answers in about a
millisecond. Its int8 scores are coarse, so it is asked for 256 rows and those are
re-scored exactly from the float32 vectors: the final order is exact. At 190 000
passages, connectivity 16 and a search breadth of 512 found 0.89 of the exact top 10;
connectivity 32 and a build breadth of 256 find 0.987 (search breadth 1 024: 0.989 for
twice the time), for ~0.7 ms a question and a graph build ~4× slower.
The graph is built during refresh, saved in the snapshot and memory-mapped on load; the
file name carries the build settings, so a snapshot with an older graph rebuilds it.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from bot.index.mapped import read_rows

log = logging.getLogger(__name__)

CONNECTIVITY = 32
EXPANSION_ADD = 256
EXPANSION_SEARCH = 512
OVERSAMPLE = 256  # rows fetched from the graph before exact re-scoring
FILE_NAME = f"ann-m{CONNECTIVITY}-e{EXPANSION_ADD}.usearch"
BUILD_THREADS = 2
# A multi-threaded build inserts in a racy order and so builds a slightly different graph
# each time; below this size one thread takes seconds and gives the same graph every time.
SINGLE_THREAD_BELOW = 50_000
BUILD_CHUNK = 65_536  # rows read and added at a time


class AnnIndex:
    """An HNSW graph over the passage vectors; keys are row numbers."""

    def __init__(self, graph: object, size: int) -> None:
        self._graph = graph
        self.size = size

    @classmethod
    def build(cls, vectors: np.ndarray, threads: int | None = None) -> AnnIndex:
        UIndex = _usearch_index()

        if threads is None:
            threads = 1 if len(vectors) < SINGLE_THREAD_BELOW else BUILD_THREADS

        graph = UIndex(
            ndim=vectors.shape[1],
            metric="ip",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        for start in range(0, len(vectors), BUILD_CHUNK):  # the graph keeps its own int8 copy
            rows = np.ascontiguousarray(read_rows(vectors, start, start + BUILD_CHUNK), np.float32)
            keys = np.arange(start, start + len(rows), dtype=np.uint64)
            graph.add(keys, rows, threads=threads)
        log.info("built approximate index over %d passages", len(vectors))
        return cls(graph, len(vectors))

    def save(self, folder: Path) -> Path:
        path = folder / FILE_NAME
        self._graph.save(str(path))  # type: ignore[attr-defined]
        return path

    @classmethod
    def load(cls, folder: Path) -> AnnIndex | None:
        """The snapshot's graph, memory-mapped (not read into memory); None if it has none."""
        UIndex = _usearch_index()

        path = folder / FILE_NAME
        if not path.is_file():
            return None
        graph: Any = UIndex.restore(str(path), view=True)
        if graph is None:
            raise ValueError(f"{path} is not an approximate index")
        graph.expansion_search = EXPANSION_SEARCH  # not stored in the file
        return cls(graph, len(graph))

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """Row numbers of about the `count` nearest passages (unordered, approximate)."""
        count = min(count, self.size)
        if count <= 0:
            return np.zeros(0, np.int64)
        found = self._graph.search(np.asarray(query, np.float32), count)  # type: ignore[attr-defined]
        return np.asarray(found.keys, np.int64)


def nearest(
    vectors: np.ndarray,
    graph: AnnIndex | None,
    query_vector: np.ndarray,
    k: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` rows of `vectors` most similar to the query (rows, exact cosines), best first.

    `graph` is used when it covers every row; `mask` limits the rows that may be returned.
    """
    n = len(vectors)
    if k <= 0 or n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if graph is None or graph.size != n:
        return _exact(vectors, query_vector, k, mask)
    allowed = n if mask is None else int(np.count_nonzero(mask))
    if allowed < n // 2:  # a narrow filter: brute force over what it allows is cheaper
        return _exact(vectors, query_vector, k, mask)
    rows = graph.search(query_vector, max(k, OVERSAMPLE) * (n // max(allowed, 1)))
    if mask is not None:
        rows = rows[mask[rows]]
        if len(rows) < min(k, allowed):
            return _exact(vectors, query_vector, k, mask)
    return _best(vectors, rows, query_vector, k)


def nearest_scores(
    vectors: np.ndarray,
    graph: AnnIndex | None,
    query_vector: np.ndarray,
    k: int,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """One score per row: the exact cosine for the `k` best, -inf for every other.

    Without a graph covering every row, each row gets its exact cosine (one matrix
    product, as cheap as picking the best); callers that need the cosine of another row
    read `vectors[row] @ query_vector`.
    """
    if graph is None or graph.size != len(vectors):
        scores: np.ndarray = np.asarray(vectors @ query_vector, np.float32)
        return np.where(mask, scores, -np.inf) if mask is not None else scores
    rows, best = nearest(vectors, graph, query_vector, k, mask)
    out = np.full(len(vectors), -np.inf, np.float32)
    out[rows] = best
    return out


def _exact(
    vectors: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    if mask is None:
        scores = np.asarray(vectors @ query, np.float32)
        return _top(np.arange(len(scores)), scores, k)
    rows = np.flatnonzero(mask)
    return _best(vectors, rows, query, k)


def _best(
    vectors: np.ndarray, rows: np.ndarray, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.sort(rows)  # sequential reads from the memory-mapped vectors
    scores = np.asarray(vectors[rows] @ query, np.float32)
    return _top(rows, scores, k)


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(rows) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order].astype(np.int64), scores[order]


def graph_recall(
    vectors: np.ndarray, graph: AnnIndex | None, queries: np.ndarray, k: int = 10
) -> float:
    """Share of the exact top `k` that the approximate path also returns (1.0 if exact)."""
    if len(queries) == 0 or len(vectors) == 0:
        return 1.0
    found = 0
    for query in queries:
        exact, _ = _exact(vectors, query, k, None)
        approximate, _ = nearest(vectors, graph, query, k)
        found += len(np.intersect1d(exact, approximate))
    return found / (len(queries) * min(k, len(vectors)))


def _usearch_index() -> Any:
    """usearch's Index class, with onnxruntime imported first where it is installed:
    importing onnxruntime after usearch crashes the process (a segmentation fault in
    onnxruntime's extension, reproduced with `python -c "import usearch; import
    onnxruntime"` on usearch 2.26 and onnxruntime 1.32), and the model may be loaded
    after an approximate index (a reindex in the running bot, tests)."""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401

    from usearch.index import Index

    return Index
