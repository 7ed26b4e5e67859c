"""A process that answers bursts of questions the way the bot does, for kill -9 tests.

``python -m tests.questions.durability_child DB COUNT`` opens the question log, prints
``READY``, then asks ``COUNT`` questions in concurrent bursts of ten. Each question is
kept with :meth:`QuestionLog.record_durably` before its answer is "sent": the line
``SENT <id> <how it was kept>`` on stdout, flushed at once, stands for the reply to the
reader. The parent kills this process whenever it likes and counts what survived.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from bot.questions import QuestionLog
from tests.questions.conftest import fake_record

BURST = 10
WAIT_S = 0.2


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def answer_one(log: QuestionLog) -> None:
    question_id = uuid.uuid4().hex
    say(f"ASKED {question_id}")
    kept = await log.record_durably(fake_record(id=question_id), wait_s=WAIT_S)
    say(f"SENT {question_id} {kept}")


async def main(db: Path, count: int) -> None:
    log = await QuestionLog.open(db, busy_timeout_ms=300, retry_initial_s=0.05, retry_max_s=0.2)
    say("READY")
    for start in range(0, count, BURST):
        await asyncio.gather(*(answer_one(log) for _ in range(min(BURST, count - start))))
        await asyncio.sleep(0.05)
    say("DONE")
    await asyncio.sleep(3600)  # stay up like a bot: only the kill ends it


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
