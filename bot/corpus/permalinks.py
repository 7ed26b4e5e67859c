"""Article and page URLs, built exactly as Jekyll 4 builds them.

Readers click the links the bot posts, so every URL has to be the one the blog really
serves. Each rule below is a port of the Ruby source it names, including the surprising
parts for Japanese text: category names are only downcased (not slugified), then
percent-encoded with upper-case hex. Heading ids live in `bot.corpus.heading_ids`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import (
    SplitResult,
    quote,
    quote_from_bytes,
    unquote_to_bytes,
    urlsplit,
    urlunsplit,
)

log = logging.getLogger(__name__)

# Jekyll lib/jekyll/configuration.rb STYLE_TO_PERMALINK (the site's `permalink:` style names).
PERMALINK_STYLES: dict[str, str] = {
    "none": "/:categories/:title:output_ext",
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
}

# Addressable::URI::CharacterClasses; quote() always keeps A-Z a-z 0-9 and "-._~" (UNRESERVED).
_SUB_DELIMS = "!$&'()*+,;="
_PCHAR_SAFE = _SUB_DELIMS + ":@"
_PATH_SAFE = _PCHAR_SAFE + "/"
_FRAGMENT_SAFE = _PATH_SAFE + "?"
_RESERVED_SAFE = _SUB_DELIMS + ":/?#[]@"
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21", "tftp": "69"}

# Jekyll lib/jekyll/document.rb Document::DATE_FILENAME_MATCHER (Ruby's \d is ASCII-only).
_DATE_FILENAME = re.compile(r"(?>.+/)*?([0-9]{2,4}-[0-9]{1,2}-[0-9]{1,2})-([^/]*)(\.[^.]+)")
# Jekyll lib/jekyll/url.rb URL#generate_url_from_drop
_PLACEHOLDER = re.compile(r":([a-z_]+)")
# Jekyll lib/jekyll/utils.rb SLUGIFY_PRETTY_REGEXP keeps these besides \p{M}\p{L}\p{Nd}.
_PRETTY_KEEP = frozenset("._~!$&'()+,;=@")

# Ruby's strftime %b %B %a %A are English whatever the locale.
_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
_MONTHS += ("July", "August", "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class _Post:
    """What Jekyll's UrlDrop reads from a post document."""

    date: datetime
    categories: Sequence[str]
    slug: str
    output_ext: str


def _ruby_downcase(text: str) -> str:
    """Ruby String#downcase: full Unicode mapping, but no context rules (final sigma)."""
    return "".join(char.lower() for char in text)


def _slugify(text: str, *, pretty: bool, cased: bool) -> str:
    """Jekyll lib/jekyll/utils.rb Utils.slugify, modes "default" and "pretty"."""
    marked = "".join(
        char if _is_slug_char(char) or (pretty and char in _PRETTY_KEEP) else "-" for char in text
    )
    slug = re.sub("-+", "-", marked).removeprefix("-").removesuffix("-")
    if not cased:
        slug = _ruby_downcase(slug)
    if not slug:
        log.warning("Empty slug generated for %r", text)
    return slug


def _is_slug_char(char: str) -> bool:
    """Jekyll SLUGIFY_DEFAULT_REGEXP keeps \\p{M}, \\p{L} and \\p{Nd}."""
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd"


def _categories(post: _Post) -> str:
    """Jekyll lib/jekyll/drops/url_drop.rb UrlDrop#categories: downcased, de-duplicated."""
    return "/".join(dict.fromkeys(_ruby_downcase(str(name)) for name in post.categories))


def _slugified_categories(post: _Post) -> str:
    """Jekyll UrlDrop#slugified_categories."""
    names = (_slugify(str(name), pretty=False, cased=False) for name in post.categories)
    return "/".join(dict.fromkeys(names))


