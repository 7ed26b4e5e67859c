"""Links as editors read them: percent-encoded Japanese decoded, nothing hidden.

Heading anchors and permalinks of a Japanese blog are stored percent-encoded
(``#4-neovim-%E3%81%AE…``), which is right for a link and unreadable on a page. Only the
text shown changes; every ``href`` keeps the stored URL.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote

# Decoded, these would be invisible or would reorder the text around them (bidi controls),
# so they are shown encoded: the displayed link never hides a character.
_KEPT_ENCODED = frozenset({"Cc", "Cf", "Zl", "Zp", "Zs", "Co", "Cs", "Cn"})


def readable_url(url: str) -> str:
    """`url` with percent-escapes decoded for display, except unseen or unsafe characters."""
    decoded = unquote(url, errors="strict") if _decodes(url) else url
    return "".join(
        quote(ch, safe="") if unicodedata.category(ch) in _KEPT_ENCODED else ch for ch in decoded
    )


def _decodes(url: str) -> bool:
    """Whether the escapes are valid UTF-8 (otherwise the stored form is shown as it is)."""
    try:
        unquote(url, errors="strict")
    except UnicodeDecodeError:
        return False
    return True
