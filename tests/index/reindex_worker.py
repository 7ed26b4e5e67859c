"""Child processes for the reindex lock tests: racing refreshes, lock holders, killed writers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.index import snapshot
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.index.refresh import params_for as refresh_params
from bot.index.snapshot import IndexParams
from tests.fakes import HashEmbedder

SITE_URL = "http://localhost:4000"
DIMENSION = 32


def spec_for(site: Path) -> CorpusSpec:
    return CorpusSpec(site, SITE_URL, "Asia/Tokyo", passage_chars=40, overlap=0)


def params_for(site: Path) -> IndexParams:
    return refresh_params(spec_for(site), HashEmbedder(DIMENSION))


def serve(site: str, caches: list[str], barrier: Any, results: Any) -> None:
    """Refresh each cache in turn once every party has reached the barrier; report outcomes."""
    analyzer = JapaneseAnalyzer()
    for cache in caches:
        barrier.wait()
        try:
            refresh(spec_for(Path(site)), HashEmbedder(DIMENSION), analyzer, Path(cache))
            results.put((cache, ""))
        except Exception as exc:  # reported to the test, which fails on it
            results.put((cache, repr(exc)))


def hold_lock(cache: str, held: Any, release: Any) -> None:
    """Hold the cache's reindex lock until told to let go."""
    with snapshot.exclusive(Path(cache)):
        held.set()
        release.wait(60)


def die_while_building(site: str, cache: str) -> None:
    """Killed inside a reindex's scratch folder, holding the lock."""
    with snapshot.build_workdir(Path(cache), params_for(Path(site))) as workdir:
        (workdir / "fresh-vectors.bin").write_bytes(b"\0" * 64)
        os.kill(os.getpid(), signal.SIGKILL)


def die_while_saving(site: str, cache: str) -> None:
    """Killed halfway through writing a snapshot, like a reindex stopped by the OOM killer."""

    def half_write(index: snapshot.Index, folder: Path) -> None:
        (folder / "vectors.npy").write_bytes(b"\0" * 64)
        os.kill(os.getpid(), signal.SIGKILL)

    snapshot._write_snapshot = half_write
    refresh(spec_for(Path(site)), HashEmbedder(DIMENSION), JapaneseAnalyzer(), Path(cache))


class SlowEmbedder(HashEmbedder):
    """The fake model, slowed per batch so a test can kill the indexer between batches."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(0.1)
        return super().embed_documents(texts)


def index_slowly(site: str, cache: str) -> None:
    """A first index with the slow fake model (the test kills it midway)."""
    refresh(spec_for(Path(site)), SlowEmbedder(DIMENSION), JapaneseAnalyzer(), Path(cache))
