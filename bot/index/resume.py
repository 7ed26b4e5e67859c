"""Vectors embedded by an unfinished first index, kept so a restart embeds only the rest.

Embedding a whole blog takes minutes to hours; a process killed before the snapshot is
saved used to lose all of it. Each batch is appended here as it is embedded (sentence
rows, passage rows, sentence counts, and the content hashes last, which commit the
batch), in the cache beside the snapshots. A restart reads back the committed batches,
cuts off a batch half-written by a kill, and goes on appending; a saved snapshot holds
the vectors, so the folder is removed then.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bot.embedding.finite import require_finite
from bot.index.mapped import all_finite
from bot.index.snapshot_dirs import read_only_error, refused_write
from bot.index.spool import RowSpool

log = logging.getLogger(__name__)

HASH_BYTES = 16
_CHECK_ROWS = 8_192  # rows read at a time to check kept vectors
Fresh = dict[str, tuple[int, int, int]]  # hash → passage row, first sentence row, count


def folder_for(root: Path, dimension: int) -> Path:
    """Where one snapshot root keeps its unfinished vectors (width in the name)."""
    return root / f"resume-{dimension}"


def discard(folder: Path) -> None:
    """Drop the kept vectors once a snapshot holds them."""
    shutil.rmtree(folder, ignore_errors=True)


class ResumeSpool:
    """Passage and sentence vectors by content hash, appended and committed batch by batch."""

    def __init__(self, folder: Path, dimension: int) -> None:
        """Raises `CacheReadOnly` when the cache cannot be written: before any embedding."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hashes.bin").open("ab").close()
        except OSError as exc:
            if refused_write(exc):
                raise read_only_error(folder.parent, exc) from None
            raise
        self.folder = folder
        committed = _committed(folder, dimension)
        if committed[0] and not _finite(folder, dimension, committed):
            log.warning(
                "discarding the vectors kept in %s: some are NaN or infinite (embedded by a "
                "damaged model)",
                folder,
            )
            committed = (0, 0)
        self.vectors = RowSpool(folder / "vectors.bin", dimension, np.float32, keep=committed[0])
        self.sentences = RowSpool(
            folder / "sentences.bin", dimension, np.float16, keep=committed[1]
        )
        self._counts = _truncated(folder / "counts.bin", committed[0] * 4)
        self._hashes = _truncated(folder / "hashes.bin", committed[0] * HASH_BYTES)
        self.fresh = _read_fresh(folder, committed[0])
        if self.fresh:
            log.info("resuming: %d passages already embedded by an earlier run", len(self.fresh))

    def add(self, hashes: list[str], vectors: np.ndarray, sentences: list[np.ndarray]) -> None:
        """One batch: vectors, then counts, then the hashes that commit it.

        A vector that is not finite (a damaged model) raises `DamagedModel` before any of
        the batch is written: nothing keeps it, in this folder or in a snapshot.
        """
        rows = np.concatenate(sentences) if sentences else vectors[:0]
        require_finite(vectors)
        require_finite(rows)
        cursor = self.sentences.append(rows)
        first = self.vectors.append(vectors)
        counts = np.asarray([len(s) for s in sentences], np.int32)
        self._counts.write(counts.tobytes())
        self._counts.flush()
        self.sentences.flush()
        self.vectors.flush()
        self._hashes.write(b"".join(bytes.fromhex(h) for h in hashes))
        self._hashes.flush()
        for row, (key, count) in enumerate(zip(hashes, counts.tolist(), strict=True)):
            self.fresh[key] = (first + row, cursor, count)
            cursor += count

    def close(self) -> None:
        """Close the files and keep them (`discard` removes them after a save)."""
        self._counts.close()
        self._hashes.close()
        self.vectors.close(remove=False)
        self.sentences.close(remove=False)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _committed(folder: Path, dimension: int) -> tuple[int, int]:
    """Passages whose batch was committed, and their sentence rows, as far as files agree."""
    passages = min(
        _size(folder / "hashes.bin") // HASH_BYTES,
        _size(folder / "counts.bin") // 4,
        _size(folder / "vectors.bin") // (dimension * 4),
    )
    counts = np.fromfile(folder / "counts.bin", np.int32, passages) if passages else np.zeros(0)
    totals = np.cumsum(np.asarray(counts, np.int64))
    sentence_rows = _size(folder / "sentences.bin") // (dimension * 2)
    while passages and int(totals[passages - 1]) > sentence_rows:
        passages -= 1
    return passages, int(totals[passages - 1]) if passages else 0


def _finite(folder: Path, dimension: int, committed: tuple[int, int]) -> bool:
    """Whether the committed rows are all finite (an older version kept whatever it got)."""
    for name, dtype, rows in (
        ("vectors.bin", np.float32, committed[0]),
        ("sentences.bin", np.float16, committed[1]),
    ):
        with (folder / name).open("rb") as file:
            for start in range(0, rows, _CHECK_ROWS):
                count = min(_CHECK_ROWS, rows - start) * dimension
                if not all_finite(np.fromfile(file, dtype, count).reshape(-1, dimension)):
                    return False
    return True


def _truncated(path: Path, size: int) -> BinaryIO:
    """The file cut to `size` bytes and opened for appending."""
    with path.open("ab") as file:
        file.truncate(size)
    return path.open("ab")


def _read_fresh(folder: Path, passages: int) -> Fresh:
    if not passages:
        return {}
    digests = (folder / "hashes.bin").read_bytes()[: passages * HASH_BYTES].hex()
    counts = np.fromfile(folder / "counts.bin", np.int32, passages).tolist()
    fresh: Fresh = {}
    cursor = 0
    width = 2 * HASH_BYTES
    for row, count in enumerate(counts):
        fresh[digests[row * width : (row + 1) * width]] = (row, cursor, count)
        cursor += count
    return fresh
