"""Running the bot as a service: the systemd unit, `python -m bot backup` and `invite`."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

import bot.cli
from bot.cli import main
from bot.discordbot.client import DRAIN_SECONDS
from bot.questions import QuestionLog
from bot.questions.privacy import SALT_FILE, UserHasher, load_or_create_salt
from bot.questions.spill import spill_path
from bot.settings import Settings
from tests.conftest import ROOT
from tests.questions.conftest import fake_record

UNIT = ROOT / "deploy" / "blog-answer-bot.service"
APP_ID = 1234567890123456789
USER_ID = 424242


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """These commands only, in an empty folder (no .env), with no Discord settings."""
    monkeypatch.setattr(bot.cli, "COMMAND_MODULES", ("bot.cli.ops",))
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DISCORD_") or name in {
            "USER_HASH_SALT",
            "ALLOWED_GUILD_IDS",
            "ANNOUNCE_CHANNEL_ID",
        }:
            monkeypatch.delenv(name)


# -- the systemd unit -------------------------------------------------------------------


def unit_entries(text: str) -> dict[str, dict[str, list[str]]]:
    """Section → key → values, as systemd reads them (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_runs_the_bot_as_its_own_user_with_hardening() -> None:
    service = unit_entries(UNIT.read_text(encoding="utf-8"))["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["User"] not in {"", "root", "0"}
    assert one["Restart"] == "on-failure"
    assert one["RestartPreventExitStatus"] == "2"  # a setting to fix: restarting cannot help
    python, *command = one["ExecStart"].split()
    assert command == ["-m", "bot", "run"]
    assert python.endswith("/.venv/bin/python")
    assert one["KillSignal"] == "SIGTERM"
    assert int(one["TimeoutStopSec"]) > DRAIN_SECONDS  # the drain finishes before SIGKILL
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
    }.items():
        assert one[key] == value, key
    # the working folder holds .env, cache/ and data/ (the relative defaults), and is the
    # only place the service can write
    workdir = Path(one["WorkingDirectory"])
    assert workdir == Path("/var/lib") / one["StateDirectory"]
    assert one["ReadWritePaths"].split() == [str(workdir)]
    assert Path(one["EnvironmentFile"].removeprefix("-")) == workdir / ".env"
    assert Path(python).is_relative_to("/opt")  # the code stays read-only to the service
    assert one.get("UMask") == "0077"  # the log and the salt are private


def systemd_verify(unit: Path) -> str:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else " (failed)")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package: systemd)",
)
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` checks that ExecStart exists: the copy runs this Python."""
    text = UNIT.read_text(encoding="utf-8")
    python = next(
        line.split("=", 1)[1].split()[0]
        for line in text.splitlines()
        if line.startswith("ExecStart=")
    )
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(python, sys.executable), encoding="utf-8")
    assert systemd_verify(unit) == ""
    # the check itself notices a broken unit
    broken = tmp_path / "broken" / UNIT.name
    broken.parent.mkdir()
    broken.write_text(
        unit.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=sometimes"),
        encoding="utf-8",
    )
    assert "restart specifier" in systemd_verify(broken)


# -- backup -----------------------------------------------------------------------------


def service_settings(db: Path) -> Settings:
    return Settings(_env_file=None, question_db=db)  # type: ignore[call-arg]


async def test_backup_of_an_open_log_restores_rows_and_salt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bot keeps the log open and writing; the backup is one consistent snapshot
    (rows still in the WAL included), and a log restored from it works with its salt."""
    db = tmp_path / "data" / "questions.db"
    monkeypatch.setenv("QUESTION_DB", str(db))
    salt = load_or_create_salt(service_settings(db))
    hasher = UserHasher(salt)
    log = await QuestionLog.open(db)
    try:
        before = [fake_record(user_hash=hasher.hash(USER_ID)) for _ in range(4)]
        for record in before:
            log.record(record)
        await log.flush()
        assert db.with_name(db.name + "-wal").stat().st_size > 0  # rows not yet checkpointed
        dest = tmp_path / "backups" / "today"
        code = await asyncio.to_thread(main, ["backup", str(dest)])
        log.record(fake_record(user_hash=hasher.hash(USER_ID)))  # after the snapshot
        await log.flush()
        assert await log.count() == 5
    finally:
        await log.close()
    out = capsys.readouterr().out
    assert code == 0
    assert f"wrote {dest / 'questions.db'} (4 questions, " in out
    assert f"wrote {dest / SALT_FILE} (" in out
    assert sorted(p.name for p in dest.iterdir()) == ["questions.db", SALT_FILE]
    for path in dest.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # restore: the bot stopped, the files copied into a new data folder
    restored = tmp_path / "elsewhere" / "data" / "questions.db"
    restored.parent.mkdir(parents=True)
    for path in dest.iterdir():
        shutil.copy2(path, restored.parent / path.name)
    settings = service_settings(restored)
    assert load_or_create_salt(settings) == salt
    again = await QuestionLog.open(restored)
    try:
        assert await again.count() == 4
        # the restored salt still finds the reader's rows, so `forget` keeps working
        assert await again.forget(UserHasher(load_or_create_salt(settings)).hash(USER_ID)) > 0
        assert await again.count() == 0
    finally:
        await again.close()
    with sqlite3.connect(dest / "questions.db") as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM questions")}
    assert ids == {record.id for record in before}


def filled_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int = 2) -> Path:
    db = tmp_path / "data" / "questions.db"
    monkeypatch.setenv("QUESTION_DB", str(db))
    load_or_create_salt(service_settings(db))

    async def fill() -> None:
        log = await QuestionLog.open(db)
        for _ in range(rows):
            log.record(fake_record())
        await log.close()

    asyncio.run(fill())
    return db


def test_backup_refuses_to_overwrite_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    filled_log(tmp_path, monkeypatch)
    dest = tmp_path / "backup"
    assert main(["backup", str(dest)]) == 0
    (dest / "questions.db.spill.jsonl").write_text("{}\n")  # left by an older backup
    capsys.readouterr()
    assert main(["backup", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {dest / 'questions.db'} exists") and "--force" in err
    assert main(["backup", "--force", str(dest)]) == 0
    assert "2 questions" in capsys.readouterr().out
    assert sorted(p.name for p in dest.iterdir()) == ["questions.db", SALT_FILE]


def test_backup_keeps_rows_waiting_in_the_spill_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = filled_log(tmp_path, monkeypatch)
    spill = spill_path(db)
    spill.write_text('{"kind": "question"}\n', encoding="utf-8")
    dest = tmp_path / "backup"
    assert main(["backup", str(dest)]) == 0
    assert (dest / spill.name).read_text(encoding="utf-8") == spill.read_text(encoding="utf-8")
    assert f"wrote {dest / spill.name} (rows to write back, " in capsys.readouterr().out


def test_backup_with_the_salt_in_a_setting_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = filled_log(tmp_path, monkeypatch)
    (db.parent / SALT_FILE).unlink()
    monkeypatch.setenv("USER_HASH_SALT", "kept-in-env")
    assert main(["backup", str(tmp_path / "backup")]) == 0
    out = capsys.readouterr().out
    assert "USER_HASH_SALT" in out and "kept-in-env" not in out
    assert not (tmp_path / "backup" / SALT_FILE).exists()


@pytest.mark.parametrize("case", ["no log", "dest is a file", "dest is the data folder"])
def test_backup_errors_are_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "backup"
    if case == "no log":
        monkeypatch.setenv("QUESTION_DB", str(tmp_path / "missing" / "questions.db"))
        expected = "no question log at"
    else:
        db = filled_log(tmp_path, monkeypatch)
        if case == "dest is a file":
            dest.write_text("")
            expected = "is not a folder"
        else:
            dest = db.parent
            expected = "the question log's own folder"
    assert main(["backup", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err


# -- invite -----------------------------------------------------------------------------


def invite_params(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["invite"]) == 0
    out = capsys.readouterr().out.strip()
    assert "\n" not in out
    url = urlsplit(out)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    query = parse_qs(url.query, strict_parsing=True)
    assert all(len(values) == 1 for values in query.values()), query
    return {key: values[0] for key, values in query.items()}


def test_invite_asks_for_exactly_the_scopes_and_no_permissions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_APPLICATION_ID", str(APP_ID))
    params = invite_params(capsys)
    assert params == {
        "client_id": str(APP_ID),
        "scope": "bot applications.commands",
        "permissions": "0",
        "integration_type": "0",  # a server install, not a user install
    }
    granted = discord.Permissions(int(params["permissions"]))
    assert not (granted.send_messages or granted.administrator or granted.read_message_history)


def test_invite_adds_what_announcing_new_articles_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ANNOUNCE_CHANNEL_ID posts an ordinary message: View Channels and Send Messages."""
    monkeypatch.setenv("DISCORD_APPLICATION_ID", str(APP_ID))
    monkeypatch.setenv("ANNOUNCE_CHANNEL_ID", "999")
    granted = discord.Permissions(int(invite_params(capsys)["permissions"]))
    assert granted == discord.Permissions(view_channel=True, send_messages=True)
    assert granted.value == 0x400 | 0x800 == 3072


def bot_token(user_id: int) -> str:
    first = base64.b64encode(str(user_id).encode()).decode().rstrip("=")
    return f"{first}.GhJkLm.{'x' * 38}"


def test_invite_reads_the_application_id_from_the_token_and_never_prints_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = bot_token(APP_ID)
    monkeypatch.setenv("DISCORD_TOKEN", token)
    assert main(["invite"]) == 0
    captured = capsys.readouterr()
    query = parse_qs(urlsplit(captured.out.strip()).query)
    assert query["client_id"] == [str(APP_ID)]
    for part in token.split("."):
        assert part not in captured.out + captured.err


def test_invite_setting_wins_over_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An old application's bot user id is not its application id: the setting decides."""
    monkeypatch.setenv("DISCORD_TOKEN", bot_token(111))
    monkeypatch.setenv("DISCORD_APPLICATION_ID", str(APP_ID))
    assert invite_params(capsys)["client_id"] == str(APP_ID)


@pytest.mark.parametrize(
    ("env", "guild"),
    [
        ({"DISCORD_GUILD_ID": "555"}, "555"),
        ({"ALLOWED_GUILD_IDS": "777"}, "777"),
        ({"ALLOWED_GUILD_IDS": "777,888"}, None),  # more than one: the reader picks
    ],
)
def test_invite_preselects_the_one_configured_server(
    env: dict[str, str],
    guild: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DISCORD_APPLICATION_ID", str(APP_ID))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert invite_params(capsys).get("guild_id") == guild


@pytest.mark.parametrize("token", ["", "  ", "%%%.abc.def", "aGVsbG8.GhJkLm.secretpart"])
def test_invite_without_an_application_id_is_one_line(
    token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No id anywhere, or a token whose first part is not base64 of digits ("hello")."""
    monkeypatch.setenv("DISCORD_TOKEN", token)
    assert main(["invite"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "DISCORD_APPLICATION_ID" in captured.err
    for part in token.split("."):
        assert part.strip() == "" or part not in captured.err
