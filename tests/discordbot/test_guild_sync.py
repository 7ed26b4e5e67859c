"""Where the commands are registered when DISCORD_GUILD_ID changes between runs.

A run with DISCORD_GUILD_ID registers guild commands in that server; a later run without
it registers global ones. The guild copies must go, or members of that server see every
command twice. Checked on the loopback Discord, which keeps what each sync stored.
"""

from __future__ import annotations

import json

import pytest

from tests.discordbot.discord_world import World
from tests.loopback.models import JSON

COMMANDS = {"ask", "reindex", "export", "forget-me"}


def names(commands: list[JSON]) -> set[str]:
    return {c["name"] for c in commands}


async def checked(world: World) -> list[int]:
    """The servers the running bot cleared, once it has looked at all of them."""
    await world.until(
        lambda: world.bot is not None and world.bot.cleared_guilds is not None,
        "leftover guild commands checked",
    )
    assert world.bot is not None and world.bot.cleared_guilds is not None
    return world.bot.cleared_guilds


@pytest.mark.parametrize("note", ["kept", "lost with the cache"])
async def test_unsetting_the_guild_id_removes_the_guild_commands(world: World, note: str) -> None:
    """Without DISCORD_GUILD_ID every server is asked, so the note in CACHE_DIR of where
    guild commands went is not needed for this."""
    server, guild = world.server, world.guild
    await world.start()  # DISCORD_GUILD_ID is the test server
    assert names(await server.wait_commands_synced(guild=guild)) >= COMMANDS
    assert server.commands.get(None, []) == []
    assert await checked(world) == []
    await world.stop()
    notes = list(world.settings.cache_dir.glob("discord-guild-commands-*.json"))
    assert len(notes) == 1 and json.loads(notes[0].read_text()) == [guild.id]
    if note != "kept":
        notes[0].unlink()

    await world.start(discord_guild_id=None)
    assert names(await server.wait_commands_synced(COMMANDS)) >= COMMANDS
    assert await checked(world) == [guild.id]
    assert server.commands[guild.id] == []  # no second copy of any command there
    assert names(server.commands[None]) >= COMMANDS
    for name in COMMANDS:  # what a member of the server now resolves is the global one
        found = server.find_command(name, guild.id)
        assert found is not None and "guild_id" not in found
    assert server.command_syncs == [guild.id, None, guild.id]

    # the next start finds nothing left and writes nothing
    await world.restart()
    assert await checked(world) == []
    assert server.command_syncs == [guild.id, None, guild.id, None]
    assert not notes[0].exists() or json.loads(notes[0].read_text()) == []


async def test_moving_to_another_guild_clears_the_first(world: World) -> None:
    """With DISCORD_GUILD_ID, only the servers noted in CACHE_DIR are asked."""
    server, first, second = world.server, world.guild, world.other
    await world.start()
    await server.wait_commands_synced(COMMANDS, guild=first)
    await world.stop()

    await world.start(discord_guild_id=second.id)
    assert names(await server.wait_commands_synced(COMMANDS, guild=second)) >= COMMANDS
    assert await checked(world) == [first.id]
    assert server.commands[first.id] == []
    assert names(server.commands[second.id]) >= COMMANDS
    asked = [r.path for r in server.recorder.requests if r.method == "GET"]
    assert [p for p in asked if p.endswith("/commands")] == [
        f"/applications/{server.app_id}/guilds/{first.id}/commands"
    ]


async def test_a_guild_id_run_asks_no_other_server(world: World) -> None:
    """The usual restart with DISCORD_GUILD_ID costs no request per server."""
    await world.start()
    await world.restart()
    assert await checked(world) == []
    assert not [
        r for r in world.server.recorder.requests if r.method == "GET" and "commands" in r.path
    ]


async def test_a_server_that_cannot_be_read_does_not_stop_the_others(world: World) -> None:
    """A server where the bot was added without applications.commands answers 403; the
    bot skips it, still clears the others, and keeps answering."""
    server = world.server
    await world.start()
    await world.stop()
    server.fail_next(f"GET /applications/*/guilds/{world.other.id}/commands", 403)
    await world.start(discord_guild_id=None)
    assert await checked(world) == [world.guild.id]
    assert server.commands[world.guild.id] == []
    assert server.faults_fired == [
        f"403 GET /applications/{server.app_id}/guilds/{world.other.id}/commands"
    ]
    _, answer = await world.ask("Jekyllのテーマを変えるには？")
    assert answer.embeds
