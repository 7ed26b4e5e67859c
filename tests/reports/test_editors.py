"""The editors' Datasette view: canned queries on a small log, and no way to write."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from datasette.app import Datasette
from datasette.plugins import DEFAULT_PLUGINS, get_plugins

from bot.reports import editors_cells
from bot.reports.editors import EditorsViewError, load_metadata, make_datasette, utc_offset_modifier
from tests.fakes import HashEmbedder

from .conftest import ARTICLE_A, ARTICLE_B, QuestionLogFile, make_settings


@pytest.fixture
async def ds(sample_log: QuestionLogFile) -> Datasette:
    datasette = make_datasette(make_settings(sample_log.path), HashEmbedder)
    await datasette.invoke_startup()
    return datasette


async def _rows(ds: Datasette, query: str) -> list[dict[str, Any]]:
    response = await ds.client.get(f"/questions/{query}.json?_shape=array")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def test_unanswered_this_week(ds: Datasette) -> None:
    """Last 7 days' related/none questions, newest first, in local time with nearest article."""
    rows = await _rows(ds, "unanswered_this_week")
    assert [r["question"] for r in rows] == [
        "Llama 4の発売日は？",
        "llama 4 の発売日は?",
        "Llama 4の料金いくら？",
        "Llama 4の発売日は？",
    ]
    assert rows[0]["nearest_article"] == ARTICLE_A[0]
    assert rows[0]["asked_local"] is not None


async def test_worst_rated_answers(ds: Datasette) -> None:
    """Only answers with a 👎, most 👎 first, with reasons and the article shown first."""
    rows = await _rows(ds, "worst_rated")
    assert len(rows) == 1
    row = rows[0]
    assert (row["question"], row["thumbs_down"], row["thumbs_up"]) == (
        "MetaのEmuってどういうモデル？",
        2,
        1,
    )
    assert row["reasons"] == "古い情報"
    assert row["first_article"] == ARTICLE_A[0]


async def test_questions_per_article(ds: Datasette) -> None:
    """Each article with how often it was first, shown at all, and answered."""
    rows = await _rows(ds, "questions_per_article")
    counts = {r["title"]: (r["shown_first"], r["shown_any"], r["answered"]) for r in rows}
    assert counts == {ARTICLE_A[0]: (3, 3, 1), ARTICLE_B[0]: (3, 4, 2)}
    assert rows[0]["title"] == ARTICLE_A[0] or rows[0]["shown_first"] == 3


async def test_local_times_use_the_settings_timezone(sample_log: QuestionLogFile) -> None:
    """asked_local is UTC plus the zone offset: nine hours in Tokyo."""
    ds = make_datasette(make_settings(sample_log.path, timezone="Asia/Tokyo"), HashEmbedder)
    row = (await _rows(ds, "unanswered_this_week"))[0]
    utc_rows = await _rows(
        make_datasette(make_settings(sample_log.path, timezone="UTC"), HashEmbedder),
        "unanswered_this_week",
    )
    local = datetime.fromisoformat(row["asked_local"])
    assert (local - datetime.fromisoformat(utc_rows[0]["asked_local"])).total_seconds() == 9 * 3600


def test_offset_modifier() -> None:
    """The SQLite modifier is the zone's offset in minutes at that moment."""
    assert utc_offset_modifier(ZoneInfo("Asia/Tokyo")) == "+540 minutes"
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert utc_offset_modifier(ZoneInfo("America/New_York"), summer) == "-240 minutes"


def test_metadata_speaks_japanese_and_english() -> None:
    """Title, every canned query and every column are described in both languages."""
    metadata = load_metadata(ZoneInfo("Asia/Tokyo"))
    assert "読者" in metadata["title"] and "Reader" in metadata["title"]
    database = metadata["databases"]["questions"]
    for query in database["queries"].values():
        assert " / " in query["title"] and "LOCAL_OFFSET" not in query["sql"]
    for table in database["tables"].values():
        assert table["columns"]


async def test_insert_through_sql_is_refused(ds: Datasette, sample_log: QuestionLogFile) -> None:
    """Custom SQL that writes is rejected, whether sent by GET or POST."""
    before = sample_log.count()
    sql = "INSERT INTO questions (id) VALUES ('x')"
    got = await ds.client.get("/questions.json", params={"sql": sql})
    posted = await ds.client.post("/questions", data={"sql": sql})
    assert got.status_code == 400
    assert posted.status_code == 405
    assert sample_log.count() == before


async def test_post_to_canned_query_and_table_is_refused(
    ds: Datasette, sample_log: QuestionLogFile
) -> None:
    """Only GET and HEAD are served: canned queries and tables take no POST, PUT or DELETE."""
    before = sample_log.count()
    for path in ("/questions/worst_rated", "/questions/questions", "/questions/questions/-/insert"):
        for method in ("POST", "PUT", "DELETE"):
            response = await ds.client.request(method, path, json={"row": {"id": "x"}})
            assert response.status_code == 405, (method, path)
    assert sample_log.count() == before


async def test_no_plugins_no_download(ds: Datasette) -> None:
    """No Datasette plugin is loaded and the database file cannot be downloaded."""
    ours = (*DEFAULT_PLUGINS, editors_cells.__name__)  # the in-process link hook
    assert [p["name"] for p in get_plugins() if p["name"] not in ours] == []
    assert (await ds.client.get("/questions.db")).status_code == 403
    assert ds.setting("allow_download") is False


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    """Without a log file the view refuses to start and says why."""
    with pytest.raises(EditorsViewError, match="no questions logged yet"):
        make_datasette(make_settings(tmp_path / "missing.db"), HashEmbedder)


async def test_database_name_is_stable(log_file: QuestionLogFile, tmp_path: Path) -> None:
    """Whatever the file is called, the view's URLs use /questions."""
    renamed = tmp_path / "log-2026.sqlite"
    log_file.path.rename(renamed)
    ds = make_datasette(make_settings(renamed), HashEmbedder)
    assert (await ds.client.get("/questions/worst_rated.json")).status_code == 200
    assert "_memory" not in ds.databases
