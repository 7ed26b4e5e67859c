"""Snapshot columns as memory-mapped `.npy` files, of which a question reads a few rows.

The large columns of a snapshot (passage and sentence vectors, sentence units, term ids)
are mapped rather than read, so start-up costs milliseconds and processes serving one
snapshot share its pages. Only the rows a question touches should become resident in
the process; these helpers keep it so, and let a new snapshot link an unchanged column
instead of copying it.
"""

from __future__ import annotations

import mmap
import os
import weakref
from pathlib import Path

import numpy as np

# Each mapping's file, payload address and size, so a snapshot can link it, not copy it.
_MAPS: weakref.WeakKeyDictionary[mmap.mmap, tuple[Path, int, int]] = weakref.WeakKeyDictionary()


def load_mapped(path: Path) -> np.ndarray:
    """A `.npy` column memory-mapped read-only, as a plain ndarray.

    Indexing an `np.memmap` costs a Python-level hook per operation (~75 per question),
    so the file is mapped here directly. The kernel's read-ahead is left on: where the
    page cache does not keep the snapshot, `MADV_RANDOM` turned each row read into a
    disk read (search p95 35 ms instead of 5.6 ms at 10 000 articles) for 6% less RSS.
    """
    with path.open("rb") as file:
        version = np.lib.format.read_magic(file)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(file)
        offset = file.tell()
        mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    flat = np.frombuffer(mapping, dtype, count=int(np.prod(shape)), offset=offset)
    array = flat.reshape(shape, order="F" if fortran else "C")
    _MAPS[mapping] = (path, array.ctypes.data, array.nbytes)
    return array


def mapped_file(array: np.ndarray) -> Path | None:
    """The `.npy` file that `array` maps in full (a slice of it does not count), if any."""
    base: object = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer keeps a memoryview of the mapping
        base = base.obj
    found = _MAPS.get(base) if isinstance(base, mmap.mmap) else None
    if found is None or not array.flags.c_contiguous:
        return None
    path, address, size = found
    return path if (array.ctypes.data, array.nbytes) == (address, size) else None


def read_rows(array: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows start..stop, read from the file when `array` maps one (the pages stay unmapped).

    Passes over a whole column (graph build, neighbourhood norms) would otherwise map
    every page of it into the process, the build's largest share of peak RSS.
    """
    path = mapped_file(array)
    if path is None or array.ndim != 2:
        return np.asarray(array[start:stop])
    stop = min(stop, len(array))
    if stop <= start:
        return np.asarray(array[0:0])
    row_bytes = array.shape[1] * array.dtype.itemsize
    try:
        offset = path.stat().st_size - array.nbytes + start * row_bytes
        with path.open("rb") as file:
            file.seek(offset)
            data = np.fromfile(file, array.dtype, (stop - start) * array.shape[1])
    except FileNotFoundError:  # a newer reindex removed the snapshot; the mapping still reads
        return np.asarray(array[start:stop])
    return data.reshape(stop - start, array.shape[1])


def all_finite(array: np.ndarray, block: int = 8_192) -> bool:
    """Whether every value of a float column is finite (no NaN, no infinity).

    Read `block` rows at a time (`read_rows`), so a check of a whole mapped column never
    makes it resident in the process.
    """
    for start in range(0, len(array), block):
        if not _finite(read_rows(array, start, start + block)):
            return False
    return True


def _finite(rows: np.ndarray) -> bool:
    if not rows.size:
        return True
    if rows.dtype == np.float16:  # NaN and infinity are the values with every exponent bit set
        return int((rows.view(np.uint16) & 0x7FFF).max()) < 0x7C00
    if rows.dtype == np.float32:  # unit rows: a float64 sum is finite unless a value is not
        return bool(np.isfinite(np.sum(rows, dtype=np.float64)))
    return bool(np.isfinite(rows).all())


def save_column(path: Path, array: np.ndarray, dtype: type) -> None:
    """Write a column; one already mapped in full from a `.npy` file is hard-linked.

    Copying would read every page of it into this process (hundreds of MB of RSS at
    10 000 articles) only to write the same bytes again.
    """
    source = mapped_file(array)
    if source is not None and array.dtype == np.dtype(dtype):
        try:
            os.link(source, path)
            return
        except OSError:
            pass  # another file system: copy
    np.save(path, np.asarray(array, dtype), allow_pickle=False)


def recache_in_small_pages(path: Path) -> None:
    """Sync the file and cache it again page by page, for random row reads.

    Written sequentially, a file sits in the page cache in large folios, and on Linux 6
    one fault on a memory-mapped large folio maps all of it: reading 256 scattered rows
    of the passage vectors made ~25 MB resident in the serving process, and a few
    hundred questions most of the file. Dropped and read ahead again, the cache holds
    small pages and a question maps only what it reads (1 MB for those 256 rows).
    Syncing first (only clean pages can be dropped) also puts the column on disk before
    the manifest that names it.
    """
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(descriptor)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(descriptor)
