"""A Jekyll site's settings as Jekyll 4 reads them: `_config.yml`, `_data/`, `_includes/`.

Links and dates depend on `url`, `baseurl`, `permalink`, `timezone` and front matter
`defaults`; page text depends on `site.*` and `site.data.*` through Liquid. All of that,
with the bot's own SITE_URL and TIMEZONE settings, makes up the site's `identity`: when it
changes every article is read again (its vectors are still reused by content).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

from bot.corpus.permalinks import PERMALINK_STYLES
from bot.corpus.yamlsafe import YamlRefused, load_yaml

log = logging.getLogger(__name__)

DEFAULT_SITE_URL = "http://localhost:4000"  # what `jekyll serve` uses
DEFAULT_PERMALINK = (
    "date"  # Jekyll's default style: /:categories/:year/:month/:day/:title:output_ext
)
# Jekyll lib/jekyll/configuration.rb DEFAULT_EXCLUDES, added to the site's own `exclude`.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".sass-cache",
    ".jekyll-cache",
    "gemfiles",
    "Gemfile",
    "Gemfile.lock",
)
DEFAULT_EXCLUDES += ("node_modules", "vendor/bundle/", "vendor/cache/", "vendor/gems/")
DEFAULT_EXCLUDES += ("vendor/ruby/",)
DEFAULT_MARKDOWN_EXT = "markdown,mkdown,mkdn,mkd,md"
MAX_DATA_BYTES = 5 * 1024 * 1024  # all of `_data/`; each include; `_config.yml`
MAX_PATTERNS = 500  # include/exclude patterns read from `_config.yml`
_DATA_EXTENSIONS = (".yml", ".yaml", ".json", ".csv", ".tsv")


@dataclass(frozen=True, slots=True)
class Default:
    """One `defaults:` entry: front matter values for a path prefix and document type."""

    path: str
    type: str | None
    values: dict[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """What decides links, dates, which files are published and what Liquid sees."""

    url: str = DEFAULT_SITE_URL
    baseurl: str = ""
    permalink: str = DEFAULT_PERMALINK  # the site style or template, as written
    posts_permalink: str = PERMALINK_STYLES[DEFAULT_PERMALINK]  # the posts collection's
    timezone: str = "Asia/Tokyo"
    encoding: str = "utf-8"  # of files without a byte-order mark (`encoding:`)
    jekyll: bool = True  # False: a plain folder of Markdown files
    future: bool = False
    show_drafts: bool = False
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    include: tuple[str, ...] = (".htaccess",)
    markdown_ext: tuple[str, ...] = tuple(f".{e}" for e in DEFAULT_MARKDOWN_EXT.split(","))
    defaults: tuple[Default, ...] = ()
    liquid_site: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    includes_dir: Path | None = None
    identity: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def defaults_for(self, source: str, doc_type: str) -> dict[str, Any]:
        """Jekyll FrontmatterDefaults#all: matching scopes, the most specific last."""
        matching = [d for d in self.defaults if _scope_applies(d, source, doc_type)]
        matching.sort(key=lambda d: (len(d.path), d.type is not None))
        merged: dict[str, Any] = {}
        for entry in matching:
            merged.update(entry.values)
        return merged


def _scope_applies(default: Default, source: str, doc_type: str) -> bool:
    if default.type is not None and default.type != doc_type:
        return False
    path = default.path.strip("/")
    return not path or source == path or source.startswith(path.rstrip("/") + "/")


def is_jekyll_site(root: Path) -> bool:
    """A `_config.yml` or a `_posts` folder anywhere makes it a site; else a plain folder."""
    if (root / "_config.yml").is_file():
        return True
    try:
        return any(p.is_dir() for p in root.glob("**/_posts"))
    except OSError:
        return False


