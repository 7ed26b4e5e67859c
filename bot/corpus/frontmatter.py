"""Front matter values as Jekyll reads them: the block itself, dates, titles, name lists.

Real posts have quirks (cut-off titles, a `# ` left in a title, Markdown in excerpts, dates
YAML leaves as strings, dates no calendar can hold). Each is handled here, and anything
that makes a file unreadable raises `UnreadableArticle` with a one-line reason.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from bot.corpus.markdown import strip_inline
from bot.corpus.site import first_line
from bot.corpus.yamlsafe import YamlRefused, load_yaml

log = logging.getLogger(__name__)

MAX_TAGS = 100
MAX_FILE_BYTES = 5 * 1024 * 1024  # the largest file read, as an article or a link's target

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
_FILENAME_DATE = re.compile(r"(?:^|/)([0-9]{2,4})-([0-9]{1,2})-([0-9]{1,2})-[^/]*$")


class UnreadableArticle(Exception):
    """Why one file was skipped; the message is the reason shown to the user."""


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(raw: bytes, encoding: str = "utf-8") -> str:
    """The file's text as Jekyll reads it ("bom|" + the site's `encoding`): a byte-order
    mark names the encoding, else the site's; newlines made "\n"."""
    codec = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if codec is None and b"\x00" in raw:
        raise UnreadableArticle("binary file (contains NUL bytes)")
    try:
        text = raw.decode(codec or encoding)
    except UnicodeDecodeError as exc:
        name = codec or encoding
        shown = "UTF-8" if name.startswith("utf-8") else name
        raise UnreadableArticle(f"not {shown} (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise UnreadableArticle("file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_front_matter(path: Path, encoding: str = "utf-8") -> tuple[dict[str, Any], str]:
    """A file's own front matter and the text after it, read as Jekyll reads a post or a
    page; the one reader of files for both articles and `{% link %}` targets. Raises
    `UnreadableArticle` for a file over MAX_FILE_BYTES, one that cannot be read or decoded,
    and front matter that is not a YAML mapping."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableArticle(f"file is {size} bytes, over the {MAX_FILE_BYTES} limit")
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableArticle(f"cannot read file ({exc.strerror})") from None
    return split_front_matter(decode(raw, encoding))


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """python-frontmatter finds and splits the block; we insist that it is a mapping."""
    handler = YAMLHandler()
    if not handler.detect(text):
        return {}, text
    try:
        block, content = handler.split(text)
        meta = load_yaml(block)
    except YamlRefused as exc:
        raise UnreadableArticle(f"front matter refused: {exc}") from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise UnreadableArticle(f"front matter is not valid YAML: {first_line(exc)}") from None
    if meta is None:
        return {}, content
    if not isinstance(meta, dict):
        raise UnreadableArticle("front matter is not a mapping of keys to values")
    return meta, content


def stated_date(value: Any, source: str, tz: ZoneInfo) -> datetime | None:
    """The date the file states: its front matter's (YAML may leave it a string), else its
    name's (`source` is "" where the name gives none, as for a page); None if neither."""
    try:
        parsed = _parse_date(value, tz)
        if parsed is not None:
            return parsed.astimezone(tz)
        match = _FILENAME_DATE.search(source)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return datetime.combine(date(year, month, day), time(), tz)
        return None
    except (OverflowError, ValueError, OSError) as exc:
        raise UnreadableArticle(f"date out of range ({first_line(exc)})") from None


def jekyll_date(stated: datetime | None, tz: ZoneInfo, mtime: float) -> datetime:
    """The date Jekyll builds a file's URL and `page.date` from: the stated one, else the
    file's modification time (as Jekyll dates a draft). Never a date to show a reader: the
    modification time of a checkout is the time of the clone."""
    if stated is not None:
        return stated
    try:
        return datetime.fromtimestamp(mtime, tz)
    except (OverflowError, ValueError, OSError) as exc:
        raise UnreadableArticle(f"date out of range ({first_line(exc)})") from None


def _parse_date(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tz)
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        log.warning("unreadable date %r; using the file name or commit date", text)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def clean_title(value: Any, fallback: str) -> str:
    """A `# ` left from Markdown goes; a cut-off last character (U+FFFD) becomes an ellipsis."""
    title = strip_inline(str(value)).strip() if isinstance(value, str | int | float) else ""
    title = re.sub(r"^#+\s*", "", title)
    if title.endswith("\ufffd"):
        title = title.rstrip("\ufffd").rstrip() + "…"
    return title.replace("\ufffd", "") or fallback


def clean_excerpt(value: Any) -> str | None:
    if not isinstance(value, str | int | float):
        return None
    return strip_inline(str(value)).strip() or None


def optional_text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str | int | float) else None


def categories_for(meta: dict[str, Any], source: str, kind: str) -> tuple[str, ...]:
    """Folders above `_posts` are categories too, as in Jekyll, then the front matter's.

    Jekyll Document#populate_categories: `categories` (a string is split on spaces) plus
    `category` taken whole.
    """
    parts = source.split("/")
    folders = parts[: parts.index("_posts")] if kind == "post" and "_posts" in parts else []
    names = [*as_names(meta.get("categories"), "categories", source)]
    single = meta.get("category")
    if isinstance(single, str | int | float) and str(single).strip():
        names.append(str(single).strip())
    elif single is not None:
        names.extend(as_names(single, "category", source))
    return tuple(dict.fromkeys([*folders, *names]))


def as_names(value: Any, key: str, source: str) -> tuple[str, ...]:
    """A list, or a space-separated string as Jekyll splits it; anything else is ignored."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip(",") for part in value.split() if part.strip(","))
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if isinstance(v, str | int | float))
    log.warning("ignored %s in %s: expected a list, got %s", key, source, type(value).__name__)
    return ()


def tag_names(value: Any, source: str) -> tuple[str, ...]:
    """The article's tags, the first MAX_TAGS distinct ones: tags make no link, and a post
    with ten thousand of them would weigh on every list and analysis of the blog's tags."""
    names = tuple(dict.fromkeys(as_names(value, "tags", source)))
    if len(names) > MAX_TAGS:
        log.warning("kept the first %d of %d tags in %s", MAX_TAGS, len(names), source)
    return names[:MAX_TAGS]


def article_key(filename: str) -> str:
    """The id that labelled question sets use: the 16 hex digits in the name, else the stem."""
    match = re.search(r"(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])", filename)
    if match:
        return match.group(0)
    stem, dot, _ = filename.rpartition(".")
    return stem if dot else filename
