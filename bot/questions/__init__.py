"""The question log: every question readers ask, kept for the blog's editors.

Private by default: users appear only as a salted hash, and an erasure (`forget`) or
the retention period (`purge`) removes their rows. Other modules query the tables
described in :mod:`bot.questions.migrations` directly.
"""

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
    "format_time",
    "new_question_id",
    "parse_time",
]
