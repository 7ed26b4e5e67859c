"""Question latency by stage, throughput under 32 concurrent questions, ANN recall."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.embedding.batching import QueryBatcher
from bot.index import ann
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec
from bot.index.snapshot import Index
from bot.retrieval import engine as pipeline
from bot.retrieval import search
from bot.retrieval.engine import Engine, EngineConfig

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FALLBACK = ROOT / "tests" / "data" / "questions.jsonl"


def questions() -> list[str]:
    path = DEV if DEV.is_file() else FALLBACK
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["question"]) for r in rows]


def wire_ann() -> bool:
    """Route search's dense candidates through bot.index.ann if search.py does not yet."""
    if "ann" in inspect.getsource(search.dense_candidates):
        return False

    def dense(
        index: Index, query_vector: np.ndarray, mask: np.ndarray | None, n: int
    ) -> np.ndarray:
        return ann.dense_candidates(index, query_vector, n, mask)[0]

    search.dense_candidates = dense
    return True


class Timed:
    """Wraps the embedder (and the vectors it was handed) to time each stage."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.ready: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.inner.embed_documents(texts))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if all(t in self.ready for t in texts):  # encoded by the batcher already
            return np.stack([self.ready.pop(t) for t in texts])
        started = time.perf_counter()
        out = np.asarray(self.inner.embed_queries(texts))
        self.seconds += time.perf_counter() - started
        return out


def _time_rank(timer: dict[str, float]) -> None:
    original = getattr(pipeline, "rank")  # noqa: B009 - patched below, as Engine.answer calls it

    def rank(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timer["rank"] += time.perf_counter() - started

    setattr(pipeline, "rank", rank)  # noqa: B010


def _percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values) * 1000
    return {f"p{p}": float(np.percentile(array, p)) for p in (50, 95, 99)}


def serve(args: dict[str, Any], embedder: Any, index: Index) -> dict[str, Any]:
    patched = wire_ann()
    timed = Timed(embedder)
    spec = CorpusSpec(Path(args["corpus"]), "http://localhost:4000", "Asia/Tokyo")
    engine = Engine(EngineConfig(spec, Path(args["cache"])), timed, index)
    texts = questions()
    timer = {"rank": 0.0}
    _time_rank(timer)
    started = time.perf_counter()
    engine.answer(texts[0])
    first = time.perf_counter() - started
    stages: dict[str, list[float]] = {"embed": [], "search": [], "format": [], "total": []}
    for i in range(args.get("questions", 120)):
        timed.seconds, timer["rank"] = 0.0, 0.0
        started = time.perf_counter()
        engine.answer(texts[i % len(texts)])
        total = time.perf_counter() - started
        stages["embed"].append(timed.seconds)
        stages["search"].append(timer["rank"])
        stages["format"].append(total - timed.seconds - timer["rank"])
        stages["total"].append(total)
    return {
        "ann_wired_by_bench": patched,
        "first_question_s": first,
        "latency_ms": {k: _percentiles(v) for k, v in stages.items()},
        **_throughput(engine, timed, texts),
    }


def components(index: Index, embedder: Any, analyzer: JapaneseAnalyzer) -> dict[str, Any]:
    """Dense (exact and approximate), BM25 and recall@10 of the approximate path.

    Run in a process of its own: brute force reads every passage vector, which would
    count towards the serving process's peak RSS.
    """
    texts = questions()
    vectors = np.asarray(embedder.embed_queries(texts), np.float32)
    terms = [analyzer.terms(t) for t in texts]
    rng = np.random.default_rng(3)
    rows = rng.choice(len(index.vectors), min(100, len(index.vectors)), replace=False)
    noisy = np.asarray(index.vectors[rows]) + 0.02 * rng.standard_normal((len(rows), 384))
    perturbed = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    probes = np.concatenate([vectors, perturbed])
    return {
        "exact_dense_ms": _mean_ms(lambda q: index.vectors @ q, vectors),
        "ann_dense_ms": _mean_ms(lambda q: ann.dense_candidates(index, q, 128), vectors),
        "bm25_ms": _mean_ms(lambda t: index.lexical.scores(t), terms),
        "recall_at_10": ann.recall_at(index, probes, 10),
        "recall_questions": ann.recall_at(index, vectors, 10),
        "recall_perturbed": ann.recall_at(index, perturbed, 10),
        "recall_probes": len(probes),
    }


def _mean_ms(call: Any, items: Any, repeat: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            call(item)
    return (time.perf_counter() - started) / (repeat * len(items)) * 1000


def _throughput(engine: Engine, timed: Timed, texts: list[str]) -> dict[str, Any]:
    batch = [f"{texts[i % len(texts)]} ({i})" for i in range(32)]
    started = time.perf_counter()
    for text in batch:
        engine.answer(text)
    sequential = time.perf_counter() - started
    concurrent = asyncio.run(_concurrent(engine, timed, batch))
    return {
        "sequential_32_s": sequential,
        "concurrent_32_s": concurrent,
        "throughput_gain": sequential / concurrent,
    }


async def _concurrent(engine: Engine, timed: Timed, batch: list[str]) -> float:
    """32 questions at once: one batched encoder call, then search in worker threads."""
    batcher = QueryBatcher(timed.inner, max_batch=32, max_wait_ms=3)

    async def ask(text: str) -> None:
        timed.ready[text] = await batcher.embed(text)
        await asyncio.to_thread(engine.answer, text)

    started = time.perf_counter()
    await asyncio.gather(*(ask(t) for t in batch))
    return time.perf_counter() - started
