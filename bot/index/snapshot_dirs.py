"""The snapshot folders on disk: one writer at a time, a CURRENT pointer, no stale scratch.

Two reindexes writing one cache used to race: each pointed CURRENT at its own snapshot and
deleted every other one, so CURRENT could end up naming a folder the other had just
deleted (3 trials in 40), and the next start re-embedded the whole corpus. Writers now
take a cross-process lock (`filelock`: flock on Unix, released by the kernel when a
process dies, so a killed reindex never leaves it held, which a hand-rolled pid file
would need stale-pid guessing for). Under the lock, every scratch folder present belongs
to a writer that died, and every snapshot CURRENT does not name is unreachable.

A cache that cannot be written (a read-only mount, a folder of another account) has no
writer to exclude: a current snapshot is read from it without the lock, and a reindex
that must write there stops with `CacheReadOnly`, one line, before embedding anything.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from bot.settings import SettingsError

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
SNAPSHOT_PREFIX = "snapshot-"
STAGING_PREFIX = ".tmp-"  # a snapshot being written
BUILD_PREFIX = ".build-"  # a reindex's scratch files
LOCK_NAME = ".reindex.lock"


_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class ReindexBusy(RuntimeError):
    """Another reindex holds this cache's lock and the caller chose not to wait for it."""


class CacheReadOnly(SettingsError):
    """The index must be written to a cache that cannot be written; one line for the user."""


def refused_write(exc: OSError) -> bool:
    """The error of a write the file system or the folder's permissions do not allow."""
    return exc.errno in _READ_ONLY_ERRNOS


def read_only_error(path: Path, exc: OSError) -> CacheReadOnly:
    """The one line to stop with when the index cannot be written at `path`."""
    return CacheReadOnly(
        f"setting CACHE_DIR: the cached index is missing or out of date, and {path} cannot "
        f"be written ({exc.strerror or exc}); make CACHE_DIR writable, or run `python -m bot "
        f"reindex` where it can be written"
    )


def _unwritable(folder: Path, exc: OSError) -> bool:
    """Whether `exc` means nothing can be written in `folder` (so no writer can be there)."""
    if exc.errno == errno.EROFS:
        return True
    if not refused_write(exc):
        return False
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return not os.access(folder, os.W_OK)


def lock_path(cache_dir: Path) -> Path:
    return cache_dir / "index" / LOCK_NAME


def _note_holder(descriptor: int) -> None:
    """Write our pid into the lock file, so a refused reindex can say who holds it."""
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, str(os.getpid()).encode(), 0)


def _lock_for(cache_dir: Path) -> FileLock:
    path = lock_path(cache_dir).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One instance per path in a process, so a save inside a locked refresh re-enters it.
    return FileLock(path, is_singleton=True, on_acquired=_note_holder)


def _holder(cache_dir: Path) -> str:
    try:
        pid = lock_path(cache_dir).read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


@contextmanager
def exclusive(cache_dir: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the cache's reindex lock: wait up to `wait_s` seconds (None: as long as it takes).

    Re-entrant within a thread; another thread or process waits. Raises `ReindexBusy` when
    the wait runs out. In a cache that cannot be written there is no other writer, and no
    lock is taken: reading goes on, and a write there raises `CacheReadOnly`.
    """
    lock: FileLock | None = None
    try:
        lock = _lock_for(cache_dir)
        lock.acquire(timeout=-1 if wait_s is None else max(wait_s, 0.0))
    except Timeout:  # before OSError, of which it is one
        raise ReindexBusy(
            f"another reindex is running on {cache_dir} ({_holder(cache_dir)} holds "
            f"{lock_path(cache_dir)}); try again when it has finished"
        ) from None
    except OSError as exc:
        if not _unwritable(lock_path(cache_dir).parent, exc):
            raise
        log.debug("%s cannot be written (%s): reading it without the lock", cache_dir, exc)
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def current_name(root: Path) -> str | None:
    """The snapshot folder CURRENT names, or None when there is no CURRENT."""
    try:
        return (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def point_current(root: Path, name: str) -> None:
    """Point CURRENT at `name` atomically (write beside it, then rename over it)."""
    pointer = root / f".{CURRENT}.{os.getpid()}"
    pointer.write_text(name, encoding="utf-8")
    pointer.replace(root / CURRENT)


def remove_unreferenced(root: Path) -> None:
    """Remove the snapshots CURRENT does not name; call under the lock.

    A process still serving one keeps its memory-mapped pages readable after the removal.
    """
    keep = current_name(root)
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith(SNAPSHOT_PREFIX) and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def clear_stale(root: Path, prefix: str) -> None:
    """Remove scratch folders left by writers that died; call under the lock."""
    stale = [c for c in root.iterdir() if c.is_dir() and c.name.startswith(prefix)]
    for child in stale:
        shutil.rmtree(child, ignore_errors=True)
    if stale:
        log.info("removed %d folder(s) left by an interrupted reindex in %s", len(stale), root)


@contextmanager
def scratch(root: Path, prefix: str) -> Iterator[Path]:
    """A fresh scratch folder in `root`, removed afterwards; call under the lock.

    Stale folders with the same prefix go first: only the lock holder writes one. Raises
    `CacheReadOnly` when `root` cannot be written.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        clear_stale(root, prefix)
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError as exc:
        if refused_write(exc):
            raise read_only_error(root, exc) from None
        raise
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def build_scratch(root: Path) -> Iterator[Path]:
    """A reindex's scratch folder in `root`; outside the cache when `root` is read-only.

    A current snapshot needs no scratch at all, so a read-only cache must not stop it
    here; whatever a reindex then writes to the cache itself raises `CacheReadOnly`.
    """
    with ExitStack() as stack:
        try:
            path = stack.enter_context(scratch(root, BUILD_PREFIX))
        except CacheReadOnly:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix=BUILD_PREFIX))
            path = Path(folder)
        yield path


def warn_unread(root: Path, name: str | None, problem: Exception) -> None:
    """One clear line on why the cached index was not used (it will be rebuilt)."""
    if name is not None and not (root / name).is_dir():
        log.warning(
            "%s names the snapshot %s, which is missing; the index will be rebuilt",
            root / CURRENT,
            name,
        )
    else:
        log.warning("ignoring the cached index in %s (%s); it will be rebuilt", root, problem)
