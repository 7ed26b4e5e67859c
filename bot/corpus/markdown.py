"""Markdown (and HTML) reduced to the headings and prose paragraphs a reader can be quoted.

Excerpts are shown in Discord embeds and terminals, where raw ``**`` or ``[x](y)`` would
read as noise, so everything downstream works on plain text. A real CommonMark parser
(markdown-it-py, linear time) does the reading: link text is kept and URLs dropped,
reference links resolved and their definitions dropped, code spans kept with their
content, images, code blocks and tables kept out of the prose, inline HTML reduced to its
text. Jekyll renders with kramdown, so where kramdown reads the source differently the
reader sees kramdown's page and the bot reads it that way too: attribute lists, HTML
blocks and end-of-block markers (`bot.corpus.kramdown_source`), emphasis and lenient links
(`bot.corpus.kramdown_syntax`), definition lists, tables written without a separator line,
and footnotes (their text is the page's last paragraphs, their reference numbers no text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_block.table import table as _gfm_table
from markdown_it.token import Token
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

from bot.corpus.html_text import BLOCK_ELEMENTS, html_blocks
from bot.corpus.kramdown_source import HtmlRegion, html_regions, kramdown_lines, mask
from bot.corpus.kramdown_syntax import kramdown_inline_plugin
from bot.corpus.textblock import TextBlock

# kramdown span IALs and extensions left inside a paragraph ("text{: .x}", "{::nomarkdown}").
_SPAN_IAL = re.compile(r"\{:{1,2}[^}\n]{0,300}\}|\{:/[a-z]*\}")
# A heading's own "{#id}" (kramdown header.rb HEADER_ID), not part of its text.
_HEADER_ID_SUFFIX = re.compile(r"(?<![ \t])[ \t]++\{#[^}\s]++\}\Z")  # no backtracking
# A link definition that could not be read as one (inside a paragraph): never prose.
_DEFINITION_LINE = re.compile(r"^[ \t]{0,3}\[[^\]\n]{1,200}\]:[ \t]*\S+.*$", re.MULTILINE)
# kramdown table.rb TABLE_PIPE_CHECK: a line with an unescaped `|` (outside code spans).
_TABLE_PIPE = re.compile(r"^\||[^\\]\|")
_CODE_SPAN = re.compile(r"(?<!`)(`++).+?(?<!`)\1(?!`)")  # runs tried from their start only
_HTML_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_LINE_BREAKING_TAGS = BLOCK_ELEMENTS | {"br"}
# html.parser's comment end (Python 3.11 _markupbase._commentclose).
_COMMENT_CLOSE = re.compile(r"--\s*>")
# A `<` that is not the end of a script or style (inside one, `<!--` opens no comment).
_TEXT_LT = re.compile(r"<(?!/(?:script|style)[\s/>])", re.IGNORECASE)

# A table's cells become tokens (about a kilobyte each) and tables are never prose: past
# this many cells the rest of its rows are passed over without any.
MAX_TABLE_CELLS = 2_000


def _capped_table(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """markdown-it's table rule, given at most MAX_TABLE_CELLS cells' worth of rows; the
    rows after them are skipped as the rule would have read them, without tokens."""
    columns = state.src.count("|", state.bMarks[start], state.eMarks[start]) + 1
    if columns > MAX_TABLE_CELLS:
        return False  # a paragraph of pipes: kramdown's table reading drops it
    limit = min(end, start + 2 + MAX_TABLE_CELLS // columns)
    if not _gfm_table(state, start, limit, silent):
        return False
    if silent or state.line < limit:
        return True
    terminators = state.md.block.ruler.getRules("table")
    line = state.line
    while line < end and not state.isEmpty(line) and state.sCount[line] >= state.blkIndent:
        if state.is_code_block(line) or any(rule(state, line, end, True) for rule in terminators):
            break
        line += 1
    state.line = line
    return True


_PARSER = (
    MarkdownIt("commonmark", {"html": True})
    .enable(["table", "strikethrough"])
    .use(footnote_plugin)
    .use(deflist_plugin)
    .use(kramdown_inline_plugin)
)
_PARSER.block.ruler.at("table", _capped_table, {"alt": ["paragraph", "reference"]})
_SKIPPED_CONTAINERS = {"table_open": "table_close"}
_CONTAINER_STARTS = frozenset({"list_item_open", "blockquote_open", "dd_open", "footnote_open"})


@dataclass
class _Document:
    """The parsed document with what walking its tokens needs."""

    tokens: list[Token]
    lines: list[str]  # the source lines, as parsed
    starts: list[int]  # offsets of the original document's lines
    ial_ids: dict[int, str]
    regions: dict[int, HtmlRegion]  # by first line


def strip_inline(text: str) -> str:
    """Plain text of one line or paragraph: links, emphasis, code and tags unwrapped."""
    tokens = _PARSER.parseInline(text)
    children = tokens[0].children if tokens and tokens[0].children else []
    return _inline_text(children)


def document_blocks(markdown: str) -> list[TextBlock]:
    """Headings and prose paragraphs of a Markdown document, in reading order."""
    return list(_blocks(_parse(markdown)))


def _parse(markdown: str) -> _Document:
    """Parse as kramdown delimits the blocks; a re-parse only where HTML blocks differ."""
    source, ial_ids = kramdown_lines(markdown)
    tokens = _PARSER.parse(source)
    regions = html_regions(source, tokens, _line_starts(source)) if "<" in source else []
    if regions:
        source = mask(source, regions)
        tokens = _PARSER.parse(source)
    by_line = {region.first: region for region in regions}
    return _Document(tokens, source.split("\n"), _line_starts(markdown), ial_ids, by_line)


def _line_starts(text: str) -> list[int]:
    return [0, *accumulate(len(line) for line in text.splitlines(keepends=True))]


def _blocks(doc: _Document) -> Iterator[TextBlock]:
    closing: str | None = None
    for i, token in enumerate(doc.tokens):
        if closing is not None:
            closing = None if token.type == closing else closing
            continue
        if token.type in _SKIPPED_CONTAINERS:
            closing = _SKIPPED_CONTAINERS[token.type]
        elif token.type == "html_block" and token.map:
            yield from _html_block(doc, token, token.map[0])
        elif token.type == "heading_open" and token.map:
            yield _heading(doc, token, doc.tokens[i + 1])
        elif _is_paragraph(token) and not _is_kramdown_table(doc, i):
            assert token.map is not None
            yield from _paragraph(doc, token.map, doc.tokens[i + 1])


def _is_paragraph(token: Token) -> bool:
    """A paragraph, or a definition list's term (a line of inline text of its own)."""
    return token.type in ("paragraph_open", "dt_open") and token.map is not None


