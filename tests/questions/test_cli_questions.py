"""`python -m bot export | purge | forget` against a real log file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.cli
from bot.cli import main
from bot.questions import QuestionLog, QuestionRecord
from bot.questions.privacy import UserHasher

from .conftest import MakeRecord, rows

SALT = "cli-test-salt"


@pytest.fixture(autouse=True)
def _only_these_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the parser from this module alone, independent of the other sub-commands."""
    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", ("bot.cli.questions",))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "questions.db"
    monkeypatch.setenv("QUESTION_DB", str(path))
    monkeypatch.setenv("USER_HASH_SALT", SALT)
    monkeypatch.setenv("RETENTION_DAYS", "30")
    return path


def fill(path: Path, records: list[QuestionRecord]) -> None:
    async def write() -> None:
        log = await QuestionLog.open(path)
        for record in records:
            log.record(record)
        await log.close()

    asyncio.run(write())


@pytest.mark.parametrize(
    ("command", "phrase"),
    [("export", "UTF-8 with BOM"), ("purge", "RETENTION_DAYS"), ("forget", "USER_ID")],
)
def test_each_command_has_help(
    command: str, phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--help` describes each sub-command."""
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert phrase in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--since", "2024-13-01"], "error: --since: expected a date like 2024-05-01"),
        (["export", "--until", "soon"], "error: --until: expected a date like 2024-05-01"),
        (["export", "--since", "2024-05-02", "--until", "2024-05-01"], "is after --until"),
        (["export", "--guild", "abc"], "error: --guild: expected a numeric Discord id"),
        (["forget", "@alice"], "error: USER_ID: expected a numeric Discord id"),
    ],
)
def test_user_mistakes_are_one_line(
    db: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad dates and ids exit with code 2 and a single line on stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_export_csv_to_file(db: Path, make_record: MakeRecord, tmp_path: Path) -> None:
    """`export --guild ID --out FILE` writes that guild's rows as BOM-prefixed CSV."""
    fill(db, [make_record(id="a", guild_id=7), make_record(id="b", guild_id=8)])
    out = tmp_path / "export.csv"
    assert main(["export", "--guild", "7", "--out", str(out)]) == 0
    text = out.read_bytes().decode("utf-8-sig")
    assert [row["guild_id"] for row in csv.DictReader(io.StringIO(text, newline=""))] == ["7"]


def test_export_jsonl_to_stdout(
    db: Path, make_record: MakeRecord, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Without --out the export goes to stdout and the count to stderr."""
    fill(db, [make_record(id="x", tier="none"), make_record(id="y")])
    assert main(["export", "--format", "jsonl", "--unanswered"]) == 0
    captured = capsysbinary.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == ["x"]
    assert b"exported 1 questions" in captured.err


def test_export_without_a_log_is_a_user_error(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exporting before anything was logged says so in one line and leaves no file."""
    assert main(["export", "--out", str(tmp_path / "out.csv")]) == 2
    assert "no question log at" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_purge_uses_retention_days(
    db: Path, make_record: MakeRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    """`purge` removes rows older than RETENTION_DAYS and prints the count."""
    now = datetime.now(UTC)
    fill(
        db,
        [
            make_record(id="old", asked_at=now - timedelta(days=31), results=2),
            make_record(id="recent", asked_at=now - timedelta(days=29), results=2),
        ],
    )
    assert main(["purge"]) == 0
    assert capsys.readouterr().out.startswith("removed 3 rows")
    assert rows(db, "SELECT id FROM questions") == [("recent",)]


def test_forget_hashes_the_id_with_the_salt(
    db: Path, make_record: MakeRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    """`forget USER_ID` removes the rows recorded under that user's salted hash."""
    hashed = UserHasher(SALT).hash(424242)
    fill(db, [make_record(id="mine", user_hash=hashed, results=1), make_record(id="theirs")])
    assert main(["forget", "424242"]) == 0
    assert capsys.readouterr().out.strip() == "removed 2 rows for that user"
    assert rows(db, "SELECT id FROM questions") == [("theirs",)]
