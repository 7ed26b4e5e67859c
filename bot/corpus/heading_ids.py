"""Heading ids, generated exactly as kramdown (GFM input, Jekyll's default) generates them.

Each excerpt links to the heading it sits under, so the `#fragment` must be the id kramdown
gave that heading: GFM ids keep Japanese letters and drop Japanese punctuation, with no
"section" fallback for empty ids. Ports of the Ruby source named in each docstring.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left


def _ruby_downcase(text: str) -> str:
    """Ruby String#downcase: full Unicode mapping, but no context rules (final sigma)."""
    return "".join(char.lower() for char in text)


# kramdown lib/kramdown/parser/kramdown/header.rb HEADER_ID (REXML NAME_START_CHAR/NAME_CHAR).
_NAME_START = (
    ":A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_NAME = _NAME_START + r"\-.0-9\u00b7\u0300-\u036f\u203f\u2040"
_HEADER_ID = re.compile(rf"[\t ]\{{#(?P<id>[{_NAME_START}][{_NAME}]*)\}}\Z")
# kramdown-parser-gfm lib/kramdown/parser/gfm.rb GFM#parse_atx_header_gfm_quirk
_CLOSING_HASHES = re.compile(r"[\t ]#+\Z")

# Characters that escapes, code spans, autolinks and entities produce literally: they must
# not start emphasis ("_") or typographic dashes ("--"), so they are held as noncharacters.
_LITERAL_HYPHEN = "\ufdd0"
_LITERAL_UNDERSCORE = "\ufdd1"

# The span elements of a heading, reduced to the text GFM#update_raw_text collects. Each is
# found by a scan that looks for its closing character once (see _Spans), never by a
# pattern that rescans the rest of the heading from every opener: a heading of thousands
# of backticks or brackets would take minutes.
_ESCAPED_CHARS = frozenset("\\.*_+`<>()[]{}#!:|\"'$=-~")  # gfm.rb ESCAPED_CHARS_GFM
_SPECIAL = re.compile(r"[\\`!\[<&]")
_AUTOLINK_SCHEME = re.compile(r"(?:mailto|https?|ftps?):")  # autolink.rb
_AUTOLINK_MAIL = re.compile(r"[\w.-]++@[\w.-]++>")
_TAG_START = re.compile(r"</?[A-Za-z]")  # inline HTML tag: only the text between tags
_ENTITY = re.compile(r"&(#[0-9]++|#[xX][0-9a-fA-F]++|[A-Za-z][A-Za-z0-9]*+);")  # entity.rb
# kramdown parser/kramdown/emphasis.rb: "_" after a letter (or letter + "-") is literal,
# a closing "_" must follow a non-space and must not be followed by a letter or digit.
_EMPHASIS_OPENER = re.compile(r"(?<![^\W\d_])(?<![^\W\d_]-)_")
_SPACE = re.compile(r"\s")
_EMPHASIS_CLOSERS = {
    "__": re.compile(r"(?<!\s)(?=__(?![^\W_]))"),
    "_": re.compile(r"(?<!\s)(?=_(?![^\W_]))"),
}
# Emphasis nested deeper than this is left as written (each level is one more pass).
MAX_EMPHASIS_DEPTH = 32
# kramdown parser/kramdown/typographic_symbol.rb: "---" and "--" become dashes, which the
# GFM id then drops ("..." and "<<"/">>" become punctuation it drops as well).
_TYPOGRAPHIC_DASHES = re.compile("---|--")
# Ruby tool/enc-unicode.rb: Alphabetic includes these So letters (Other_Alphabetic).
_SYMBOL_LETTERS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))


def _is_word_char(char: str) -> bool:
    """Onigmo \\p{Word}: Alphabetic + Mark + Decimal_Number + Connector_Punctuation."""
    category = unicodedata.category(char)
    if category[0] in "LM" or category in ("Nd", "Nl", "Pc"):
        return True
    return any(low <= ord(char) <= high for low, high in _SYMBOL_LETTERS)


def _literal(text: str) -> str:
    """Hold "-" and "_" that kramdown emits as plain text, out of reach of later rules."""
    return text.replace("-", _LITERAL_HYPHEN).replace("_", _LITERAL_UNDERSCORE)


def _code_text(code: str, ticks: str) -> str:
    """kramdown codespan.rb: a multi-backtick span loses one space at each end."""
    if len(ticks) > 1:
        code = code.removeprefix(" ").removesuffix(" ")
    return code


