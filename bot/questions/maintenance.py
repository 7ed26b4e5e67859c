"""Deleting from the question log: retention (purge) and a reader's erasure (forget).

Child rows are deleted explicitly rather than left to ``ON DELETE CASCADE`` so the
count reported to the operator is every row removed, whatever the connection's
foreign-key setting. A question's place in a gap cover (``gap_cover_questions``) goes
with it; the cover itself (an article URL and a time) stays, even once it names no
question.
"""

from __future__ import annotations

from collections.abc import Callable

import aiosqlite

from bot.questions.store import QuestionRow, Row, rollback_quietly

OLD_QUESTIONS = "SELECT id FROM questions WHERE asked_at < ?"
USER_QUESTIONS = "SELECT id FROM questions WHERE user_hash = ?"


async def delete_older_than(conn: aiosqlite.Connection, cutoff: str) -> int:
    """Remove questions asked before ``cutoff`` (stored time form); returns rows removed."""
    return await _delete(
        conn,
        [
            (f"DELETE FROM feedback WHERE question_id IN ({OLD_QUESTIONS})", cutoff),
            (f"DELETE FROM results WHERE question_id IN ({OLD_QUESTIONS})", cutoff),
            (f"DELETE FROM gap_cover_questions WHERE question_id IN ({OLD_QUESTIONS})", cutoff),
            ("DELETE FROM questions WHERE asked_at < ?", cutoff),
            ("DELETE FROM shares WHERE shared_at < ?", cutoff),
        ],
    )


async def delete_user(conn: aiosqlite.Connection, user_hash: str) -> int:
    """Remove a user's questions (with their results, votes and gap-cover links) and the
    votes they gave."""
    return await _delete(
        conn,
        [
            ("DELETE FROM feedback WHERE voter_hash = ?", user_hash),
            (f"DELETE FROM feedback WHERE question_id IN ({USER_QUESTIONS})", user_hash),
            (f"DELETE FROM results WHERE question_id IN ({USER_QUESTIONS})", user_hash),
            (f"DELETE FROM gap_cover_questions WHERE question_id IN ({USER_QUESTIONS})", user_hash),
            ("DELETE FROM questions WHERE user_hash = ?", user_hash),
        ],
    )


def belongs_to(user_hash: str) -> Callable[[Row], bool]:
    """Selects the queued or spilled rows to forget with a user: their questions, votes on
    those questions (seen after them, as rows are kept in order), and votes they gave."""
    question_ids: set[str] = set()

    def matches(row: Row) -> bool:
        if isinstance(row, QuestionRow):
            if row.user_hash == user_hash:
                question_ids.add(row.id)
                return True
            return False
        return row.voter_hash == user_hash or row.question_id in question_ids

    return matches


async def _delete(conn: aiosqlite.Connection, statements: list[tuple[str, str]]) -> int:
    removed = 0
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, value in statements:
            async with conn.execute(sql, (value,)) as cursor:
                removed += max(cursor.rowcount, 0)
        await conn.commit()
    except BaseException:
        await rollback_quietly(conn)
        raise
    return removed
