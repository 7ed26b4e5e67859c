"""The running bot follows the blog: a post pushed to the blog's remote is answered
within one refresh period, a deleted one stops being shown, a snapshot another process
saves is switched to, and every question asked meanwhile is answered."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import refresh
from bot.retrieval.engine import EngineConfig
from tests.discordbot.discord_world import NEW_POST, World
from tests.loopback import RecordedMessage

PERIOD_MINUTES = 0.01  # the bot pulls every 0.6 s here; a blog would use minutes
NEW_TITLE = "七夕のお知らせ"


def git(folder: Path, *args: str) -> str:
    environment = {
        "GIT_AUTHOR_NAME": "editor",
        "GIT_AUTHOR_EMAIL": "editor@example.org",
        "GIT_COMMITTER_NAME": "editor",
        "GIT_COMMITTER_EMAIL": "editor@example.org",
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder),
    }
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def publish_through_a_remote(world: World) -> Path:
    """The corpus becomes a clone of a bare remote; returns an editor's own clone."""
    remote, editor = world.root / "remote.git", world.root / "editor"
    git(world.corpus, "init", "-q", "-b", "main")
    git(world.corpus, "add", "-A")
    git(world.corpus, "commit", "-q", "-m", "the blog so far")
    git(world.root, "clone", "-q", "--bare", str(world.corpus), str(remote))
    git(world.corpus, "remote", "add", "origin", str(remote))
    git(world.corpus, "fetch", "-q", "origin")
    git(world.corpus, "branch", "-q", "--set-upstream-to=origin/main")
    git(world.root, "clone", "-q", str(remote), str(editor))
    return editor


async def titles_for(world: World, question: str) -> list[str]:
    _, answer = await world.ask(question)
    assert answer.embeds, f"no answer to {question!r}: {answer.content}"
    return [e["title"] for e in answer.embeds]


async def keep_asking(world: World, answers: list[RecordedMessage], stop: asyncio.Event) -> None:
    while not stop.is_set():
        answers.append((await world.ask("Jekyllのテーマ"))[1])
        await asyncio.sleep(0.05)


async def test_a_pushed_post_is_answered_and_a_deleted_one_disappears(world: World) -> None:
    editor = publish_through_a_remote(world)
    channel = world.guild.channels[0]
    await world.start(refresh="git", refresh_minutes=PERIOD_MINUTES, announce_channel_id=channel.id)
    assert NEW_TITLE not in await titles_for(world, "七夕 短冊 ボタン")
    answers: list[RecordedMessage] = []
    stop = asyncio.Event()
    asking = asyncio.create_task(keep_asking(world, answers, stop))

    name, text = NEW_POST
    (editor / "_posts" / name).write_text(text, encoding="utf-8")
    git(editor, "add", "-A")
    git(editor, "commit", "-q", "-m", "tanabata")
    git(editor, "push", "-q", "origin", "main")
    await world.until(lambda: _indexed(world, name), "the pushed post indexed", within=20)
    assert (await titles_for(world, "七夕 短冊 ボタン"))[0] == NEW_TITLE
    announced = world.server.channel_messages.get(channel.id, [])
    assert any(NEW_TITLE in m.content for m in announced)

    git(editor, "rm", "-q", f"_posts/{name}")
    git(editor, "commit", "-q", "-m", "withdrawn")
    git(editor, "push", "-q", "origin", "main")
    await world.until(lambda: not _indexed(world, name), "the deleted post gone", within=20)
    assert NEW_TITLE not in await titles_for(world, "七夕 短冊 ボタン")

    stop.set()
    await asking
    assert len(answers) >= 3 and all(a.embeds for a in answers)  # none went unanswered


async def test_a_snapshot_saved_by_another_process_is_switched_to(world: World) -> None:
    """`python -m bot reindex` (here: its refresh) from outside reaches the running bot."""
    await world.start()  # REFRESH=off: only the snapshot check runs
    name, text = NEW_POST
    world.add_post(name, text)
    config = EngineConfig.from_settings(world.settings)
    await asyncio.to_thread(
        refresh, config.spec, world.embedder, JapaneseAnalyzer(), config.cache_dir
    )
    await world.until(lambda: _indexed(world, name), "the other snapshot adopted", within=20)
    assert (await titles_for(world, "七夕 短冊 ボタン"))[0] == NEW_TITLE


def _indexed(world: World, name: str) -> bool:
    assert world.engine is not None
    return f"_posts/{name}" in world.engine.index.articles
