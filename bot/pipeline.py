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

from bot.answers import Answer, Result
from bot.confidence import Thresholds, confidence, model_for, thresholds_for, tier_for
from bot.embeddings import Embedder
from bot.excerpts import make_excerpt
from bot.index import Index
from bot.indexer import CorpusSpec, Progress, ReindexReport, refresh
from bot.lexical import JapaneseAnalyzer
from bot.links import absolute_url
from bot.query import Query, clean_question, name_words
from bot.search import Filters, Hit, Mode, Signals, article_mask, rank, term_coverage
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
        self._titles: tuple[str, frozenset[str]] = ("", frozenset())
        self._reindex_lock = asyncio.Lock()

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
    ) -> Answer:
        """Answer one question (blocking: call `ask` from async code).

        A `none` answer shows nothing; `keep_results` keeps its ranking for evaluation.
        """
        started = time.perf_counter()
        query = clean_question(question, self.config.max_question_chars)
        index = self.index  # one consistent index for the whole question, even mid-swap
        if query.empty:
            return self._unusable(query, index, "The question has no words to search for.")
        vector = self.embedder.embed_queries([query.text])[0]
        embedded = time.perf_counter()
        terms = self.analyzer.terms(query.text)
        hits = rank(
            index, vector, terms, k or self.config.top_k, mode, article_mask(index, filters)
        )
        absent = self._absent_names(index, query)
        signals = question_signals(index, hits, terms, query.language, absent)
        score = confidence(signals, self.model) if hits else 0.0
        tier = tier_for(score, self.thresholds) if hits else "none"
        results = tuple(
            self._result(index, hit, n, terms, confidence(_for_hit(signals, hit), self.model))
            for n, hit in enumerate(hits, 1)
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

    async def ask(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        """`answer`, off the event loop."""
        return await asyncio.to_thread(self.answer, question, k, filters)

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

    def _result(
        self, index: Index, hit: Hit, rank_: int, terms: Sequence[str], score: float
    ) -> Result:
        passage = index.passages[hit.row]
        article = index.articles[passage.source]
        weights = {t: index.lexical.idf(t) for t in terms if index.lexical.document_frequency(t)}
        excerpt = make_excerpt(
            hit.sentences,
            hit.sentence_scores,
            hit.best,
            set(terms),
            self.analyzer,
            term_weights=weights,
        )
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