class _Spans:
    """One heading's inline elements replaced by their text, in one left-to-right scan.

    Each element is recognised as its pattern in kramdown is, and its end is found with
    `str.find` from where the scan stands: the next `]`, `)` or `>` is remembered, so
    an opener without a closer costs nothing more than the first one did.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._next: dict[str, tuple[int, int]] = {}  # char -> (searched from, found at)
        self._unclosed_runs: dict[int, int] = {}  # line end -> shortest run left open

    def find(self, char: str, start: int) -> int:
        """`text.find(char, start)`, each stretch of the text searched at most once."""
        searched, found = self._next.get(char, (len(self.text) + 1, -1))
        if searched <= start and (found < 0 or found >= start):
            return found
        found = self.text.find(char, start)
        self._next[char] = (start, found)
        return found

    def replaced(self) -> str:
        text, out, position = self.text, [], 0
        while (special := _SPECIAL.search(text, position)) is not None:
            at = special.start()
            out.append(text[position:at])
            piece, position = self._element(at)
            out.append(piece)
        out.append(text[position:])
        return "".join(out)

    def _element(self, at: int) -> tuple[str, int]:
        """(the text, the offset after it) of the element at `at`, or of its first char."""
        text, char = self.text, self.text[at]
        if char == "\\" and at + 1 < len(text) and text[at + 1] in _ESCAPED_CHARS:
            return _literal(text[at + 1]), at + 2
        if char == "`":
            return self._code_span(at)
        if char == "!" and text.startswith("[", at + 1):
            close = self.find("]", at + 2)
            if close >= 0 and text.startswith("(", close + 1):
                end = self.find(")", close + 2)
                if end >= 0:
                    return "", end + 1  # image: an element without text children
        if char == "[":
            return self._link(at)
        if char == "<":
            return self._angled(at)
        if char == "&":
            entity = _ENTITY.match(text, at)
            if entity is not None:
                return _literal(html.unescape(entity.group(0))), entity.end()
        return char, at + 1

    def _code_span(self, at: int) -> tuple[str, int]:
        """kramdown codespan.rb: the run of backticks closes at the next run as long on
        the same line; without one the run is text."""
        text = self.text
        run_end = at
        while run_end < len(text) and text[run_end] == "`":
            run_end += 1
        ticks = text[at:run_end]
        line_end = self.find("\n", run_end)
        line_end = len(text) if line_end < 0 else line_end
        if len(ticks) < self._unclosed_runs.get(line_end, len(text) + 1):
            close = text.find(ticks, run_end, line_end)
            if close >= 0:
                return _literal(_code_text(text[run_end:close], ticks)), close + len(ticks)
            self._unclosed_runs[line_end] = len(ticks)  # a longer run cannot close either
        return ticks, run_end

    def _link(self, at: int) -> tuple[str, int]:
        """A footnote marker (no text), or a link's text; its target is dropped."""
        text = self.text
        close = self.find("]", at + 1)
        if close < 0:
            return "[", at + 1
        if text.startswith("^", at + 1) and close > at + 2:
            return "", close + 1
        end = close + 1
        if text.startswith("(", end) and (target := self.find(")", end + 1)) >= 0:
            end = target + 1
        elif text.startswith("[", end) and (reference := self.find("]", end + 1)) >= 0:
            end = reference + 1
        return _Spans(text[at + 1 : close]).replaced(), end

    def _angled(self, at: int) -> tuple[str, int]:
        """An autolink (its address), or an inline HTML tag (no text)."""
        text = self.text
        scheme = _AUTOLINK_SCHEME.match(text, at + 1)
        if scheme is not None:
            close = self.find(">", scheme.end())
            if close > scheme.end():
                return _literal(text[at + 1 : close].removeprefix("mailto:")), close + 1
        mail = _AUTOLINK_MAIL.match(text, at + 1)
        if mail is not None:
            return _literal(text[at + 1 : mail.end() - 1]), mail.end()
        if _TAG_START.match(text, at) is not None:
            close = self.find(">", at + 1)
            if close >= 0:
                return "", close + 1
        return "<", at + 1


