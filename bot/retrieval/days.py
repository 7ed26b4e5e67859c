"""Days typed by people (``--since``/``--until`` on the command line, the same options
in Discord): one reading of YYYY-MM-DD for all of them.

Each caller turns :class:`NotADay` into its own kind of error (a usage error, a
one-line CLI error, a private reply in Discord) with the message given here.
"""

from __future__ import annotations

from datetime import date


class NotADay(ValueError):
    """What was typed is not a YYYY-MM-DD day; `text` is what was typed, stripped."""

    def __init__(self, text: str) -> None:
        super().__init__(f"expected a date like 2024-05-01 (YYYY-MM-DD), got {text!r}")
        self.text = text


def parse_day(text: str) -> date:
    """The day `text` names as YYYY-MM-DD (spaces around it ignored), or `NotADay`."""
    stripped = text.strip()
    try:
        return date.fromisoformat(stripped)
    except ValueError:
        raise NotADay(stripped) from None
