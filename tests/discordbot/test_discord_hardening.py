"""Per-server admins, allowed servers, sharing once, autocomplete off the event loop and
logs without tokens or names, through the loopback Discord."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator

import pytest

from bot.cli import configure_logging, main
from bot.discordbot import redaction
from bot.discordbot.autocomplete import MAX_SUFFIXES, MAX_VALUES, PrefixIndex
from bot.retrieval.engine import Engine
from bot.settings import SettingsError, load_settings
from tests.discordbot.discord_world import World, reply
from tests.loopback import Guild, User


async def test_an_admin_of_one_server_is_not_admin_in_another(world: World) -> None:
    """guild_id:user_id makes the editor admin in the blog's server only."""
    world.other.add_member(world.editor)
    await world.start(discord_guild_id=None)  # global commands: usable in both servers
    here = await world.server.invoke_command("export", user=world.editor, owner_override=True)
    assert len((await reply(here)).files) == 1
    elsewhere = await world.server.invoke_command(
        "export", guild=world.other, user=world.editor, owner_override=True
    )
    refusal = await reply(elsewhere)
    assert refusal.files == [] and "Only the server's admins" in refusal.content


def test_a_bare_admin_id_counts_only_in_discord_guild_id() -> None:
    """A bare user id means DISCORD_GUILD_ID; without that setting it is refused."""
    single = load_settings(_env_file=None, admin_user_ids="42,7:43", discord_guild_id=5)
    assert single.admin_users() == {(5, 42), (7, 43)}
    with pytest.raises(SettingsError, match="ADMIN_USER_IDS: 42 names no server"):
        load_settings(_env_file=None, admin_user_ids="42").admin_users()
    with pytest.raises(SettingsError, match="ADMIN_USER_IDS"):
        load_settings(_env_file=None, admin_user_ids="someone")


def test_run_refuses_a_bare_admin_id_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` stops with one line and exit 2 before connecting to anything."""
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 40)
    monkeypatch.setenv("ADMIN_USER_IDS", "42")
    monkeypatch.delenv("DISCORD_GUILD_ID", raising=False)
    monkeypatch.chdir(os.path.dirname(__file__))  # no .env here
    assert main(["run"]) == 2
    assert "ADMIN_USER_IDS: 42 names no server" in capsys.readouterr().err


async def test_the_bot_leaves_servers_not_allowed(world: World) -> None:
    """On ready it leaves every server not in ALLOWED_GUILD_IDS, and any it is added to."""
    await world.start(allowed_guild_ids=[world.guild.id])
    left = world.server.recorder.left_guilds
    await world.until(lambda: world.other.id in left, "left the other server")
    stranger = Guild.make("Stranger", owner=User("stranger"))
    joined = stranger.payload(include_all_members=False)
    joined.pop("unavailable", None)  # a server the bot was just added to, not an outage
    world.server.guilds.append(stranger)  # the bot was added to it
    await world.server.gateway.dispatch("GUILD_CREATE", joined, guild_id=stranger.id)
    await world.until(lambda: stranger.id in left, "left the new server")
    assert world.guild.id not in left and world.other not in world.server.guilds
    _, answer = await world.ask("Jekyllのテーマ")  # the allowed server is still served
    assert answer.embeds


async def test_an_answer_is_shared_once_even_across_a_restart(world: World) -> None:
    """The second click on "share" (and one after a restart) only tells the clicker."""
    await world.start()
    handle, private = await world.ask("How is the Discord bot deployed?", private=True)
    share_id = f"share:{handle.id}"
    shared = await reply(await world.server.click(private, share_id))
    assert not shared.ephemeral
    again = await reply(await world.server.click(private, share_id))
    assert again.ephemeral and "already been shared" in again.content
    await world.restart()
    after = await reply(await world.server.click(private, share_id, locale="ja"))
    assert after.ephemeral and "もうチャンネルに共有" in after.content
    public = [m for ms in world.server.channel_messages.values() for m in ms]
    public += [m for h in world.server.interactions for m in h.messages if not m.ephemeral]
    assert sum("shared an answer" in m.content for m in public) == 1


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Records, for each read of the corpus's categories and tags, if it ran on the loop."""
    calls: list[bool] = []
    for name in ("categories", "tags"):
        original = getattr(Engine, name)

        def spy(self: Engine, _original=original) -> list[str]:  # type: ignore[no-untyped-def]
            calls.append(threading.current_thread() is threading.main_thread())
            return list(_original(self))

        monkeypatch.setattr(Engine, name, spy)
    yield calls


async def test_autocomplete_never_reads_the_corpus_on_the_event_loop(
    world: World, engine_calls: list[bool]
) -> None:
    """Keystrokes are answered from the index; the corpus is read in a worker thread."""
    await world.start()
    for typed in ("", "t", "ta", "tag1", "disc"):
        await world.server.autocomplete("ask", "tag", typed)
    choices = await world.server.autocomplete("ask", "tag", "テ")
    assert [c["value"] for c in choices] == ["テーマ"]
    assert engine_calls and not any(engine_calls)


def test_a_keystroke_is_a_binary_search_at_200_articles_by_10000_tags() -> None:
    """200 articles each with the same 10 000 tags: a keystroke takes well under 5 ms."""
    tags = (f"tag{t:05d}-{'話題' if t % 2 else 'topic'}" for _ in range(200) for t in range(10_000))
    index = PrefixIndex.build(tags)
    assert len(index) == 10_000
    started = time.perf_counter()
    for typed in ("t", "TAG0999", "話題", "zzz"):
        assert len(index.complete(typed)) <= 25
    assert (time.perf_counter() - started) / 4 < 0.005
    assert index.complete("tag09999") == ["tag09999-話題"]
    assert index.complete("99-話")[:2] == ["tag00099-話題", "tag00199-話題"]


def test_the_index_is_bounded() -> None:
    """Two million distinct names: the index keeps a bounded number and stays fast."""
    index = PrefixIndex.build(f"a{a:03d}-t{t:05d}" for a in range(200) for t in range(10_000))
    assert len(index) == MAX_VALUES
    assert len(index.suffix_keys) <= MAX_SUFFIXES
    started = time.perf_counter()
    assert index.complete("a000-t0000") == [f"a000-t0000{d}" for d in range(10)]
    assert time.perf_counter() - started < 0.005


async def test_debug_logs_hold_no_token_interaction_token_or_name(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture, world: World
) -> None:
    """A DEBUG session: discord.py logs payloads and URLs, the filter removes secrets."""
    names = ("Kagami Rin", "rin_kagami_2024", "りんちゃん")
    named = User(names[1], global_name=names[0])
    world.guild.add_member(named).nick = names[2]
    caplog.set_level(logging.DEBUG)
    configure_logging("DEBUG", False)  # what `python -m bot` does: installs the redactor
    try:
        redaction.add_secret(world.server.token)
        await world.start()
        handle = await world.server.invoke_command("ask", {"question": "Jekyll"}, user=named)
        await reply(handle)
        await world.stop()
        text = caplog.text + "".join(r.getMessage() for r in caplog.records)
        assert "WebSocket Event" in text and "INTERACTION_CREATE" in text
        assert "/callback" in text, "discord.py logged the interaction's URL"
        for secret in (world.server.token, handle.token, *names):
            assert secret not in text, secret
    finally:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(redaction.REDACTOR)
