"""One measurement per fresh process, so each peak RSS is its own.

`python -m bench.phases PHASE ARGS_JSON` prints one JSON line of results.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench import corpus as synthetic
from bench.baselines import phase_bm25, phase_naive
from bench.common import ROOT, SITE, TIMEZONE, peak_rss_mb, real_model
from bench.serving import components, serve
from bench.sites import phase_site_cold, phase_site_serve
from bot.corpus.passages import split_article
from bot.corpus.reader import load_corpus
from bot.embedding.models import Embedder
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from tests.fakes import StandInEmbedder

Phase = Callable[[dict[str, Any]], dict[str, Any]]


def spec_for(args: dict[str, Any]) -> CorpusSpec:
    return CorpusSpec(
        Path(args["corpus"]), SITE, TIMEZONE, approximate_min_passages=args["ann_min"]
    )


def phase_rate(args: dict[str, Any]) -> dict[str, Any]:
    """Real-model embedding throughput, as the indexer batches and as a naive bot would."""
    embedder, load_s = real_model()
    articles = load_corpus(ROOT / "corpus", SITE, TIMEZONE).articles
    passages = [p for a in articles for p in split_article(a)][: args.get("sample", 64)]
    started = time.perf_counter()
    for i in range(0, len(passages), 16):
        chunk = passages[i : i + 16]
        embedder.embed_documents(
            [p.embedding_text for p in chunk] + [s.text for p in chunk for s in p.sentences]
        )
    indexer_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder.embed_documents([p.embedding_text for p in passages])
    naive_s = time.perf_counter() - started
    return {
        "model": embedder.name,  # the stand-in's name, so the real model finds its cache warm
        "dimension": embedder.dimension,
        "model_load_s": load_s,
        "sample": len(passages),
        "indexer_passages_per_s": len(passages) / indexer_s,
        "naive_passages_per_s": len(passages) / naive_s,
    }


def phase_cold(args: dict[str, Any]) -> dict[str, Any]:
    """First index of the blog: stand-in vectors (or the real model for small blogs)."""
    stand_in = None if args.get("real") else StandInEmbedder(args["model"], args["dimension"])
    embedder: Embedder = real_model()[0] if stand_in is None else stand_in
    started = time.perf_counter()
    index, report = refresh(spec_for(args), embedder, JapaneseAnalyzer(), Path(args["cache"]))
    total = time.perf_counter() - started
    return {
        "cold_s": total,
        "standin_embed_s": None if stand_in is None else stand_in.seconds,
        "articles": report.articles,
        "passages": report.passages,
        "sentences": int(index.sentence_offsets[-1]),
        "distinct": len(set(index.table.hex_hashes())),
        "embedded": report.embedded,
        "ann": index.ann is not None,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_incremental(args: dict[str, Any]) -> dict[str, Any]:
    """Edit 1% of the articles, then reindex with the cache present."""
    edited = synthetic.edit(Path(args["corpus"]), args["n"], 0.01)
    embedder = StandInEmbedder(args["model"], args["dimension"])
    started = time.perf_counter()
    _, report = refresh(spec_for(args), embedder, JapaneseAnalyzer(), Path(args["cache"]))
    return {
        "edited": edited,
        "incremental_s": time.perf_counter() - started,
        "standin_embed_s": embedder.seconds,
        "embedded": report.embedded,
        "changed": len(report.changed),
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_serve(args: dict[str, Any]) -> dict[str, Any]:
    embedder, load_s = real_model()
    started = time.perf_counter()
    index, report = refresh(spec_for(args), embedder, JapaneseAnalyzer(), Path(args["cache"]))
    warm_s = time.perf_counter() - started
    assert report.embedded == 0 and not report.changed, report.summary()
    out = serve(args, embedder, index)
    return {"model_load_s": load_s, "warm_s": warm_s, **out, "peak_rss_mb": peak_rss_mb()}


def phase_dense(args: dict[str, Any]) -> dict[str, Any]:
    """Dense lookup and BM25 alone, and the approximate index's recall (its own process)."""
    embedder, _ = real_model()
    analyzer = JapaneseAnalyzer()
    index, _ = refresh(spec_for(args), embedder, analyzer, Path(args["cache"]))
    return components(index, embedder, analyzer)


PHASES: dict[str, Phase] = {
    "rate": phase_rate,
    "cold": phase_cold,
    "incremental": phase_incremental,
    "serve": phase_serve,
    "dense": phase_dense,
    "naive": phase_naive,
    "bm25": phase_bm25,
    "site_cold": phase_site_cold,
    "site_serve": phase_site_serve,
}


def main() -> None:
    phase, raw = sys.argv[1], sys.argv[2]
    result = PHASES[phase](json.loads(raw))
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
