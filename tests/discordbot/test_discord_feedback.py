"""Votes, sharing and erasure: buttons that outlive the bot, and /forget-me."""

from __future__ import annotations

import re

from tests.discordbot.discord_world import World, reply


def votes(world: World, question_id: int) -> list[tuple[str, int]]:
    return world.rows(
        "SELECT voter_hash, vote FROM feedback WHERE question_id = ? ORDER BY voter_hash",
        str(question_id),
    )


async def test_votes_are_stored_once_and_survive_a_restart(world: World) -> None:
    """👍 then, after a restart, 👎 on the old message: one row per voter, latest vote wins."""
    await world.start()
    handle, message = await world.ask("Jekyllのテーマ")
    up = await world.server.click(message, f"vote:up:{handle.id}")
    thanks = await reply(up)
    assert thanks.ephemeral and "Thanks" in thanks.content
    await world.restart()
    down = await world.server.click(message, f"vote:down:{handle.id}", locale="ja")
    assert "👎" in (await reply(down)).content
    other = await world.server.click(message, f"vote:up:{handle.id}", user=world.editor)
    await reply(other)
    await world.flush()
    assert sorted(votes(world, handle.id)) == sorted(
        [(world.hasher.hash(world.reader.id), -1), (world.hasher.hash(world.editor.id), 1)]
    )


async def test_private_answer_can_be_shared_to_the_channel(world: World) -> None:
    """A private answer carries a share button that reposts it publicly, votes included."""
    await world.start()
    handle, private = await world.ask("How is the Discord bot deployed?", private=True)
    assert private.ephemeral and private.embeds
    share_id = f"share:{handle.id}"
    assert private.custom_ids() == [f"vote:up:{handle.id}", f"vote:down:{handle.id}", share_id]
    shared = await reply(await world.server.click(private, share_id))
    assert not shared.ephemeral and "shared an answer" in shared.content
    assert [e["title"] for e in shared.embeds] == [e["title"] for e in private.embeds]
    assert shared.custom_ids() == [f"vote:up:{handle.id}", f"vote:down:{handle.id}"]
    vote = await reply(await world.server.click(shared, f"vote:up:{handle.id}", user=world.editor))
    assert vote.ephemeral


async def test_forget_me_removes_only_the_askers_rows(world: World) -> None:
    """/forget-me deletes the reader's questions and votes and says how many rows went."""
    await world.start()
    mine, message = await world.ask("Jekyllのテーマ")
    await world.ask("Discord bot")
    theirs, _ = await world.ask("Jekyllのプラグイン", user=world.editor)
    await reply(await world.server.click(message, f"vote:up:{mine.id}", user=world.editor))
    await reply(await world.server.click(message, f"vote:down:{mine.id}"))
    handle = await world.server.invoke_command("forget-me")
    confirmation = await reply(handle)
    assert confirmation.ephemeral
    removed = int(re.findall(r"\d+", confirmation.content)[0])
    assert removed >= 4  # two questions, their results and both votes on the first
    await world.flush()
    reader = world.hasher.hash(world.reader.id)
    assert world.rows("SELECT count(*) FROM questions WHERE user_hash = ?", reader) == [(0,)]
    assert world.rows("SELECT count(*) FROM feedback WHERE voter_hash = ?", reader) == [(0,)]
    assert world.rows("SELECT id FROM questions") == [(str(theirs.id),)]
