"""What every measurement shares: paths, the real model, the questions, percentiles, RSS."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import numpy as np

from bot.embedding.models import LoadedEmbedder, load_embedder
from bot.settings import EMBEDDED_MODEL

ROOT = Path(__file__).resolve().parents[1]
SITE = "http://localhost:4000"
TIMEZONE = "Asia/Tokyo"
DEV = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FALLBACK = ROOT / "tests" / "data" / "questions.jsonl"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def real_model() -> tuple[LoadedEmbedder, float]:
    """The embedded default model, warmed up, and the seconds loading it took."""
    started = time.perf_counter()
    embedder = load_embedder(EMBEDDED_MODEL, ROOT / "cache")
    embedder.embed_queries(["warm-up"])
    return embedder, time.perf_counter() - started


def questions() -> list[str]:
    """The dev questions where the shared set is present, else the project's own set."""
    path = DEV if DEV.is_file() else FALLBACK
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["question"]) for r in rows]


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    array = np.asarray(seconds) * 1000
    return {f"p{p}": float(np.percentile(array, p)) for p in (50, 95, 99)}