def read_site_config(root: Path, site_url: str, timezone: str) -> SiteConfig:
    """The settings win over `_config.yml` for the URL only where the user set SITE_URL."""
    jekyll = is_jekyll_site(root)
    real_root = _real_root(root)
    config_path, data_dir, includes = (root / n for n in ("_config.yml", "_data", "_includes"))
    config_bytes = _read_optional(config_path) if jekyll and _kept(config_path, real_root) else b""
    config = _parse_config(config_bytes, config_path)
    url = _site_url(config.get("url")) if site_url == DEFAULT_SITE_URL else site_url
    url = (url or site_url).rstrip("/")
    permalink = _text(config.get("permalink")) or DEFAULT_PERMALINK
    data_kept = jekyll and _kept(data_dir, real_root)
    data, data_digest = _read_data(data_dir, real_root) if data_kept else ({}, "")
    includes_kept = jekyll and _kept(includes, real_root) and includes.is_dir()
    identity = hashlib.blake2b(digest_size=16)
    include_digest = _folder_digest(includes) if includes_kept else b""
    for part in (site_url, timezone, config_bytes, data_digest, include_digest):
        identity.update(part if isinstance(part, bytes) else part.encode())
        identity.update(b"\0")
    return SiteConfig(
        url=url,
        baseurl=_text(config.get("baseurl")),
        permalink=permalink,
        posts_permalink=_posts_permalink(config, permalink),
        timezone=_valid_timezone(config.get("timezone"), timezone),
        encoding=_site_encoding(config.get("encoding")),
        jekyll=jekyll,
        future=config.get("future") is True,
        show_drafts=config.get("show_drafts") is True,
        exclude=(*_patterns(config.get("exclude"), "exclude"), *DEFAULT_EXCLUDES),
        include=(*_patterns(config.get("include"), "include"), ".htaccess"),
        markdown_ext=_markdown_ext(config.get("markdown_ext")),
        defaults=_defaults(config.get("defaults")),
        liquid_site={**config, "url": url, "data": data, "posts": [], "pages": []},
        includes_dir=includes if includes_kept else None,
        identity=identity.hexdigest(),
    )


def _read_optional(path: Path, limit: int = MAX_DATA_BYTES) -> bytes:
    """The file's bytes, or b"" (with one line) when it is unreadable or over `limit`:
    only `limit` + 1 bytes are ever read, so a huge file costs nothing."""
    try:
        if not path.is_file():
            return b""
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as exc:
        log.warning("ignored %s: %s", path, exc.strerror)
        return b""
    if len(raw) > limit:
        log.warning("ignored %s: over %d bytes", path, limit)
        return b""
    return raw


def _parse_config(raw: bytes, path: Path) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        loaded = load_yaml(raw.decode("utf-8-sig"))
    except (yaml.YAMLError, YamlRefused, UnicodeDecodeError) as exc:
        log.warning("ignored %s: %s", path, first_line(exc))
        return {}
    if not isinstance(loaded, dict):
        log.warning("ignored %s: not a mapping of settings", path)
        return {}
    return loaded


def _posts_permalink(config: dict[str, Any], permalink: str) -> str:
    """Jekyll Configuration: `collections.posts.permalink`, else the site's style."""
    collections = config.get("collections")
    posts = collections.get("posts") if isinstance(collections, dict) else None
    own = posts.get("permalink") if isinstance(posts, dict) else None
    return _text(own) or PERMALINK_STYLES.get(permalink, permalink)


def _valid_timezone(value: Any, default: str) -> str:
    try:
        return str(ZoneInfo(str(value))) if value else default
    except (ValueError, KeyError, OSError):
        log.warning("ignored timezone %r from _config.yml", value)
        return default


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str | int | float) else ""


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int | float))
    return ()


def _patterns(value: Any, key: str) -> tuple[str, ...]:
    """`include`/`exclude`, the first MAX_PATTERNS: each is matched against every path."""
    names = _names(value)
    if len(names) > MAX_PATTERNS:
        log.warning(
            "_config.yml: kept the first %d of %d %s patterns", MAX_PATTERNS, len(names), key
        )
    return names[:MAX_PATTERNS]