# Jekyll lib/jekyll/drops/url_drop.rb: the placeholders a post URL may use. Ruby's
# strftime names months and days in English whatever the locale, so no strftime here.
_PLACEHOLDERS: dict[str, Callable[[_Post], str]] = {
    "collection": lambda post: "posts",
    "title": lambda post: _slugify(post.slug, pretty=True, cased=True),
    "slug": lambda post: _slugify(post.slug, pretty=False, cased=False),
    "categories": _categories,
    "slugified_categories": _slugified_categories,
    "output_ext": lambda post: post.output_ext,
    "year": lambda post: f"{post.date.year:04d}",
    "month": lambda post: f"{post.date.month:02d}",
    "day": lambda post: f"{post.date.day:02d}",
    "hour": lambda post: f"{post.date.hour:02d}",
    "minute": lambda post: f"{post.date.minute:02d}",
    "second": lambda post: f"{post.date.second:02d}",
    "i_day": lambda post: str(post.date.day),
    "i_month": lambda post: str(post.date.month),
    "short_month": lambda post: _MONTHS[post.date.month - 1][:3],
    "long_month": lambda post: _MONTHS[post.date.month - 1],
    "short_year": lambda post: f"{post.date.year % 100:02d}",
    "w_year": lambda post: str(post.date.isocalendar().year),
    "week": lambda post: f"{post.date.isocalendar().week:02d}",
    "w_day": lambda post: str(post.date.isocalendar().weekday),
    "short_day": lambda post: _DAYS[post.date.weekday()][:3],
    "long_day": lambda post: _DAYS[post.date.weekday()],
    "y_day": lambda post: f"{post.date.timetuple().tm_yday:03d}",
}


def _escape_path(value: str) -> str:
    """Jekyll lib/jekyll/url.rb URL.escape_path: UTF-8 bytes outside PATH as upper-case %XX.

    This is the encode_component(PATH) form on Jekyll's main branch (#9850); the 4.4.1
    release calls Addressable::URI.encode, which differs only when a value has ":", "?" or "#".
    """
    return quote(value, safe=_PATH_SAFE)


def _fill_placeholders(template: str, post: _Post) -> str:
    """Jekyll lib/jekyll/url.rb URL#generate_url_from_drop (a single pass over the template)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        pool = [name, name[:-1]] if name.endswith("_") else [name]
        winner = next((key for key in pool if key in _PLACEHOLDERS), None)
        if winner is None:
            keys = " or ".join(pool)
            raise ValueError(f"The URL template doesn't have {keys} keys: {template!r}")
        value = _escape_path(_PLACEHOLDERS[winner](post))
        return match.group(0).replace(f":{winner}", value, 1)

    return _PLACEHOLDER.sub(replace, template)


def _sanitize_url(url: str) -> str:
    """Jekyll lib/jekyll/url.rb URL#sanitize_url: leading "/", no "..", "./" or "//"."""
    url = ("/" + url).replace("..", "/").replace("./", "")
    return re.sub("/{2,}", "/", url)


def expand_permalink(
    template: str,
    *,
    date: datetime,
    categories: Sequence[str],
    title: str,
    output_ext: str = ".html",
    slug: str | None = None,
) -> str:
    """The post's URL path as Jekyll's Document#url returns it (escaped, starting with "/").

    `template` is a site `permalink:` style name or a pattern; a front matter `permalink:`
    is always a pattern in Jekyll, never a style name. `title` is the slug part of the file
    name; `slug` is a front matter `slug:`, which replaces it for :title and :slug (Jekyll
    Document#populate_title). A trailing "/index.html" is kept, as Document#url keeps it.
    Raises ValueError for a placeholder Jekyll does not know (Jekyll raises NoMethodError).
    """
    post = _Post(date, categories, title if slug is None else slug, output_ext)
    return _sanitize_url(_fill_placeholders(PERMALINK_STYLES.get(template, template), post))


def post_slug_from_filename(filename: str) -> str:
    """The slug of a post file name, e.g. "2026-02-06-abc.md" -> "abc".

    Jekyll lib/jekyll/document.rb DATE_FILENAME_MATCHER and Document#populate_title, which
    also drops trailing periods. Raises ValueError for names Jekyll does not read as posts
    (lib/jekyll/readers/post_reader.rb PostReader#read_posts skips them).
    """
    match = _DATE_FILENAME.fullmatch(filename)
    if match is None:
        raise ValueError(f"not a Jekyll post file name (YYYY-MM-DD-slug.ext): {filename!r}")
    return re.sub(r"\.*\Z", "", match.group(2))


def heading_link(article_url: str, anchor: str | None) -> str:
    """The link to a heading: the article's URL (from `absolute_url`, used as it is) + "#"
    + the heading's id; the article's URL alone when there is no id. Every link to a
    heading is made here.

    The id (as kramdown generates it, `bot.corpus.heading_ids`) goes in with its UTF-8
    bytes outside the fragment's characters percent-encoded, so the link stays ASCII for
    Discord; browsers percent-decode a fragment before matching it against element ids, so
    it still lands on the heading. The id is encoded as is (no NFC), because the browser
    compares it code point by code point.
    """
    return article_url + "#" + quote(anchor, safe=_FRAGMENT_SAFE) if anchor else article_url


