"""Build a new index from an older one plus whatever articles changed.

Unchanged articles keep their rows: passages are copied as encoded bytes, vectors and
sentence vectors as array slices, terms as ids, all in runs of consecutive articles, so
editing 1% of a 10 000-article blog costs array copies and the new passages' embedding,
not a pass of Python over 180 000 passages. Passages keep the corpus's sorted article
order, so the rows of one article are contiguous. New vectors go to scratch files in
`workdir` as they are embedded, and both vector columns are written there in row order
as `.npy` files, which the snapshot then links (see `bot.index.spool`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bot.corpus.articles import Article
from bot.corpus.passages import Passage, split_article
from bot.embedding.models import Embedder, PoolsSentences
from bot.index.analysis import JapaneseAnalyzer
from bot.index.bm25 import LexicalIndex
from bot.index.columns import TableBuilder
from bot.index.progress import Meter
from bot.index.recent import RecentVectors
from bot.index.resume import ResumeSpool
from bot.index.sentence_units import is_question
from bot.index.snapshot import Index, IndexParams, derive_columns
from bot.index.spool import ColumnWriter
from bot.index.texts import TextBuilder

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class _Parts:
    """Columns of the new index: vectors written as they come, the rest as pieces."""

    table: TableBuilder
    vectors: ColumnWriter
    sentences: ColumnWriter
    spools: ResumeSpool
    sentence_counts: list[np.ndarray] = field(default_factory=list)
    starts: list[np.ndarray] = field(default_factory=list)
    asks: list[np.ndarray] = field(default_factory=list)
    article_counts: list[int] = field(default_factory=list)
    texts: TextBuilder = field(default_factory=TextBuilder)


def assemble(
    articles: dict[str, Article],
    reused: set[str],
    split: dict[str, tuple[Passage, ...]],
    params: IndexParams,
    previous: Index | None,
    embedder: Embedder,
    analyzer: JapaneseAnalyzer,
    progress: Progress | None,
    workdir: Path,
    resume: Path | None = None,
) -> tuple[Index, int]:
    """The index for `articles`; those in `reused` are unchanged since `previous`, and the
    count of passages embedded now. `split` holds the passages of articles already split
    (by the corpus reader); the others are split here.

    Its vector columns are files in `workdir`, which must outlive the index or its
    snapshot (saving links them). Fresh vectors are kept in `resume` as they are embedded
    (see `bot.index.resume`), so a killed run's work is reused; the caller discards the
    folder once the snapshot is saved. Articles split again lose their body in `articles`
    (their passages hold the text, and a loaded index has no bodies either).
    """
    ranges = _old_ranges(previous) if previous is not None else {}
    runs = _runs(articles, reused, split, ranges, params)
    new = [p for run in runs if isinstance(run, list) for p in run]
    old_rows = previous.row_of_hash() if previous is not None and new else {}
    missing = list({p.content_hash: p for p in new if p.content_hash not in old_rows}.values())
    del new
    spools = ResumeSpool(resume or workdir / "resume", params.dimension)
    try:
        embedded = _embed(missing, embedder, progress, spools)
        fresh = spools.fresh
        del missing
        vocabulary = previous.term_table.vocabulary if previous is not None else ()
        passages, sentences = _totals(runs, previous)
        parts = _Parts(
            TableBuilder(vocabulary),
            ColumnWriter(workdir / "vectors.npy", passages, params.dimension, np.float32),
            ColumnWriter(workdir / "sentence_vectors.npy", sentences, params.dimension, np.float16),
            spools,
        )
        runs.reverse()
        while runs:  # each run's passages are freed once encoded, before the BM25 build
            run = runs.pop()
            if isinstance(run, list):
                _add_new(parts, run, fresh, old_rows, previous, analyzer)
            else:
                assert previous is not None
                _add_old(parts, previous, *run)
        return _index(params, articles, parts), embedded
    finally:
        spools.close()


def _totals(runs: list[Run], previous: Index | None) -> tuple[int, int]:
    """Passages and sentences of the new index, known before any vector is written."""
    passages = sentences = 0
    for run in runs:
        if isinstance(run, list):
            passages += len(run)
            sentences += sum(len(p.sentences) for p in run)
        else:
            assert previous is not None
            start, stop, _ = run
            passages += stop - start
            offsets = previous.sentence_offsets
            sentences += int(offsets[stop] - offsets[start])
    return passages, sentences


def _old_ranges(previous: Index) -> dict[str, tuple[int, int]]:
    """Each previous article's contiguous row range."""
    article_of_row = previous.passage_article
    if len(article_of_row) and np.any(np.diff(article_of_row) < 0):
        return {}  # not in article order: re-split everything, vectors still reused by hash
    bounds = np.searchsorted(article_of_row, np.arange(len(previous.article_order) + 1))
    return {
        source: (int(bounds[i]), int(bounds[i + 1]))
        for i, source in enumerate(previous.article_order)
    }


Run = list[Passage] | tuple[int, int, list[int]]


def _runs(
    articles: dict[str, Article],
    reused: set[str],
    split: dict[str, tuple[Passage, ...]],
    ranges: dict[str, tuple[int, int]],
    params: IndexParams,
) -> list[Run]:
    """Consecutive unchanged articles merge into one (start, stop, counts) row range."""
    runs: list[Run] = []
    for source in sorted(articles):
        span = ranges.get(source) if source in reused else None
        last = runs[-1] if runs else None
        if span is None and source in split:
            runs.append(list(split[source]))
        elif span is None:
            passages = split_article(articles[source], params.passage_chars, params.overlap)
            articles[source] = replace(articles[source], body="")  # passages hold the text
            runs.append(passages)
        elif isinstance(last, tuple) and last[1] == span[0]:
            runs[-1] = (last[0], span[1], [*last[2], span[1] - span[0]])
        else:
            runs.append((span[0], span[1], [span[1] - span[0]]))
    return runs


