"""Render the Liquid in an article as Jekyll would, so readers never see template code.

Jekyll renders Liquid before Markdown: `{{ page.title }}`, `{{ site.data.releases }}`,
`{% assign %}`, loops and filters become text, `{% highlight %}` a code block, `{% link %}`
and `{% post_url %}` the linked URL, `{% include %}` the file from `_includes/`. python-liquid
does the Liquid; the Jekyll-only tags and filters are added here. It runs in lax mode, so
an unknown tag or filter renders as nothing instead of failing; if a template still cannot
be rendered, its Liquid markup is stripped (logged once for the file) and never shown.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from liquid import Environment
from liquid.ast import Node
from liquid.context import RenderContext
from liquid.exceptions import LiquidError, ResourceLimitError
from liquid.mode import Mode
from liquid.stream import TokenStream
from liquid.tag import Tag
from liquid.token import TOKEN_EXPRESSION, TOKEN_TAG, Token

log = logging.getLogger(__name__)

LinkResolver = Callable[[str, str], str]  # (tag name, argument) -> URL, "" when unknown
MAX_INCLUDE_DEPTH = 10
MAX_INCLUDE_BYTES = 5 * 1024 * 1024  # one include file; a post's includes also share a budget
# Includes per document, and the characters they may add in all: an include that includes
# itself a few times, or one inside a long loop, would otherwise render without end (each
# include renders in a fresh context, so the per-render limits restart inside it).
MAX_INCLUDES = 500
MAX_INCLUDE_CHARS = 2_000_000
_BUDGET_KEY = "__jekyll_include_budget__"
_LINKS_KEY = "__jekyll_links__"
_INCLUDES_KEY = "__jekyll_includes__"

# Jekyll's `{% highlight lang %}` renders a code block; as a fence Markdown keeps it code.
_HIGHLIGHT_OPEN = re.compile(r"\{%-?[ \t]*highlight\b[^%\n]*-?%\}")
_HIGHLIGHT_CLOSE = re.compile(r"\{%-?[ \t]*endhighlight[ \t]*-?%\}")
# The fallback when rendering fails: comments and every tag or output go. Blocks and tags
# are found by scans that look for each closer once from where they stand, so thousands
# of openers without a closer cost no more than one.
_COMMENT_OPEN = re.compile(r"\{%-?\s*+comment\s*+-?%\}")
_COMMENT_CLOSE = re.compile(r"\{%-?\s*+endcomment\s*+-?%\}")
MAX_COMMENT_CHARS = 20_000
_RAW_OPEN = re.compile(r"\{%-?\s*+raw\s*+-?%\}")
_RAW_CLOSE = re.compile(r"\{%-?\s*+endraw\s*+-?%\}")
_RAW_MARK = re.compile(r"\{%-?\s*+(?:end)?raw\s*+-?%\}")
_DOC_OPEN = re.compile(r"\{%-?\s*+doc\s*+-?%\}")
_DOC_CLOSE = re.compile(r"\{%-?\s*+enddoc\s*+-?%\}")
_ANY_OPENER = re.compile(r"\{[%{]")
MAX_TAG_CHARS = 2000
# What one filter may make: a value doubled in a loop, or a `replace` or `join` that
# multiplies a long string, would otherwise allocate gigabytes before any limit saw it.
MAX_VALUE_CHARS = 1_000_000
MAX_VALUE_ITEMS = 100_000


class _Limited(Environment):
    """Bounds a hostile template: loops, output size and nesting cannot run away."""

    loop_iteration_limit = 200_000
    output_stream_limit = 5_000_000
    local_namespace_limit = 2_000_000


def _raw_argument(stream: TokenStream) -> tuple[Token, str]:
    """The tag token and its argument text as written (Jekyll tags parse their own).

    As with the built-in tags, the expression token is left for the parser to step over.
    """
    token = stream.eat(TOKEN_TAG)
    raw = stream.current.value if stream.current.kind == TOKEN_EXPRESSION else ""
    return token, raw.strip()


class _UrlNode(Node):
    """`{% link path %}` / `{% post_url name %}`: the target's URL (baseurl included)."""

    __slots__ = ("argument", "tag")

    def __init__(self, token: Token, tag: str, argument: str) -> None:
        super().__init__(token)
        self.tag = tag
        self.argument = argument

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        resolver = context.globals.get(_LINKS_KEY)
        url = resolver(self.tag, self.argument) if callable(resolver) else ""
        return buffer.write(str(url))


class _LinkTag(Tag):
    name = "link"
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, raw = _raw_argument(stream)
        return _UrlNode(token, self.name, raw)


class _PostUrlTag(_LinkTag):
    name = "post_url"


