"""Heading ids, generated exactly as kramdown (GFM input, Jekyll's default) generates them.

Each excerpt links to the heading it sits under, so the `#fragment` must be the id kramdown
gave that heading: GFM ids keep Japanese letters and drop Japanese punctuation, with no
"section" fallback for empty ids. Ports of the Ruby source named in each docstring.
"""

from __future__ import annotations

import html
import re
import unicodedata


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

# The span elements of a heading, reduced to the text GFM#update_raw_text collects.
_INLINE = re.compile(
    r"\\(?P<escaped>[\\.*_+`<>()\[\]{}#!:|\"'$=\-~])"  # gfm.rb ESCAPED_CHARS_GFM
    r"|(?P<ticks>`+)(?P<code>.*?)(?P=ticks)"  # kramdown parser/kramdown/codespan.rb
    r"|!\[[^\]]*\]\([^)]*\)"  # image: an element without text children
    r"|\[\^[^\]]+\]"  # footnote marker: no text children
    r"|\[(?P<link>[^\]]*)\](?:\([^)]*\)|\[[^\]]*\])?"  # link: only its text
    r"|<(?P<autolink>(?:mailto|https?|ftps?):[^>]+?|[\w.-]+?@[\w.-]+?)>"  # autolink.rb
    r"|</?[A-Za-z][^>]*>"  # inline HTML tag: only the text between tags
    r"|&(?P<entity>#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);"  # entity.rb
)
# kramdown parser/kramdown/emphasis.rb: "_" after a letter (or letter + "-") is literal,
# a closing "_" must follow a non-space and must not be followed by a letter or digit.
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![^\W\d_])(?<![^\W\d_]-)(__?)(?!\s)(.+?)(?<!\s)\1(?![^\W_])")
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


def _span_text(match: re.Match[str]) -> str:
    """The text one inline element contributes to the heading's raw text."""
    groups = match.groupdict()
    if groups["escaped"] is not None:
        return _literal(groups["escaped"])
    if groups["code"] is not None:
        return _literal(_code_text(groups["code"], groups["ticks"]))
    if groups["link"] is not None:
        return _INLINE.sub(_span_text, groups["link"])
    if groups["autolink"] is not None:
        return _literal(groups["autolink"].removeprefix("mailto:"))
    if groups["entity"] is not None:
        return _literal(html.unescape(f"&{groups['entity']};"))
    return ""


def _raw_text(markdown: str) -> str:
    """kramdown-parser-gfm gfm.rb GFM#update_raw_text: the heading's text without markup."""
    text = _INLINE.sub(_span_text, markdown)
    while (stripped := _UNDERSCORE_EMPHASIS.sub(r"\2", text)) != text:
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
