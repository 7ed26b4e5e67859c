"""Pseudonymous user ids: the log can count and erase a reader's rows without naming them.

A Discord user id is a public, guessable number, so a plain hash of it could be
reversed by hashing every plausible id. The hash is therefore keyed with a secret
salt using HMAC-SHA256: without the salt nobody can test a candidate id against the
log, and HMAC (unlike ``sha256(salt + id)``) is the standard keyed construction with
no length-extension weakness. The salt comes from ``USER_HASH_SALT`` or a ``salt`` file
created once (mode 0600) beside the database; losing it means old rows can no longer
be matched to a user for erasure, so it is kept, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from bot.questions.store import QuestionLogError
from bot.settings import Settings

log = logging.getLogger(__name__)

SALT_FILE = "salt"


class UserHasher:
    """Turns a user id into the stable pseudonym stored in the log."""

    __slots__ = ("_key",)

    def __init__(self, salt: str) -> None:
        if not salt:
            raise ValueError("the user hash salt must not be empty")
        self._key = salt.encode("utf-8")

    def hash(self, user_id: int | str) -> str:
        """Hex HMAC-SHA256 of the id's decimal text; ``123`` and ``"123"`` agree."""
        message = str(user_id).strip().encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "UserHasher(salt=***)"


def load_or_create_salt(settings: Settings) -> str:
    """The configured salt, else the ``salt`` file in the data folder, created if missing."""
    if settings.user_hash_salt is not None and settings.user_hash_salt.get_secret_value():
        return settings.user_hash_salt.get_secret_value()
    return _salt_file(settings.data_dir / SALT_FILE)


def _salt_file(path: Path) -> str:
    """Read the salt file, or write a new one atomically (first writer wins)."""
    if path.exists():
        return _read_salt(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(salt + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(draft, path)  # fails if another process created it meanwhile
    except FileExistsError:
        return _read_salt(path)
    finally:
        draft.unlink()
    log.info("question log: created a new user hash salt in %s", path)
    return salt


def _read_salt(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("question log: %s was readable by others; restricting it to 0600", path)
        path.chmod(0o600)
    salt = path.read_text(encoding="utf-8").strip()
    if not salt:
        raise QuestionLogError(f"{path} is empty; restore it or set USER_HASH_SALT")
    return salt