class _IncludeBudget:
    """What is left of one document's include allowance, shared by every nested include."""

    __slots__ = ("chars", "count", "exhausted")

    def __init__(self) -> None:
        self.count, self.chars, self.exhausted = MAX_INCLUDES, MAX_INCLUDE_CHARS, False

    def take(self) -> bool:
        """One more include, if the document may still have one."""
        self.count -= 1
        self.exhausted = self.exhausted or self.count < 0 or self.chars <= 0
        return not self.exhausted

    def fit(self, text: str) -> str:
        """The rendered include, cut to what the document may still add."""
        kept = text[: max(self.chars, 0)]
        self.chars -= len(text)
        return kept


class _IncludeNode(Node):
    """Jekyll's `{% include file.html key=value %}`: the file rendered with `include.key`."""

    __slots__ = ("argument",)

    def __init__(self, token: Token, argument: str) -> None:
        super().__init__(token)
        self.argument = argument

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        folder = context.globals.get(_INCLUDES_KEY)
        if not isinstance(folder, Path) or context.template is None:
            return 0
        try:
            name, *pairs = shlex.split(self.argument)
        except ValueError:
            return 0
        budget = context.globals.get(_BUDGET_KEY)
        if not isinstance(budget, _IncludeBudget) or not budget.take():
            return 0
        source = _include_source(folder, name)
        if source is None:
            return 0
        params = {
            key: _value(context, value) for key, _, value in (p.partition("=") for p in pairs)
        }
        scope = {**dict(context.globals), **dict(context.locals), "include": params}
        depth = int(str(context.globals.get("__include_depth__", 0)))
        if depth >= MAX_INCLUDE_DEPTH:
            return 0
        scope["__include_depth__"] = depth + 1
        return buffer.write(budget.fit(context.env.from_string(source).render(**scope)))


class _IncludeTag(Tag):
    name = "include"
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, raw = _raw_argument(stream)
        return _IncludeNode(token, raw)


def _include_source(folder: Path, name: str) -> str | None:
    """The include's text, only from inside `_includes/` (no `..` escapes)."""
    try:
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            return None
        if path.stat().st_size > MAX_INCLUDE_BYTES:  # before reading: it may be gigabytes
            log.warning("left out include %s: over %d bytes", name[:100], MAX_INCLUDE_BYTES)
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _value(context: RenderContext, text: str) -> object:
    """A parameter: a quoted string (shlex already unquoted it) or a variable path."""
    current: object = context.globals.get(text.split(".")[0], context.locals.get(text))
    for part in text.split(".")[1:]:
        current = current.get(part) if isinstance(current, Mapping) else None
    return text if current is None else current


def _environment() -> Environment:
    env = _Limited(tolerance=Mode.STRICT, strict_filters=False)
    for tag in (_LinkTag, _PostUrlTag, _IncludeTag):
        env.add_tag(tag)
    for name, func in _JEKYLL_FILTERS.items():
        env.add_filter(name, func)
    for name, func in list(env.filters.items()):
        env.filters[name] = _bounded(name, func)
    return env


class ValueLimitError(ResourceLimitError):
    """A filter would make a string or list beyond MAX_VALUE_CHARS / MAX_VALUE_ITEMS."""


def _bounded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, refusing inputs and results beyond the value limits, and refusing
    before it runs a call whose result would be (`append` of doubled strings, `replace`
    or `join` multiplying a long string, `split` into millions of items)."""

    @functools.wraps(func)
    def bounded(left: object, *args: object, **kwargs: object) -> object:
        for value in (left, *args):
            _check(name, value)
        _check_predicted(name, left, args)
        result = func(left, *args, **kwargs)
        _check(name, result)
        return result

    return bounded


def _check(name: str, value: object) -> None:
    """A string's characters; a list's items and the characters of the strings in it,
    nested lists included (mappings count as one item: the site's own data)."""
    chars = items = 0
    pending = [value]
    while pending and chars <= MAX_VALUE_CHARS and items <= MAX_VALUE_ITEMS:
        current = pending.pop()
        if isinstance(current, str):
            chars += len(current)
        elif isinstance(current, int):
            chars += current.bit_length() // 3  # about its digits
        elif isinstance(current, range):
            items += len(current)
        elif isinstance(current, list | tuple | set):
            items += len(current)
            pending.extend(current)
    _check_size(name, chars, items)


def _check_size(name: str, chars: int, items: int) -> None:
    if chars > MAX_VALUE_CHARS or items > MAX_VALUE_ITEMS:
        raise ValueLimitError(
            f"filter '{name}' would make a value over {MAX_VALUE_CHARS} characters"
            f" or {MAX_VALUE_ITEMS} items",
            token=None,
        )


def _check_predicted(name: str, left: object, args: tuple[object, ...]) -> None:
    """The size of the result of the filters that can make one far larger than their input."""
    if name in ("append", "prepend"):
        _check_size(name, sum(len(str(value)) for value in (left, *args[:1])), 0)
    elif name == "concat" and isinstance(left, list) and args and isinstance(args[0], list):
        _check_size(name, 0, len(left) + len(args[0]))
    elif name.startswith("replace") and len(args) >= 1:
        text, old = str(left), str(args[0])
        new = str(args[1]) if len(args) > 1 else ""
        count = 1 if name != "replace" else text.count(old) if old else len(text) + 1
        _check_size(name, len(text) + count * max(0, len(new) - len(old)), 0)
    elif name in ("join", "array_to_sentence_string") and isinstance(left, list | tuple | range):
        separator = len(str(args[0])) if args and name == "join" else 2
        total = 0
        for item in left:
            total += len(str(item)) + separator
            _check_size(name, total, 0)
    elif name == "split":
        text, mark = str(left), str(args[0]) if args else " "
        _check_size(name, 0, text.count(mark) + 1 if mark else len(text))


def _where(items: object, key: object, value: object = None) -> list[object]:
    """Jekyll's `where`: items whose `key` equals `value` (compared as strings)."""
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, Mapping) and str(i.get(str(key))) == str(value)]


