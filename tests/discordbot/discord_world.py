"""The test world: a real discord.py bot against the loopback Discord, on a tiny corpus.

:class:`World` holds the loopback server with two servers (guilds), three kinds of member
(reader, configured admin user, member of an admin role) and the guild owner, and can
start, stop and restart the bot on the same question log. After each test it checks
that Discord would have accepted everything and that no message could ping anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from bot.discordbot.client import BlogBot
from bot.questions import QuestionLog
from bot.questions.privacy import UserHasher
from bot.retrieval.engine import Engine, EngineConfig
from bot.settings import Settings
from tests.fakes import HashEmbedder
from tests.loopback import (
    Guild,
    InteractionHandle,
    LoopbackDiscord,
    Perm,
    RecordedMessage,
    User,
    point_discord_py_at,
)

SALT = "discord-tests-salt"
NO_PINGS: dict[str, list[str]] = {"parse": []}
POSTS = {
    "2024-05-01-jekyll-theme.md": """---
layout: post
title: "Jekyllのテーマを変える方法"
date: 2024-05-01 10:00:00 +0900
categories: ["ブログ運営"]
tags: ["Jekyll", "テーマ"]
---

Jekyllのテーマを変えるには、Gemfileにテーマのgemを追加して、
_config.ymlのthemeを書き換えます。その後 bundle install を実行します。

## 注意点

テーマを変えるとレイアウトのファイル名が変わることがあります。
古いレイアウトを参照している記事は表示が崩れるので確認しましょう。
""",
    "2024-06-10-discord-bot.md": """---
layout: post
title: "Discord bot for blog readers"
date: 2024-06-10 09:00:00 +0900
categories: ["Programming"]
tags: ["Discord", "Python"]
---

We built a Discord bot that answers questions about the blog.
It uses slash commands and replies with excerpts from the articles.

## Deployment

The bot runs as a systemd service. Set the DISCORD_TOKEN environment variable before starting it.
""",
    "2023-03-03-jekyll-plugins.md": """---
layout: post
title: "Jekyllのプラグイン入門"
date: 2023-03-03 12:00:00 +0900
categories: ["ブログ運営"]
tags: [TAGS]
---

Jekyllのプラグインは_pluginsフォルダに置きます。GitHub Pagesでは使えるプラグインが限られています。
""".replace("TAGS", ", ".join(f'"tag{n:02d}"' for n in range(30))),
}
NEW_POST = (
    "2024-07-07-tanabata.md",
    """---
layout: post
title: "七夕のお知らせ"
date: 2024-07-07 07:00:00 +0900
categories: ["お知らせ"]
tags: ["イベント"]
---

七夕の日にブログのデザインを新しくしました。短冊の形のボタンを追加しています。
""",
)


class GatedEmbedder(HashEmbedder):
    """HashEmbedder whose document (or query) embedding can be held until released."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_documents = False
        self.hold_queries = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def _hold(self) -> None:
        self.entered.set()
        if not self.release.wait(10):
            raise TimeoutError("the test never released the embedder")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.hold_documents:
            self._hold()
        return super().embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.hold_queries:
            self._hold()
        return super().embed_queries(texts)


