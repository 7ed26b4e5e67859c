"""The follower on its own: file events reindex (debounced), a failing pull is logged once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from bot.retrieval.follow import Follower
from tests.conftest import PostWriter, engine_for
from tests.fakes import HashEmbedder


async def test_file_events_reindex_once_the_folder_is_quiet(
    post: PostWriter, site: Path, tmp_path: Path
) -> None:
    post("2025-01-01-first.md", "最初の記事です。")
    engine = await asyncio.to_thread(engine_for, site, tmp_path / "cache", HashEmbedder(32))
    follower = Follower(engine, "watch")
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.sleep(0.5)  # the watcher is set up
        for n in range(2, 6):  # a burst of writes, as a git checkout makes
            post(f"2025-01-0{n}-more{n}.md", f"追加の記事{n}です。")
        async with asyncio.timeout(30):
            while len(engine.index.articles) < 5:  # noqa: ASYNC110 - nothing to await
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert follower.reindexes == 2  # the start-up catch-up, then the burst as one change


def test_a_failing_pull_is_logged_once(
    post: PostWriter, site: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    post("2025-01-01-first.md", "最初の記事です。")
    engine = engine_for(site, tmp_path / "cache", HashEmbedder(32))
    follower = Follower(engine, "git")
    with caplog.at_level(logging.INFO, logger="bot.retrieval.follow"):
        assert follower.pull() is None
        assert follower.pull() is None
    failures = [r for r in caplog.records if "git pull" in r.getMessage()]
    assert len(failures) == 1 and r"not a git repository" in failures[0].getMessage()
