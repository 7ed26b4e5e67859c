"""The question log: every question readers ask, kept for the blog's editors.

Private by default: users appear only as a salted hash, and an erasure (`forget`) or
the retention period (`purge`) removes their rows. Other modules query the tables
described in :mod:`bot.questions.migrations` directly; times there are UTC text of one
fixed width (``2024-05-01T00:30:00.000000Z``, see :func:`format_time`).
"""

from bot.questions.privacy import UserHasher, load_or_create_salt
from bot.questions.questionlog import QuestionLog
from bot.questions.store import (
    Origin,
    QuestionLogError,
    QuestionRecord,
    format_time,
    new_question_id,
    parse_time,
)

__all__ = [
    "Origin",
    "QuestionLog",
    "QuestionLogError",
    "QuestionRecord",
    "UserHasher",
    "format_time",
    "load_or_create_salt",
    "new_question_id",
    "parse_time",
]
