"""A real, small question log on disk for the report tests: schema from the migrations."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.questions.migrations import migrate
from bot.questions.store import format_time
from bot.settings import Settings, load_settings
from tests.questions.conftest import db_path, make_answer, make_record

__all__ = ["db_path", "make_answer", "make_record"]  # the question-log fixtures, shared

ARTICLE_A = ("MetaがLlama 4で画像生成能力を強化", "http://localhost:4000/2025/12/11/a.html")
ARTICLE_B = ("Llama 4、言語理解が倍増？", "http://localhost:4000/2025/12/12/b.html")


@dataclass
class QuestionLogFile:
    """Inserts rows the way the bot stores them (UTC text times, ranks from 1)."""

    path: Path
    ids: list[str] = field(default_factory=list)

    def add(
        self,
        question: str,
        asked_at: datetime,
        *,
        tier: str = "none",
        user: str | None = "reader-1",
        articles: Sequence[tuple[str, str]] = (),
        votes: Sequence[tuple[str, int, str | None]] = (),
    ) -> str:
        qid = uuid.uuid4().hex
        with sqlite3.connect(self.path) as db:
            db.execute(
                "INSERT INTO questions (id, asked_at, question, language, source, user_hash, "
                "tier, answered, best_score, latency_ms, index_version) "
                "VALUES (?, ?, ?, 'ja', 'discord', ?, ?, ?, 0.5, 12.0, 'test')",
                (qid, format_time(asked_at), question, user, tier, int(tier == "answer")),
            )
            for rank, (title, url) in enumerate(articles, 1):
                db.execute(
                    "INSERT INTO results (question_id, rank, source, title, url, passage_id, "
                    "heading, score) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                    (qid, rank, url.split("#")[0], title, url, f"p{rank}", 0.9 - rank / 10),
                )
            for voter, vote, reason in votes:
                db.execute(
                    "INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
                    (qid, voter, vote, reason, format_time(asked_at + timedelta(minutes=1))),
                )
        self.ids.append(qid)
        return qid

    def count(self, table: str = "questions") -> int:
        with sqlite3.connect(self.path) as db:
            return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture
async def log_file(tmp_path: Path) -> QuestionLogFile:
    """An empty question log at the current schema, made by the store's own migrations."""
    path = tmp_path / "questions.db"
    async with aiosqlite.connect(path) as conn:
        await migrate(conn, path)
    return QuestionLogFile(path)


def make_settings(db_path: Path, **overrides: object) -> Settings:
    """Settings pointing at the test log, ignoring any `.env` in the working directory."""
    return load_settings(question_db=db_path, _env_file=None, **overrides)


@pytest.fixture
def sample_log(log_file: QuestionLogFile) -> QuestionLogFile:
    """A week of questions relative to now: gaps, answers, votes, an old unanswered one."""
    now = datetime.now(UTC).replace(microsecond=0)
    add = log_file.add
    add("Llama 4の発売日は？", now - timedelta(days=1), user="r1", articles=[ARTICLE_A])
    add("llama 4 の発売日は?", now - timedelta(days=2), user="r2", articles=[ARTICLE_A])
    add("Llama 4の発売日は？", now - timedelta(days=3), user="r3", articles=[ARTICLE_B])
    add(
        "Llama 4の料金いくら？",
        now - timedelta(days=2, hours=1),
        tier="related",
        articles=[ARTICLE_B],
    )
    add("昔の未回答の質問", now - timedelta(days=30), user="r4")
    add(
        "MetaのEmuってどういうモデル？",
        now - timedelta(hours=5),
        tier="answer",
        articles=[ARTICLE_A, ARTICLE_B],
        votes=[("v1", -1, "古い情報"), ("v2", -1, None), ("v3", 1, None)],
    )
    add(
        "Llama 4の言語理解は？",
        now - timedelta(hours=6),
        tier="answer",
        articles=[ARTICLE_B],
        votes=[("v1", 1, None)],
    )
    return log_file