def absolute_url(site_url: str, baseurl: str, path: str) -> str:
    """Jekyll lib/jekyll/filters/url_filters.rb absolute_url: site_url + baseurl + path.

    Like the filter, the result is normalized as Addressable::URI#normalize does (scheme and
    host lower-cased, default port dropped, path segments NFC and percent-encoded) and an
    already absolute `path` is returned untouched. Unlike it, trailing slashes of `site_url`
    and `baseurl` never double a slash. A heading's link adds to it (`heading_link`).
    """
    if urlsplit(path).scheme:
        return path
    site = urlsplit(site_url.rstrip("/"))
    scheme = site.scheme.lower()
    full_path = _normalize_path(site.path + _relative_path(baseurl, path))
    if not path and not baseurl and site_url.endswith("/") and not full_path.endswith("/"):
        full_path += "/"  # a URL given whole (no baseurl, no path) keeps its last "/"
    if not full_path and scheme in _DEFAULT_PORTS:
        full_path = "/"
    return urlunsplit((scheme, _normalize_netloc(site), full_path, "", ""))


def _relative_path(baseurl: str, path: str) -> str:
    """Jekyll URLFilters#compute_relative_url: sanitized baseurl + path, each with a leading "/"."""
    base = baseurl.strip("/")
    return ("/" + base if base else "") + ("/" + path.lstrip("/") if path else "")


def _normalize_path(path: str) -> str:
    """Addressable::URI#normalized_path: each segment through normalize_component(PCHAR)."""
    return "/".join(_normalize_segment(segment) for segment in path.split("/"))


def _normalize_segment(segment: str) -> str:
    """Addressable::URI.normalize_component: unencode, NFC, re-encode outside the class."""
    raw = unquote_to_bytes(segment)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return quote_from_bytes(raw, safe=_RESERVED_SAFE)
    return quote(unicodedata.normalize("NFC", text), safe=_PCHAR_SAFE)


def _normalize_netloc(site: SplitResult) -> str:
    """Addressable::URI#normalized_authority: lower-case (IDNA) host, no default port."""
    userinfo, at, hostport = site.netloc.rpartition("@")
    hostport = hostport.lower()
    if not hostport.isascii():
        hostport = hostport.encode("idna").decode("ascii")
    default_port = _DEFAULT_PORTS.get(site.scheme.lower())
    if default_port:
        hostport = hostport.removesuffix(f":{default_port}")
    return userinfo + at + hostport


def page_url(relative_path: str, permalink: str | None, site_style: str) -> str:
    """A page's URL path as Jekyll lib/jekyll/page.rb Page#url builds it.

    `relative_path` is the page's path in the site ("ja/about/index.md"); `permalink` its
    front matter `permalink:`, which wins; `site_style` the site's `permalink:` setting,
    which only decides whether other pages end in "/" or ".html" (Utils.add_permalink_suffix).
    """
    folder, _, name = relative_path.rpartition("/")
    basename, dot, ext = name.rpartition(".")
    if not dot:
        basename, ext = name, ""
    output_ext = ".html" if ext.lower() in _MARKDOWN_AND_HTML else f".{ext}"
    if output_ext != ".html":
        template = "/:path/:basename:output_ext"
    elif basename == "index":
        template = "/:path/"
    else:
        template = "/:path/:basename" + _permalink_suffix(site_style)
    placeholders = {"path": folder, "basename": basename, "output_ext": output_ext}
    return _sanitize_url(_fill_from_hash(permalink or template, placeholders))


_MARKDOWN_AND_HTML = frozenset({"md", "markdown", "mkdown", "mkd", "mkdn", "html", "htm"})


def _permalink_suffix(style: str) -> str:
    """Jekyll lib/jekyll/utils.rb Utils.add_permalink_suffix."""
    if style == "pretty" or (style not in PERMALINK_STYLES and style.endswith("/")):
        return "/"
    if style in ("date", "ordinal", "none", "weekdate") or style.endswith(":output_ext"):
        return ":output_ext"
    return ""


def _fill_from_hash(template: str, placeholders: dict[str, str]) -> str:
    """Jekyll lib/jekyll/url.rb URL#generate_url_from_hash (pages use a hash, not a drop)."""
    for key, value in placeholders.items():
        if ":" not in template:
            break
        template = template.replace(f":{key}", _escape_path(value))
    return template
