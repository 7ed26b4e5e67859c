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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from markdown_it.token import Token

# A line that is only a kramdown block IAL or ALD ("{: #id .class}", "{:ref: ...}").
_IAL_LINE = re.compile(r"^[ \t]{0,3}\{:[^}\n]{0,300}\}[ \t]*$")
_IAL_ID = re.compile(r"(?:^|\s)#([^\s}]+)")
_END_OF_BLOCK = re.compile(r"^\^[ \t]*$")  # kramdown EOB_MARKER
_END_OF_BLOCK_STAND_IN = "<!-- -->"
# kramdown's HTML_SPAN_ELEMENTS (parser/html.rb): a line starting with one is a paragraph.
_SPAN_ELEMENT_NAMES = (
    "a abbr acronym b big bdo br button cite code del dfn em i img input ins kbd label"
    " mark option q rb rbc rp rt rtc ruby samp select small span strong sub sup tt u var"
)
_SPAN_ELEMENTS = frozenset(_SPAN_ELEMENT_NAMES.split())
# kramdown's HTML_ELEMENTS_WITHOUT_BODY: the start tag is the whole element.
_VOID_ELEMENT_NAMES = (
    "area base br col command embed hr img input keygen link meta param source track wbr"
)
_VOID_ELEMENTS = frozenset(_VOID_ELEMENT_NAMES.split())
_INDENT = re.compile(r"[ ]{0,3}")
# A start or end tag; attributes are bounded so an unclosed `<div` cannot scan the document.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^<>]{0,4000}>")


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
    openings: list[tuple[list[int], re.Match[str]]] = []
    for token in tokens:
        opening = _opening_tag(source, token, starts)
        if opening is not None and token.map:
            openings.append((token.map, opening))
    if not openings:
        return []
    ends = _element_ends(source)
    regions: list[HtmlRegion] = []
    for lines, opening in openings:
        if regions and lines[0] <= regions[-1].last:
            continue  # inside the previous element
        region = _region(source, lines, starts, _end_of(opening, ends))
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


def _opening_tag(source: str, token: Token, starts: list[int]) -> re.Match[str] | None:
    """The start tag opening a top-level HTML block, unless kramdown reads it as text."""
    if token.type != "html_block" or token.level or not token.map:
        return None
    begin = starts[token.map[0]]
    indent = _INDENT.match(source, begin)
    opening = _TAG.match(source, indent.end() if indent else begin)
    if not opening or opening.group(1) or opening.group(2).lower() in _SPAN_ELEMENTS:
        return None
    return opening


def _end_of(opening: re.Match[str], ends: dict[int, int]) -> int | None:
    """Offset just past the element's end tag; a void or self-closed one ends at once."""
    if opening.group(2).lower() in _VOID_ELEMENTS or opening.group(0).endswith("/>"):
        return opening.end()
    return ends.get(opening.start())


def _region(source: str, lines: list[int], starts: list[int], end: int | None) -> HtmlRegion | None:
    """The lines from the block's first to its element's end tag, if CommonMark cut them."""
    if end is None:
        return None
    last = bisect_right(starts, end - 1) - 1
    if last == lines[1] - 1:
        return None
    begin = starts[lines[0]]
    stop = starts[last + 1] if last + 1 < len(starts) else len(source)
    return HtmlRegion(lines[0], last, source[begin:stop])


def _element_ends(source: str) -> dict[int, int]:
    """Each start tag's offset mapped to the end of its matching end tag, in one pass.

    Tags pair up per name as brackets do (nested `<div>`s count), so an unclosed start
    tag has no entry: kramdown would run it to the end, the bot keeps CommonMark's reading.
    """
    ends: dict[int, int] = {}
    open_tags: dict[str, list[int]] = {}
    for tag in _tags(source):
        name = tag.group(2).lower()
        if name in _VOID_ELEMENTS or tag.group(0).endswith("/>"):
            continue
        stack = open_tags.setdefault(name, [])
        if not tag.group(1):
            stack.append(tag.start())
        elif stack:
            ends[stack.pop()] = tag.end()
    return ends


def _tags(source: str) -> Iterator[re.Match[str]]:
    """Start and end tags in order, skipping comments (an unclosed one runs to the end)."""
    position = source.find("<")
    while position >= 0:
        if source.startswith("<!--", position):
            close = source.find("-->", position + 4)
            if close < 0:
                return
            position = source.find("<", close + 3)
            continue
        tag = _TAG.match(source, position)
        if tag:
            yield tag
        position = source.find("<", tag.end() if tag else position + 1)
