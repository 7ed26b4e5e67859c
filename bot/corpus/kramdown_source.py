"""Block structure kramdown sees differently from CommonMark, settled before the real parse.

Each change keeps every line where it was, so token line numbers still point into the
document:

- kramdown attribute lists on a line of their own (`{: #id}`) are blanked; the ids are
  kept by line (a heading's `{: #id}` sets its id).
- An end-of-block marker (a line that is only `^`) ends a list, as in kramdown; it
  becomes an HTML comment, which ends a CommonMark list just the same.
- An HTML block runs to the end tag of the element it opens (kramdown parses it as HTML),
  where CommonMark's runs to the next blank line: `<div>` with blank lines inside would
  otherwise turn into code blocks, and Markdown right after `</blockquote>` into raw HTML.
  Such a block is masked as one comment and its HTML is kept for the reader.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

# A line that is only a kramdown block IAL or ALD ("{: #id .class}", "{:ref: ...}").
_IAL_LINE = re.compile(r"^[ \t]{0,3}\{:[^}\n]{0,300}\}[ \t]*$")
_IAL_ID = re.compile(r"(?:^|\s)#([^\s}]+)")
_END_OF_BLOCK = re.compile(r"^\^[ \t]*$")  # kramdown EOB_MARKER
_END_OF_BLOCK_STAND_IN = "<!-- -->"
# kramdown's HTML_SPAN_ELEMENTS (parser/html.rb): a line starting with one is a paragraph.
_SPAN_ELEMENTS = frozenset(
    [
        "a",
        "abbr",
        "acronym",
        "b",
        "big",
        "bdo",
        "br",
        "button",
        "cite",
        "code",
        "del",
        "dfn",
        "em",
        "i",
        "img",
        "input",
        "ins",
        "kbd",
        "label",
        "mark",
        "option",
        "q",
        "rb",
        "rbc",
        "rp",
        "rt",
        "rtc",
        "ruby",
        "samp",
        "select",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "tt",
        "u",
        "var",
    ]
)
# kramdown's HTML_ELEMENTS_WITHOUT_BODY: the start tag is the whole element.
_VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "command",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_INDENT = re.compile(r"[ ]{0,3}")
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^>]*>", re.DOTALL)
# How far an element's end tag is looked for: an unclosed `<div>` is left as CommonMark reads it.
MAX_ELEMENT_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class HtmlRegion:
    """An HTML block as kramdown delimits it: lines `first` to `last`, and its markup."""

    first: int
    last: int
    markup: str


def kramdown_lines(markdown: str) -> tuple[str, dict[int, str]]:
    """IAL lines blanked (their ids keyed by line) and `^` lines made list-ending comments."""
    ids: dict[int, str] = {}
    if "{:" not in markdown and "^" not in markdown:
        return markdown, ids
    lines = markdown.split("\n")
    for number, line in enumerate(lines):
        if _IAL_LINE.match(line):
            found = _IAL_ID.search(line.strip()[2:-1])
            if found:
                ids[number] = found.group(1)
            lines[number] = ""
        elif _END_OF_BLOCK.match(line):
            lines[number] = _END_OF_BLOCK_STAND_IN
    return "\n".join(lines), ids


def html_regions(source: str, tokens: Sequence[Token], starts: list[int]) -> list[HtmlRegion]:
    """Top-level HTML blocks whose kramdown extent differs from CommonMark's."""
    regions: list[HtmlRegion] = []
    for token in tokens:
        if token.type != "html_block" or token.level or not token.map:
            continue
        if regions and token.map[0] <= regions[-1].last:
            continue  # already inside the previous element
        region = _region(source, token.map, starts)
        if region is not None:
            regions.append(region)
    return regions


def mask(source: str, regions: Sequence[HtmlRegion]) -> str:
    """Each region becomes one HTML comment over the same lines, ending where it ends."""
    lines = source.split("\n")
    for region in regions:
        for number in range(region.first, region.last + 1):
            lines[number] = ""
        if region.first == region.last:
            lines[region.first] = "<!-- -->"
        else:
            lines[region.first], lines[region.last] = "<!--", "-->"
    return "\n".join(lines)


def _region(source: str, lines: list[int], starts: list[int]) -> HtmlRegion | None:
    """The region of the element opening the block at `lines[0]`, if CommonMark cut it."""
    begin = starts[lines[0]]
    indent = _INDENT.match(source, begin)
    opening = _TAG.match(source, indent.end() if indent else begin)
    if not opening or opening.group(1) or not opening.group(2):
        return None
    name = opening.group(2).lower()
    if name in _SPAN_ELEMENTS:
        return None
    end = _element_end(source, opening, name)
    if end is None:
        return None
    last = bisect_right(starts, end - 1) - 1
    if last == lines[1] - 1:
        return None
    stop = starts[last + 1] if last + 1 < len(starts) else len(source)
    return HtmlRegion(lines[0], last, source[begin:stop])


def _element_end(source: str, opening: re.Match[str], name: str) -> int | None:
    """Offset just past the end tag that closes `opening` (nesting counted), or None."""
    if name in _VOID_ELEMENTS or opening.group(0).endswith("/>"):
        return opening.end()
    depth = 1
    limit = opening.end() + MAX_ELEMENT_CHARS
    for tag in _TAG.finditer(source, opening.end(), limit):
        if (tag.group(2) or "").lower() != name or tag.group(0).endswith("/>"):
            continue
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return tag.end()
    return None
