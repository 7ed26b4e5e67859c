"""Which files of a site are articles, found as Jekyll 4's reader finds them.

Posts come from every `_posts` folder at any depth (Jekyll reads `<dir>/_posts` for each
folder it reads), drafts from `_drafts` only with `show_drafts`, pages from Markdown or
HTML files with front matter outside `_`, `.` and excluded folders. A plain folder of
Markdown files (no `_config.yml`, no `_posts`) is read whole, front matter or not.
Nothing outside the corpus is read: a symbolic link leading out of it is skipped and named,
as is a file whose name is not UTF-8.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from bot.corpus.site import SiteConfig

log = logging.getLogger(__name__)

HTML_EXTENSIONS = (".html", ".htm")
PLAIN_EXTENSIONS = (".md", ".markdown", ".mkdown", ".mkd", ".mkdn", ".txt")
MAX_FOLDER_DEPTH = 64
# Jekyll lib/jekyll/document.rb DATE_FILENAME_MATCHER (Ruby's \d is ASCII-only).
POST_NAME = re.compile(r"(?:.+/)*?([0-9]{2,4}-[0-9]{1,2}-[0-9]{1,2})-([^/]*)(\.[^./]+)")
_FRONT_MATTER_START = re.compile(rb"---[ \t\r\f\v]*\r?\n")  # Utils.has_yaml_header?


@dataclass(frozen=True, slots=True)
class SiteFile:
    """One file to read as an article: a post, a draft or a page."""

    path: Path
    source: str  # relative to the corpus, forward slashes
    kind: str  # "post", "draft" or "page"


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    reason: str


def site_files(root: Path, site: SiteConfig) -> Iterator[SiteFile | Skipped]:
    """Every article file under `root`, sorted per folder; unreadable names as Skipped."""
    if not root.is_dir():
        return
    walker = _Walker(root.resolve(), site)
    yield from walker.folder(root, "", 0)


class _Walker:
    def __init__(self, real_root: Path, site: SiteConfig) -> None:
        self.real_root = real_root
        self.site = site
        self.visited: set[Path] = set()

    def folder(self, path: Path, relative: str, depth: int) -> Iterator[SiteFile | Skipped]:
        """Jekyll Reader#read_directories: pages here, then `_posts`, then sub-folders."""
        if depth > MAX_FOLDER_DEPTH or not self._first_visit(path):
            return
        entries = _entries(path)
        folders: list[tuple[Path, str]] = []
        for entry in entries:
            rel = f"{relative}/{entry.name}" if relative else entry.name
            problem = self._problem(entry, rel)
            if problem is not None:
                yield problem
                continue
            if self.site.jekyll and entry.name in ("_posts", "_drafts") and entry.is_dir():
                continue
            if self._filtered(entry.name, rel, entry.is_dir()):
                continue
            if entry.is_dir():
                folders.append((Path(entry.path), rel))
            elif entry.is_file() and self._is_page(Path(entry.path)):
                yield SiteFile(Path(entry.path), rel, "page")
        if self.site.jekyll:
            yield from self._posts(path, relative, "_posts", "post")
            if self.site.show_drafts:
                yield from self._posts(path, relative, "_drafts", "draft")
        for sub, rel in folders:
            yield from self.folder(sub, rel, depth + 1)

    def _posts(
        self, parent: Path, relative: str, magic: str, kind: str
    ) -> Iterator[SiteFile | Skipped]:
        """Jekyll PostReader: every file under `<dir>/_posts` named like a post."""
        base = parent / magic
        if not base.is_dir() or not self._inside(base):
            return
        prefix = f"{relative}/{magic}" if relative else magic
        for path, inner in self._files_below(base, "", 0):
            source = f"{prefix}/{inner}"
            if isinstance(path, Skipped):
                yield Skipped(source, path.reason)
                continue
            if any(part.startswith((".", "_", "#", "~")) for part in inner.split("/")):
                continue
            if self._excluded(source, is_dir=False) or not self._readable_type(path):
                continue
            if kind == "draft" or POST_NAME.fullmatch(inner):
                yield SiteFile(path, source, kind)

    def _files_below(
        self, path: Path, relative: str, depth: int
    ) -> Iterator[tuple[Path | Skipped, str]]:
        if depth > MAX_FOLDER_DEPTH or not self._first_visit(path):
            return
        for entry in _entries(path):
            rel = f"{relative}/{entry.name}" if relative else entry.name
            problem = self._problem(entry, rel)
            if problem is not None:
                yield problem, rel
            elif entry.is_dir():
                yield from self._files_below(Path(entry.path), rel, depth + 1)
            elif entry.is_file():
                yield Path(entry.path), rel

    def _problem(self, entry: os.DirEntry[str], rel: str) -> Skipped | None:
        """A name that is not UTF-8, or a link leading outside the corpus."""
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return Skipped(shown, "file name is not valid UTF-8")
        if entry.is_symlink() and not self._inside(Path(entry.path)):
            return Skipped(rel, "symbolic link leading outside the corpus")
        return None

    def _inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.real_root)
        except (OSError, RuntimeError):
            return False

    def _first_visit(self, path: Path) -> bool:
        """Folders reached twice through links are read once (no loops)."""
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            return False
        if real in self.visited:
            return False
        self.visited.add(real)
        return True

    def _filtered(self, name: str, rel: str, is_dir: bool) -> bool:
        """Jekyll EntryFilter#filter: included wins; special, backup or excluded go."""
        if not self.site.jekyll:
            return name.startswith((".", "_"))
        if _glob_match(self.site.include, rel, name, is_dir):
            return False
        special = name.startswith((".", "_", "#", "~")) or name.endswith("~")
        return special or self._excluded(rel, is_dir)

    def _excluded(self, rel: str, is_dir: bool) -> bool:
        patterns = tuple(p for p in self.site.exclude if p not in self.site.include)
        return _glob_match(patterns, rel, None, is_dir)

    def _readable_type(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        return suffix in self.site.markdown_ext or suffix in HTML_EXTENSIONS

    def _is_page(self, path: Path) -> bool:
        """Jekyll: a file with front matter is a page; without, a static file."""
        if not self.site.jekyll:
            return path.suffix.lower() in PLAIN_EXTENSIONS
        return self._readable_type(path) and _has_front_matter(path)


def _entries(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as found:
            return sorted(found, key=lambda e: e.name)
    except OSError as exc:
        log.warning("cannot list %s: %s", path, exc.strerror)
        return []


def _glob_match(patterns: tuple[str, ...], rel: str, name: str | None, is_dir: bool) -> bool:
    """Jekyll EntryFilter#glob_include?: fnmatch, a plain prefix, or "dir/" for a folder."""
    for pattern in patterns:
        clean = pattern.lstrip("/")
        if not clean:
            continue
        for candidate in (rel, name) if name is not None else (rel,):
            if fnmatchcase(candidate, clean) or candidate.startswith(clean):
                return True
            if is_dir and clean == f"{candidate}/":
                return True
    return False


def _has_front_matter(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return False
    return _FRONT_MATTER_START.fullmatch(first) is not None
