"""Sentence texts as one UTF-8 blob with offsets: a question reads a few, without JSON.

Ranking and excerpts read the texts of a handful of sentences per question. Taking them
from the passages' JSON rows decoded every candidate passage on every question (~17 ms
on a 150-post blog); here a text is a slice of a memory-mapped blob, decoded alone.
Rows follow `sentence_vectors`, so a sentence's vector row is also its text row.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable
from pathlib import Path

import numpy as np

BLOB = "sentence_texts.bin"
OFFSETS = "sentence_text_offsets.npy"


class TextColumn:
    """Read-only texts by row, backed by bytes or a memory map."""

    def __init__(self, blob: bytes | mmap.mmap, offsets: np.ndarray) -> None:
        if len(offsets) < 1 or int(offsets[-1]) != len(blob):
            raise ValueError("text blob does not match its offsets")
        self._blob = blob
        self.offsets = offsets

    @classmethod
    def empty(cls) -> TextColumn:
        return cls(b"", np.zeros(1, np.int64))

    @classmethod
    def of(cls, texts: Iterable[str]) -> TextColumn:
        builder = TextBuilder()
        builder.add(texts)
        return builder.finish()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, row: int) -> str:
        if not 0 <= row < len(self):
            raise IndexError(row)
        start, stop = int(self.offsets[row]), int(self.offsets[row + 1])
        return self._blob[start:stop].decode()

    def many(self, rows: Iterable[int]) -> tuple[str, ...]:
        return tuple(self[row] for row in rows)

    def raw(self, start: int, stop: int) -> bytes:
        """Rows start..stop encoded, copied verbatim into the next index on reindex."""
        return self._blob[int(self.offsets[start]) : int(self.offsets[stop])]

    def save(self, folder: Path) -> None:
        (folder / BLOB).write_bytes(self._blob)
        np.save(folder / OFFSETS, np.asarray(self.offsets, np.int64), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> TextColumn | None:
        """The snapshot's column, memory-mapped; None for a snapshot written without it."""
        if not (folder / BLOB).is_file() or not (folder / OFFSETS).is_file():
            return None
        with (folder / BLOB).open("rb") as file:
            size = file.seek(0, 2)
            blob = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        return cls(blob, np.load(folder / OFFSETS, allow_pickle=False))


class TextBuilder:
    """Assembles a column from fresh texts and verbatim row ranges of an older one."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._lengths: list[np.ndarray] = []

    def add(self, texts: Iterable[str]) -> None:
        encoded = [t.encode() for t in texts]
        self._chunks.append(b"".join(encoded))
        self._lengths.append(np.fromiter(map(len, encoded), np.int64, len(encoded)))

    def copy_rows(self, column: TextColumn, start: int, stop: int) -> None:
        self._chunks.append(column.raw(start, stop))
        self._lengths.append(np.diff(np.asarray(column.offsets[start : stop + 1], np.int64)))

    def finish(self) -> TextColumn:
        sizes = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        return TextColumn(b"".join(self._chunks), offsets)
