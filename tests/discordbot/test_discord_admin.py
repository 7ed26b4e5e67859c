"""/reindex and /export: who may run them, running them, and expired interaction tokens."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.corpus import reader
from bot.discordbot.cogs.admin import export_file_name
from bot.index.refresh import ReadLimits
from tests.discordbot.discord_world import NEW_POST, World, reply
from tests.loopback import CommandNotPermitted


async def test_non_admin_cannot_see_or_run_admin_commands(world: World) -> None:
    """Hidden by default permissions, and refused at run time even when made visible."""
    await world.start()
    with pytest.raises(CommandNotPermitted):
        await world.server.invoke_command("reindex", user=world.reader)
    for command in ("reindex", "export"):
        handle = await world.server.invoke_command(command, user=world.reader, owner_override=True)
        refusal = await reply(handle)
        assert refusal.ephemeral and "Only the server's admins" in refusal.content
        assert refusal.files == []


async def test_admins_by_permission_user_id_and_role_may_reindex(world: World) -> None:
    """Manage Server, ADMIN_USER_IDS and ADMIN_ROLE_IDS each allow /reindex."""
    await world.start()
    world.server.override_command_permissions(
        world.guild, "reindex", users=[world.editor], roles=[world.admin_role_id]
    )
    world.add_post(*NEW_POST)
    first = await reply(await world.server.invoke_command("reindex", user=world.owner))
    assert first.ephemeral and "Reindex finished" in first.content
    fields = {f["name"]: f["value"] for f in first.embeds[0]["fields"]}
    assert fields["Added (1)"] == "\\_posts/2024-07-07-tanabata.md"
    for user in (world.editor, world.moderator):
        again = await reply(await world.server.invoke_command("reindex", user=user, locale="ja"))
        assert "再索引が終わりました" in again.content


async def test_questions_are_answered_while_a_reindex_runs(world: World) -> None:
    """A slow reindex runs in the background: /ask still answers, a second /reindex waits."""
    await world.start()
    world.add_post(*NEW_POST)
    world.embedder.hold_documents = True
    running = await world.server.invoke_command("reindex", user=world.owner)
    assert (await running.wait_acknowledged()).type == 5
    assert await asyncio.to_thread(world.embedder.entered.wait, 5)
    _, answer = await world.ask("Jekyllのテーマ")
    assert answer.embeds and "七夕のお知らせ" not in {e["title"] for e in answer.embeds}
    busy = await reply(await world.server.invoke_command("reindex", user=world.owner))
    assert busy.ephemeral and "already running" in busy.content
    world.embedder.release.set()
    done = await reply(running, within=10)
    assert "Reindex finished" in done.content
    _, after = await world.ask("七夕 短冊 ボタン", category="お知らせ")
    assert [e["title"] for e in after.embeds] == ["七夕のお知らせ"]


async def test_export_contains_only_this_servers_questions(world: World) -> None:
    """CSV and JSONL attachments hold this guild's questions, never another server's."""
    await world.start(discord_guild_id=None)  # global commands, usable in both servers
    await world.ask("Jekyllのテーマ")
    elsewhere = await world.server.invoke_command(
        "ask", {"question": "Jekyllのプラグイン"}, guild=world.other
    )
    await reply(elsewhere)
    handle = await world.server.invoke_command("export", {"format": "csv"}, user=world.owner)
    message = await reply(handle)
    assert message.ephemeral and len(message.files) == 1
    exported = message.files[0]
    assert exported.name.startswith(f"questions-{world.guild.id}-") and exported.name.endswith(
        ".csv"
    )
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [(r["guild_id"], r["question"]) for r in rows] == [
        (str(world.guild.id), "Jekyllのテーマ")
    ]
    handle = await world.server.invoke_command(
        "export", {"format": "jsonl", "unanswered_only": True}, user=world.owner
    )
    jsonl = (await reply(handle)).files[0]
    assert jsonl.name.endswith(".jsonl") and jsonl.data.decode("utf-8") == ""
    other_export = await world.server.invoke_command(
        "export", {"format": "jsonl"}, guild=world.other, user=world.other_owner
    )
    lines = (await reply(other_export)).files[0].data.decode("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [str(elsewhere.id)]


async def test_export_after_the_token_expired_arrives_by_dm(world: World) -> None:
    """When the followup fails with 10015 (token expired), the file is sent by DM."""
    await world.start()
    await world.ask("Jekyllのテーマ")
    world.server.token_lifetime = 0.0  # the acknowledgement works; every followup is too late
    handle = await world.server.invoke_command("export", user=world.owner)
    dm = await world.server.wait_dm(world.owner)
    assert len(dm.files) == 1 and dm.files[0].name.endswith(".csv")
    assert "DM" in dm.content and dm.allowed_mentions == {"parse": []}
    assert handle.followups == []
    assert world.server.take_violations("expired-token") != []


async def test_a_failed_reindex_says_so_and_the_old_index_keeps_answering(world: World) -> None:
    """When the site cannot be read (here its reader is frozen past the allowance for the
    settings), /reindex says so in one line and questions are still answered from the
    index in use."""
    await world.start()
    engine = world.engine
    assert engine is not None
    stalled = ReadLimits(seconds_for_settings=0.5)
    engine.config = replace(engine.config, spec=replace(engine.config.spec, limits=stalled))
    os.kill(reader._CURRENT[0].process.pid, signal.SIGSTOP)
    failed = await reply(await world.server.invoke_command("reindex", user=world.owner))
    assert failed.ephemeral and "The reindex failed (" in failed.content
    assert "took over 0.5 s" in failed.content
    assert "keep using the current index" in failed.content
    _, answer = await world.ask("Jekyllのテーマ")
    assert answer.embeds


def test_the_export_file_is_named_by_the_day_in_timezone() -> None:
    """At 20:00 UTC it is already the next day in Tokyo, the day the rows are counted in;
    the file was named by the machine's local day."""
    evening = datetime(2026, 2, 2, 20, 0, tzinfo=UTC)
    assert (
        export_file_name(7, "csv", evening, ZoneInfo("Asia/Tokyo")) == "questions-7-2026-02-03.csv"
    )
    assert export_file_name(7, "jsonl", evening, UTC) == "questions-7-2026-02-02.jsonl"
