"""The log redaction the Discord layer relies on, under its old name.

It lives in :mod:`bot.questions.redaction`, beside the other privacy rules, so that the
CLI installs it for every command without importing the Discord layer.
"""

from bot.questions.redaction import (
    NAME_KEYS,
    REDACTED,
    REDACTOR,
    SECRET_KEYS,
    Redactor,
    add_secret,
    install,
)

__all__ = ["NAME_KEYS", "REDACTED", "REDACTOR", "SECRET_KEYS", "Redactor", "add_secret", "install"]
