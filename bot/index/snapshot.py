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
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.corpus.articles import Article
from bot.corpus.passages import Passage
from bot.index.ann import AnnIndex
from bot.index.bm25 import LexicalIndex
from bot.index.columns import (
    PassageTable,
    TermTable,
    as_passage_table,
    as_term_table,
    digest_of,
)
from bot.index.mapped import load_mapped, recache_in_small_pages, save_column
from bot.index.sentence_units import Units, build_units, is_question

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
CURRENT = "CURRENT"


@dataclass(frozen=True, slots=True)
class IndexParams:
    """What makes two snapshots comparable: the same model and the same passage split."""

    model: str
    dimension: int
    passage_chars: int
    overlap: int

    @property
    def slug(self) -> str:
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model)[:60]
        digest = hashlib.blake2b(self.model.encode(), digest_size=4).hexdigest()
        return f"{readable}-{digest}"


@dataclass(slots=True)
class Index:
    """Everything search needs; rows of `vectors` follow `passages`.

    Lists given for `passages` and `terms` become column tables; the derived columns
    (`sentence_offsets`, `passage_article`, the sentences' starts and question marks,
    the sentence units) are computed unless given, so the indexer and the loader never
    decode every passage. `complete` is False when a loaded snapshot lacked some of them:
    the refresh then writes it again.
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
    complete: bool = True

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
        self._derive_units()

    def _derive_units(self) -> None:
        """Sentence starts, question marks and units, unless the snapshot had them."""
        total = int(self.sentence_offsets[-1])
        if len(self.sentence_starts) != total or len(self.sentence_asks) != total:
            sentences = [s for p in self.passages for s in p.sentences]
            self.sentence_starts = np.fromiter((s.start for s in sentences), np.int32, total)
            self.sentence_asks = np.fromiter((is_question(s.text) for s in sentences), bool, total)
            self.complete = False
        if len(self.units.unit_of) != total:
            self.complete = False
            self.units = build_units(
                self.passage_article,
                self.sentence_offsets,
                self.sentence_starts,
                self.sentence_asks,
                self.sentence_vectors,
            )

    @property
    def table(self) -> PassageTable:
        return as_passage_table(self.passages)

    @property
    def term_table(self) -> TermTable:
        return as_term_table(self.terms)

    def row_of_hash(self) -> dict[str, int]:
        return {digest: row for row, digest in enumerate(self.table.hex_hashes())}

    def sentences_of(self, row: int) -> np.ndarray:
        """The passage's sentence vectors (float16 rows, memory-mapped when loaded)."""
        return self.sentence_vectors[self.sentence_offsets[row] : self.sentence_offsets[row + 1]]


def index_version(params: IndexParams, passages: Sequence[Passage]) -> str:
    return digest_of(as_passage_table(passages).hashes, params.model)


def snapshot_root(cache_dir: Path, params: IndexParams) -> Path:
    return cache_dir / "index" / params.slug


def save(index: Index, cache_dir: Path) -> Path:
    """Write a new snapshot beside the old one, then point CURRENT at it atomically."""
    root = snapshot_root(cache_dir, index.params)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        _write_snapshot(index, staging)
        final = root / f"snapshot-{index.version}-{os.getpid()}-{staging.name[5:]}"
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _point_current(root, final.name)
    _remove_old_snapshots(root, keep=final.name)
    index.complete = True
    return final


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
        "articles": [_article_row(a) for a in index.articles.values()],
    }
    _write_json_synced(folder / "manifest.json", manifest)


def _write_json_synced(path: Path, content: Any) -> None:
    with path.open("w", encoding="utf-8") as out:
        json.dump(content, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())


def _point_current(root: Path, name: str) -> None:
    pointer = root / f".{CURRENT}.{os.getpid()}"
    pointer.write_text(name, encoding="utf-8")
    pointer.replace(root / CURRENT)


def _remove_old_snapshots(root: Path, keep: str) -> None:
    """Older snapshots go; one still memory-mapped by a running process stays readable."""
    for child in root.iterdir():
        if child.is_dir() and child.name != keep and child.name.startswith("snapshot-"):
            shutil.rmtree(child, ignore_errors=True)


def load(cache_dir: Path, params: IndexParams) -> Index | None:
    """The current snapshot for these params, or None (missing, old format, or damaged)."""
    root = snapshot_root(cache_dir, params)
    try:
        folder = root / (root / CURRENT).read_text(encoding="utf-8").strip()
        return _read_snapshot(folder, params)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the cached index in %s (%s); it will be rebuilt", root, exc)
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
    articles = {row["source"]: _article_from_row(row) for row in manifest["articles"]}
    return Index(
        params,
        articles,
        PassageTable.load(folder),
        vectors,
        LexicalIndex.load(folder / "lexical"),
        TermTable.load(folder),
        load_mapped(folder / "sentence_vectors.npy"),
        version=str(manifest["version"]),
        passage_article=np.load(folder / "passage_article.npy", allow_pickle=False),
        sentence_offsets=np.load(folder / "sentence_offsets.npy", allow_pickle=False),
        ann=AnnIndex.load(folder),
        **_optional_columns(folder),
    )


def _optional_columns(folder: Path) -> dict[str, Any]:
    """Columns an older snapshot may lack; `Index` derives what is missing."""
    out: dict[str, Any] = {}
    for name in ("sentence_starts", "sentence_asks"):
        if (folder / f"{name}.npy").is_file():
            out[name] = load_mapped(folder / f"{name}.npy")
    units = Units.load(folder)
    if units is not None:
        out["units"] = units
    return out


def _article_row(article: Article) -> dict[str, Any]:
    row = asdict(article)
    row["date"] = article.date.isoformat()
    row["body"] = ""  # passages carry the text; the body is not needed after splitting
    return row


def _article_from_row(row: dict[str, Any]) -> Article:
    row = dict(row)
    row["date"] = datetime.fromisoformat(row["date"])
    row["categories"] = tuple(row["categories"])
    row["tags"] = tuple(row["tags"])
    return Article(**row)
