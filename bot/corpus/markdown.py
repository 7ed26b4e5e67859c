"""Just enough Markdown handling to quote articles as plain text.

Excerpts are shown in Discord embeds and terminals, where raw ``**`` or ``[x](y)``
would read as noise (and Discord would re-interpret it), so the core works on plain text.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`]*)`")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]{0,200}>")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_LIST_MARK = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+")
_QUOTE_MARK = re.compile(r"^[ \t]*>[ \t]?")


def strip_inline(text: str) -> str:
    """Plain text of one line or paragraph: links, emphasis, code and tags unwrapped."""
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", text)
    return _HTML_TAG.sub("", text)


def strip_block_marks(line: str) -> str:
    """Drop list bullets and quote markers, which carry no meaning in an excerpt."""
    return _LIST_MARK.sub("", _QUOTE_MARK.sub("", line))


def heading(line: str) -> tuple[int, str] | None:
    """ATX heading level and raw text (`### Title`), or None for other lines."""
    match = _HEADING.match(line)
    if match is None:
        return None
    return len(match.group(1)), match.group(2)
