"""Bring the index up to date with the corpus, embedding only what is new.

Files whose size and modification time match the last snapshot are not even parsed;
passages whose text is unchanged reuse their vectors; only the rest go to the model,
in small batches so questions can use the model in between.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.corpus.articles import Article, Skipped
from bot.corpus.passages import Passage
from bot.corpus.reader import Read, ReadLimits, SiteReadFailed, Unchanged, read_site
from bot.corpus.reader import stop as stop_reading
from bot.embedding.models import Embedder
from bot.index import resume
from bot.index import snapshot as index_store
from bot.index.analysis import JapaneseAnalyzer
from bot.index.ann import AnnIndex
from bot.index.assembly import Progress, assemble
from bot.index.snapshot import Index, IndexParams

log = logging.getLogger(__name__)

__all__ = [
    "CorpusSpec",
    "Progress",
    "ReadLimits",
    "ReindexReport",
    "SiteReadFailed",
    "current_index",
    "newer_snapshot",
    "params_for",
    "refresh",
    "stop_reading",
]


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """Where the articles are and how to split and link them."""

    root: Path
    site_url: str
    timezone: str
    passage_chars: int = 320
    overlap: int = 1
    approximate_min_passages: int = 100_000  # settings.approximate_index_min_passages
    limits: ReadLimits = field(default_factory=ReadLimits)


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
    passages: dict[str, tuple[Passage, ...]] = field(default_factory=dict)
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
    wait_s: float | None = None,
) -> tuple[Index, ReindexReport]:
    """The index for the corpus as it is now, saved to the cache when anything changed.

    The whole refresh holds the cache's reindex lock, so a second process waits for it
    (or raises `ReindexBusy` after `wait_s` seconds) instead of writing the same cache.
    """
    with index_store.exclusive(cache_dir, wait_s):
        return _refresh(spec, embedder, analyzer, cache_dir, previous, progress, now)


def _refresh(
    spec: CorpusSpec,
    embedder: Embedder,
    analyzer: JapaneseAnalyzer,
    cache_dir: Path,
    previous: Index | None,
    progress: Progress | None,
    now: datetime | None,
) -> tuple[Index, ReindexReport]:
    started = time.perf_counter()
    params = params_for(spec, embedder)
    if previous is None or previous.params != params:
        previous = index_store.load(cache_dir, params)
    plan = _plan(spec, previous, now)
    removed = sorted(set(previous.articles if previous else ()) - set(plan.articles))
    vectors_from = previous or index_store.load_other_blog(cache_dir, params)
    kept = resume.folder_for(index_store.snapshot_root(cache_dir, params), params.dimension)
    with index_store.build_workdir(cache_dir, params) as workdir:
        if previous is not None and not (plan.added or plan.changed or removed):
            index, embedded = previous, 0  # the common start-up: nothing to parse or embed
        else:
            index, embedded = assemble(
                plan.articles,
                plan.reused_sources,
                plan.passages,
                params,
                vectors_from,
                embedder,
                analyzer,
                progress,
                workdir,
                kept,
            )
        built_graph = _settle_ann(index, spec.approximate_min_passages)
        if built_graph or index is not previous or not index.complete:
            index_store.save(index, cache_dir)  # links the vector columns from workdir
        resume.discard(kept)  # the snapshot holds every vector now
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


def params_for(spec: CorpusSpec, embedder: Embedder) -> IndexParams:
    """The snapshot parameters of this blog with this model: where its index lives."""
    return IndexParams(
        embedder.name,
        embedder.dimension,
        spec.passage_chars,
        spec.overlap,
        index_store.corpus_key(spec.root),
    )


def current_index(spec: CorpusSpec, embedder: Embedder, cache_dir: Path) -> Index | None:
    """The blog's current snapshot as the last reindex (in any process) saved it, without
    reading the corpus or embedding anything; None when it has none yet."""
    return index_store.load(cache_dir, params_for(spec, embedder))


def newer_snapshot(spec: CorpusSpec, embedder: Embedder, cache_dir: Path, index: Index) -> bool:
    """Whether another reindex (another process, a cron job) made a newer snapshot current
    than the one `index` came from; a cheap read of one pointer file."""
    current = index_store.current_snapshot(cache_dir, params_for(spec, embedder))
    return current is not None and current != index.snapshot


def _settle_ann(index: Index, min_passages: int) -> bool:
    """Give the index an approximate graph iff it is large enough; True if one was built."""
    wanted = len(index.passages) >= max(min_passages, 1)
    if not wanted:
        index.ann = None
        return False
    if index.ann is not None and index.ann.size == len(index.passages):
        return False
    started = time.perf_counter()
    index.ann = AnnIndex.build(index.vectors)
    log.info("approximate index: %.1f s", time.perf_counter() - started)
    return True


def _plan(spec: CorpusSpec, previous: Index | None, now: datetime | None) -> _Plan:
    """Sort files into unchanged, added, changed and skipped.

    A file is unchanged when its size and mtime match the last snapshot and it was read
    under the same site identity (settings, `_config.yml`, `_data/`, `_includes/`);
    otherwise it is read and split again (in the guarded reader), and only passages
    whose text changed are embedded.
    """
    known = previous.articles if previous else {}
    reading = read_site(
        spec.root,
        spec.site_url,
        spec.timezone,
        now=now,
        known={s: (a.size, a.mtime_ns, a.site_identity) for s, a in known.items()},
        split=(spec.passage_chars, spec.overlap),
        limits=spec.limits,
    )
    plan = _Plan()
    for outcome in reading.outcomes:
        if isinstance(outcome, Unchanged):
            plan.articles[outcome.source] = known[outcome.source]
            plan.reused_sources.add(outcome.source)
        elif isinstance(outcome, Read):
            source = outcome.article.source
            plan.articles[source] = outcome.article
            plan.passages[source] = outcome.passages
            (plan.changed if source in known else plan.added).append(source)
        else:
            plan.skipped.append(outcome)
    return plan
