"""Read the blog's Markdown articles and their front matter, as Jekyll would publish them.

Real posts have quirks (cut-off titles, a `# ` left in a title, Markdown in excerpts,
editor markers, repeated paragraphs, dates YAML leaves as strings). Each is handled
here so nothing downstream has to know. A file that cannot be read is skipped with one
clear line; the rest still loads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from bot.corpus import links
from bot.corpus.markdown import strip_inline

log = logging.getLogger(__name__)

MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mkdown", ".mkd", ".mkdn", ".txt")
MAX_FILE_BYTES = 5 * 1024 * 1024
DEFAULT_SITE_URL = "http://localhost:4000"  # what `jekyll serve` uses
DEFAULT_PERMALINK = (
    "date"  # Jekyll's default style: /:categories/:year/:month/:day/:title:output_ext
)
END_MARKERS = re.compile(r"\n-{3,}\s*END\s*-{3,}\s*$", re.IGNORECASE)
DATE_FILENAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-")  # Jekyll's post file names
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """The parts of Jekyll's `_config.yml` that decide links and dates."""

    url: str = DEFAULT_SITE_URL
    baseurl: str = ""
    permalink: str = DEFAULT_PERMALINK
    timezone: str = "Asia/Tokyo"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Article:
    """One published post, cleaned up, with its absolute link."""

    source: str  # path relative to the corpus folder, with forward slashes
    key: str  # the 16-hex-digit id in the file name when there is one, else the stem
    title: str
    date: datetime  # aware, in the site's timezone
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: str | None
    excerpt: str | None
    url: str
    body: str
    mtime_ns: int = 0
    size: int = 0

    @property
    def day(self) -> str:
        return self.date.strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]
    site: SiteConfig = field(default_factory=SiteConfig)


class UnreadableArticle(Exception):
    """Why one file was skipped; the message is the reason shown to the user."""


def load_corpus(root: Path, site_url: str, timezone: str, now: datetime | None = None) -> Corpus:
    """Load every publishable article under `root`, skipping (and naming) the bad ones."""
    site = read_site_config(root, site_url, timezone)
    now = now or datetime.now(site.tz)
    articles: list[Article] = []
    skipped: list[Skipped] = []
    for path in article_files(root):
        source = path.relative_to(root).as_posix()
        try:
            article = read_article(path, source, site)
        except UnreadableArticle as exc:
            log.warning("skipped %s: %s", source, exc)
            skipped.append(Skipped(source, str(exc)))
            continue
        if article is not None and article.date <= now:
            articles.append(article)
        elif article is not None:
            log.info("not published yet (dated %s): %s", article.day, source)
    return Corpus(tuple(articles), tuple(skipped), site)


def read_site_config(root: Path, site_url: str, timezone: str) -> SiteConfig:
    """Settings win over `_config.yml` only where the user set them explicitly."""
    config: dict[str, Any] = {}
    config_file = root / "_config.yml"
    if config_file.is_file() and (root / "_posts").is_dir():
        try:
            loaded = yaml.safe_load(config_file.read_text(encoding="utf-8"))
            config = loaded if isinstance(loaded, dict) else {}
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
            log.warning("ignored %s: %s", config_file, _first_line(exc))
    url = str(config.get("url") or "") if site_url == DEFAULT_SITE_URL else site_url
    return SiteConfig(
        url=(url or site_url).rstrip("/"),
        baseurl=str(config.get("baseurl") or ""),
        permalink=str(config.get("permalink") or DEFAULT_PERMALINK),
        timezone=_valid_timezone(config.get("timezone"), timezone),
    )


def _valid_timezone(value: Any, default: str) -> str:
    try:
        return str(ZoneInfo(str(value))) if value else default
    except (ValueError, KeyError):
        log.warning("ignored timezone %r from _config.yml", value)
        return default


