"""Schema versions: new files, older files brought up to date, newer files refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.questions import QuestionLog, QuestionLogError, migrations

from .conftest import MakeRecord, make_file, rows

SCHEMA = {
    "questions": [
        "id", "asked_at", "question", "language", "source", "guild_id", "channel_id",
        "user_hash", "tier", "answered", "best_score", "latency_ms", "index_version", "model",
    ],
    "results": [
        "question_id", "rank", "source", "title", "url", "passage_id", "heading", "score",
        "excerpt", "tier",
    ],
    "feedback": ["question_id", "voter_hash", "vote", "reason", "voted_at"],
    "shares": ["question_id", "shared_at"],
    "gap_covers": ["id", "url", "covered_at"],
    "gap_cover_questions": ["cover_id", "question_id"],
}  # fmt: skip
CURRENT = len(migrations.MIGRATIONS)  # the version a file is brought to


def user_version(path: Path) -> int:
    return int(rows(path, "PRAGMA user_version")[0][0])


async def test_new_file_has_the_documented_schema(db_path: Path) -> None:
    """A fresh log has exactly the tables and columns other modules rely on, in WAL mode."""
    log = await QuestionLog.open(db_path)
    await log.close()
    for table, columns in SCHEMA.items():
        assert [r[1] for r in rows(db_path, f"PRAGMA table_info({table})")] == columns
    assert user_version(db_path) == CURRENT == 3
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_newer_schema_is_refused(db_path: Path) -> None:
    """A file written by a newer bot is refused with a clear message and left untouched."""
    make_file(db_path, "CREATE TABLE questions (id TEXT);", 5)
    message = f"{db_path} was written by a newer version (schema 5 > {CURRENT}); upgrade the bot"
    with pytest.raises(QuestionLogError) as caught:
        await QuestionLog.open(db_path)
    assert str(caught.value) == message
    assert user_version(db_path) == 5


@pytest.mark.parametrize("kind", ["empty file", "unrelated tables"])
async def test_version_0_file_is_migrated(db_path: Path, kind: str) -> None:
    """An empty or foreign version-0 SQLite file gets the schema; its other tables stay."""
    if kind == "empty file":
        make_file(db_path, "", 0)
    else:
        make_file(db_path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep');", 0)
    log = await QuestionLog.open(db_path)
    await log.close()
    assert user_version(db_path) == CURRENT
    assert rows(db_path, "SELECT count(*) FROM questions") == [(0,)]
    if kind == "unrelated tables":
        assert rows(db_path, "SELECT body FROM notes") == [("keep",)]


async def test_older_file_is_migrated_keeping_rows(
    db_path: Path, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with rows is brought to a (hypothetical) next version by the appended script."""
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="kept"))
    await log.close()
    next_script = """
    ALTER TABLE questions ADD COLUMN thread_id TEXT;
    CREATE INDEX q_thread ON questions (thread_id);
    """
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, next_script))
    log = await QuestionLog.open(db_path)
    await log.close()
    assert user_version(db_path) == CURRENT + 1
    assert rows(db_path, "SELECT id, thread_id FROM questions") == [("kept", None)]


async def test_failed_migration_rolls_back(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that fails part-way leaves the file at its previous version, unchanged."""
    log = await QuestionLog.open(db_path)
    await log.close()
    broken = "CREATE TABLE extra (a TEXT);\nINSERT INTO missing_table VALUES (1);"
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    with pytest.raises(QuestionLogError, match=r"cannot bring .* up to date"):
        await QuestionLog.open(db_path)
    assert user_version(db_path) == CURRENT
    assert rows(db_path, "SELECT name FROM sqlite_master WHERE name = 'extra'") == []


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    """A trigger's inner semicolons do not split it."""
    script = """
    CREATE TABLE a (x);
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
      UPDATE a SET x = 1;
      UPDATE a SET x = 2;
    END;
    """
    statements = migrations.split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


async def test_a_version_1_file_gains_the_shares_table(db_path: Path) -> None:
    """A file from before "share once" is migrated in place, its questions kept."""
    make_file(db_path, migrations.SCHEMA_V1 + "INSERT INTO questions VALUES " + V1_ROW, 1)
    log = await QuestionLog.open(db_path)
    await log.close()
    assert user_version(db_path) == CURRENT
    assert rows(db_path, "SELECT id FROM questions") == [("old",)]
    assert rows(db_path, "SELECT count(*) FROM shares") == [(0,)]


async def test_a_version_2_file_gains_excerpts_and_gap_covers(
    db_path: Path, make_record: MakeRecord
) -> None:
    """A file from before excerpts were kept is migrated in place: its questions, results
    and shares stay, their excerpt and tier NULL, and new questions keep theirs."""
    make_file(
        db_path,
        migrations.SCHEMA_V1
        + migrations.SCHEMA_V2
        + "INSERT INTO questions VALUES "
        + V1_ROW
        + "INSERT INTO results VALUES "
        + V2_RESULT
        + "INSERT INTO shares VALUES ('old', '2024-05-01T00:01:00.000000Z');",
        2,
    )
    log = await QuestionLog.open(db_path)
    log.record(make_record(id="new", results=1))
    await log.close()
    assert user_version(db_path) == CURRENT == 3
    assert rows(db_path, "SELECT question_id FROM shares") == [("old",)]
    assert rows(
        db_path, "SELECT question_id, rank, title, score, excerpt, tier FROM results ORDER BY 1"
    ) == [
        ("new", 1, "記事 1", 0.82, "…**テーマ** 1…", "answer"),
        ("old", 1, "Old title", 0.4, None, None),
    ]
    assert rows(db_path, "SELECT count(*) FROM gap_covers") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM gap_cover_questions") == [(0,)]


V1_ROW = (
    "('old', '2024-05-01T00:00:00.000000Z', 'q', 'ja', 'cli', NULL, NULL, NULL, 'none', "
    "0, 0.1, 1.0, 'v', 'm');"
)
V2_RESULT = (
    "('old', 1, '_posts/old.md', 'Old title', 'https://blog.example/old/', 'p1', NULL, 0.4);"
)
