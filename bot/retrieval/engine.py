"""The core: question in, typed answer out. No Discord here; the CLI, tests and bot share it.

The engine only orchestrates: it cleans the raw question (once), encodes it, has
`assessment` gather the evidence and `verdict` decide, and times each stage. Embedding
and search are CPU work, so the async entry points run them in a worker thread and the
event loop (and Discord's heartbeat) never waits on them. A reindex builds a whole new
index beside the old one and swaps it in with one assignment.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.embedding.batching import QueryBatcher
from bot.embedding.models import Embedder
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, Progress, ReindexReport, refresh
from bot.index.snapshot import Index
from bot.retrieval.answers import Answer
from bot.retrieval.assessment import Assessment, Assessor
from bot.retrieval.confidence import Thresholds, model_for, thresholds_for
from bot.retrieval.query import Query, clean_question
from bot.retrieval.search import DIVERSITY, SHIPPED_MODE, Filters, Mode
from bot.retrieval.timing import StageTimes, Stopwatch
from bot.retrieval.verdict import decide
from bot.settings import Settings

log = logging.getLogger(__name__)


class ReindexInProgress(Exception):
    """A reindex is already running; the caller should say so rather than start another."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    spec: CorpusSpec
    cache_dir: Path
    top_k: int = 3
    max_question_chars: int = 500
    answer_threshold: float | None = None
    related_threshold: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineConfig:
        spec = CorpusSpec(
            root=settings.corpus_dir,
            site_url=settings.site_url,
            timezone=settings.timezone,
            passage_chars=settings.passage_chars,
            overlap=settings.passage_overlap_sentences,
            approximate_min_passages=settings.approximate_index_min_passages,
        )
        return cls(
            spec,
            settings.cache_dir,
            settings.top_k,
            settings.max_question_chars,
            settings.answer_threshold,
            settings.related_threshold,
        )


class Engine:
    """Holds the model and the current index; answers questions against it."""

    def __init__(self, config: EngineConfig, embedder: Embedder, index: Index) -> None:
        self.config = config
        self.embedder = embedder
        self.analyzer = JapaneseAnalyzer()
        self.index = index
        self.thresholds: Thresholds = thresholds_for(
            embedder.name, config.answer_threshold, config.related_threshold
        )
        self.model = model_for(embedder.name)
        self._assessor = Assessor(self.analyzer)
        self._reindex_lock = asyncio.Lock()
        self._query_batcher: QueryBatcher | None = None
        self._batcher_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def open(
        cls, config: EngineConfig, embedder: Embedder, progress: Progress | None = None
    ) -> tuple[Engine, ReindexReport]:
        """Load the cached index and bring it up to date with the corpus (blocking)."""
        index, report = refresh(
            config.spec, embedder, JapaneseAnalyzer(), config.cache_dir, progress=progress
        )
        return cls(config, embedder, index), report

    # -- questions -------------------------------------------------------------------
    def answer(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = SHIPPED_MODE,
    ) -> Answer:
        """Answer one raw question (blocking: call `ask` from async code).

        A `none` answer shows nothing.
        """
        return self.answer_timed(question, k, filters, mode)[0]

    def answer_timed(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = SHIPPED_MODE,
    ) -> tuple[Answer, StageTimes]:
        """`answer`, with the milliseconds each stage of it took (for the benchmark)."""
        return self._respond(self.clean(question), k, filters, mode, None, keep_ranking=False)

    async def ask(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        """`answer`, off the event loop; concurrent questions share one encoder call."""
        query = self.clean(question)
        vector = None if query.empty else await self._batcher().embed(query.text)
        answer, _ = await asyncio.to_thread(
            self._respond, query, k, filters, SHIPPED_MODE, vector, False
        )
        return answer

    def answer_for_evaluation(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = SHIPPED_MODE,
        vector: np.ndarray | None = None,
        diversity: float = DIVERSITY,
    ) -> Answer:
        """`answer`, except that a `none` answer keeps the results it ranked.

        `eval` scores hit@k and evidence on every question, refused or not, and tries
        rankers and diversities on one question vector (`vector`, encoded once).
        """
        query = self.clean(question)
        return self._respond(query, k, filters, mode, vector, True, diversity)[0]

    def assess(
        self,
        question: str,
        k: int | None = None,
        mode: Mode = SHIPPED_MODE,
        vector: np.ndarray | None = None,
        diversity: float = DIVERSITY,
    ) -> Assessment:
        """The evidence `answer` decides from, without deciding (for calibration)."""
        query = self.clean(question)
        if vector is None:
            vector = self.embedder.embed_queries([query.text])[0]
        return self._assessor.assess(
            self.index, query, vector, self._k(k), None, mode, Stopwatch(), diversity
        )

    def clean(self, question: str) -> Query:
        """The searchable text of a raw question; every entry point cleans exactly once."""
        return clean_question(question, self.config.max_question_chars)

    def _respond(
        self,
        query: Query,
        k: int | None,
        filters: Filters | None,
        mode: Mode,
        vector: np.ndarray | None,
        keep_ranking: bool,
        diversity: float = DIVERSITY,
    ) -> tuple[Answer, StageTimes]:
        """Encode (unless `vector` is given), assess, decide; each stage timed."""
        watch = Stopwatch()
        index = self.index  # one consistent index for the whole question, even mid-swap
        if query.empty:
            notice = "The question has no words to search for."
            unusable = Answer(
                query.text, "none", (), 0.0, query.language, index.version, notice=notice
            )
            return unusable, watch.finish()
        if vector is None:
            vector = self.embedder.embed_queries([query.text])[0]
        watch.lap("encode")
        found = self._assessor.assess(
            index, query, vector, self._k(k), filters, mode, watch, diversity
        )
        verdict = decide(index, found, self.model, self.thresholds)
        watch.lap("confidence")
        times = watch.finish()
        answer = Answer(
            question=query.text,
            tier=verdict.tier,
            results=verdict.ranking if keep_ranking else verdict.shown,
            best_score=verdict.confidence,
            language=query.language,
            index_version=index.version,
            latency_ms=times.total_ms,
            timings_ms=times.stages_ms(),
        )
        return answer, times

    def _k(self, k: int | None) -> int:
        return k or self.config.top_k

    def _batcher(self) -> QueryBatcher:
        """One micro-batcher per event loop (the CLI and tests may run several loops)."""
        loop = asyncio.get_running_loop()
        if self._query_batcher is None or self._batcher_loop is not loop:
            self._query_batcher, self._batcher_loop = QueryBatcher(self.embedder), loop
        return self._query_batcher

    # -- corpus ----------------------------------------------------------------------
    @property
    def reindexing(self) -> bool:
        return self._reindex_lock.locked()

    async def reindex(self, progress: Progress | None = None) -> ReindexReport:
        """Rebuild in a worker thread while questions keep using the old index; then swap."""
        if self._reindex_lock.locked():
            raise ReindexInProgress
        async with self._reindex_lock:
            index, report = await asyncio.to_thread(
                refresh,
                self.config.spec,
                self.embedder,
                self.analyzer,
                self.config.cache_dir,
                self.index,
                progress,
            )
            self.index = index
        log.info("reindexed: %s", report.summary())
        return report

    def categories(self) -> list[str]:
        return sorted({c for a in self.index.articles.values() for c in a.categories})

    def tags(self) -> list[str]:
        return sorted({t for a in self.index.articles.values() for t in a.tags})
