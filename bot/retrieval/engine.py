"""The core: question in, typed answer out. No Discord here; the CLI, tests and bot share it.

Embedding and search are CPU work, so the async entry points run them in a worker
thread and the event loop (and Discord's heartbeat) never waits on them. A reindex
builds a whole new index beside the old one and swaps it in with one assignment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.corpus.links import absolute_url
from bot.embedding.batching import QueryBatcher
from bot.embedding.models import Embedder
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, Progress, ReindexReport, refresh
from bot.index.snapshot import Index
from bot.retrieval.answers import Answer, Result, Tier
from bot.retrieval.confidence import (
    AnswerType,
    Thresholds,
    confidence,
    missing_answer_type,
    model_for,
    thresholds_for,
    tier_for,
)
from bot.retrieval.excerpts import make_excerpt
from bot.retrieval.query import Query, clean_question, name_words
from bot.retrieval.search import Filters, Hit, Mode, Signals, article_mask, rank, term_coverage
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


@dataclass(frozen=True, slots=True)
class Assessment:
    """The evidence a tier is decided from; `eval --calibrate` fits the model on it."""

    hits: list[Hit]
    signals: Signals
    excerpts: list[str]  # one per hit, as shown
    missing_type: AnswerType | None  # asked for, but stated by no excerpt about the question


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
        self._titles: tuple[str, frozenset[str]] = ("", frozenset())
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
        mode: Mode = "hybrid",
        keep_results: bool = False,
        query_vector: np.ndarray | None = None,
    ) -> Answer:
        """Answer one question (blocking: call `ask` from async code).

        A `none` answer shows nothing; `keep_results` keeps its ranking for evaluation.
        """
        started = time.perf_counter()
        query = clean_question(question, self.config.max_question_chars)
        index = self.index  # one consistent index for the whole question, even mid-swap
        if query.empty:
            return self._unusable(query, index, "The question has no words to search for.")
        if query_vector is None:
            query_vector = self.embedder.embed_queries([query.text])[0]
        vector = query_vector
        embedded = time.perf_counter()
        found = self._assess(index, query, vector, k, filters, mode)
        score = confidence(found.signals, self.model, found.missing_type) if found.hits else 0.0
        tier = tier_for(score, self.thresholds) if found.hits else "none"
        results = self._shown(
            tier,
            [
                self._result(index, hit, n, excerpt, self._hit_confidence(found, hit))
                for n, (hit, excerpt) in enumerate(zip(found.hits, found.excerpts, strict=True), 1)
            ],
        )
        finished = time.perf_counter()
        return Answer(
            question=query.text,
            tier=tier,
            results=results if tier != "none" or keep_results else (),
            best_score=score,
            language=query.language,
            index_version=index.version,
            latency_ms=(finished - started) * 1000,
            timings_ms={
                "embed": (embedded - started) * 1000,
                "search": (finished - embedded) * 1000,
            },
        )

    def assess(self, question: str, k: int | None = None, mode: Mode = "hybrid") -> Assessment:
        """The evidence `answer` decides from, without deciding (for calibration)."""
        query = clean_question(question, self.config.max_question_chars)
        vector = self.embedder.embed_queries([query.text])[0]
        return self._assess(self.index, query, vector, k, None, mode)

    def _assess(
        self,
        index: Index,
        query: Query,
        vector: np.ndarray,
        k: int | None,
        filters: Filters | None,
        mode: Mode,
    ) -> Assessment:
        terms = self.analyzer.terms(query.text)
        hits = rank(
            index, vector, terms, k or self.config.top_k, mode, article_mask(index, filters)
        )
        absent = self._absent_names(index, query)
        signals = question_signals(index, hits, terms, query.language, absent)
        excerpts = [self._excerpt(index, hit, terms) for hit in hits]
        return Assessment(hits, signals, excerpts, self._missing_type(query, excerpts))

    def _hit_confidence(self, found: Assessment, hit: Hit) -> float:
        """A result's own score: its evidence, with the question's caps."""
        return confidence(_for_hit(found.signals, hit), self.model, found.missing_type)

    def _missing_type(self, query: Query, excerpts: Sequence[str]) -> AnswerType | None:
        """The date, price or number asked for when no excerpt about the question states it.

        An excerpt counts only if it holds every name of the question: "昨年リリースされた
        Llama 3" does not say when Llama 4 comes out.
        """
        names = {t for w in name_words(query.text, query.language) for t in self.analyzer.terms(w)}
        about = [e for e in excerpts if names <= set(self.analyzer.terms(e.replace("**", "")))]
        return missing_answer_type(query.text, query.language, about)

    async def ask(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        """`answer`, off the event loop; concurrent questions share one encoder call."""
        query = clean_question(question, self.config.max_question_chars)
        vector = None if query.empty else await self._batcher().embed(query.text)
        return await asyncio.to_thread(self.answer, question, k, filters, "hybrid", False, vector)

    def _batcher(self) -> QueryBatcher:
        """One micro-batcher per event loop (the CLI and tests may run several loops)."""
        loop = asyncio.get_running_loop()
        if self._query_batcher is None or self._batcher_loop is not loop:
            self._query_batcher, self._batcher_loop = QueryBatcher(self.embedder), loop
        return self._query_batcher

    def _unusable(self, query: Query, index: Index, notice: str) -> Answer:
        return Answer(query.text, "none", (), 0.0, query.language, index.version, notice=notice)

    def _absent_names(self, index: Index, query: Query) -> list[str]:
        """Names in the question that no passage, title, category or tag uses."""
        vocabulary = self._title_vocabulary(index)
        absent = []
        for word in name_words(query.text, query.language):
            found = self.analyzer.terms(word)
            unknown = found and index.lexical.document_frequency(found[0]) == 0
            if unknown and found[0] not in vocabulary:
                absent.append(word)
        return absent

    def _title_vocabulary(self, index: Index) -> frozenset[str]:
        """Terms of titles, categories and tags: a name may appear only there ("$50B")."""
        if self._titles[0] != index.version:
            texts = [" ".join([a.title, *a.categories, *a.tags]) for a in index.articles.values()]
            self._titles = (
                index.version,
                frozenset(t for x in texts for t in self.analyzer.terms(x)),
            )
        return self._titles[1]

    def _excerpt(self, index: Index, hit: Hit, terms: Sequence[str]) -> str:
        weights = {t: index.lexical.idf(t) for t in terms if index.lexical.document_frequency(t)}
        return make_excerpt(
            hit.sentences,
            hit.sentence_scores,
            hit.best,
            set(terms),
            self.analyzer,
            term_weights=weights,
        )

    def _shown(self, tier: Tier, results: list[Result]) -> tuple[Result, ...]:
        """Label each excerpt with its own tier (capped by the answer's) and drop, after
        the first, those too weak to be even related, so a confident answer is not padded."""
        order = {"answer": 0, "related": 1, "none": 2}
        shown: list[Result] = []
        for result in results:
            own = tier_for(result.score, self.thresholds)
            label = own if order[own] > order[tier] else tier
            if label == "none" and shown:
                continue
            shown.append(replace(result, tier=label if label != "none" else tier))
        return tuple(shown)

    def _result(self, index: Index, hit: Hit, rank_: int, excerpt: str, score: float) -> Result:
        passage = index.passages[hit.row]
        article = index.articles[passage.source]
        url = absolute_url(article.url, "", "", passage.anchor) if passage.anchor else article.url
        return Result(
            title=article.title,
            url=url,
            date=article.day,
            heading=passage.heading,
            excerpt=excerpt,
            score=round(score, 4),
            source=article.source,
            passage_id=passage.id,
            rank=rank_,
        )

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


def question_signals(
    index: Index,
    hits: list[Hit],
    terms: Sequence[str],
    language: str = "ja",
    absent_names: Sequence[str] = (),
) -> Signals:
    """Evidence about the question as a whole, beyond its best cosine."""
    if not hits:
        return Signals(0.0, 0.0, 0.0, language == "en", tuple(absent_names), 0.0)
    margin = hits[0].relevance - hits[1].relevance if len(hits) > 1 else 0.0
    return Signals(
        relevance=hits[0].relevance,
        top_sentence=hits[0].sentence,
        term_coverage=term_coverage(index, terms),
        english=language == "en",
        absent_names=tuple(absent_names),
        margin=margin,
    )


def _for_hit(signals: Signals, hit: Hit) -> Signals:
    """The question's signals with this hit's own evidence: a result's own score."""
    return replace(signals, relevance=hit.relevance, top_sentence=hit.sentence)