def _site_url(value: Any) -> str:
    """`url` from `_config.yml` when it is an http(s) address with a host, else "" (one
    line says so): every link is built on it, so "javascript:" or "http://[::1" is not."""
    if value is None or value == "":
        return ""
    text = str(value).strip()
    try:
        parts = urlsplit(text)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable or any(c.isspace() for c in text):
        log.warning("ignored url %r from _config.yml: not an http(s) address", text[:100])
        return ""
    return text


def _site_encoding(value: object) -> str:
    """`encoding:` from `_config.yml` ("bom|" stripped) if Python knows it, else UTF-8."""
    name = str(value).strip().lower().removeprefix("bom|") if value else "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        log.warning("ignored encoding %r from _config.yml: unknown encoding", name[:50])
        return "utf-8"


def _markdown_ext(value: Any) -> tuple[str, ...]:
    text = value if isinstance(value, str) and value.strip() else DEFAULT_MARKDOWN_EXT
    return tuple(f".{e.strip().lower()}" for e in text.split(",") if e.strip())


def _defaults(value: Any) -> tuple[Default, ...]:
    out: list[Default] = []
    for entry in value if isinstance(value, list) else []:
        scope = entry.get("scope") if isinstance(entry, dict) else None
        values = entry.get("values") if isinstance(entry, dict) else None
        if not isinstance(scope, dict) or not isinstance(values, dict):
            continue
        doc_type = scope.get("type")
        out.append(Default(_text(scope.get("path")), _text(doc_type) or None, values))
    return tuple(out)


def _real_root(root: Path) -> Path:
    try:
        return root.resolve()
    except (OSError, RuntimeError):
        return root.absolute()


def _kept(path: Path, real_root: Path) -> bool:
    """Whether a special path may be read: it must resolve inside the site itself, so a
    `_includes`, `_data` or `_config.yml` that is a symbolic link leading out of the corpus
    is skipped (with one line), as Jekyll's safe mode skips every symbolic link."""
    if not path.is_symlink() and not path.exists():
        return True  # absent: nothing to read either way
    if _inside(path, real_root):
        return True
    log.warning("skipped %s: symbolic link leading outside the corpus", path.name)
    return False


def _read_data(folder: Path, real_root: Path) -> tuple[dict[str, Any], str]:
    """Jekyll DataReader: one key per file (nested per folder), and a digest of them all."""
    data: dict[str, Any] = {}
    digest = hashlib.blake2b(digest_size=16)
    budget = MAX_DATA_BYTES
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.suffix.lower() not in _DATA_EXTENSIONS or not _inside(path, real_root):
            continue
        raw = _read_optional(path, budget)
        budget -= len(raw)
        relative = path.relative_to(folder)
        digest.update(str(relative).encode("utf-8", "replace") + b"\0" + raw + b"\0")
        target = data
        for part in relative.parts[:-1]:
            child = target.setdefault(_data_key(part), {})
            target = child if isinstance(child, dict) else {}
        target[_data_key(path.stem)] = _parse_data(path, raw)
    return data, digest.hexdigest()


def _data_key(name: str) -> str:
    """Jekyll DataReader#sanitize_filename."""
    return re.sub(r"\s+", "_", re.sub(r"[^\w\s-]+", "", name).strip())


def _parse_data(path: Path, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
        suffix = path.suffix.lower()
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".csv", ".tsv"):
            delimiter = "\t" if suffix == ".tsv" else ","
            return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
        return load_yaml(text)
    except (ValueError, yaml.YAMLError, csv.Error, RecursionError) as exc:
        log.warning("ignored data file %s: %s", path, first_line(exc))
        return None


def _folder_digest(folder: Path) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and _inside(path, folder):
            digest.update(str(path.relative_to(folder)).encode("utf-8", "replace") + b"\0")
            digest.update(_read_optional(path) + b"\0")
    return digest.digest()


def _inside(path: Path, folder: Path) -> bool:
    """False for a symlink leading out of `folder`: nothing outside the site is read.
    `folder` is the site's own resolved root, never a folder that may itself be a link."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def first_line(exc: BaseException) -> str:
    """An exception's first line, for the one-line reasons shown to the user."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
