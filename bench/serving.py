"""Question latency by stage, throughput under 32 concurrent questions, ANN recall.

Everything goes through the engine's public API, as the bot and the CLI call it:
`Answer.timings_ms` says how long each stage of a question took (encode, search,
excerpts, confidence and the total), and each becomes a row of the table.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bench.common import SITE, TIMEZONE, percentiles_ms, questions
from bot.embedding.models import Embedder
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec
from bot.index.snapshot import Index
from bot.retrieval.engine import Engine, EngineConfig

TOTAL = "total"

Item = TypeVar("Item")


def serve(args: dict[str, Any], embedder: Embedder, index: Index) -> dict[str, Any]:
    """Latency of each stage over `questions` questions, after a separately timed first."""
    spec = CorpusSpec(Path(args["corpus"]), SITE, TIMEZONE)
    engine = Engine(EngineConfig(spec, Path(args["cache"])), embedder, index)
    texts = questions()
    first = timed_answer(engine, texts[0])[TOTAL]
    stages: dict[str, list[float]] = defaultdict(list)
    for i in range(args.get("questions", 120)):
        for stage, seconds in timed_answer(engine, texts[i % len(texts)]).items():
            stages[stage].append(seconds)
    return {
        "first_question_s": first,
        "latency_ms": {stage: percentiles_ms(seconds) for stage, seconds in stages.items()},
        **_throughput(engine, texts),
    }


def timed_answer(engine: Engine, text: str) -> dict[str, float]:
    """Seconds per stage of one question, as the engine timed them, then `total`."""
    answer = engine.answer(text)
    seconds = {stage: ms / 1000 for stage, ms in answer.timings_ms.items()}
    return {**seconds, "total": answer.latency_ms / 1000}


def components(index: Index, embedder: Embedder, analyzer: JapaneseAnalyzer) -> dict[str, Any]:
    """Dense (exact and approximate), BM25 and recall@10 of the approximate path.

    Run in a process of its own: brute force reads every passage vector, which would
    count towards the serving process's peak RSS.
    """
    texts = questions()
    vectors = np.asarray(embedder.embed_queries(texts), np.float32)
    terms = [analyzer.terms(t) for t in texts]
    rng = np.random.default_rng(3)
    rows = rng.choice(len(index.vectors), min(100, len(index.vectors)), replace=False)
    noise = 0.02 * rng.standard_normal((len(rows), embedder.dimension))
    noisy = np.asarray(index.vectors[rows]) + noise
    perturbed = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    probes = np.concatenate([vectors, perturbed])
    return {
        "exact_dense_ms": _mean_ms(lambda q: index.vectors @ q, list(vectors)),
        "ann_dense_ms": _mean_ms(lambda q: index.dense_candidates(q, 128), list(vectors)),
        "bm25_ms": _mean_ms(index.lexical.scores, terms),
        "recall_at_10": index.dense_recall(probes, 10),
        "recall_questions": index.dense_recall(vectors, 10),
        "recall_perturbed": index.dense_recall(perturbed, 10),
        "recall_probes": len(probes),
    }


def _mean_ms(call: Callable[[Item], object], items: Sequence[Item], repeat: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            call(item)
    return (time.perf_counter() - started) / (repeat * len(items)) * 1000


def _throughput(engine: Engine, texts: list[str]) -> dict[str, Any]:
    """32 questions one after another, then the same 32 at once."""
    batch = [f"{texts[i % len(texts)]} ({i})" for i in range(32)]
    started = time.perf_counter()
    for text in batch:
        engine.answer(text)
    sequential = time.perf_counter() - started
    concurrent = asyncio.run(_concurrent(engine, batch))
    return {
        "sequential_32_s": sequential,
        "concurrent_32_s": concurrent,
        "throughput_gain": sequential / concurrent,
    }


async def _concurrent(engine: Engine, batch: list[str]) -> float:
    """`Engine.ask` as the bot calls it: one shared encoder call, search in worker threads."""
    started = time.perf_counter()
    await asyncio.gather(*(engine.ask(text) for text in batch))
    return time.perf_counter() - started
