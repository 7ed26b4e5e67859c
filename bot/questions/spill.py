"""The spill file: where rows go when the database cannot take them.

When the writer's queue is full during an outage, or the bot stops while the database
is still unwritable, rows are appended (and fsync'ed) as JSON lines to
``<db>.spill.jsonl`` beside the database; the next :meth:`QuestionLog.open` writes them
back and removes the file. Writing back is idempotent, so a row found both in the
database and in the spill file is still stored once.

Two processes may share a database (the bot and a CLI command). An appender holds an
exclusive ``flock`` while writing, and an importer first renames the file, then takes
the same lock, so a line is never appended to a file that is being read and removed:
an appender whose file was renamed under it notices and opens the new one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from bot.questions.store import Row, row_count, row_from_json, row_to_json

log = logging.getLogger(__name__)

CLAIM_SUFFIX = ".importing"


def spill_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".spill.jsonl")


def append(path: Path, rows: Iterable[Row]) -> None:
    """Append rows as JSON lines and fsync; raises ``OSError`` if the disk refuses."""
    data = "".join(json.dumps(row_to_json(r), ensure_ascii=False) + "\n" for r in rows)
    if not data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not _same_file(fd, path):
                continue  # claimed by an importer while we waited: use the new file
            _write_all(fd, data.encode("utf-8"))
            os.fsync(fd)
            return
        finally:
            os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        current = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (current.st_dev, current.st_ino)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def claim(path: Path) -> list[Path]:
    """Take the spill file (and any claimed by an importer that died) for importing."""
    claimed = sorted(path.parent.glob(path.name + ".*" + CLAIM_SUFFIX))
    target = path.with_name(f"{path.name}.{os.getpid()}-{os.urandom(4).hex()}{CLAIM_SUFFIX}")
    try:
        path.rename(target)
    except FileNotFoundError:
        return claimed
    return [*claimed, target]


def read(path: Path) -> list[Row]:
    """The rows of a claimed file; a torn or unreadable line is skipped with a warning."""
    with path.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # wait for an appender still writing
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    rows: list[Row] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(row_from_json(json.loads(line)))
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("question log: skipping unreadable line %d of %s", number, path)
    return rows


def remove_matching(path: Path, unwanted: Callable[[Row], bool]) -> int:
    """Drop the spilled rows ``unwanted`` selects (to forget a user); returns database rows."""
    claimed = claim(path)
    rows = [row for part in claimed for row in read(part)]
    kept = [row for row in rows if not unwanted(row)]
    append(path, kept)
    for part in claimed:
        part.unlink(missing_ok=True)
    return sum(row_count(row) for row in rows) - sum(row_count(row) for row in kept)