def _without_emphasis(text: str) -> str:
    """One pass of kramdown's `_`/`__` emphasis, replaced by its content.

    An opener closes at the first `__` (else `_`) on its line that may close it; the
    closers are listed once per pass, so the pass is linear however many openers fail.
    """
    closers = {
        delimiter: [found.start() for found in pattern.finditer(text)]
        for delimiter, pattern in _EMPHASIS_CLOSERS.items()
    }
    newlines = [found.start() for found in re.finditer("\n", text)]
    out, position, search = [], 0, 0
    while (opener := _EMPHASIS_OPENER.search(text, search)) is not None:
        at = opener.start()
        end = _emphasis_end(text, at, closers, newlines)
        if end is None:
            search = at + 1
            continue
        delimiter, close = end
        out.append(text[position:at])
        out.append(text[at + len(delimiter) : close])
        position = search = close + len(delimiter)
    out.append(text[position:])
    return "".join(out)


def _emphasis_end(
    text: str, at: int, closers: dict[str, list[int]], newlines: list[int]
) -> tuple[str, int] | None:
    """(delimiter, offset of its closer) for the opener at `at`, `__` tried before `_`;
    the emphasis stays on one line."""
    for delimiter in ("__", "_"):
        inner = at + len(delimiter)
        if not text.startswith(delimiter, at) or inner >= len(text):
            continue
        if _SPACE.match(text, inner):
            continue
        positions = closers[delimiter]
        index = bisect_left(positions, inner + 1)
        if index == len(positions):
            continue
        close = positions[index]
        line = bisect_left(newlines, inner)
        if line == len(newlines) or newlines[line] > close:
            return delimiter, close
    return None


def _raw_text(markdown: str) -> str:
    """kramdown-parser-gfm gfm.rb GFM#update_raw_text: the heading's text without markup."""
    text = _Spans(markdown).replaced()
    for _ in range(MAX_EMPHASIS_DEPTH):
        stripped = _without_emphasis(text)
        if stripped == text:
            break
        text = stripped
    text = _TYPOGRAPHIC_DASHES.sub("", text)
    return text.replace(_LITERAL_HYPHEN, "-").replace(_LITERAL_UNDERSCORE, "_")


def _header_contents(text: str) -> tuple[str, str | None]:
    """kramdown header.rb parse_header_contents + gfm.rb closing-hash rule: (text, {#id})."""
    text = text.lstrip(" \t").rstrip()
    explicit = _HEADER_ID.search(text)
    if explicit is not None:
        text = text[: explicit.start()].rstrip()
    text = _CLOSING_HASHES.sub("", text).rstrip()
    if not text:
        raise ValueError("an empty ATX heading is not a heading in kramdown")
    return text, explicit.group("id") if explicit else None


class HeadingIds:
    """kramdown (GFM input, Jekyll's default: auto_ids on) header id generator for ONE document.

    Jekyll's defaults (lib/jekyll/configuration.rb: kramdown input "GFM", auto_ids true;
    transliterated_header_ids stays false) send every heading through kramdown-parser-gfm
    GFM#generate_gfm_header_id, not kramdown's Converter::Base#generate_id: letters of any
    script are kept (Japanese too), there is no "section" fallback, and an empty id means
    the heading gets no id attribute (kramdown utils/html.rb html_attributes skips it).
    Remembers used ids for the -1, -2 de-duplication suffixes.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def generate(self, text: str) -> str:
        """The id of the next heading, given its Markdown text after the leading "#"s.

        An explicit `{#id}` wins and, as in GFM, does not count towards suffixes.
        Raises ValueError for an empty heading, which kramdown does not treat as one.
        """
        contents, explicit = _header_contents(text)
        if explicit is not None:
            return explicit
        return self._deduplicate(_gfm_header_id(_raw_text(contents)))

    def _deduplicate(self, base: str) -> str:
        """gfm.rb generate_gfm_header_id: @id_counter = Hash.new(-1), keyed by the base id."""
        count = self._counts.get(base, -1) + 1
        self._counts[base] = count
        return f"{base}-{count}" if count > 0 else base


def _gfm_header_id(raw_text: str) -> str:
    """gfm.rb GFM#generate_gfm_header_id: downcase, drop /[^\\p{Word}\\- \\t]/, blanks -> "-"."""
    lowered = _ruby_downcase(raw_text)
    kept = "".join(char for char in lowered if char in "- \t" or _is_word_char(char))
    return kept.replace(" ", "-").replace("\t", "-")
