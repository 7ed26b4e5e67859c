"""Markdown (and HTML) reduced to the headings and prose paragraphs a reader can be quoted.

Excerpts are shown in Discord embeds and terminals, where raw ``**`` or ``[x](y)`` would
read as noise, so everything downstream works on plain text. A real CommonMark parser
(markdown-it-py, linear time) does the reading: link text is kept and URLs dropped,
reference links resolved and their definitions dropped, code spans kept with their
content, code blocks, tables and footnote definitions kept out of the prose, inline HTML
reduced to its text. kramdown's attribute lists (`{: #id}` after a heading sets its id,
any other `{: ...}` is dropped) are handled before parsing, since CommonMark has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import accumulate

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from bot.corpus.html_text import html_blocks
from bot.corpus.textblock import TextBlock

# A line that is only a kramdown block IAL or ALD ("{: #id .class}", "{:ref: ...}").
_IAL_LINE = re.compile(r"^[ \t]{0,3}\{:[^}\n]{0,300}\}[ \t]*$", re.MULTILINE)
_IAL_ID = re.compile(r"(?:^|\s)#([^\s}]+)")
# kramdown span IALs and extensions left inside a paragraph ("text{: .x}", "{::nomarkdown}").
_SPAN_IAL = re.compile(r"\{:{1,2}[^}\n]{0,300}\}|\{:/[a-z]*\}")
# A heading's own "{#id}" (kramdown header.rb HEADER_ID), not part of its text.
_HEADER_ID_SUFFIX = re.compile(r"[ \t]+\{#[^}\s]+\}\Z")
# A link definition that could not be read as one (inside a paragraph): never prose.
_DEFINITION_LINE = re.compile(r"^[ \t]{0,3}\[[^\]\n]{1,200}\]:[ \t]*\S+.*$", re.MULTILINE)

_PARSER = (
    MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).use(footnote_plugin)
)
_SKIPPED_CONTAINERS = {"table_open": "table_close", "footnote_block_open": "footnote_block_close"}


def strip_inline(text: str) -> str:
    """Plain text of one line or paragraph: links, emphasis, code and tags unwrapped."""
    tokens = _PARSER.parseInline(text)
    children = tokens[0].children if tokens and tokens[0].children else []
    return _clean(_inline_text(children))


def document_blocks(markdown: str) -> list[TextBlock]:
    """Headings and prose paragraphs of a Markdown document, in reading order."""
    source, ial_ids = _take_ials(markdown)
    line_starts = [0, *accumulate(len(line) for line in markdown.splitlines(keepends=True))]
    tokens = _PARSER.parse(source)
    return list(_blocks(tokens, ial_ids, line_starts))


def _take_ials(markdown: str) -> tuple[str, dict[int, str]]:
    """Blank out IAL lines (keeping line numbers); ids keyed by the line they sit on."""
    ids: dict[int, str] = {}
    if "{:" not in markdown:
        return markdown, ids
    lines = markdown.split("\n")
    for number, line in enumerate(lines):
        if _IAL_LINE.match(line):
            found = _IAL_ID.search(line.strip()[2:-1])
            if found:
                ids[number] = found.group(1)
            lines[number] = ""
    return "\n".join(lines), ids


def _blocks(
    tokens: Sequence[Token], ial_ids: dict[int, str], starts: list[int]
) -> Iterator[TextBlock]:
    closing: str | None = None
    for i, token in enumerate(tokens):
        if closing is not None:
            closing = None if token.type == closing else closing
            continue
        if token.type in _SKIPPED_CONTAINERS:
            closing = _SKIPPED_CONTAINERS[token.type]
        elif token.type == "html_block" and token.map:
            yield from html_blocks(token.content, _offset(starts, token.map[0]))
        elif token.type in ("heading_open", "paragraph_open") and token.map:
            inline = tokens[i + 1]
            start, end = _offset(starts, token.map[0]), _offset(starts, token.map[1])
            text = _clean(_inline_text(inline.children or []))
            if token.type == "paragraph_open":
                text = _DEFINITION_LINE.sub("", text).strip()
                if text:
                    yield TextBlock(text, start, end)
                continue
            yield TextBlock(
                _HEADER_ID_SUFFIX.sub("", text).strip(),
                start,
                end,
                level=int(token.tag[1:]),
                source=inline.content,
                explicit_id=ial_ids.get(token.map[1]),
            )


def _offset(starts: list[int], line: int) -> int:
    return starts[min(line, len(starts) - 1)]


def _inline_text(children: Sequence[Token]) -> str:
    """Text of inline tokens: markup dropped, code and link text kept, breaks as newlines."""
    parts: list[str] = []
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "image":
            parts.append(_inline_text(child.children or []))
        elif kind == "html_inline" and re.match(r"<br\b", child.content, re.IGNORECASE):
            parts.append("\n")
    return "".join(parts)


def _clean(text: str) -> str:
    """kramdown span extensions are not text."""
    return _SPAN_IAL.sub("", text) if "{:" in text else text
