"""Vector rows on disk while an index is assembled, never all in memory at once.

A first index of 10 000 articles has 190 000 passage vectors (290 MB) and 820 000
sentence vectors (630 MB). Kept as per-passage arrays and then concatenated, they
needed ~2.5 GB at the peak; written as they are embedded and copied in order into the
snapshot's `.npy` files, they need one batch at a time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bot.index.mapped import load_mapped


class RowSpool:
    """Rows appended to a scratch file, read back by position (not memory-mapped).

    `keep` rows of an existing file are kept (the rest cut off): a resumed index's spool.
    """

    def __init__(self, path: Path, width: int, dtype: type, keep: int = 0) -> None:
        self.path = path
        self.width = width
        self.dtype = np.dtype(dtype)
        self._file: BinaryIO = path.open("r+b" if keep and path.is_file() else "w+b")
        self.rows = keep if keep and path.is_file() else 0
        self._file.truncate(self.rows * self.width * self.dtype.itemsize)
        self._file.seek(0, os.SEEK_END)

    def append(self, rows: np.ndarray) -> int:
        """Write rows at the end; the position of the first one."""
        first = self.rows
        self._file.write(np.ascontiguousarray(rows, self.dtype).tobytes())
        self.rows += len(rows)
        return first

    def read(self, start: int, count: int) -> np.ndarray:
        self._file.flush()
        size = self.width * self.dtype.itemsize
        data = os.pread(self._file.fileno(), count * size, start * size)
        return np.frombuffer(data, self.dtype).reshape(count, self.width)

    def flush(self) -> None:
        self._file.flush()

    def close(self, remove: bool = True) -> None:
        self._file.close()
        if remove:
            self.path.unlink(missing_ok=True)


class ColumnWriter:
    """A `.npy` file of known shape, written block by block in row order."""

    def __init__(self, path: Path, rows: int, width: int, dtype: type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.shape = (rows, width)
        self.written = 0
        self._file: BinaryIO = path.open("wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False}
        np.lib.format.write_array_header_1_0(self._file, {**header, "shape": self.shape})

    def write(self, rows: np.ndarray, block: int = 65_536) -> None:
        for start in range(0, len(rows), block):
            part = np.ascontiguousarray(rows[start : start + block], self.dtype)
            self._file.write(part.tobytes())
            self.written += len(part)

    def finish(self) -> np.ndarray:
        """The written column, memory-mapped for reading."""
        self._file.close()
        if self.written != self.shape[0]:
            raise ValueError(f"{self.path.name}: {self.written} rows written, {self.shape[0]} due")
        return load_mapped(self.path)
