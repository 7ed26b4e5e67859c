"""Where each file of the site is served, for its own link and for `{% link %}` tags.

A post's URL comes from the posts permalink (or its own `permalink:`), its date and
categories; a page's from its path. `{% link path %}` and `{% post_url name %}` need the
URL of another file: it is worked out from that file's front matter alone, once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.corpus.discovery import POST_NAME, SiteFile
from bot.corpus.frontmatter import (
    UnreadableArticle,
    categories_for,
    jekyll_date,
    read_front_matter,
    stated_date,
)
from bot.corpus.gitdates import commit_dates
from bot.corpus.permalinks import expand_permalink, page_url
from bot.corpus.site import SiteConfig

log = logging.getLogger(__name__)


class LinkTable:
    """URL paths of the site's files, computed on demand and remembered."""

    def __init__(self, root: Path, site: SiteConfig) -> None:
        self.root = root
        self.site = site
        self._resolved: dict[tuple[str, str], str] = {}
        self._posts: dict[str, Path] | None = None
        self._commit_dates: dict[str, datetime] | None = None

    @property
    def commit_dates(self) -> dict[str, datetime]:
        """Each file's last commit time, by its path in the site, where the site is in a git
        clone ({} otherwise): one `git log` for the whole read, run the first time a file
        states no date of its own."""
        if self._commit_dates is None:
            self._commit_dates = commit_dates(self.root)
        return self._commit_dates

    def commit_date(self, source: str) -> datetime | None:
        """When the file at `source` was last committed, in the site's timezone."""
        when = self.commit_dates.get(source)
        return when.astimezone(self.site.tz) if when is not None else None

    def url_path(
        self,
        found: SiteFile,
        meta: dict[str, Any],
        when: datetime,
        categories: tuple[str, ...],
    ) -> str:
        return url_path_for(found, meta, self.site, when, categories)

    def resolve(self, tag: str, argument: str) -> str:
        """`{% link %}` / `{% post_url %}`: baseurl + the target's URL, "" if unknown."""
        key = (tag, argument.strip().strip("'\""))
        if key not in self._resolved:
            found = self._find(*key)
            path = self._target_url(found) if found is not None else None
            if path is None:
                log.info("%s %r: no such file in the site", tag, key[1])
            base = "/" + self.site.baseurl.strip("/") if self.site.baseurl.strip("/") else ""
            self._resolved[key] = base + path if path is not None else ""
        return self._resolved[key]

    def _find(self, tag: str, name: str) -> SiteFile | None:
        if tag == "link":
            path = self.root / name.lstrip("/")
            kind = "post" if "_posts/" in f"/{name}" else "page"
            return SiteFile(path, name.lstrip("/"), kind) if self._inside(path) else None
        post = self._post_paths().get(name.strip("/"))
        return SiteFile(post, post.relative_to(self.root).as_posix(), "post") if post else None

    def _post_paths(self) -> dict[str, Path]:
        """Every post inside the site under any `_posts` folder, by its name without the
        extension, found once: walking the site for each `{% post_url %}` made a site of
        posts that link each other quadratic. A post that is a symbolic link leading out
        of the site is not one (its front matter would be read)."""
        if self._posts is None:
            found: dict[str, Path] = {}
            for folder in sorted(self.root.glob("**/_posts")):
                for path in sorted(folder.glob("**/*")):
                    inner = path.relative_to(folder).as_posix()
                    if POST_NAME.fullmatch(inner) and self._inside(path):
                        found.setdefault(inner.rsplit(".", 1)[0], path)
            self._posts = found
        return self._posts

    def _inside(self, path: Path) -> bool:
        try:
            return path.is_file() and path.resolve().is_relative_to(self.root.resolve())
        except (OSError, RuntimeError):
            return False

    def _target_url(self, found: SiteFile) -> str | None:
        try:
            meta, _ = read_front_matter(found.path, self.site.encoding)
            meta = {**self.site.defaults_for(found.source, found.kind + "s"), **meta}
            source = found.source if found.kind == "post" else ""
            stated = stated_date(meta.get("date"), source, self.site.tz)
            when = jekyll_date(stated, self.site.tz, found.path.stat().st_mtime)
            categories = categories_for(meta, found.source, found.kind)
            return url_path_for(found, meta, self.site, when, categories)
        except (UnreadableArticle, OSError):
            return None


def url_path_for(
    found: SiteFile,
    meta: dict[str, Any],
    site: SiteConfig,
    when: datetime,
    categories: tuple[str, ...],
) -> str:
    """The URL path Jekyll gives the file (before `url` and `baseurl`)."""
    permalink = meta.get("permalink")
    own = str(permalink) if isinstance(permalink, str | int | float) and permalink else None
    if found.kind == "page":
        return page_url(found.source, own, site.permalink)
    name = found.source.rsplit("/", 1)[-1]
    slug = _post_slug(name)
    explicit_slug = meta.get("slug")
    try:
        return expand_permalink(
            own or site.posts_permalink,
            date=when,
            categories=categories,
            title=slug,
            output_ext=".html",
            slug=str(explicit_slug) if isinstance(explicit_slug, str | int) else None,
        )
    except ValueError as exc:
        raise UnreadableArticle(f"permalink {own or site.posts_permalink!r}: {exc}") from None


def _post_slug(name: str) -> str:
    """Jekyll Document: the file name after the date, without extension or trailing dots."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    match = re.fullmatch(r"[0-9]{2,4}-[0-9]{1,2}-[0-9]{1,2}-(.*)", stem)
    return re.sub(r"\.*\Z", "", match.group(1) if match else stem)