def _html_block(doc: _Document, token: Token, line: int) -> Iterator[TextBlock]:
    """Raw HTML's text; a block kramdown reads to its end tag comes from the real markup."""
    region = doc.regions.get(line)
    markup = region.markup if region is not None else token.content
    return html_blocks(tame_html(markup), _offset(doc.starts, line))


def tame_html(markup: str) -> str:
    """The markup with each `<` that html.parser would read as text escaped as `&lt;`,
    which it reads as the same text, so that parsing stays linear.

    html.parser reads a comment, tag or declaration that never ends (no `>` after it, or
    no `-->` after a `<!--`) as text up to the next `>`, but only after searching the rest
    of the document for its end, again from every such `<`: thousands of `<!--` took
    minutes. Escaped here, that text is read as text at once.
    """
    last_gt = markup.rfind(">")
    if "<" not in markup[last_gt + 1 :] and "<!--" not in markup:
        return markup
    last_comment_end = max((end.start() for end in _COMMENT_CLOSE.finditer(markup)), default=-1)
    pieces: list[str] = []
    position = 0
    opener = markup.find("<!--")
    while 0 <= opener < last_gt:
        if opener + 4 > last_comment_end:  # never closed: text up to the next `>`
            close = markup.find(">", opener + 1)
            pieces += [markup[position:opener], _TEXT_LT.sub("&lt;", markup[opener : close + 1])]
            position = close + 1
        opener = markup.find("<!--", max(position, opener + 1))
    pieces += [markup[position : last_gt + 1], markup[last_gt + 1 :].replace("<", "&lt;")]
    return "".join(pieces)


def _heading(doc: _Document, token: Token, inline: Token) -> TextBlock:
    assert token.map is not None
    text = _inline_text(inline.children or [])
    return TextBlock(
        _HEADER_ID_SUFFIX.sub("", text).strip(),
        _offset(doc.starts, token.map[0]),
        _offset(doc.starts, token.map[1]),
        level=int(token.tag[1:]),
        source=inline.content,
        explicit_id=doc.ial_ids.get(token.map[1]),
    )


def _paragraph(doc: _Document, lines: list[int], inline: Token) -> Iterator[TextBlock]:
    text = _DEFINITION_LINE.sub("", _inline_text(inline.children or [])).strip()
    if text:
        end = max(lines[1], lines[0] + 1)  # a definition term's map is empty
        yield TextBlock(text, _offset(doc.starts, lines[0]), _offset(doc.starts, end))


def _is_kramdown_table(doc: _Document, index: int) -> bool:
    """kramdown reads a paragraph whose every line has a `|` as a table (no separator
    line needed), when it starts a block: it is not prose, like any other table."""
    token, inline = doc.tokens[index], doc.tokens[index + 1]
    if token.type != "paragraph_open" or not token.map or "|" not in inline.content:
        return False
    first = token.map[0]
    after_boundary = (
        first == 0
        or not doc.lines[first - 1].strip()
        or doc.tokens[index - 1].type in _CONTAINER_STARTS
    )
    lines = inline.content.split("\n")
    return after_boundary and all(_TABLE_PIPE.search(_CODE_SPAN.sub("", ln)) for ln in lines)


def _offset(starts: list[int], line: int) -> int:
    return starts[min(line, len(starts) - 1)]


def _inline_text(children: Sequence[Token]) -> str:
    """Text of inline tokens: markup dropped, code and link text kept, breaks as newlines.

    Images are not text (the page shows the picture, not its alt text); a footnote
    reference is a superscript number, not part of the sentence; a block-level HTML tag
    inside a paragraph (`<li>`, `<p>`, `<td>`) ends a line, so items never run together.
    """
    parts: list[str] = []
    for child in children:
        kind = child.type
        if kind == "text":
            parts.append(_without_span_ials(child.content))
        elif kind == "code_inline":
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak") or (
            kind == "html_inline" and _breaks_line(child.content)
        ):
            parts.append("\n")
    return "".join(parts)


def _without_span_ials(text: str) -> str:
    """kramdown span extensions are not text (in a code span they are code, and kept)."""
    return _SPAN_IAL.sub("", text) if "{:" in text else text


def _breaks_line(tag: str) -> bool:
    """`<br>` or a block-level element's start or end tag."""
    name = _HTML_TAG_NAME.match(tag)
    return name is not None and name.group(1).lower() in _LINE_BREAKING_TAGS
