"""Bring the index up to date with the corpus, embedding only what is new.

Files whose size and modification time match the last snapshot are not even parsed;
passages whose text is unchanged reuse their vectors; only the rest go to the model,
in small batches so questions can use the model in between.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from bot import index as index_store
from bot.corpus import (
    Article,
    Skipped,
    UnreadableArticle,
    article_files,
    read_article,
    read_site_config,
)
from bot.embeddings import Embedder
from bot.index import Index, IndexParams
from bot.lexical import JapaneseAnalyzer, LexicalIndex
from bot.passages import Passage, split_article

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """Where the articles are and how to split and link them."""

    root: Path
    site_url: str
    timezone: str
    passage_chars: int = 320
    overlap: int = 1


@dataclass(frozen=True, slots=True)
class ReindexReport:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    skipped: tuple[Skipped, ...]
    passages: int
    embedded: int
    reused: int
    seconds: float
    version: str

    @property
    def articles(self) -> int:
        return len(self.added) + len(self.changed) + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.articles} articles ({len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped), {self.passages} passages "
            f"({self.embedded} embedded, {self.reused} reused) in {self.seconds:.1f} s"
        )


@dataclass(slots=True)
class _Plan:
    articles: dict[str, Article] = field(default_factory=dict)
    reused_sources: set[str] = field(default_factory=set)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def refresh(
    spec: CorpusSpec,
    embedder: Embedder,
    analyzer: JapaneseAnalyzer,
    cache_dir: Path,
    previous: Index | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> tuple[Index, ReindexReport]:
    """The index for the corpus as it is now, saved to the cache when anything changed."""
    started = time.perf_counter()
    params = IndexParams(embedder.name, embedder.dimension, spec.passage_chars, spec.overlap)
    if previous is None or previous.params != params:
        previous = index_store.load(cache_dir, params)
    plan = _plan(spec, previous, now)
    removed = sorted(set(previous.articles if previous else ()) - set(plan.articles))
    index, embedded = _assemble(plan, params, spec, previous, embedder, analyzer, progress)
    if previous is None or index.version != previous.version or removed:
        index_store.save(index, cache_dir)
    else:
        index = previous
    report = ReindexReport(
        added=tuple(plan.added),
        changed=tuple(plan.changed),
        removed=tuple(removed),
        unchanged=len(plan.reused_sources),
        skipped=tuple(plan.skipped),
        passages=len(index.passages),
        embedded=embedded,
        reused=len(index.passages) - embedded,
        seconds=time.perf_counter() - started,
        version=index.version,
    )
    return index, report


def _plan(spec: CorpusSpec, previous: Index | None, now: datetime | None) -> _Plan:
    """Sort files into unchanged (by size and mtime), added, changed and skipped."""
    site = read_site_config(spec.root, spec.site_url, spec.timezone)
    now = now or datetime.now(site.tz)
    known = previous.articles if previous else {}
    plan = _Plan()
    for path in article_files(spec.root):
        source = path.relative_to(spec.root).as_posix()
        old = known.get(source)
        if old is not None and _same_file(path, old):
            plan.articles[source] = old
            plan.reused_sources.add(source)
            continue
        try:
            article = read_article(path, source, site)
        except UnreadableArticle as exc:
            log.warning("skipped %s: %s", source, exc)
            plan.skipped.append(Skipped(source, str(exc)))
            continue
        if article is None or article.date > now:
            continue
        plan.articles[source] = article
        (plan.changed if old is not None else plan.added).append(source)
    return plan


def _same_file(path: Path, article: Article) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == article.size and stat.st_mtime_ns == article.mtime_ns


def _assemble(
    plan: _Plan,
    params: IndexParams,
    spec: CorpusSpec,
    previous: Index | None,
    embedder: Embedder,
    analyzer: JapaneseAnalyzer,
    progress: Progress | None,
) -> tuple[Index, int]:
    passages = _passages(plan, spec, previous)
    old_rows = previous.row_of_hash() if previous else {}
    missing = [p for p in passages if p.content_hash not in old_rows]
    fresh = _embed(missing, embedder, progress)
    vectors = np.zeros((len(passages), params.dimension), np.float32)
    sentence_rows: list[np.ndarray] = []
    terms: list[list[str]] = []
    for row, passage in enumerate(passages):
        if passage.content_hash in fresh:
            vectors[row], sentences = fresh[passage.content_hash]
            terms.append(analyzer.terms(passage.embedding_text))
        else:
            assert previous is not None
            old = old_rows[passage.content_hash]
            vectors[row], sentences = previous.vectors[old], previous.sentences_of(old)
            terms.append(previous.terms[old])
        sentence_rows.append(np.asarray(sentences, np.float16))
    sentence_vectors = _stack(sentence_rows, params.dimension)
    lexical = LexicalIndex.build(terms)
    index = Index(params, plan.articles, passages, vectors, lexical, terms, sentence_vectors)
    return index, len(missing)


def _stack(rows: list[np.ndarray], dimension: int) -> np.ndarray:
    return np.concatenate(rows) if rows else np.zeros((0, dimension), np.float16)


def _passages(plan: _Plan, spec: CorpusSpec, previous: Index | None) -> list[Passage]:
    """Unchanged articles keep their stored passages; the others are split afresh."""
    by_source: dict[str, list[Passage]] = {}
    if previous is not None:
        for passage in previous.passages:
            if passage.source in plan.reused_sources:
                by_source.setdefault(passage.source, []).append(passage)
    out: list[Passage] = []
    for source in sorted(plan.articles):
        stored = by_source.get(source)
        if stored is None:
            stored = split_article(plan.articles[source], spec.passage_chars, spec.overlap)
        out.extend(stored)
    return out


def _embed(
    passages: Sequence[Passage], embedder: Embedder, progress: Progress | None, batch: int = 16
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Passage and sentence vectors, a small batch at a time so questions can interleave."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    total = len(passages)
    for start in range(0, total, batch):
        chunk = passages[start : start + batch]
        texts = [p.embedding_text for p in chunk]
        sentences = [s.text for p in chunk for s in p.sentences]
        vectors = embedder.embed_documents(texts + sentences)
        cursor = len(chunk)
        for row, passage in enumerate(chunk):
            count = len(passage.sentences)
            out[passage.content_hash] = (vectors[row], vectors[cursor : cursor + count])
            cursor += count
        if progress is not None:
            progress(min(start + batch, total), total)
    return out