def _add_old(parts: _Parts, previous: Index, start: int, stop: int, counts: list[int]) -> None:
    parts.table.copy_rows(previous.table, previous.term_table, start, stop)
    parts.vectors.write(previous.vectors[start:stop])
    offsets = previous.sentence_offsets
    parts.sentences.write(previous.sentence_vectors[offsets[start] : offsets[stop]])
    parts.sentence_counts.append(np.diff(offsets[start : stop + 1]))
    parts.starts.append(previous.sentence_starts[offsets[start] : offsets[stop]])
    parts.asks.append(previous.sentence_asks[offsets[start] : offsets[stop]])
    parts.texts.copy_rows(previous.sentence_texts, int(offsets[start]), int(offsets[stop]))
    parts.article_counts.extend(counts)


def _add_new(
    parts: _Parts,
    passages: list[Passage],
    fresh: dict[str, tuple[int, int, int]],
    old_rows: dict[str, int],
    previous: Index | None,
    analyzer: JapaneseAnalyzer,
) -> None:
    vectors, sentences, terms = [], [], []
    for passage in passages:
        key = passage.content_hash
        if key in fresh:
            row, first, count = fresh[key]
            vectors.append(parts.spools.vectors.read(row, 1)[0])
            sentences.append(parts.spools.sentences.read(first, count))
            terms.append(analyzer.terms(passage.embedding_text))
        else:
            assert previous is not None
            old = old_rows[key]
            vectors.append(previous.vectors[old])
            sentences.append(previous.sentences_of(old))
            terms.append(list(previous.terms[old]))
    if vectors:
        parts.vectors.write(np.stack(vectors))
        parts.sentences.write(np.concatenate(sentences))
    parts.table.add_passages(passages)
    parts.table.add_terms(terms)
    counts = [len(p.sentences) for p in passages]
    parts.sentence_counts.append(np.asarray(counts, np.int64))
    every = [s for p in passages for s in p.sentences]
    parts.starts.append(np.fromiter((s.start for s in every), np.int32, len(every)))
    parts.asks.append(np.fromiter((is_question(s.text) for s in every), bool, len(every)))
    parts.texts.add(s.text for s in every)
    parts.article_counts.append(len(passages))


def _index(params: IndexParams, articles: dict[str, Article], parts: _Parts) -> Index:
    table, terms = parts.table.passages(), parts.table.terms()
    vectors, sentence_vectors = parts.vectors.finish(), parts.sentences.finish()
    counts = _concat(parts.sentence_counts, (0,), np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
    positions = np.arange(len(parts.article_counts), dtype=np.int32)
    passage_article = np.repeat(positions, parts.article_counts).astype(np.int32)
    lexical = LexicalIndex.build(terms.all_lists())
    index = Index(
        params,
        articles,
        table,
        vectors,
        lexical,
        terms,
        sentence_vectors,
        passage_article=passage_article,
        sentence_offsets=offsets,
        sentence_starts=_concat(parts.starts, (0,), np.int32),
        sentence_asks=_concat(parts.asks, (0,), np.bool_),
        sentence_texts=parts.texts.finish(),
    )
    derive_columns(index)  # the sentence units
    return index


def _concat(pieces: list[np.ndarray], empty: tuple[int, ...], dtype: type) -> np.ndarray:
    if not pieces:
        return np.zeros(empty, dtype)
    return np.concatenate([np.asarray(p, dtype) for p in pieces]).astype(dtype, copy=False)


def _embed(
    passages: Sequence[Passage],
    embedder: Embedder,
    progress: Progress | None,
    spools: ResumeSpool,
    batch: int = 16,
) -> int:
    """Embed the passages the spool lacks, a small batch at a time so questions can
    interleave; the count embedded. Progress is logged with its rate and time left."""
    todo = [p for p in passages if p.content_hash not in spools.fresh]
    meter = Meter(len(passages), len(passages) - len(todo))
    recent = RecentVectors(embedder.embed_documents)
    pooled = embedder if isinstance(embedder, PoolsSentences) and embedder.pools_sentences else None
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        texts = [p.embedding_text for p in chunk]
        if pooled is not None:  # sentence vectors from the passages' own forward pass
            sentences = [[s.text for s in p.sentences] for p in chunk]
            vectors, per_passage = pooled.embed_passages_with_sentences(texts, sentences)
            spools.add([p.content_hash for p in chunk], vectors, per_passage)
        else:
            every = [s.text for p in chunk for s in p.sentences]
            vectors = recent.vectors(texts + every)
            rows, bounds = vectors[len(chunk) :], np.cumsum([len(p.sentences) for p in chunk])
            spools.add(
                [p.content_hash for p in chunk], vectors[: len(chunk)], np.split(rows, bounds[:-1])
            )
        meter.advance(len(chunk))
        if progress is not None:
            progress(meter.done, meter.total)
    if recent.reused:
        log.info(
            "embedded %d texts; %d repeats took a vector already computed",
            recent.embedded,
            recent.reused,
        )
    return len(todo)
