"""`backup` and `invite`: running the bot as a service.

``backup DEST`` copies the question log with SQLite's online backup (consistent even
while the bot writes to it), the salt file its user hashes depend on, and the spill file
of rows not yet written back, into the folder DEST. Restoring is copying them back while
the bot is stopped (docs/deploy.md).

``invite`` prints the link that adds the bot to a server, with the scopes and the
permissions it needs and nothing more: none, or View Channels and Send Messages when it
announces new articles (docs/discord-setup.md explains each).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import fcntl
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bot.cli import UserError, printable
from bot.questions.privacy import SALT_FILE
from bot.questions.spill import spill_path
from bot.questions.store import read_only_uri
from bot.settings import Settings

INVITE_BASE = "https://discord.com/oauth2/authorize"
INVITE_SCOPES = ("bot", "applications.commands")
# Every reply is an interaction response or followup (a webhook message), which Discord
# lets an app send with embeds and files whatever its permissions in the channel; the
# /export DM needs none either. So answering needs no permission at all.
ANSWER_PERMISSIONS: tuple[str, ...] = ()
# ANNOUNCE_CHANNEL_ID: new articles are posted there as an ordinary message (links shown
# without previews), which needs the channel to be visible and writable to the bot.
ANNOUNCE_PERMISSIONS = ("view_channel", "send_messages")
GUILD_INSTALL = 0  # integration_type: installed to a server, not to a user's account
BACKUP_BUSY_TIMEOUT_S = 30.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = sub.add_parser(
        "backup",
        help="copy the question log and its salt into a folder (safe while the bot runs)",
        description="Copy the question log (SQLite's online backup, consistent while the "
        "bot is writing), the salt its user hashes need and any spill file of rows not yet "
        "written back, into DEST (created if missing). Restore by stopping the bot and "
        "copying the files back (docs/deploy.md).",
    )
    backup.add_argument("dest", metavar="DEST", type=Path, help="folder to write the backup to")
    backup.add_argument("--force", action="store_true", help="replace a backup already in DEST")
    backup.set_defaults(handler=run_backup)
    invite = sub.add_parser(
        "invite",
        help="print the link that adds the bot to a server",
        description="Print the OAuth2 link that installs the bot in a server with the "
        "scopes bot and applications.commands and the permissions it needs: none, or "
        "View Channels and Send Messages with ANNOUNCE_CHANNEL_ID (docs/discord-setup.md). "
        "The application id is DISCORD_APPLICATION_ID, or read from DISCORD_TOKEN; the "
        "token itself is never printed.",
    )
    invite.set_defaults(handler=run_invite)


# -- invite -----------------------------------------------------------------------------


def invite_permissions(settings: Settings) -> int:
    """The permission integer the bot needs with these settings, checked by discord.py."""
    names = ANSWER_PERMISSIONS
    if settings.announce_channel_id is not None:
        names += ANNOUNCE_PERMISSIONS
    import discord  # here, not at the top: every other command runs without discord.py

    return discord.Permissions(**dict.fromkeys(names, True)).value


def application_id_from_token(token: str) -> int:
    """The id in a bot token's first segment (base64 of the decimal id); ValueError if
    the token does not have that shape. The error never contains the token."""
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), altchars=b"-_", validate=True)
        text = decoded.decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("the token's first part is not base64") from None
    if not text.isdigit() or len(text) > 20:
        raise ValueError("the token's first part is not an id")
    return int(text)


def application_id(settings: Settings) -> int:
    """DISCORD_APPLICATION_ID, else the id in DISCORD_TOKEN, else a one-line UserError."""
    if settings.discord_application_id is not None:
        return settings.discord_application_id
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise UserError(
            "set DISCORD_APPLICATION_ID (Developer Portal → General Information → "
            "Application ID) or DISCORD_TOKEN"
        )
    try:
        return application_id_from_token(token)
    except ValueError as exc:
        raise UserError(
            f"cannot read the application id from DISCORD_TOKEN ({exc}); set "
            "DISCORD_APPLICATION_ID (Developer Portal → General Information)"
        ) from None


def invite_url(settings: Settings) -> str:
    """The install link; the server picker starts at the one server configured, if any."""
    params: dict[str, str | int] = {
        "client_id": application_id(settings),
        "scope": " ".join(INVITE_SCOPES),
        "permissions": invite_permissions(settings),
        "integration_type": GUILD_INSTALL,
    }
    guild = settings.discord_guild_id
    if guild is None and len(settings.allowed_guild_ids) == 1:
        guild = settings.allowed_guild_ids[0]
    if guild is not None:
        params["guild_id"] = guild
    return f"{INVITE_BASE}?{urlencode(params)}"


def run_invite(args: argparse.Namespace, settings: Settings) -> int:
    print(invite_url(settings))
    return 0


# -- backup -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupPlan:
    """The files a backup reads and the names it writes them under in DEST."""

    database: Path
    salt: Path | None  # None: no salt file (USER_HASH_SALT, or nothing recorded yet)
    spill: Path | None
    dest: Path

    @property
    def targets(self) -> list[Path]:
        """Every file a backup may write to DEST, present in this one or not."""
        return [self.dest / name for name in self.names()]

    def names(self) -> list[str]:
        return [self.database.name, SALT_FILE, spill_path(self.database).name]


def plan_backup(settings: Settings, dest: Path, force: bool) -> BackupPlan:
    database = settings.question_db
    if not database.is_file():
        raise UserError(f"no question log at {printable(str(database))} (setting QUESTION_DB)")
    salt = settings.data_dir / SALT_FILE
    spill = spill_path(database)
    plan = BackupPlan(
        database=database,
        salt=salt if salt.is_file() else None,
        spill=spill if spill.is_file() else None,
        dest=dest,
    )
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{printable(str(dest))} is not a folder")
    if dest.resolve() == database.parent.resolve():
        raise UserError(f"{printable(str(dest))} is the question log's own folder")
    existing = [path for path in plan.targets if path.exists()]
    if existing and not force:
        raise UserError(
            f"{printable(str(existing[0]))} exists: choose another folder or pass --force "
            "to replace that backup"
        )
    return plan


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    plan = plan_backup(settings, args.dest, bool(args.force))
    try:
        plan.dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        database = plan.dest / plan.database.name
        written = [(database, f"{_backup_database(plan.database, database)} questions, ")]
        copies = (
            (plan.salt, plan.dest / SALT_FILE, ""),
            (plan.spill, plan.dest / spill_path(plan.database).name, "rows to write back, "),
        )
        for source, target, what in copies:
            if source is None:
                target.unlink(missing_ok=True)  # --force: no stale file from an older backup
                continue
            _copy_file(source, target, shared_lock=source == plan.spill)
            written.append((target, what))
        _fsync_dir(plan.dest)
    except sqlite3.Error as exc:
        raise UserError(f"cannot back up {printable(str(plan.database))}: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot write the backup: {exc}") from None
    for path, what in written:
        print(f"wrote {printable(str(path))} ({what}{path.stat().st_size} bytes)")
    if plan.salt is None:
        if settings.user_hash_salt is not None and settings.user_hash_salt.get_secret_value():
            print("the salt is USER_HASH_SALT (a setting, not a file): keep it with this backup")
        else:
            print("no salt file yet: nothing was recorded with a user hash")
    return 0


def _backup_database(source: Path, target: Path) -> int:
    """SQLite's online backup of ``source`` into ``target``; returns the questions in it.

    The source is opened read-only, so the backup never writes to the live log; in WAL
    mode the copy is one consistent snapshot while the bot keeps writing.
    """
    part = target.with_name(f".{target.name}.part")
    _remove_database(part)
    uri = read_only_uri(source)
    try:
        with contextlib.closing(
            sqlite3.connect(uri, uri=True, timeout=BACKUP_BUSY_TIMEOUT_S)
        ) as src:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            with contextlib.closing(sqlite3.connect(part)) as dst:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                check = dst.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"the copy failed its check: {check}")
                row = dst.execute("SELECT count(*) FROM questions").fetchone()
        _fsync(part)
        _remove_database(target, keep_main=True)  # a stale -wal would corrupt the copy
        part.replace(target)
    finally:
        _remove_database(part)
    return int(row[0]) if row else 0


def _copy_file(source: Path, target: Path, *, shared_lock: bool) -> None:
    """Copy to a private file that appears under its name only once complete. With
    ``shared_lock`` the source is read under a shared flock, as the spill file's
    appenders hold an exclusive one while they write a batch."""
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)
    try:
        with source.open("rb") as src:
            if shared_lock:
                fcntl.flock(src.fileno(), fcntl.LOCK_SH)
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)


def _remove_database(path: Path, *, keep_main: bool = False) -> None:
    for suffix in ("-journal", "-wal", "-shm") if keep_main else ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsync'ed
        _fsync(path)
