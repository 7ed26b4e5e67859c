"""Hostile input to the editors' view and the reports: values and results too big to hold,
the database's path read through SQL, paths that dodge the hidden pages."""

from __future__ import annotations

import logging
import sqlite3
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from datasette.app import Datasette

from bot.questions.store import format_time
from bot.reports.editors import make_datasette
from bot.reports.gaps import find_gaps
from tests.fakes import HashEmbedder

from .conftest import QuestionLogFile, make_settings

ROWS_OF_200_KB = (
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 200) "
    "select printf('%.*c', 200000, 'a') as s from r"
)


@pytest.fixture
async def ds(sample_log: QuestionLogFile) -> Datasette:
    datasette = make_datasette(make_settings(sample_log.path), HashEmbedder)
    await datasette.invoke_startup()
    return datasette


async def run_sql(ds: Datasette, sql: str) -> httpx.Response:
    response: httpx.Response = await ds.client.get("/questions.json", params={"sql": sql})
    return response


async def test_a_nine_megabyte_value_is_refused(ds: Datasette) -> None:
    """printf('%.*c', 9000000, 'a') is not built (SQLite's printf gives NULL past the limit);
    a function that raises gets a "too big" error instead."""
    response = await run_sql(ds, "select length(printf('%.*c', 9000000, 'a'))")
    assert response.json()["rows"] == [[None]]
    response = await run_sql(ds, "select length(zeroblob(9000000))")
    assert response.status_code == 400
    assert "too big" in response.text


async def test_a_result_too_big_to_hold_is_refused_before_it_is_held(ds: Datasette) -> None:
    """200 rows of 200 kB each (40 MB) are refused after a bounded part was read."""
    tracemalloc.start()
    try:
        response = await run_sql(ds, ROWS_OF_200_KB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert "too big" in response.text
    assert peak < 30_000_000


async def test_the_time_limit_is_checked_between_few_steps(ds: Datasette) -> None:
    """However seldom a caller asks, the progress handler runs at least every 100 steps:
    Datasette asks every 1000, and 1000 steps over large values can run for seconds."""
    conn = ds.get_database("questions").connect()
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return 0

    conn.set_progress_handler(count, 1000)
    steps = "with recursive r(n) as (select 1 union all select n + 1 from r where n < 2000)"
    conn.execute(f"{steps} select count(*) from r").fetchall()
    conn.set_progress_handler(None, 1000)
    assert len(calls) >= 100


@pytest.mark.parametrize(
    "sql",
    [
        "select * from pragma_database_list()",
        "select file from pragma_database_list",
        "select group_concat(file, '|') from pragma_database_list()",
    ],
)
async def test_sql_cannot_read_the_database_path(
    ds: Datasette, sample_log: QuestionLogFile, sql: str
) -> None:
    """The file's absolute path, hidden from the /-/ pages, is not readable through SQL."""
    response = await run_sql(ds, sql)
    assert str(sample_log.path.resolve()) not in response.text
    assert str(sample_log.path.parent) not in response.text


async def test_database_page_still_lists_without_the_path(ds: Datasette) -> None:
    """Datasette's own database page, which reads the database list, still works."""
    assert (await ds.client.get("/questions")).status_code == 200


@pytest.mark.parametrize(
    "path", ["//-/databases.json", "///-/versions.json", "//-/settings.json", "/no-such-page"]
)
async def test_odd_paths_are_plain_404s_without_a_traceback(
    ds: Datasette,
    sample_log: QuestionLogFile,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    """A doubled slash does not reach the hidden pages, nothing logs a traceback, and each
    unknown URL is one log line."""
    with caplog.at_level(logging.INFO):
        response = await ds.client.get(path)
    assert response.status_code == 404
    assert str(sample_log.path.resolve()) not in response.text
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert ours == [f"404 GET {path!r}"]


class NearlyOneVector:
    """Every question a hair away from one direction: all neighbours of all."""

    name = "nearly-one-vector"
    dimension = 384

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        noise = np.random.default_rng(0).normal(0, 1e-3, (len(texts), self.dimension))
        vectors: np.ndarray = (1.0 + noise).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts)


async def test_gaps_memory_stays_bounded_on_near_duplicates(log_file: QuestionLogFile) -> None:
    """3 000 different wordings of one question: one group, without holding 3 000 lists of
    3 000 neighbours (72 MB) or a 3 000 x 3 000 similarity matrix (36 MB)."""
    count = 3000
    asked = format_time(datetime(2026, 2, 1, 3, 0, tzinfo=UTC))
    with sqlite3.connect(log_file.path) as db:
        db.executemany(
            "INSERT INTO questions (id, asked_at, question, language, source, user_hash, "
            "tier, answered, best_score, latency_ms, index_version) "
            "VALUES (?, ?, ?, 'ja', 'cli', ?, 'none', 0, 0.1, 1.0, 'test')",
            [(f"q{i}", asked, f"Llama 4の発売日は{i}番目？", f"r{i}") for i in range(count)],
        )
    tracemalloc.start()
    try:
        groups = await find_gaps(log_file.path, NearlyOneVector(), top=5, threshold=0.9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [g.size for g in groups] == [count]
    assert peak < 30_000_000
