"""Clean a reader's question before it reaches the model.

Questions arrive from Discord with mentions, markup, invisible characters and sometimes
thousands of characters. What is searched is the plain words; what is echoed back is
escaped by the reply layer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|<a?:\w{1,32}:\d+>|<t:\d+(?::[tTdDfFR])?>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b", re.IGNORECASE)
_CODE_FENCE = re.compile(r"```(?:[\w+-]*\n)?")
_URL = re.compile(r"https?://\S+")
_MARKUP = re.compile(r"[*_~`|>]+|^#{1,6}\s+|^-#\s+", re.MULTILINE)
_SPACES = re.compile(r"\s+")
# Format (Cf) characters: zero-width spaces and joiners, bidi overrides and isolates.
_INVISIBLE = {"Cc", "Cf", "Co", "Cn", "Cs"}


@dataclass(frozen=True, slots=True)
class Query:
    text: str  # what is searched
    language: str  # "ja", "en" or "other"

    @property
    def empty(self) -> bool:
        return not any(ch.isalnum() for ch in self.text)


def clean_question(raw: str, max_chars: int = 500) -> Query:
    """Plain, single-line, bounded text of the question, and the language it is in."""
    text = _MENTION.sub(" ", raw)
    text = _EVERYONE.sub(" ", text)
    text = _URL.sub(" ", _CODE_FENCE.sub(" ", text))
    text = _MARKUP.sub(" ", text)
    text = "".join(ch if unicodedata.category(ch) not in _INVISIBLE else " " for ch in text)
    text = _SPACES.sub(" ", text).strip()
    text = text[:max_chars].rstrip()
    return Query(text=text, language=detect_language(text))


def detect_language(text: str) -> str:
    """Japanese if any kana or kanji; English if mostly Latin letters; otherwise other."""
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]", text):
        return "ja"
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isascii() for ch in letters) / len(letters) > 0.8:
        return "en"
    return "other"


_WORD = re.compile(r"[$€£¥]?[A-Za-z0-9][A-Za-z0-9.\-+&#%']*")
_POSSESSIVE = re.compile(r"'s?$", re.IGNORECASE)


def name_words(text: str, language: str) -> list[str]:
    """Words that name something: Latin or digit words in Japanese, capitalised or numeric
    words (not the first) in English.

    A question that names what the blog never mentions ("Gemini 2.0", "DeepSeek") cannot
    be answered by it, whatever the cosines say. Plain English words are no evidence
    either way: the blog is Japanese.
    """
    words = [_POSSESSIVE.sub("", w).rstrip(".") for w in _WORD.findall(text)]
    if language != "ja":
        words = [
            w
            for i, w in enumerate(words)
            if any(c.isdigit() for c in w) or (i > 0 and w[:1].isupper() and len(w) > 1)
        ]
    return [w for w in words if w]
