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
from bot.index.refresh import (
    CorpusSpec,
    Progress,
    ReindexReport,
    SiteReadFailed,
    current_index,
    newer_snapshot,
    refresh,
    stop_reading,
)
from bot.index.snapshot import Index
from bot.retrieval.answers import Answer
from bot.retrieval.assessment import Assessment, Assessor, title_vocabulary
from bot.retrieval.confidence import Thresholds, model_for, thresholds_for
from bot.retrieval.coverage import measure, probe_vectors
from bot.retrieval.query import Query, clean_question
from bot.retrieval.serving import READERS, Options, Serving
from bot.retrieval.timing import Stopwatch
from bot.retrieval.verdict import decide
from bot.settings import Settings

log = logging.getLogger(__name__)


class ReindexInProgress(Exception):
    """A reindex is already running; the caller should say so rather than start another."""


class ReindexFailed(Exception):
    """The site could not be read; the index in use keeps serving."""


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
        self.thresholds: Thresholds = thresholds_for(
            embedder.name, config.answer_threshold, config.related_threshold
        )
        self.model = model_for(embedder.name)
        self._assessor = Assessor(self.analyzer)
        self._probes = probe_vectors(embedder, config.cache_dir)
        self.serving = self._serving_for(index)
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

    @classmethod
    def load(cls, config: EngineConfig, embedder: Embedder) -> Engine | None:
        """The engine on the current snapshot, as the last reindex (in any process) saved
        it, or None when there is none yet (blocking). Reads no article, embeds no passage
        and takes no lock: a reindex running elsewhere never makes it wait."""
        index = current_index(config.spec, embedder, config.cache_dir)
        return None if index is None else cls(config, embedder, index)

    @property
    def index(self) -> Index:
        return self.serving.index

    def _serving_for(self, index: Index) -> Serving:
        """`index` with its null measured: the probes' best cosines there (blocking)."""
        titles = title_vocabulary(self.analyzer, index)
        return Serving(index, measure(index, self._probes), titles)

    # -- questions -------------------------------------------------------------------
    def answer(self, question: str, options: Options = READERS) -> Answer:
        """Answer one raw question (blocking: call `ask` from async code).

        The one way a question is answered; `Answer.timings_ms` says where the time went.
        A `none` answer shows nothing unless `options.keep_ranking`.
        """
        return self._respond(self.clean(question), options, None)

    async def ask(self, question: str, options: Options = READERS) -> Answer:
        """`answer`, off the event loop; concurrent questions share one encoder call."""
        query = self.clean(question)
        vector = None if query.empty else await self._batcher().embed(query.text)
        return await asyncio.to_thread(self._respond, query, options, vector)

    def clean(self, question: str) -> Query:
        """The searchable text of a raw question; every entry point cleans exactly once."""
        return clean_question(question, self.config.max_question_chars)

    def evidence(
        self, query: Query, vector: np.ndarray, options: Options = READERS
    ) -> tuple[Serving, Assessment]:
        """What `answer` decides from, without deciding (`eval` fits its choices on it)."""
        serving = self.serving
        found = self._assessor.assess(
            serving, query, vector, self._k(options), options, Stopwatch()
        )
        return serving, found

    def _respond(self, query: Query, options: Options, vector: np.ndarray | None) -> Answer:
        """Encode (unless `vector` is given), assess, decide; each stage timed."""
        watch = Stopwatch()
        serving = self.serving  # one consistent index for the whole question, even mid-swap
        if query.empty:
            notice = "The question has no words to search for."
            version = serving.index.version
            return Answer(query.text, "none", (), 0.0, query.language, version, notice=notice)
        if vector is None:
            vector = self.embedder.embed_queries([query.text])[0]
        watch.lap("encode")
        found = self._assessor.assess(serving, query, vector, self._k(options), options, watch)
        verdict = decide(serving.index, found, self.model, self.thresholds)
        watch.lap("confidence")
        times = watch.finish()
        return Answer(
            question=query.text,
            tier=verdict.tier,
            results=verdict.ranking if options.keep_ranking else verdict.shown,
            confidence=verdict.confidence,
            language=query.language,
            index_version=serving.index.version,
            latency_ms=times.total_ms,
            timings_ms=times.stages_ms(),
        )

    def _k(self, options: Options) -> int:
        return options.k or self.config.top_k

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
            try:
                serving, report = await asyncio.to_thread(self._rebuilt, progress)
            except SiteReadFailed as exc:
                log.warning("reindex failed, the index in use keeps serving: %s", exc)
                raise ReindexFailed(str(exc)) from None
            self.serving = serving
        log.info("reindexed: %s", report.summary())
        return report

    def _rebuilt(self, progress: Progress | None) -> tuple[Serving, ReindexReport]:
        index, report = refresh(
            self.config.spec,
            self.embedder,
            self.analyzer,
            self.config.cache_dir,
            self.index,
            progress,
        )
        return self._serving_for(index), report

    async def adopt_newer(self) -> bool:
        """Switch to a snapshot another process (the `reindex` command, a cron job) made
        current since this index was loaded; True if it switched. The check reads one
        small file; the new index is loaded off the event loop, and a reindex of our own
        in progress goes first (its snapshot is the newer one)."""
        spec, cache_dir = self.config.spec, self.config.cache_dir
        if self._reindex_lock.locked() or not newer_snapshot(
            spec, self.embedder, cache_dir, self.index
        ):
            return False
        async with self._reindex_lock:
            index = await asyncio.to_thread(current_index, spec, self.embedder, cache_dir)
            if index is None or index.snapshot == self.index.snapshot:
                return False
            self.serving = await asyncio.to_thread(self._serving_for, index)
        log.info("switched to the index another process saved (%s)", index.snapshot)
        return True

    def stop_reindexing(self) -> None:
        """Make a reindex in progress give up now (the index in use stays), so shutting
        down never waits out a hostile file's allowance."""
        if self._reindex_lock.locked():
            stop_reading()

    def categories(self) -> list[str]:
        return sorted({c for a in self.index.articles.values() for c in a.categories})

    def tags(self) -> list[str]:
        return sorted({t for a in self.index.articles.values() for t in a.tags})
