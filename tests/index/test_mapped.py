"""Memory-mapped columns: rows read from the file, linked not copied, readable after removal."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bot.index.mapped import load_mapped, mapped_file, read_rows, save_column


def _column(tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(tmp_path / "column.npy", rows, allow_pickle=False)
    return rows, load_mapped(tmp_path / "column.npy")


def test_rows_are_read_from_the_mapped_file(tmp_path: Path) -> None:
    """read_rows gives the same rows as slicing, and a slice is not taken for the whole file."""
    rows, mapped = _column(tmp_path)
    np.testing.assert_array_equal(read_rows(mapped, 2, 5), rows[2:5])
    assert mapped_file(mapped) == tmp_path / "column.npy" and mapped_file(mapped[1:]) is None


def test_rows_still_read_after_another_reindex_removed_the_file(tmp_path: Path) -> None:
    """A snapshot removed under a process that maps it: its rows come from the mapping."""
    rows, mapped = _column(tmp_path)
    (tmp_path / "column.npy").unlink()
    np.testing.assert_array_equal(read_rows(mapped, 3, 7), rows[3:7])


def test_a_mapped_column_is_linked_not_copied(tmp_path: Path) -> None:
    """Saving a fully mapped column hard-links its file."""
    _, mapped = _column(tmp_path)
    save_column(tmp_path / "copy.npy", mapped, np.float32)
    assert os.stat(tmp_path / "copy.npy").st_ino == os.stat(tmp_path / "column.npy").st_ino
