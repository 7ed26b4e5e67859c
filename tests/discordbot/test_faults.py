"""Faults around /ask and /reindex: Discord's 5xx, a locked or deleted question database,
a reindex that fails halfway; and the daily retention purge.

What discord.py does with a 5xx on a webhook (followups are webhook requests) is pinned
here: it tries five times, sleeping 1, 3, 5, 7 and 9 seconds, then raises
``DiscordServerError``. The tests record those sleeps instead of waiting them out.
"""

from __future__ import annotations

import asyncio
import logging
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import discord.webhook.async_
import numpy as np
import pytest

from bot.discordbot.client import PURGE_EVERY_HOURS
from bot.discordbot.messages import say
from bot.questions import Origin, QuestionRecord
from bot.questions.spill import spill_path
from tests.discordbot.discord_world import NEW_POST, World, reply
from tests.questions.conftest import ExclusiveLock

BUG = say("bug", "en")


class RecordedSleeps(types.ModuleType):
    """Stands in for ``asyncio`` inside discord.py's webhook module: sleeps are noted, not slept."""

    def __init__(self) -> None:
        super().__init__("asyncio")
        self.delays: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.delays.append(delay)
        await asyncio.sleep(0)
        return result


@pytest.fixture
def webhook_sleeps(monkeypatch: pytest.MonkeyPatch) -> RecordedSleeps:
    sleeps = RecordedSleeps()
    monkeypatch.setattr(discord.webhook.async_, "asyncio", sleeps)
    return sleeps


def followup_statuses(world: World, token: str) -> list[int]:
    """Statuses the loopback answered to this interaction's followup requests, in order."""
    return [
        r.status
        for r in world.server.requests
        if r.method == "POST" and r.path.startswith("/webhooks/") and token in r.path
    ]


# -- Discord's 5xx on the followup ------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_one_5xx_on_the_followup_is_retried_and_the_answer_arrives(
    world: World, webhook_sleeps: RecordedSleeps, status: int
) -> None:
    """discord.py retries a followup that got 500/502/503 once after 1 s; the reader is answered."""
    await world.start()
    world.server.fail_next("POST /webhooks/*", status)
    handle, message = await world.ask("Jekyllのテーマ")
    assert message.embeds and not message.ephemeral
    assert followup_statuses(world, handle.token) == [status, 200]
    assert webhook_sleeps.delays == [1]
    await world.flush()
    assert world.rows("SELECT count(*) FROM questions WHERE id = ?", str(handle.id)) == [(1,)]


async def test_5xx_five_times_ends_in_a_logged_error_and_an_apology(
    world: World, webhook_sleeps: RecordedSleeps, caplog: pytest.LogCaptureFixture
) -> None:
    """After five failed tries the error is logged with the interaction id; the reader gets the
    apology instead of the answer (public, like the "thinking…" message it replaces), and the
    question is still logged."""
    await world.start()
    world.server.fail_next("POST /webhooks/*", 502, times=5)
    with caplog.at_level(logging.ERROR, logger="bot.discordbot.client"):
        handle, message = await world.ask("Jekyllのテーマ")
    assert message.content == BUG and message.embeds == [] and not message.ephemeral
    assert followup_statuses(world, handle.token) == [502] * 5 + [200]
    assert webhook_sleeps.delays == [1, 3, 5, 7, 9]
    logged = [r for r in caplog.records if str(handle.id) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], discord.DiscordServerError)
    await world.flush()
    assert world.rows("SELECT count(*) FROM questions WHERE id = ?", str(handle.id)) == [(1,)]


async def test_when_even_the_apology_fails_it_is_logged_and_the_question_kept(
    world: World, webhook_sleeps: RecordedSleeps, caplog: pytest.LogCaptureFixture
) -> None:
    """Ten 5xx in a row: the answer and the apology both fail; both are logged, the reader is
    left with Discord's "thinking…" placeholder, and the question is still logged."""
    await world.start()
    world.server.fail_next("POST /webhooks/*", 500, times=10)
    with caplog.at_level(logging.WARNING):
        handle = await world.server.invoke_command("ask", {"question": "Jekyllのテーマ"})
        await world.until(lambda: len(followup_statuses(world, handle.token)) == 10, "tries")
        await world.until(
            lambda: any("could not answer" in r.getMessage() for r in caplog.records), "warning"
        )
    assert handle.ack is not None and handle.ack.type == 5
    assert [m.loading for m in handle.messages] == [True]
    assert followup_statuses(world, handle.token) == [500] * 10
    about = [r for r in caplog.records if str(handle.id) in r.getMessage()]
    assert [r.levelname for r in about] == ["ERROR", "WARNING"]
    await world.flush()
    assert world.rows("SELECT count(*) FROM questions WHERE id = ?", str(handle.id)) == [(1,)]


# -- the question database ----------------------------------------------------------------


async def test_a_locked_database_does_not_delay_the_reply(world: World) -> None:
    """With another connection holding BEGIN EXCLUSIVE, /ask is acknowledged and answered
    while the lock is held; the row lands once the lock is released."""
    await world.start()
    assert world.questions is not None
    lock = ExclusiveLock(world.settings.question_db)
    try:
        handle, message = await world.ask("Jekyllのテーマ")
        assert handle.ack is not None and handle.ack.type == 5
        assert message.embeds
        assert world.questions.pending == 1
        assert world.rows("SELECT count(*) FROM questions") == [(0,)]
    finally:
        lock.release()
    await world.flush()
    assert world.questions.pending == 0
    assert world.rows("SELECT id FROM questions") == [(str(handle.id),)]