def _group_by(items: object, key: object) -> list[dict[str, object]]:
    """Jekyll's `group_by`: {"name", "items", "size"} per value, in order of appearance."""
    groups: dict[str, list[object]] = {}
    for item in items if isinstance(items, list) else []:
        value = item.get(str(key)) if isinstance(item, Mapping) else None
        groups.setdefault("" if value is None else str(value), []).append(item)
    return [{"name": k, "items": v, "size": len(v)} for k, v in groups.items()]


def _date_string(value: object, *_args: object) -> str:
    return str(value)[:10]


_JEKYLL_FILTERS: dict[str, Callable[..., Any]] = {
    "where": _where,
    "where_exp": lambda items, *_: items,
    "group_by": _group_by,
    "relative_url": lambda value: str(value),
    "absolute_url": lambda value: str(value),
    "markdownify": lambda value: str(value),
    "smartify": lambda value: str(value),
    "jsonify": lambda value: json.dumps(value, ensure_ascii=False, default=str),
    "slugify": lambda value, *_: re.sub(r"[^\w]+", "-", str(value).lower()).strip("-"),
    "xml_escape": lambda value: html.escape(str(value)),
    "cgi_escape": lambda value: quote(str(value), safe=""),
    "uri_escape": lambda value: quote(str(value), safe="/:?#[]@!$&'()*+,;="),
    "number_of_words": lambda value: len(str(value).split()),
    "array_to_sentence_string": lambda items, *_: ", ".join(map(str, items or [])),
    "date_to_string": _date_string,
    "date_to_long_string": _date_string,
    "date_to_xmlschema": lambda value: str(value),
    "date_to_rfc822": lambda value: str(value),
}

_ENV = _environment()
_KNOWN_TAGS = frozenset(
    {*_ENV.tags, *(f"end{name}" for name in _ENV.tags), "else", "elsif", "when", "raw", "endraw"}
)
_TAG_NAME = re.compile(r"\{%-?[ \t\n]*+([A-Za-z_]\w*+)[^%]{0,2000}?-?%\}")


def render(
    text: str,
    *,
    page: Mapping[str, object],
    site: Mapping[str, object],
    links: LinkResolver,
    includes: Path | None,
    source: str,
) -> str:
    """The text with its Liquid rendered; stripped of Liquid if rendering fails."""
    if "{{" not in text and "{%" not in text:
        return text
    text = _outside_raw(text, _highlight_as_fences, _without_unknown_tags)
    unclosed = _unclosed(text)
    if unclosed is not None:
        # python-liquid's lexer rescans the rest of the text from each such opener
        log.warning("Liquid in %s not rendered (%s); its tags are removed", source, unclosed)
        return strip_liquid(text)
    scope: dict[str, object] = {"page": page, "site": site, _LINKS_KEY: links}
    budget = _IncludeBudget()
    if includes is not None:
        scope[_INCLUDES_KEY] = includes
        scope[_BUDGET_KEY] = budget
    try:
        rendered = _ENV.from_string(text).render(**scope)
        if budget.exhausted:
            log.warning("%s: includes beyond %d, or their text beyond %d characters, left out",
                        source, MAX_INCLUDES, MAX_INCLUDE_CHARS)  # fmt: skip
        return rendered
    except (LiquidError, RecursionError, ValueError, TypeError, AttributeError) as exc:
        log.warning("Liquid in %s not rendered (%s); its tags are removed", source, _brief(exc))
        return strip_liquid(text)


