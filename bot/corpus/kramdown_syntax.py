"""Inline syntax where kramdown (what Jekyll renders with) is more lenient than CommonMark.

Readers see the page kramdown built, so where the two disagree the bot reads as kramdown
does (kramdown 2.4, lib/kramdown/parser/kramdown/{emphasis,link}.rb):

- Emphasis: `*`/`_` open when not followed by white space and close when not preceded
  by it; CommonMark's flanking rules leave `**モデルは、**私が` as literal asterisks.
  `_` still does not open inside a word or close before a letter or digit.
- Inline links whose target has spaces (`[tag](/#tag_team organization)`), with or
  without a title, and reference links with white space before the id (`[text] [1]`).
  They are tried only after CommonMark's own link rule has failed.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import cast

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_inline.state_inline import Delimiter, StateInline

# A `<target>` or a title is looked for this far at most, so a stray `[x](<` cannot make
# every later `[` rescan the rest of the paragraph.
MAX_TARGET_CHARS = 2048
_ANGLED = re.compile(r"\(<(.*?)>")
_TITLE = re.compile(r"\s*?([\"'])(.+?)\1\s*?\)", re.DOTALL)  # LINK_INLINE_TITLE_RE
_REFERENCE_ID = re.compile(r"\s*?\[([^\]]{0,999})\]")  # LINK_INLINE_ID_RE (bounded)
# LINK_PAREN_STOP_RE's three stops: `(`, `)`, and white space before a quote.
_PAREN = re.compile(r"[()]")
_QUOTE_STOP = re.compile(r"\s(?=[\"'])")
_PARENS_KEY = "kramdown_link_parens"
_ASCII_SPACE = frozenset(" \t\n\r\f\v")  # Ruby's \s: an ideographic space is not one


def kramdown_inline_plugin(md: MarkdownIt) -> None:
    """kramdown's emphasis delimiters and its lenient links, on top of CommonMark's."""
    md.inline.ruler.at("emphasis", _emphasis)
    md.inline.ruler.after("image", "kramdown_link", _link)


def _emphasis(state: StateInline, silent: bool) -> bool:
    """Push a run of `*` or `_` as delimiters that open and close as kramdown's would."""
    start, marker = state.pos, state.src[state.pos]
    if silent or marker not in "*_":
        return False
    end = start
    while end < state.posMax and state.src[end] == marker:
        end += 1
    before = state.src[start - 1] if start > 0 else " "
    after = state.src[end] if end < state.posMax else " "
    can_open, can_close = after not in _ASCII_SPACE, before not in _ASCII_SPACE
    if marker == "_":
        can_open = can_open and not before.isalpha()
        can_close = can_close and not after.isalnum()
    for _ in range(end - start):
        token = state.push("text", "", 0)
        token.content = marker
        delimiter = Delimiter(
            ord(marker), end - start, len(state.tokens) - 1, -1, can_open, can_close
        )
        state.delimiters.append(delimiter)
    state.pos = end
    return True


def _link(state: StateInline, silent: bool) -> bool:
    """`[text](target with spaces "title")` or `[text] [id]`, as kramdown reads them."""
    src, start = state.src, state.pos
    image = src.startswith("![", start)
    opener = start + 1 if image else start
    if src[opener] != "[" or src[opener + 1 : opener + 2] == "^" or src.find("]", opener) < 0:
        return False
    label_end = state.md.helpers.parseLinkLabel(state, opener, not image)
    if label_end < 0:
        return False
    found = _inline_target(state, label_end + 1)
    if found is None:
        found = _reference_target(state, label_end + 1)
    if found is None:
        return False
    href, title, end = found
    if not silent:
        _push_link(state, image, (opener + 1, label_end), href, title)
    state.pos = end
    return True


def _inline_target(state: StateInline, pos: int) -> tuple[str, str, int] | None:
    """(href, title, end) of a `(...)` target read as kramdown reads it, or None."""
    src = state.src
    if src[pos : pos + 1] != "(":
        return None
    angled = _ANGLED.match(src, pos, min(state.posMax, pos + MAX_TARGET_CHARS))
    if angled:
        href, cursor = angled.group(1), angled.end()
        if src[cursor : cursor + 1] == ")":
            return href, "", cursor + 1
    else:
        target = _paren_target(src, pos, _parens(state))
        if target is None:
            return None
        href, cursor, closed = target
        if closed:
            return href, "", cursor
    title = _TITLE.match(src, cursor, min(state.posMax, cursor + MAX_TARGET_CHARS))
    return (href, title.group(2), title.end()) if title else None


def _paren_target(src: str, pos: int, parens: _Parens) -> tuple[str, int, bool] | None:
    """The target up to its balancing `)` (closed) or to a space before a quote (not),
    whichever comes first; None when there is neither."""
    close = parens.closes.get(pos)
    following = bisect_right(parens.quote_stops, pos)
    quote = parens.quote_stops[following] if following < len(parens.quote_stops) else None
    if quote is not None and (close is None or quote < close):
        return src[pos + 1 : quote].strip(), quote + 1, False
    if close is not None:
        return src[pos + 1 : close].strip(), close + 1, True
    return None


@dataclass(frozen=True, slots=True)
class _Parens:
    """Where each `(` of a paragraph closes, and where a quote follows white space: found
    once per paragraph, so trying a link at every `[` stays linear."""

    closes: dict[int, int]
    quote_stops: list[int]


def _parens(state: StateInline) -> _Parens:
    cached = state.env.get(_PARENS_KEY)
    if isinstance(cached, tuple) and cached[0] is state.src:
        return cast(_Parens, cached[1])
    closes: dict[int, int] = {}
    opened: list[int] = []
    for paren in _PAREN.finditer(state.src):
        if paren.group() == "(":
            opened.append(paren.start())
        elif opened:
            closes[opened.pop()] = paren.start()
    stops = [stop.start() for stop in _QUOTE_STOP.finditer(state.src)]
    parens = _Parens(closes, stops)
    state.env[_PARENS_KEY] = (state.src, parens)
    return parens


def _reference_target(state: StateInline, pos: int) -> tuple[str, str, int] | None:
    """`[text] [id]`: an id after white space, resolved against the link definitions."""
    found = _REFERENCE_ID.match(state.src, pos, state.posMax)
    references = state.env.get("references") if isinstance(state.env, dict) else None
    if not found or not found.group(1) or not references:
        return None
    definition = references.get(normalizeReference(found.group(1)))
    if not definition:
        return None
    return str(definition["href"]), str(definition.get("title") or ""), found.end()


def _push_link(
    state: StateInline, image: bool, label: tuple[int, int], href: str, title: str
) -> None:
    """Link tokens around the label's own inline tokens (an image keeps only its source)."""
    if image:
        token = state.push("image", "img", 0)
        token.attrs = {"src": href, "alt": ""}
        token.content = state.src[label[0] : label[1]]
        token.children = []
        return
    maximum = state.posMax
    state.pos, state.posMax = label
    token = state.push("link_open", "a", 1)
    token.attrs = {"href": href}
    if title:
        token.attrSet("title", title)
    state.linkLevel += 1
    state.md.inline.tokenize(state)
    state.linkLevel -= 1
    state.push("link_close", "a", -1)
    state.posMax = maximum