def article_files(root: Path) -> Iterator[Path]:
    """Markdown files, sorted; Jekyll's drafts and hidden or underscore folders are left out."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or path.suffix.lower() not in MARKDOWN_EXTENSIONS:
            continue
        if any(p.startswith(".") or (p.startswith("_") and p != "_posts") for p in parts[:-1]):
            continue
        if not parts[-1].startswith((".", "_")):
            yield path


def read_article(path: Path, source: str, site: SiteConfig) -> Article | None:
    """Parse one file; None when Jekyll would not publish it (`published: false`)."""
    raw = _read_bytes(path)
    meta, body = _split_front_matter(_decode(raw))
    if meta.get("published") is False:
        log.info("not published (published: false): %s", source)
        return None
    body = clean_body(body)
    if not body.strip():
        raise UnreadableArticle("no body text after the front matter")
    stat = path.stat()
    when = article_date(meta.get("date"), path.name, site.tz, stat.st_mtime)
    title = clean_title(meta.get("title"), path.stem)
    categories = categories_for(meta, source)
    slug = links.post_slug_from_filename(path.name)
    template = str(meta.get("permalink") or site.permalink)
    url_path = links.expand_permalink(
        template, date=when, categories=categories, title=slug, output_ext=_output_ext(path)
    )
    return Article(
        source=source,
        key=article_key(path.name),
        title=title,
        date=when,
        categories=categories,
        tags=as_names(meta.get("tags"), "tags", source),
        author=_optional_text(meta.get("author")),
        excerpt=_clean_excerpt(meta.get("excerpt")),
        url=links.absolute_url(site.url, site.baseurl, url_path),
        body=body,
        mtime_ns=stat.st_mtime_ns,
        size=stat.st_size,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableArticle(f"file is {size} bytes, over the {MAX_FILE_BYTES} limit")
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableArticle(f"cannot read file ({exc.strerror})") from None


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise UnreadableArticle("file is empty")
    if b"\x00" in raw:
        raise UnreadableArticle("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableArticle(f"not UTF-8 (bad byte at offset {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """python-frontmatter finds and splits the block; we insist that it is a mapping."""
    handler = YAMLHandler()
    if not handler.detect(text):
        return {}, text
    try:
        block, content = handler.split(text)
        meta = yaml.safe_load(block)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise UnreadableArticle(f"front matter is not valid YAML: {_first_line(exc)}") from None
    except RecursionError:
        raise UnreadableArticle("front matter is nested too deeply") from None
    if meta is None:
        return {}, content
    if not isinstance(meta, dict):
        raise UnreadableArticle("front matter is not a mapping of keys to values")
    return meta, content


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def clean_body(body: str) -> str:
    """Remove editor markers and paragraphs repeated by a copy-paste slip."""
    body = END_MARKERS.sub("", "\n" + body.rstrip()).lstrip("\n")
    seen: set[str] = set()
    kept: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        key = re.sub(r"\s+", "", block)
        if key and key in seen and len(key) > 40:
            continue
        seen.add(key)
        kept.append(block)
    return "\n\n".join(kept).strip() + "\n"


def clean_title(value: Any, fallback: str) -> str:
    """A `# ` left from Markdown goes; a cut-off last character (U+FFFD) becomes an ellipsis."""
    title = strip_inline(str(value)).strip() if value is not None else ""
    title = re.sub(r"^#+\s*", "", title)
    if title.endswith("\ufffd"):
        title = title.rstrip("\ufffd").rstrip() + "…"
    return title.replace("\ufffd", "") or fallback


def _clean_excerpt(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return strip_inline(str(value)).strip() or None


def _optional_text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str | int | float) else None


def article_date(value: Any, filename: str, tz: ZoneInfo, mtime: float) -> datetime:
    """Front matter date (YAML may leave it a string), else the file name's, else mtime."""
    parsed = _parse_date(value, tz)
    if parsed is not None:
        return parsed.astimezone(tz)
    match = DATE_FILENAME.match(filename)
    if match:
        return datetime.combine(date.fromisoformat(match.group(1)), time(), tz)
    return datetime.fromtimestamp(mtime, tz)


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
        log.warning("unreadable date %r; using the file name or modification time", text)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def categories_for(meta: dict[str, Any], source: str) -> tuple[str, ...]:
    """Folders above `_posts` are categories too, as in Jekyll, then the front matter's."""
    parts = source.split("/")
    folders = parts[: parts.index("_posts")] if "_posts" in parts else []
    names = as_names(meta.get("categories", meta.get("category")), "categories", source)
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


def article_key(filename: str) -> str:
    """The id that labelled question sets use: the 16 hex digits in the name, else the stem."""
    match = re.search(r"(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])", filename)
    return match.group(0) if match else Path(filename).stem


def _output_ext(path: Path) -> str:
    return ".html" if path.suffix.lower() in MARKDOWN_EXTENSIONS[:-1] else path.suffix
