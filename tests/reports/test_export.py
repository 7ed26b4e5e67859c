"""Exports for editors: CSV that Excel opens, JSONL with everything, and the filters."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.questions import QuestionLog, QuestionLogError, QuestionRecord, migrations
from bot.reports.export import ExportQuery, export_questions
from tests.questions.conftest import MakeRecord, make_file

TOKYO = ZoneInfo("Asia/Tokyo")


async def store(db_path: Path, records: list[QuestionRecord]) -> QuestionLog:
    log = await QuestionLog.open(db_path)
    for record in records:
        log.record(record)
    await log.flush()
    return log


async def export(db_path: Path, fmt: str = "csv", **query: object) -> tuple[int, bytes]:
    out = io.BytesIO()
    count = await export_questions(db_path, ExportQuery(**query), fmt, out, TOKYO)  # type: ignore[arg-type]
    return count, out.getvalue()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def ids(data: bytes) -> list[str]:
    return [json.loads(line)["id"] for line in data.decode("utf-8").splitlines()]


async def test_csv_has_bom_and_one_row_per_question(db_path: Path, make_record: MakeRecord) -> None:
    """CSV starts with a BOM and reads back with local times, top result and vote counts."""
    log = await store(db_path, [make_record(id="q", guild_id=42)])
    await log.vote("q", "a", 1)
    await log.vote("q", "b", 1)
    await log.vote("q", "c", -1)
    await log.close()
    count, data = await export(db_path)
    assert count == 1
    assert data.startswith(b"\xef\xbb\xbf")
    [row] = read_csv(data)
    assert row == {
        "asked_at (Asia/Tokyo)": "2024-05-01 12:00:00",
        "question": "Jekyllのテーマを変えるには？",
        "language": "ja",
        "tier": "answer",
        "answered": "1",
        "best_score": "0.8200",
        "top_title": "記事 1",
        "top_url": "https://blog.example/posts/1/",
        "top_excerpt": "…**テーマ** 1…",
        "top_tier": "answer",
        "thumbs_up": "2",
        "thumbs_down": "1",
        "source": "discord",
        "guild_id": "42",
    }


async def test_csv_quotes_awkward_questions(db_path: Path, make_record: MakeRecord) -> None:
    """Commas, quotes and newlines in a question survive the round trip."""
    awkward = 'テーマ, "minima" は\n変えられる？'
    await (await store(db_path, [make_record(question=awkward)])).close()
    _, data = await export(db_path)
    assert [row["question"] for row in read_csv(data)] == [awkward]


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("x")', "+81 電話", "-1+A1", "@SUM(A1)", "\t=1", "＝１＋１"]
)
async def test_csv_neutralises_formulas(db_path: Path, make_record: MakeRecord, text: str) -> None:
    """A question a spreadsheet would evaluate gets a leading apostrophe."""
    log = await store(db_path, [make_record(question=text)])
    await log.close()
    _, data = await export(db_path)
    assert [row["question"] for row in read_csv(data)] == ["'" + text]


async def test_csv_leaves_plain_numbers_alone(db_path: Path, make_record: MakeRecord) -> None:
    """A question that is only a number cannot run, so it is written as typed."""
    await (await store(db_path, [make_record(question="-1")])).close()
    _, data = await export(db_path)
    assert [row["question"] for row in read_csv(data)] == ["-1"]


async def test_jsonl_round_trip(db_path: Path, make_record: MakeRecord) -> None:
    """JSONL carries every column, the ranked results and the votes, unescaped Japanese."""
    record = make_record(id="j", results=2, tier="related", best_score=0.5)
    log = await store(db_path, [record])
    await log.vote("j", "voter", -1, "違う記事")
    await log.close()
    count, data = await export(db_path, "jsonl")
    assert count == 1 and "テーマ".encode() in data
    [item] = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert item["question"] == record.answer.question
    assert item["asked_at"] == "2024-05-01T03:00:00.000000Z"
    assert (item["tier"], item["answered"], item["guild_id"]) == ("related", 0, "111")
    assert [r["rank"] for r in item["results"]] == [1, 2]
    assert item["results"][0] == {
        "rank": 1,
        "source": "_posts/2024-05-01-post.md",
        "title": "記事 1",
        "url": "https://blog.example/posts/1/",
        "passage_id": "p1",
        "heading": "見出し 1",
        "score": 0.5,
        "excerpt": "…**テーマ** 1…",
        "tier": "related",
    }
    assert [(r["excerpt"], r["tier"]) for r in item["results"]] == [
        ("…**テーマ** 1…", "related"),
        ("…**テーマ** 2…", "related"),
    ]
    assert [(f["voter_hash"], f["vote"], f["reason"]) for f in item["feedback"]] == [
        ("voter", -1, "違う記事")
    ]


async def test_guild_filter_never_leaks_other_guilds(
    db_path: Path, make_record: MakeRecord
) -> None:
    """Filtering by guild returns only that guild's rows, not other guilds' or the CLI's."""
    records = [
        make_record(id="mine", guild_id=1),
        make_record(id="other", guild_id=2),
        make_record(id="cli", source="cli", guild_id=None, channel_id=None),
    ]
    await (await store(db_path, records)).close()
    _, data = await export(db_path, "jsonl", guild_id=1)
    assert ids(data) == ["mine"]
    count, _ = await export(db_path, "csv", guild_id=3)
    assert count == 0


