"""Read a blog's posts and pages as Jekyll would publish them.

`bot.corpus.reader` finds the files (`bot.corpus.discovery`), reads the site's settings
(`bot.corpus.site`) and turns each file into an `Article` here: front matter with the site's
`defaults`, the date in the site's timezone, the URL Jekyll serves, and the body with its
Liquid rendered. A file that cannot be read is skipped with one clear line; nothing raises
out of the loader, and the rest still loads.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.corpus import liquid_render
from bot.corpus.discovery import SiteFile, Skipped, site_files
from bot.corpus.frontmatter import (
    UnreadableArticle,
    article_key,
    categories_for,
    clean_excerpt,
    clean_title,
    jekyll_date,
    optional_text,
    read_front_matter,
    stated_date,
    tag_names,
)
from bot.corpus.markdown import document_blocks
from bot.corpus.permalinks import absolute_url
from bot.corpus.site import SiteConfig, first_line, read_site_config
from bot.corpus.sitelinks import LinkTable

log = logging.getLogger(__name__)

__all__ = [
    "Article",
    "Corpus",
    "SiteConfig",
    "Skipped",
    "UnreadableArticle",
    "article_key",
    "clean_title",
    "read_article",
    "read_site_config",
    "site_files",
]

MEMORY_REASON = "needs more memory than one file may use"
END_MARKERS = re.compile(r"\n-{3,}\s*END\s*-{3,}\s*$", re.IGNORECASE)
_DOC_TYPES = {"post": "posts", "draft": "drafts", "page": "pages"}


@dataclass(frozen=True, slots=True)
class Article:
    """One published post or page, cleaned up, with its absolute link."""

    source: str  # path relative to the corpus folder, with forward slashes
    key: str  # identifies the article: its path relative to the corpus
    title: str
    # Aware, in the site's timezone: the front matter's date, else the file name's, else
    # the file's last commit; None when none of them is known (never the file's mtime).
    date: datetime | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: str | None
    excerpt: str | None
    url: str
    body: str  # Markdown (or HTML for an .html file) with its Liquid rendered
    mtime_ns: int = 0
    size: int = 0
    kind: str = "post"  # "post" or "page"
    site_identity: str = ""  # the SiteConfig.identity it was read under

    @property
    def day(self) -> str:
        """YYYY-MM-DD in the site's timezone; "" for an undated article."""
        return self.date.strftime("%Y-%m-%d") if self.date is not None else ""

    @property
    def is_html(self) -> bool:
        return self.source.lower().endswith((".html", ".htm"))


@dataclass(frozen=True, slots=True)
class Corpus:
    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]
    site: SiteConfig = field(default_factory=SiteConfig)


def read_file(
    found: SiteFile | Skipped, site: SiteConfig, links: LinkTable, now: datetime
) -> Article | Skipped | None:
    """The article, a Skipped naming the reason (logged once), or None if not published."""
    if isinstance(found, Skipped):
        log.warning("skipped %s: %s", found.source, found.reason)
        return found
    reason = ""
    try:
        article = read_article(found, site, links)
    except UnreadableArticle as exc:
        reason = str(exc)
    except MemoryError:
        reason = MEMORY_REASON  # logged once the handler has let go of the file's memory
    except (RecursionError, OverflowError, ValueError) as exc:
        reason = f"cannot be read ({type(exc).__name__}: {first_line(exc)})"
    if reason:
        log.warning("skipped %s: %s", found.source, reason)
        return Skipped(found.source, reason)
    if article is None:
        return None
    future = article.date is not None and article.date > now
    if article.kind == "post" and future and not site.future:
        log.info("not published yet (dated %s): %s", article.day, found.source)
        return None
    return article


def read_article(found: SiteFile, site: SiteConfig, links: LinkTable) -> Article | None:
    """Parse one file; None when Jekyll would not publish it (`published: false`)."""
    own, body = read_front_matter(found.path, site.encoding)
    meta = {**site.defaults_for(found.source, _DOC_TYPES[found.kind]), **own}
    if meta.get("published") is False:
        log.info("not published (published: false): %s", found.source)
        return None
    stat = found.path.stat()
    kind = "page" if found.kind == "page" else "post"
    stated = stated_date(meta.get("date"), found.source if kind == "post" else "", site.tz)
    when = jekyll_date(stated, site.tz, stat.st_mtime)  # for the URL and Liquid, as Jekyll
    categories = categories_for(meta, found.source, found.kind)
    url_path = links.url_path(found, meta, when, categories)
    body = _render_body(body, meta, found, site, links, url_path, when, categories)
    if not body.strip():
        raise UnreadableArticle("no body text after the front matter")
    return Article(
        source=found.source,
        key=found.source,
        title=clean_title(meta.get("title"), _fallback_title(body, found)),
        date=stated or links.commit_date(found.source),
        categories=categories,
        tags=tag_names(meta.get("tags", meta.get("tag")), found.source),
        author=optional_text(meta.get("author")),
        excerpt=clean_excerpt(meta.get("excerpt")),
        url=absolute_url(site.url, site.baseurl, url_path),
        body=body,
        mtime_ns=stat.st_mtime_ns,
        size=stat.st_size,
        kind=kind,
        site_identity=site.identity,
    )


def _render_body(
    body: str,
    meta: dict[str, Any],
    found: SiteFile,
    site: SiteConfig,
    links: LinkTable,
    url_path: str,
    when: datetime,
    categories: tuple[str, ...],
) -> str:
    """Liquid rendered (unless `render_with_liquid: false`), editor markers removed."""
    if meta.get("render_with_liquid") is not False:
        page = {**meta, "url": url_path, "date": when, "categories": list(categories)}
        page["path"] = found.source
        page["name"] = found.path.name
        body = liquid_render.render(
            body,
            page=page,
            site=site.liquid_site,
            links=links.resolve,
            includes=site.includes_dir,
            source=found.source,
        )
    return END_MARKERS.sub("", "\n" + body.rstrip()).lstrip("\n").strip() + "\n"


def _fallback_title(body: str, found: SiteFile) -> str:
    """No title in the front matter: the first heading, else the file name."""
    if found.path.suffix.lower() not in (".html", ".htm"):
        for block in document_blocks(body[:20_000]):
            if block.is_heading and block.text:
                return block.text
    return Path(found.source).stem
