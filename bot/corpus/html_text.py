"""HTML reduced to headings and prose paragraphs, for HTML pages and HTML inside Markdown.

Tags go and their text stays; scripts, styles, code blocks and tables are not prose.
A heading keeps the `id` attribute written on it (kramdown passes raw HTML through, so
that is the id the page has) and gets no generated one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from html.parser import HTMLParser

from bot.corpus.textblock import TextBlock

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HIDDEN = frozenset({"script", "style", "pre", "table", "template", "svg", "noscript"})
# kramdown's HTML_BLOCK_ELEMENTS and the HTML5 sectioning ones: each starts a new line of
# text, so list items, cells or a summary never run into the text after them.
_BLOCK_ELEMENT_NAMES = (
    "address article aside applet body blockquote caption center col colgroup dd details"
    " dir div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup"
    " hr html head iframe legend li main map menu nav ol optgroup p pre section summary"
    " table tbody td tfoot th thead tr ul"
)
BLOCK_ELEMENTS = frozenset(_BLOCK_ELEMENT_NAMES.split())
_BREAKS = BLOCK_ELEMENTS | {"br"}

log = logging.getLogger(__name__)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, str | None, str]] = []  # (level, id, text)
        self.hidden = 0
        self.heading: tuple[int, str | None] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _HEADINGS:
            self.flush()
            self.heading = (_HEADINGS[tag], dict(attrs).get("id"))
        elif tag in _BREAKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _HEADINGS or tag in _BREAKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)

    def flush(self) -> None:
        text = " ".join("".join(self.text).split())
        if self.heading is not None:
            self.blocks.append((self.heading[0], self.heading[1], text))
        elif text:
            self.blocks.append((0, None, text))
        self.heading, self.text = None, []


def html_blocks(markup: str, start: int) -> Iterator[TextBlock]:
    """Headings and paragraphs of `markup`, all placed at `start` in the document."""
    collector = _Collector()
    try:
        collector.feed(markup)
        collector.close()
    except AssertionError:  # html.parser asserts on some broken markup (`<![foo[`)
        log.info("left out the rest of an HTML block html.parser cannot read")
    collector.flush()
    end = start + len(markup)
    for level, anchor, text in collector.blocks:
        if level and not text:
            continue
        yield TextBlock(
            html.unescape(text) if "&" in text else text,
            start,
            end,
            level=level,
            source=text,
            explicit_id=anchor if anchor else None,
            generated=False,
        )