async def test_unanswered_filter(db_path: Path, make_record: MakeRecord) -> None:
    """Unanswered means tier related or none."""
    records = [make_record(id=tier, tier=tier) for tier in ("answer", "related", "none")]
    await (await store(db_path, records)).close()
    _, data = await export(db_path, "jsonl", unanswered_only=True)
    assert sorted(ids(data)) == ["none", "related"]


async def test_date_filters_use_the_site_timezone(db_path: Path, make_record: MakeRecord) -> None:
    """since/until are whole days in Asia/Tokyo: 15:00 UTC is already the next day."""
    moments = {
        "apr30-late": datetime(2024, 4, 30, 14, 59, 59, tzinfo=UTC),  # 04-30 23:59:59 JST
        "may1-start": datetime(2024, 4, 30, 15, 0, 0, tzinfo=UTC),  # 05-01 00:00 JST
        "may1-end": datetime(2024, 5, 1, 14, 59, 59, 999999, tzinfo=UTC),  # 05-01 23:59 JST
        "may2-start": datetime(2024, 5, 1, 15, 0, 0, tzinfo=UTC),  # 05-02 00:00 JST
    }
    records = [make_record(id=name, asked_at=moment) for name, moment in moments.items()]
    await (await store(db_path, records)).close()
    may1 = date(2024, 5, 1)
    _, data = await export(db_path, "jsonl", since=may1, until=may1)
    assert ids(data) == ["may1-start", "may1-end"]
    _, data = await export(db_path, "jsonl", since=may1)
    assert ids(data) == ["may1-start", "may1-end", "may2-start"]
    _, data = await export(db_path, "jsonl", until=date(2024, 4, 30))
    assert ids(data) == ["apr30-late"]


async def test_export_refuses_missing_and_newer_files(db_path: Path) -> None:
    """No file, a file without the log, or one from a newer bot: a one-line error."""
    with pytest.raises(QuestionLogError, match="no question log at"):
        await export(db_path)
    make_file(db_path, "CREATE TABLE other (x);", 0)
    with pytest.raises(QuestionLogError, match="holds no question log"):
        await export(db_path)
    make_file(db_path, "", 9)
    with pytest.raises(QuestionLogError, match=rf"schema 9 > {len(migrations.MIGRATIONS)}\)"):
        await export(db_path)


async def test_csv_neutralises_a_formula_in_an_excerpt(
    db_path: Path, make_record: MakeRecord
) -> None:
    """An excerpt is article text, but a spreadsheet would still run one starting with =."""
    record = make_record(id="f", results=1)
    [shown] = record.answer.results
    answer = dataclasses.replace(
        record.answer, results=(dataclasses.replace(shown, excerpt="=1+1 **は 2**"),)
    )
    await (await store(db_path, [dataclasses.replace(record, answer=answer)])).close()
    _, data = await export(db_path)
    assert [(row["top_excerpt"], row["top_tier"]) for row in read_csv(data)] == [
        ("'=1+1 **は 2**", "answer")
    ]


async def test_results_logged_before_excerpts_export_empty(
    db_path: Path, make_record: MakeRecord
) -> None:
    """A result stored without an excerpt (logged before v3) is an empty cell, JSON null."""
    await (await store(db_path, [make_record(id="new", results=1)])).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE results SET excerpt = NULL, tier = NULL")
    conn.close()
    _, data = await export(db_path)
    assert [(row["top_title"], row["top_excerpt"], row["top_tier"]) for row in read_csv(data)] == [
        ("記事 1", "", "")
    ]
    _, data = await export(db_path, "jsonl")
    [item] = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert [(r["title"], r["excerpt"], r["tier"]) for r in item["results"]] == [
        ("記事 1", None, None)
    ]


async def test_a_version_2_file_exports_without_being_migrated(db_path: Path) -> None:
    """Export only reads: a file the bot has not yet migrated exports, excerpts empty."""
    make_file(
        db_path,
        migrations.SCHEMA_V1
        + migrations.SCHEMA_V2
        + "INSERT INTO questions VALUES ('old', '2024-05-01T00:00:00.000000Z', 'q', 'ja', "
        "'cli', NULL, NULL, NULL, 'related', 0, 0.4, 1.0, 'v', 'm');"
        "INSERT INTO results VALUES ('old', 1, '_posts/old.md', 'Old', "
        "'https://blog.example/old/', 'p1', NULL, 0.4);",
        2,
    )
    count, data = await export(db_path)
    assert count == 1
    [row] = read_csv(data)
    assert (row["top_title"], row["top_excerpt"], row["top_tier"]) == ("Old", "", "")
    _, data = await export(db_path, "jsonl")
    [item] = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert [(r["title"], r["excerpt"], r["tier"]) for r in item["results"]] == [("Old", None, None)]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    conn.close()


async def test_export_streams_many_rows(db_path: Path, make_record: MakeRecord) -> None:
    """A log larger than a fetch chunk is exported completely and in time order."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    records = [
        make_record(id=f"m{i:04d}", asked_at=start + timedelta(minutes=i)) for i in range(500)
    ]
    await (await store(db_path, records)).close()
    count, data = await export(db_path, "jsonl")
    assert count == 500 and ids(data) == sorted(ids(data))