class World:
    """The loopback Discord, its members, the corpus and (re)startable bots."""

    def __init__(self, server: LoopbackDiscord, root: Path, people: dict[str, Any]) -> None:
        self.server = server
        self.root = root
        self.corpus = root / "corpus"
        self.guild: Guild = people["guild"]
        self.other: Guild = people["other"]
        self.owner: User = people["owner"]
        self.reader: User = people["reader"]
        self.editor: User = people["editor"]
        self.moderator: User = people["moderator"]
        self.other_owner: User = people["other_owner"]
        self.admin_role_id: int = people["admin_role_id"]
        self.embedder = GatedEmbedder()
        self.settings = self.make_settings()
        self.engine: Engine | None = None
        self.bot: BlogBot | None = None
        self.questions: QuestionLog | None = None
        self._task: asyncio.Task[None] | None = None
        self.hasher = UserHasher(SALT)

    def make_settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "corpus_dir": self.corpus,
            "cache_dir": self.root / "cache",
            "question_db": self.root / "data" / "questions.db",
            "user_hash_salt": SALT,
            "discord_guild_id": self.guild.id,
            "admin_user_ids": [f"{self.guild.id}:{self.editor.id}"],
            "admin_role_ids": [self.admin_role_id],
            "ask_cooldown_seconds": 0,
            "refresh": "off",  # the follow tests turn it on; elsewhere /reindex is explicit
            # Tiers are decided here, not by the calibration of a real model: any hit answers.
            "answer_threshold": 0.0,
            "related_threshold": 0.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    async def start(self, **overrides: Any) -> BlogBot:
        """Start a new bot (a fresh engine and question log) and wait until it is ready."""
        if overrides:
            self.settings = self.make_settings(**overrides)
        config = EngineConfig.from_settings(self.settings)
        self.engine, _ = await asyncio.to_thread(Engine.open, config, self.embedder)
        self.questions = await QuestionLog.open(self.settings.question_db)
        identified = len(self.server.gateway.identifies)
        self.bot = BlogBot(
            settings=self.settings,
            engine=cast(Engine, self.engine),
            questions=self.questions,
            hasher=self.hasher,
            guild_ready_timeout=0.05,  # READY waits this long for more GUILD_CREATEs
        )
        self._task = asyncio.create_task(self.bot.start(self.server.token))
        await self.until(lambda: self.bot is not None and self.bot.is_ready(), "bot ready")
        assert len(self.server.gateway.identifies) == identified + 1
        return self.bot

    async def until(self, probe: Any, what: str, within: float = 10.0) -> None:
        """Poll a condition the server does not announce (the bot's own state)."""
        async with asyncio.timeout(within):
            while not probe():
                if self._task is not None and self._task.done():
                    self._task.result()
                    raise AssertionError(f"the bot stopped before {what}")
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close the bot and its question log (everything queued is written)."""
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            await self._task
        if self.questions is not None:
            await self.questions.close()
        self.bot = self.questions = self._task = None

    async def restart(self) -> BlogBot:
        await self.stop()
        return await self.start()

    async def ask(
        self, question: str, *, user: User | None = None, locale: str = "en-US", **options: Any
    ) -> tuple[InteractionHandle, RecordedMessage]:
        """Run /ask and return the interaction and the bot's visible reply."""
        handle = await self.server.invoke_command(
            "ask", {"question": question, **options}, user=user, locale=locale
        )
        return handle, await reply(handle)

    def add_post(self, name: str, text: str) -> None:
        (self.corpus / "_posts" / name).write_text(text, encoding="utf-8")

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the question log directly, as the editors' tools would."""
        with sqlite3.connect(self.settings.question_db) as conn:
            return conn.execute(sql, params).fetchall()

    async def flush(self) -> None:
        assert self.questions is not None
        await self.questions.flush()


async def reply(handle: InteractionHandle, within: float = 5.0) -> RecordedMessage:
    """The first message of the interaction that is not a "thinking…" placeholder."""
    probe = lambda: next((m for m in handle.messages if not m.loading), None)  # noqa: E731
    return await handle.recorder.wait_for(probe, within, f"reply to {handle.id}")


def every_message(server: LoopbackDiscord) -> list[RecordedMessage]:
    """Every message snapshot the bot produced, deferred placeholders excluded."""
    found = [m for h in server.interactions for m in h.messages]
    found += [m for ms in server.channel_messages.values() for m in ms]
    return [m for m in found if not m.loading]


def people() -> dict[str, Any]:
    owner, reader = User("owner"), User("reader")
    editor, moderator = User("editor"), User("moderator")
    guild = Guild.make("Blog readers", owner=owner, members=[reader, editor])
    admin_role = guild.add_role("editors", Perm.SEND_MESSAGES)
    guild.add_member(moderator, [admin_role])
    other_owner = User("other-owner")
    other = Guild.make("Another server", owner=other_owner, members=[reader])
    return {
        "owner": owner,
        "reader": reader,
        "editor": editor,
        "moderator": moderator,
        "guild": guild,
        "other": other,
        "other_owner": other_owner,
        "admin_role_id": admin_role.id,
    }


@contextlib.asynccontextmanager
async def open_world(root: Path, **server_options: Any) -> AsyncIterator[World]:
    """The loopback Discord with the test posts and a restartable bot; afterwards, checks
    that no message the bot sent could ping anyone."""
    posts = root / "corpus" / "_posts"
    posts.mkdir(parents=True)
    for name, text in POSTS.items():
        (posts / name).write_text(text, encoding="utf-8")
    cast = people()
    users = [cast[k] for k in ("reader", "editor", "moderator", "owner", "other_owner")]
    server = LoopbackDiscord(guilds=[cast["guild"], cast["other"]], users=users, **server_options)
    async with server:
        with point_discord_py_at(server):
            here = World(server, root, cast)
            try:
                yield here
            finally:
                here.embedder.release.set()
                await here.stop()
        for message in every_message(server):
            assert message.allowed_mentions == NO_PINGS, message
