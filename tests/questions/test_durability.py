"""Fault injection: a process answering a burst is killed with SIGKILL at random moments.

Whatever the moment, every question whose answer was sent is in the log exactly once
after a restart, with the database locked, with a database path that cannot be written,
and (nothing then being writable) the answers are still all sent.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.questions import QuestionLog
from bot.questions.spill import spill_path

from .conftest import ExclusiveLock, rows

QUESTIONS = 50
LOCK_S = 2.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Round:
    """What one killed process said and what the restarted log holds."""

    asked: int
    sent: set[str]
    found: int
    duplicates: int


class Child:
    """The answering process, its stdout read on a thread so killing it loses no line."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.questions.durability_child", str(db), str(QUESTIONS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith("READY"):
                self.ready.set()

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)

    def words(self, first: str) -> list[list[str]]:
        return [line.split() for line in self.lines if line.startswith(first + " ")]


async def restart_and_count(db: Path, child: Child) -> Round:
    log = await QuestionLog.open(db)
    await log.close()
    sent = {words[1] for words in child.words("SENT")}
    stored = dict(rows(db, "SELECT id, count(*) FROM questions GROUP BY id"))
    return Round(
        asked=len(child.words("ASKED")),
        sent=sent,
        found=sum(1 for question_id in sent if question_id in stored),
        duplicates=sum(count - 1 for count in stored.values()),
    )


def run_child(db: Path, kill_after_s: float, hold_lock: bool) -> Child:
    """Start the answering process, release the lock after LOCK_S, kill it at kill_after_s."""
    lock = ExclusiveLock(db) if hold_lock else None
    child = Child(db)
    assert child.ready.wait(30), "the answering process did not start"
    started = time.monotonic()
    if lock is not None and kill_after_s > LOCK_S:
        time.sleep(LOCK_S)
        lock.release()
        lock = None
    time.sleep(max(0.0, kill_after_s - (time.monotonic() - started)))
    child.kill()
    if lock is not None:
        lock.release()
    return child


async def new_log(db: Path) -> None:
    log = await QuestionLog.open(db)
    await log.close()


async def test_kill_9_under_a_locked_database_loses_no_sent_answer(tmp_path: Path) -> None:
    """Database locked 2 s, SIGKILL at random moments: every sent answer's question is kept."""
    chance = random.Random(20240501)
    totals = [0, 0, 0, 0]
    for number in range(5):
        db = tmp_path / f"round{number}" / "questions.db"
        await new_log(db)
        child = run_child(db, chance.uniform(0.1, 2.6), hold_lock=True)
        result = await restart_and_count(db, child)
        assert result.found == len(result.sent), f"round {number}: {result}"
        assert result.duplicates == 0
        assert not spill_path(db).exists()
        for i, value in enumerate(
            (result.asked, len(result.sent), result.found, result.duplicates)
        ):
            totals[i] += value
    asked, sent, found, duplicates = totals
    print(f"kill -9, locked: asked {asked}, sent {sent}, found {found}, duplicates {duplicates}")
    assert totals[1] > 0


async def test_kill_9_with_an_unwritable_database_path_keeps_sent_answers(tmp_path: Path) -> None:
    """Writes to the database path fail (it is a folder): sent answers survive in the spill."""
    db = tmp_path / "data" / "questions.db"
    db.mkdir(parents=True)  # SQLite cannot open a folder; the spill beside it still works
    child = run_child(db, 1.5, hold_lock=False)
    assert child.words("SENT"), "no answer was sent while the database was unwritable"
    assert {words[2] for words in child.words("SENT")} == {"spilled"}
    shutil.rmtree(db)  # the operator fixes the path; the next start imports the spill
    result = await restart_and_count(db, child)
    print(
        f"kill -9, unwritable: asked {result.asked}, sent {len(result.sent)}, "
        f"found {result.found}, duplicates {result.duplicates}"
    )
    assert result.found == len(result.sent) > 0
    assert result.duplicates == 0


def test_nothing_writable_still_sends_every_answer(tmp_path: Path) -> None:
    """No folder can be created for the log: every answer is sent anyway, kept as 'lost'."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be\n")
    child = run_child(blocker / "questions.db", 2.5, hold_lock=False)
    sent = child.words("SENT")
    assert len(sent) == QUESTIONS
    assert {words[2] for words in sent} == {"lost"}