def _without_unknown_tags(text: str) -> str:
    """Tags of plugins this site uses but we do not have render as nothing (their blocks'
    content stays), so one of them does not cost the whole file its Liquid."""

    def keep_known(match: re.Match[str]) -> str:
        return match.group(0) if match.group(1) in _KNOWN_TAGS else ""

    return _TAG_NAME.sub(keep_known, text)


def _highlight_as_fences(text: str) -> str:
    """`{% highlight %}` blocks become fenced code."""
    if "highlight" not in text:
        return text
    return _HIGHLIGHT_CLOSE.sub("\n```\n", _HIGHLIGHT_OPEN.sub("\n```\n", text))


def _outside_raw(text: str, *changes: Callable[[str], str]) -> str:
    """Apply `changes` to the text outside `{% raw %}` blocks, which show Liquid as written."""
    pieces: list[str] = []
    position = 0
    for begin, end in _blocks(text, _RAW_OPEN, _RAW_CLOSE):
        pieces += [text[position:begin], text[begin:end]]
        position = end
    pieces.append(text[position:])
    for i in range(0, len(pieces), 2):  # odd pieces are the raw blocks
        for change in changes:
            pieces[i] = change(pieces[i])
    return "".join(pieces)


def _blocks(
    text: str, opening: re.Pattern[str], closing: re.Pattern[str], longest: int | None = None
) -> Iterator[tuple[int, int]]:
    """(start, end) of each block from an opening tag to the first closing tag after it,
    at most `longest` characters apart; an opening tag without one is not a block."""
    position, searched = 0, False
    closer: re.Match[str] | None = None  # the first closing tag after the last search's start
    while (opener := opening.search(text, position)) is not None:
        if not searched or (closer is not None and closer.start() < opener.end()):
            closer, searched = closing.search(text, opener.end()), True
        if closer is None:
            return  # no closing tag after this one, nor after any later opening tag
        if longest is not None and closer.start() - opener.end() > longest:
            position = opener.start() + 1
            continue
        yield opener.start(), closer.end()
        position = closer.end()


def _unclosed(text: str) -> str | None:
    """Why python-liquid cannot read the text, if a tag, output, raw or doc block opens
    and never closes: its lexer would rescan the rest of the text from each of them."""
    outside = "".join(_pieces_outside(text, _RAW_OPEN, _RAW_CLOSE))
    if _RAW_OPEN.search(outside):
        return "a raw block is not closed"
    if _DOC_OPEN.search(list(_pieces_outside(outside, _DOC_OPEN, _DOC_CLOSE))[-1]):
        return "a doc block is not closed"
    for opener, closer in (("{%", "%}"), ("{{", "}}")):
        last = outside.rfind(opener)
        if last >= 0 and outside.find(closer, last + 2) < 0:
            return f"a {opener} is not closed"
    return None


def _pieces_outside(
    text: str, opening: re.Pattern[str], closing: re.Pattern[str], longest: int | None = None
) -> Iterator[str]:
    position = 0
    for begin, end in _blocks(text, opening, closing, longest):
        yield text[position:begin]
        position = end
    yield text[position:]


def strip_liquid(text: str) -> str:
    """Liquid markup removed, comment blocks with it; `{% raw %}` content stays as text."""
    text = "".join(_pieces_outside(text, _COMMENT_OPEN, _COMMENT_CLOSE, MAX_COMMENT_CHARS))
    text = _RAW_MARK.sub("", text)
    return _without_liquid_tags(text)


def _without_liquid_tags(text: str) -> str:
    """Each `{% ... %}` or `{{ ... }}` (at most MAX_TAG_CHARS inside) removed, and any
    `{%` or `{{` left without its closer."""
    out: list[str] = []
    position = 0
    found: dict[str, tuple[int, int]] = {}  # closer -> (searched from, found at)
    last_closer = max(text.rfind("%}"), text.rfind("}}"))
    while (opener := _ANY_OPENER.search(text, position)) is not None:
        if opener.start() > last_closer:  # every opener left is a stray one
            return "".join(out) + _ANY_OPENER.sub("", text[position:])
        at = opener.start()
        closer = "%}" if text[at + 1] == "%" else "}}"
        searched, close = found.get(closer, (len(text) + 1, -1))
        if not (searched <= at + 2 and (close < 0 or close >= at + 2)):
            close = text.find(closer, at + 2)
            found[closer] = (at + 2, close)
        out.append(text[position:at])
        position = close + 2 if 0 <= close - (at + 2) <= MAX_TAG_CHARS else at + 2
    out.append(text[position:])
    return "".join(out)


def _brief(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
