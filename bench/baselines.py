"""The two bots this one is measured against.

(a) naive: parse everything and embed every passage at start-up, then
    `sentence_transformers.util.semantic_search` over a torch tensor per question;
(b) lexical only: Sudachi terms for every passage and a bm25s index built at start-up.
Where (a) would embed for hours, its start-up is extrapolated from the real model's
measured throughput, and the search runs over stand-in vectors of the same shape.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from bench.common import SITE, TIMEZONE, peak_rss_mb, percentiles_ms, questions, real_model
from bot.corpus.passages import split_article
from bot.corpus.reader import load_corpus
from bot.index.analysis import JapaneseAnalyzer
from tests.fakes import StandInEmbedder


def _passages(corpus: Path) -> tuple[list[str], float]:
    started = time.perf_counter()
    articles = load_corpus(corpus, SITE, TIMEZONE).articles
    texts = [p.embedding_text for a in articles for p in split_article(a)]
    return texts, time.perf_counter() - started


def phase_naive(args: dict[str, Any]) -> dict[str, Any]:
    import torch
    from sentence_transformers import util

    embedder, _ = real_model()
    texts, parse_s = _passages(Path(args["corpus"]))
    rate = float(args["naive_rate"])
    if args.get("real"):
        started = time.perf_counter()
        vectors = embedder.embed_documents(texts)
        embed_s, measured = time.perf_counter() - started, True
    else:  # hours of embedding: extrapolate, and search stand-in vectors of the same shape
        vectors = StandInEmbedder(embedder.name).embed_documents(texts)
        embed_s, measured = len(texts) / rate, False
    table = torch.from_numpy(np.asarray(vectors, np.float32))
    asked = questions()[:12]
    latencies = []
    for i in range(args.get("questions", 120)):
        started = time.perf_counter()
        query = torch.from_numpy(embedder.embed_queries([asked[i % len(asked)]]))
        util.semantic_search(query, table, top_k=3)
        latencies.append(time.perf_counter() - started)
    return {
        "start_s": parse_s + embed_s,
        "start_measured": measured,
        "latency_ms": percentiles_ms(latencies),
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_bm25(args: dict[str, Any]) -> dict[str, Any]:
    analyzer = JapaneseAnalyzer()
    texts, parse_s = _passages(Path(args["corpus"]))
    started = time.perf_counter()
    limit = args.get("analyse_limit", len(texts))
    terms = [analyzer.terms(t) for t in texts[:limit]]
    analyse_s = (time.perf_counter() - started) * len(texts) / max(limit, 1)
    if limit < len(texts):  # the rest analyses at the same rate: reuse the sample's terms
        terms = [terms[i % limit] for i in range(len(texts))]
    started = time.perf_counter()
    model = bm25s.BM25()
    model.index(terms, show_progress=False)
    build_s = time.perf_counter() - started
    asked = questions()[:12]
    latencies = []
    for i in range(args.get("questions", 120)):
        started = time.perf_counter()
        query = analyzer.terms(asked[i % len(asked)])
        model.retrieve([query], k=3, show_progress=False, n_threads=1)
        latencies.append(time.perf_counter() - started)
    return {
        "start_s": parse_s + analyse_s + build_s,
        "start_measured": limit == len(texts),
        "latency_ms": percentiles_ms(latencies),
        "peak_rss_mb": peak_rss_mb(),
    }
