"""A logging filter that keeps secrets and readers' names out of every log line.

At DEBUG, discord.py logs whole gateway payloads and request URLs: interaction payloads
carry a ``token`` that lets anyone answer (or delete answers) as the bot for 15 minutes,
webhook and callback URLs embed the same token, and member objects carry user names.
The filter rewrites each record before any handler formats it, at every level: the bot
token (registered with :func:`add_secret`) becomes ``***``; ``token`` fields, tokens in
``/interactions/<id>/<token>`` and ``/webhooks/<id>/<token>`` paths, and name fields
(``username``, ``global_name``, ``nick``, ``display_name``, ``name``) become
``<redacted>``. Ids stay: they are what an operator needs to follow a problem.

The patterns are the shapes of Discord's payloads, but nothing here imports discord.py:
every command of the CLI installs the filter, and only ``run`` loads the Discord layer.
"""

from __future__ import annotations

import logging
import re
import threading

NAME_KEYS = ("username", "global_name", "nick", "display_name", "name")
SECRET_KEYS = ("token", "access_token", "session_id")
_QUOTED = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_KEYS = "|".join(NAME_KEYS + SECRET_KEYS)
_FIELD = re.compile(r"""(?P<key>(['"])(?:""" + _KEYS + r""")\2\s*:\s*)""" + _QUOTED)
_URL_TOKEN = re.compile(r"(/(?:interactions|webhooks)/\d+/)[A-Za-z0-9_\-.]+")
REDACTED = "<redacted>"


class Redactor(logging.Filter):
    """Rewrites records in place, so every handler after it sees only the redacted text."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, secret: str) -> None:
        """Replace ``secret`` wherever it appears from now on (ignored when short)."""
        if len(secret) >= 8:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _FIELD.sub(lambda m: f"{m['key']}'{REDACTED}'", text)
        return _URL_TOKEN.sub(rf"\1{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = Redactor()


def install(logger: logging.Logger | None = None) -> Redactor:
    """Put the redactor on every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
    return REDACTOR


def add_secret(secret: str) -> None:
    REDACTOR.add_secret(secret)