@pytest.mark.parametrize("with_wal", [False, True], ids=["db-file", "db-wal-shm"])
async def test_a_deleted_database_is_recreated_and_the_row_lands(
    world: World, with_wal: bool
) -> None:
    """Deleting the database (alone, or with its -wal and -shm files) while the bot runs:
    the next question recreates it and is stored there; nothing is spilled."""
    await world.start()
    before, _ = await world.ask("Jekyllのテーマ")
    await world.flush()
    db = world.settings.question_db
    doomed = [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm"))] if with_wal else [db]
    for path in doomed:
        path.unlink()
    after, message = await world.ask("How is the Discord bot deployed?")
    assert message.embeds
    await world.flush()
    assert db.exists()
    assert world.rows("SELECT id FROM questions") == [(str(after.id),)]
    assert not spill_path(db).exists()
    await world.restart()
    again, _ = await world.ask("Jekyllのプラグイン")
    await world.flush()
    assert {r[0] for r in world.rows("SELECT id FROM questions")} == {str(after.id), str(again.id)}
    assert before.id not in {int(r[0]) for r in world.rows("SELECT id FROM questions")}


# -- a reindex that fails halfway -----------------------------------------------------------


async def test_a_failing_reindex_is_reported_privately_and_the_old_index_keeps_answering(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The embedder raising mid-reindex: the admin gets a private apology, the error is logged,
    /ask answers from the old index, and a later /reindex (embedder fixed) succeeds."""
    await world.start()
    assert world.engine is not None
    old_version = world.engine.index.version
    world.add_post(*NEW_POST)
    calls: list[int] = []

    def crashing(texts: Any) -> np.ndarray:
        calls.append(len(texts))
        raise RuntimeError("embedding model crashed")

    monkeypatch.setattr(world.embedder, "embed_documents", crashing)
    with caplog.at_level(logging.ERROR, logger="bot.discordbot.client"):
        handle = await world.server.invoke_command("reindex", user=world.owner)
        failed = await reply(handle)
    assert calls, "the reindex got as far as embedding the new article"
    assert failed.ephemeral and failed.content == BUG
    assert any(str(handle.id) in r.getMessage() and r.exc_info for r in caplog.records)
    assert world.engine.index.version == old_version and not world.engine.reindexing
    _, answer = await world.ask("七夕 短冊 ボタン")
    assert answer.embeds and "七夕のお知らせ" not in {e["title"] for e in answer.embeds}
    monkeypatch.undo()
    done = await reply(await world.server.invoke_command("reindex", user=world.owner))
    assert "Reindex finished" in done.content
    _, after = await world.ask("七夕 短冊 ボタン", category="お知らせ")
    assert [e["title"] for e in after.embeds] == ["七夕のお知らせ"]


# -- retention ------------------------------------------------------------------------------


def old_record(world: World, ident: str, asked_at: datetime, answer: Any) -> QuestionRecord:
    return QuestionRecord(
        id=ident,
        asked_at=asked_at,
        origin=Origin("discord", world.guild.id, None, world.hasher.hash(world.reader.id)),
        answer=answer,
        model="hash",
    )


async def test_daily_purge_removes_questions_past_retention_days(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The purge step deletes questions older than RETENTION_DAYS (results too), keeps newer
    ones, and logs how many rows went."""
    bot = await world.start(retention_days=30)
    assert world.engine is not None and world.questions is not None
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    answer = await world.engine.ask("Jekyllのテーマ")
    assert answer.results
    world.questions.record(old_record(world, "expired", now - timedelta(days=31), answer))
    world.questions.record(old_record(world, "kept", now - timedelta(days=29), answer))
    await world.flush()
    with caplog.at_level(logging.INFO, logger="bot.discordbot.client"):
        removed = await bot.purge_expired(now)
    assert removed == 1 + len(answer.results)
    assert world.rows("SELECT id FROM questions") == [("kept",)]
    assert world.rows("SELECT count(*) FROM results WHERE question_id = 'expired'") == [(0,)]
    assert any(f"removed {removed} rows" in r.getMessage() for r in caplog.records)


async def test_daily_purge_runs_at_start_up_then_every_24_hours_until_close(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The loop starts with the bot and purges once it is ready (a question 400 days old,
    left by the previous run, goes), waits 24 hours for the next run, and stops on close."""
    caplog.set_level(logging.INFO, logger="bot.discordbot.client")

    def purges() -> list[str]:
        return [r.getMessage() for r in caplog.records if "retention: removed" in r.getMessage()]

    await world.start(retention_days=30)
    assert world.engine is not None and world.questions is not None
    await world.until(lambda: len(purges()) == 1, "first run's purge")
    answer = await world.engine.ask("Jekyllのテーマ")
    last_year = datetime.now(UTC) - timedelta(days=400)
    world.questions.record(old_record(world, "last-year", last_year, answer))
    await world.flush()
    bot = await world.restart()
    assert bot.daily_purge.is_running() and bot.daily_purge.hours == PURGE_EVERY_HOURS == 24
    await world.until(lambda: len(purges()) == 2, "start-up purge")
    assert f"removed {1 + len(answer.results)} rows" in purges()[1]
    assert world.rows("SELECT count(*) FROM questions") == [(0,)]
    next_run = bot.daily_purge.next_iteration
    assert next_run is not None and next_run - datetime.now(UTC) > timedelta(hours=23)
    await world.stop()
    assert not bot.daily_purge.is_running()


async def test_a_purge_that_cannot_run_is_logged_and_keeps_the_loop(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A question log that refuses the purge (here: closed) is a warning, not a crash."""
    bot = await world.start()
    assert world.questions is not None
    await world.questions.close()
    with caplog.at_level(logging.WARNING, logger="bot.discordbot.client"):
        assert await bot.purge_expired() == 0
    assert any("could not purge" in r.getMessage() for r in caplog.records)
    assert bot.daily_purge.is_running()
