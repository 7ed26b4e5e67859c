"""Vectors and metadata for every passage, cached on disk by content.

A snapshot folder holds the manifest (articles with their file size and mtime), the
passages, their vectors and the lexical index. Start-up reuses it: unchanged files are
not even parsed, unchanged passages are never embedded twice, and a new snapshot is
written to a temporary folder and swapped in by renaming, so a crash mid-write never
leaves a half-written index to load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.corpus import Article
from bot.lexical import LexicalIndex
from bot.passages import Passage, Sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
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
    """Everything search needs, in memory; rows of `vectors` follow `passages`."""

    params: IndexParams
    articles: dict[str, Article]
    passages: list[Passage]
    vectors: np.ndarray
    lexical: LexicalIndex
    terms: list[list[str]]
    sentence_vectors: np.ndarray  # float16, one row per sentence of each passage, in order
    version: str = ""
    passage_article: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    article_order: list[str] = field(default_factory=list)
    sentence_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))

    def __post_init__(self) -> None:
        counts = [len(p.sentences) for p in self.passages]
        self.sentence_offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        if len(self.sentence_vectors) != self.sentence_offsets[-1]:
            raise ValueError("sentence vectors do not match the passages' sentences")
        self.article_order = sorted(self.articles)
        position = {source: i for i, source in enumerate(self.article_order)}
        self.passage_article = np.fromiter(
            (position[p.source] for p in self.passages), np.int32, len(self.passages)
        )
        if not self.version:
            self.version = index_version(self.params, self.passages)

    def row_of_hash(self) -> dict[str, int]:
        return {p.content_hash: row for row, p in enumerate(self.passages)}

    def sentences_of(self, row: int) -> np.ndarray:
        """The passage's sentence vectors (float16 rows, memory-mapped when loaded)."""
        return self.sentence_vectors[self.sentence_offsets[row] : self.sentence_offsets[row + 1]]


def index_version(params: IndexParams, passages: list[Passage]) -> str:
    digest = hashlib.blake2b(params.model.encode(), digest_size=6)
    for passage in passages:
        digest.update(passage.content_hash.encode())
    return digest.hexdigest()


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
    return final


def _write_snapshot(index: Index, folder: Path) -> None:
    np.save(folder / "vectors.npy", index.vectors.astype(np.float32), allow_pickle=False)
    sentences = index.sentence_vectors.astype(np.float16)
    np.save(folder / "sentence_vectors.npy", sentences, allow_pickle=False)
    index.lexical.save(folder / "lexical")
    with (folder / "passages.jsonl").open("w", encoding="utf-8") as out:
        for passage, terms in zip(index.passages, index.terms, strict=True):
            out.write(json.dumps(_passage_row(passage, terms), ensure_ascii=False) + "\n")
    manifest = {
        "format": FORMAT_VERSION,
        "params": asdict(index.params),
        "version": index.version,
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
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    # Sentence vectors are only read for a few top passages per question: map, don't load.
    sentence_vectors = np.load(folder / "sentence_vectors.npy", mmap_mode="r")
    passages, terms = _read_passages(folder / "passages.jsonl")
    if len(vectors) != len(passages) or vectors.shape[1:] != (params.dimension,):
        raise ValueError("vectors do not match the passages")
    articles = {row["source"]: _article_from_row(row) for row in manifest["articles"]}
    return Index(
        params,
        articles,
        passages,
        vectors,
        LexicalIndex.load(folder / "lexical"),
        terms,
        sentence_vectors,
        version=str(manifest["version"]),
    )


def _read_passages(path: Path) -> tuple[list[Passage], list[list[str]]]:
    passages: list[Passage] = []
    terms: list[list[str]] = []
    with path.open(encoding="utf-8") as rows:
        for line in rows:
            row = json.loads(line)
            terms.append(row.pop("terms"))
            row["sentences"] = tuple(Sentence(*s) for s in row["sentences"])
            passages.append(Passage(**row))
    return passages, terms


def _passage_row(passage: Passage, terms: list[str]) -> dict[str, Any]:
    row = asdict(passage)
    row["sentences"] = [[s.text, s.start, s.end] for s in passage.sentences]
    row["terms"] = terms
    return row


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
