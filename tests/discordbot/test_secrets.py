"""Secrets and names stay out: the bot token and the hash salt never reach logs, errors or
exports, `.env` is never committed, and the question log stores no user names.

The start-up checks run ``python -m bot run`` in-process (``bot.cli.main``) against the
loopback Discord, with the hash embedder in place of the real model.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import bot.cli.compose
from bot.cli import main
from bot.questions.privacy import UserHasher
from bot.settings import Settings, SettingsError, load_settings
from tests.conftest import ROOT
from tests.discordbot.discord_world import POSTS, World, open_world, reply
from tests.fakes import HashEmbedder
from tests.loopback import LoopbackDiscord, User, point_discord_py_at

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GsEcReT.do-not-print-this-token-0123456789abcdef"
SALT = "salt-that-must-stay-private-5f0e"
NAMES = ("Hanako Yamada", "hanako_yamada_1987", "はなこ先生")


class LoopbackThread:
    """The loopback Discord on its own event loop in a thread, so ``main()`` can call
    ``asyncio.run`` (and install signal handlers) in the main thread as it does in production."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server: LoopbackDiscord | None = None

    def __enter__(self) -> LoopbackDiscord:
        self._thread.start()
        self.server = self._call(self._start())
        return self.server

    async def _start(self) -> LoopbackDiscord:
        server = LoopbackDiscord(strict=False)  # the refused token is checked by the test
        await server.start()
        return server

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self._call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def bot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a tiny corpus and no `.env`; settings come from the environment only."""
    posts = tmp_path / "corpus" / "_posts"
    posts.mkdir(parents=True)
    for name, text in POSTS.items():
        (posts / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_TOKEN", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "DISCORD_GUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CORPUS_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QUESTION_DB", str(tmp_path / "data" / "questions.db"))
    monkeypatch.setenv("USER_HASH_SALT", SALT)
    monkeypatch.setattr(bot.cli.compose, "embedder_for", lambda settings: HashEmbedder())
    return tmp_path


def leaks(secret: str, caplog: pytest.LogCaptureFixture, *texts: str) -> list[str]:
    """Where ``secret`` shows: printed text, or the bot's and libraries' log records (message,
    arguments, formatted line with traceback). The loopback server's own records are left
    out: it plays Discord, which does see the token."""
    found = [f"text {n}" for n, text in enumerate(texts) if secret in text]
    for record in caplog.records:
        if record.name.startswith("tests."):
            continue
        shown = caplog.handler.format(record) + record.getMessage() + repr(record.args)
        if secret in shown:
            found.append(f"log record {record.name}: {record.msg}")
    return found


def files_under(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


def test_a_rejected_token_is_never_printed_or_logged(
    bot_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """`run` with a token Discord refuses (debug logging on): one error line naming DISCORD_TOKEN,
    exit 2, and the token in no output, log record, traceback or data file."""
    caplog.set_level(logging.DEBUG)
    with LoopbackThread() as server, point_discord_py_at(server):
        monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
        monkeypatch.setenv("DISCORD_API_BASE", server.api_base)
        monkeypatch.setenv("DISCORD_GATEWAY_URL", server.gateway_url)
        code = main(["--verbose", "run"])
        refused = list(server.violations)
    out, err = capsys.readouterr()
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "DISCORD_TOKEN was rejected" in errors[0]
    assert err.strip().splitlines()[-1] == errors[0]  # after the first index's one notice
    assert refused and all(v.startswith("auth: GET /users/@me") for v in refused)
    assert any(TOKEN in v for v in refused), "the bot did present the token to Discord"
    assert any(r.name.startswith("discord.") for r in caplog.records), "discord.py's debug logs"
    assert leaks(TOKEN, caplog, out, err) == []
    assert leaks(SALT, caplog, out, err) == []
    data = list(files_under(bot_env / "data"))
    assert data, "the question log was opened before logging in"
    assert [p for p in data if TOKEN.encode() in p.read_bytes()] == []


@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_a_missing_token_is_one_line_without_secrets(
    bot_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, value: str | None,
) -> None:  # fmt: skip
    """No token (unset, empty or blank): exit 2 with one line naming DISCORD_TOKEN; the salt
    shows nowhere."""
    caplog.set_level(logging.DEBUG)
    if value is not None:
        monkeypatch.setenv("DISCORD_TOKEN", value)
    assert main(["run"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "DISCORD_TOKEN is not set" in err
    assert leaks(SALT, caplog, out, err) == []


def test_settings_hide_the_token_and_the_salt() -> None:
    """repr, str and a JSON dump of the settings mask DISCORD_TOKEN and USER_HASH_SALT, and
    an error about another setting does not quote them."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=SecretStr(TOKEN),
        user_hash_salt=SecretStr(SALT),
    )
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == TOKEN
    shown = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    for text in shown:
        assert TOKEN not in text and SALT not in text
        assert "**********" in text
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, discord_token=TOKEN, user_hash_salt=SALT, passage_chars=1)
    assert "PASSAGE_CHARS" in str(refused.value)
    assert TOKEN not in str(refused.value) and SALT not in str(refused.value)
    assert SALT not in repr(UserHasher(SALT))


def test_dot_env_is_ignored_by_git() -> None:
    """`.env` (where the token lives) is listed in .gitignore and git agrees."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {".env", "/.env"} & {line.strip() for line in lines}
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        return
    ignored = subprocess.run([git, "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0
    tracked = subprocess.run(
        [git, "ls-files", "--", ".env"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""


# -- the question log and its export, after a real Discord session ---------------------------


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The Discord test world, with a bot token worth hiding."""
    async with open_world(tmp_path, token=TOKEN) as here:
        yield here


def every_value(db: Path) -> list[str]:
    """Every value of every column of every table, as text."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            str(value)
            for table in tables
            for row in conn.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    finally:
        conn.close()


async def test_the_question_log_and_export_hold_no_names_ids_or_token(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader with a known username, display name and nickname asks; no table, no export
    file and no bot log line holds the name, their Discord id or the bot token."""
    caplog.set_level(logging.INFO)
    named = User(NAMES[1], global_name=NAMES[0])
    world.guild.add_member(named).nick = NAMES[2]
    await world.start()
    question = "Jekyllのテーマを変えるには？"
    handle = await world.server.invoke_command("ask", {"question": question}, user=named)
    answer = await reply(handle)
    assert answer.embeds
    assert handle.payload["member"]["nick"] == NAMES[2], "Discord did send the names"
    export = await reply(
        await world.server.invoke_command("export", {"format": "jsonl"}, user=world.owner)
    )
    exported = export.files[0].data.decode("utf-8")
    assert question in exported
    await world.stop()
    values = every_value(world.settings.question_db)
    assert question in values and world.hasher.hash(named.id) in values
    secrets = [*NAMES, str(named.id), TOKEN]
    assert [s for s in secrets if any(s in v for v in values)] == []
    assert [s for s in secrets if s in exported] == []
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert ours and [s for s in secrets if any(s in line for line in ours)] == []
