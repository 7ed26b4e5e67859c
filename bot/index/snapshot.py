"""Vectors and metadata for every passage, cached on disk by content.

A snapshot folder holds the manifest (articles with their file size and mtime), the
passages, their vectors, the lexical index and, for large blogs, an approximate
nearest-neighbour graph. Start-up reuses it: unchanged files are not even parsed,
unchanged passages are never embedded twice, and a new snapshot is written to a
temporary folder and swapped in by renaming, so a crash mid-write never leaves a
half-written index to load.

Loading must stay fast at any size (under a second for 180 000 passages), so every
column is a `.npy` array or a blob that is memory-mapped, and passages are decoded only
when a question reads them (see `bot.index.columns`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from bot.corpus.articles import Article
from bot.corpus.passages import Passage
from bot.index.ann import AnnIndex, graph_recall, nearest, nearest_scores
from bot.index.bm25 import LexicalIndex
from bot.index.columns import (
    PassageTable,
    TermTable,
    as_passage_table,
    as_term_table,
    digest_of,
)
from bot.index.mapped import all_finite, load_mapped, recache_in_small_pages, save_column
from bot.index.sentence_units import Units, build_units, is_question, section_ids
from bot.index.snapshot_dirs import CURRENT as CURRENT
from bot.index.snapshot_dirs import (
    SNAPSHOT_PREFIX,
    STAGING_PREFIX,
    build_scratch,
    current_name,
    point_current,
    remove_unreferenced,
    scratch,
    warn_unread,
)
from bot.index.snapshot_dirs import CacheReadOnly as CacheReadOnly
from bot.index.snapshot_dirs import ReindexBusy as ReindexBusy
from bot.index.snapshot_dirs import exclusive as exclusive
from bot.index.snapshot_files import (
    article_from_row,
    article_row,
    optional_columns,
    write_json_synced,
)
from bot.index.texts import TextColumn

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: passages embed their article's title; English terms are stemmed
_READ_ATTEMPTS = 3  # CURRENT changed while a snapshot was read: read the new one


@dataclass(frozen=True, slots=True)
class IndexParams:
    """What makes two snapshots comparable: the same model, the same passage split, and
    the same blog (`corpus`, see `corpus_key`): each blog of a shared cache keeps its own
    snapshot, so switching between blogs evicts nothing."""

    model: str
    dimension: int
    passage_chars: int
    overlap: int
    corpus: str = ""

    @property
    def slug(self) -> str:
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model)[:60]
        digest = hashlib.blake2b(self.model.encode(), digest_size=4).hexdigest()
        return f"{readable}-{digest}"


def corpus_key(root: Path) -> str:
    """A blog's name in the cache: its folder's last part and a digest of its full path."""
    try:
        path = root.resolve()
    except (OSError, RuntimeError):
        path = root.absolute()
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name)[:40] or "root"
    digest = hashlib.blake2b(str(path).encode("utf-8", "surrogateescape"), digest_size=6)
    return f"{readable}-{digest.hexdigest()}"


@dataclass(slots=True)
class Index:
    """Everything search needs; rows of `vectors` follow `passages`.

    Lists given for `passages` and `terms` become column tables; the derived columns
    (`sentence_offsets`, `passage_article`, the sentences' starts and question marks,
    the sentence units) are made by `derive_columns`, which the assembler and the loader
    call, so the indexer and the loader never decode every passage. `complete` is False
    when a loaded snapshot lacked some of them: the refresh then writes it again.
    """

    params: IndexParams
    articles: dict[str, Article]
    passages: Sequence[Passage]
    vectors: np.ndarray
    lexical: LexicalIndex
    terms: Sequence[Sequence[str]]
    sentence_vectors: np.ndarray  # float16, one row per sentence of each passage, in order
    version: str = ""
    passage_article: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    article_order: list[str] = field(default_factory=list)
    sentence_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ann: AnnIndex | None = None
    sentence_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    sentence_asks: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    units: Units = field(default_factory=Units.empty)
    sentence_texts: TextColumn = field(default_factory=TextColumn.empty)
    complete: bool = True
    snapshot: str = ""  # the snapshot folder it was loaded from or saved to; "" if neither

    def __post_init__(self) -> None:
        self.passages = as_passage_table(self.passages)
        self.terms = as_term_table(self.terms)
        n = len(self.passages)
        if len(self.sentence_offsets) != n + 1:
            counts = [len(p.sentences) for p in self.passages]
            self.sentence_offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        if len(self.sentence_vectors) != self.sentence_offsets[-1]:
            raise ValueError("sentence vectors do not match the passages' sentences")
        if len(self.vectors) != n:
            raise ValueError("vectors do not match the passages")
        self.article_order = sorted(self.articles)
        if len(self.passage_article) != n:
            position = {source: i for i, source in enumerate(self.article_order)}
            sources = (position[p.source] for p in self.passages)
            self.passage_article = np.fromiter(sources, np.int32, n)
        if not self.version:
            self.version = digest_of(self.table.hashes, self.params.model)

    @property
    def table(self) -> PassageTable:
        return as_passage_table(self.passages)

    @property
    def term_table(self) -> TermTable:
        return as_term_table(self.terms)

    def row_of_hash(self) -> dict[str, int]:
        return {digest: row for row, digest in enumerate(self.table.hex_hashes())}

    def dense_candidates(
        self, query_vector: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` passages most similar to the query (rows, exact cosines), best first."""
        return nearest(self.vectors, self.ann, query_vector, k, mask)

    def dense_scores(
        self, query_vector: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """One score per passage: the exact cosine for the `k` best, -inf for the others."""
        return nearest_scores(self.vectors, self.ann, query_vector, k, mask)

    def dense_recall(self, queries: np.ndarray, k: int = 10) -> float:
        """Share of the exact top `k` that the approximate graph also finds (1.0 if exact)."""
        return graph_recall(self.vectors, self.ann, queries, k)

    def unit_texts(self, units: Sequence[int]) -> tuple[str, ...]:
        """The sentence texts of these units: slices of the text column, no passage decoded."""
        rows = self.units.vector_row[np.asarray(units, np.int64)].tolist() if units else []
        return self.sentence_texts.many(rows)

    def sentences_of(self, row: int) -> np.ndarray:
        """The passage's sentence vectors (float16 rows, memory-mapped when loaded)."""
        return self.sentence_vectors[self.sentence_offsets[row] : self.sentence_offsets[row + 1]]


def derive_columns(index: Index) -> bool:
    """Fill in the sentence starts, question marks, texts and units `index` was made
    without (a new index, or a snapshot written before a column existed); True if any was
    missing. Called by the assembler and the loader, never by the constructor."""
    total = int(index.sentence_offsets[-1])
    derived = False
    if len(index.sentence_starts) != total or len(index.sentence_asks) != total:
        sentences = [s for p in index.passages for s in p.sentences]
        index.sentence_starts = np.fromiter((s.start for s in sentences), np.int32, total)
        index.sentence_asks = np.fromiter((is_question(s.text) for s in sentences), bool, total)
        derived = True
    if len(index.sentence_texts) != total:
        index.sentence_texts = TextColumn.of(s.text for p in index.passages for s in p.sentences)
        derived = True
    if len(index.units.unit_of) != total:
        index.units = build_units(
            index.passage_article,
            index.sentence_offsets,
            index.sentence_starts,
            index.sentence_asks,
            index.sentence_vectors,
            section_ids(index.passages),
        )
        derived = True
    return derived


def snapshot_root(cache_dir: Path, params: IndexParams) -> Path:
    return cache_dir / "index" / params.slug / (params.corpus or "default")


def current_snapshot(cache_dir: Path, params: IndexParams) -> str | None:
    """The name of the snapshot a reindex (in any process) made current, without reading
    it: cheap enough for a running bot to poll."""
    return current_name(snapshot_root(cache_dir, params))


def load_other_blog(cache_dir: Path, params: IndexParams) -> Index | None:
    """The most recent snapshot another blog made with the same model and split: its
    vectors are reused by content for a blog indexed for the first time."""
    models = cache_dir / "index" / params.slug
    try:
        pointers = [p for p in models.glob(f"*/{CURRENT}") if p.parent.name != params.corpus]
    except OSError:
        return None
    for pointer in sorted(pointers, key=_mtime, reverse=True):
        other = replace(params, corpus=pointer.parent.name)
        index = load(cache_dir, other)
        if index is not None:
            return index
    return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def save(index: Index, cache_dir: Path) -> Path:
    """Write a new snapshot beside the old one, then point CURRENT at it atomically.

    All of it under the reindex lock (waiting for another writer to finish), so no other
    writer can delete the new snapshot before or after CURRENT names it.
    """
    root = snapshot_root(cache_dir, index.params)
    with exclusive(cache_dir), scratch(root, STAGING_PREFIX) as staging:
        _write_snapshot(index, staging)
        final = root / f"{SNAPSHOT_PREFIX}{index.version}-{os.getpid()}-{staging.name[5:]}"
        staging.rename(final)
        point_current(root, final.name)
        remove_unreferenced(root)
    index.complete = True
    index.snapshot = final.name
    return final


@contextmanager
def build_workdir(cache_dir: Path, params: IndexParams) -> Iterator[Path]:
    """Scratch space for a reindex, beside the snapshots (same file system, so columns link).

    Held under the reindex lock; the folders that killed reindexes left are removed first.
    A read-only cache gets a folder outside it, since a current snapshot writes nothing.
    """
    with exclusive(cache_dir), build_scratch(snapshot_root(cache_dir, params)) as path:
        yield path


def _write_snapshot(index: Index, folder: Path) -> None:
    """Every column, then the manifest last: a folder without one is never loaded."""
    for name, array, dtype in (
        ("vectors.npy", index.vectors, np.float32),
        ("sentence_vectors.npy", index.sentence_vectors, np.float16),
    ):
        save_column(folder / name, array, dtype)
        recache_in_small_pages(folder / name)
    save_column(folder / "sentence_offsets.npy", index.sentence_offsets, np.int64)
    save_column(folder / "passage_article.npy", index.passage_article, np.int32)
    save_column(folder / "sentence_starts.npy", index.sentence_starts, np.int32)
    save_column(folder / "sentence_asks.npy", index.sentence_asks, np.bool_)
    index.units.save(folder)
    index.sentence_texts.save(folder)
    index.table.save(folder)
    index.term_table.save(folder)
    index.lexical.save(folder / "lexical")
    if index.ann is not None:
        recache_in_small_pages(index.ann.save(folder))
    manifest = {
        "format": FORMAT_VERSION,
        "params": asdict(index.params),
        "version": index.version,
        "passages": len(index.passages),
        # Every vector is finite: checked when embedded (`ResumeSpool.add`) or when the
        # snapshot it came from was loaded. Older snapshots lack this and are checked.
        "finite": True,
        "articles": [article_row(a) for a in index.articles.values()],
    }
    write_json_synced(folder / "manifest.json", manifest)


def load(cache_dir: Path, params: IndexParams) -> Index | None:
    """The current snapshot for these params, or None (missing, old format, or damaged).

    A reindex may swap CURRENT and remove the old snapshot while it is being read: then
    the new one is read instead.
    """
    root = snapshot_root(cache_dir, params)
    name = current_name(root)
    problem: Exception = FileNotFoundError(CURRENT)
    for _ in range(_READ_ATTEMPTS):
        if name is None:
            return None
        try:
            index = _read_snapshot(root / name, params)
            if index is not None:
                index.snapshot = name
            return index
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = exc
        newer = current_name(root)
        if newer == name:
            break
        name = newer
    warn_unread(root, name, problem)
    return None


def _read_snapshot(folder: Path, params: IndexParams) -> Index | None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION or manifest["params"] != asdict(params):
        log.info("cached index in %s was built differently; rebuilding", folder)
        return None
    # Memory-mapped: pages are read when searched, and shared between processes.
    vectors = load_mapped(folder / "vectors.npy")
    if vectors.shape[1:] != (params.dimension,) or len(vectors) != manifest["passages"]:
        raise ValueError("vectors do not match the passages")
    sentence_vectors = load_mapped(folder / "sentence_vectors.npy")
    checked = manifest.get("finite") is True
    if not checked and not (all_finite(vectors) and all_finite(sentence_vectors)):
        raise ValueError("some vectors are NaN or infinite (embedded by a damaged model)")
    articles = {row["source"]: article_from_row(row) for row in manifest["articles"]}
    index = Index(
        params,
        articles,
        PassageTable.load(folder),
        vectors,
        LexicalIndex.load(folder / "lexical"),
        TermTable.load(folder),
        sentence_vectors,
        version=str(manifest["version"]),
        passage_article=np.load(folder / "passage_article.npy", allow_pickle=False),
        sentence_offsets=np.load(folder / "sentence_offsets.npy", allow_pickle=False),
        ann=AnnIndex.load(folder),
        **optional_columns(folder),
    )
    if derive_columns(index):
        index.complete = False  # an older snapshot: saved again with the columns derived
    if not checked and os.access(folder.parent, os.W_OK):
        index.complete = False  # saved again with the check recorded: it is not repeated
    return index
