"""The fixture sites under tests/data/sites/ built with real Jekyll, and the bot's text checked
against the built pages.

The smoke test guards the helper itself: if it fails, every comparison built on `build_site`
is void (a post Jekyll did not build, a relative URL, or heading ids that never reach the dump
would make the golden answers wrong rather than the bot's).

The text test compares, for every post, the sentences the bot reads (the reader's headings
and paragraphs, split as passages split them) with the text of the HTML kramdown built,
both normalised by `normalise` (NFKC, typographic quotes and dashes as typed, no white
space). The criterion, both ways:

- every sentence the bot reads lies within one block (paragraph, list item, heading, ...)
  of the page: the bot quotes nothing the page does not show, and never runs two of the
  page's blocks into one sentence;
- every block of the page lies within the bot's sentences joined in order: the bot loses
  nothing a reader sees, and keeps it in the page's order.

Code blocks, tables, scripts and styles are left out on both sides, as the bot leaves them
out of its prose; images have no text on either side; footnote reference numbers and back
links are not text. Skipped where Debian's `jekyll` is not installed (.ci/run installs it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.corpus.articles import Article
from bot.corpus.html_text import html_blocks
from bot.corpus.markdown import document_blocks
from bot.corpus.passages import split_sentences
from bot.corpus.reader import load_corpus
from tests.jekyll_golden import (
    FIXTURE_SITES,
    built_fixture_site,
    jekyll_available,
    jekyll_site_config,
    jekyll_warnings,
    normalise,
    page_blocks,
    site_config,
)

SITES_DIR = FIXTURE_SITES
SITES = sorted(config.parent.name for config in SITES_DIR.glob("*/_config.yml"))

#: Where the bot's text differs from the page on purpose, one entry per (site, post, text):
#: the text (as `normalise` leaves it) may be on one side only. An entry that no longer
#: differs fails the test, so the list stays as narrow as the differences themselves.
EXPECTED_DIFFERENCES: dict[tuple[str, str, str], str] = {
    (
        "railsgirls-jp",
        "_posts/blog/2017-09-23-rubykaigi2017-support-for-alumni.markdown",
        "</p>",
    ): "A stray `</p>` line: kramdown prints an end tag without its start as text, the bot "
    "reads it as markup and shows nothing.",
}


def _needs_jekyll() -> None:
    if not jekyll_available():
        pytest.skip("jekyll is not installed (Debian: apt-get install jekyll)")


def _source_posts(site: Path) -> set[str]:
    """Every file under any `_posts` folder of the site, as a path relative to its root."""
    return {
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and "_posts" in p.relative_to(site).parts
    }


@pytest.mark.parametrize("name", SITES)
def test_fixture_site_builds_with_jekyll(name: str) -> None:
    _needs_jekyll()
    site = SITES_DIR / name
    work, docs = built_fixture_site(name)
    assert jekyll_warnings(work) == []

    posts = {path: doc for path, doc in docs.items() if doc.kind == "post"}
    assert set(posts) == _source_posts(site)
    assert len(posts) >= 25
    assert any(doc.kind == "page" for doc in docs.values())

    for doc in docs.values():
        assert doc.url.startswith("/"), doc
        assert (doc.date is None) == (doc.kind != "post"), doc
        assert (doc.html is None) == (doc.kind != "post"), doc
    for doc in posts.values():
        assert doc.date is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc.date), doc
        assert doc.title, doc

    assert any(doc.heading_ids for doc in posts.values())
    assert all(all(doc.heading_ids) for doc in docs.values())
    assert any(page_blocks(doc.html or "") for doc in posts.values())

    assert site_config(site) == jekyll_site_config(work)


@pytest.mark.parametrize("name", SITES)
def test_post_text_matches_the_built_page(name: str) -> None:
    """Every post's sentences lie within the page's blocks and cover all of them."""
    _needs_jekyll()
    _, built = built_fixture_site(name)
    articles = {a.source: a for a in _articles(name)}
    expected = {key[1:] for key in EXPECTED_DIFFERENCES if key[0] == name}
    found: set[tuple[str, str]] = set()
    report: list[str] = []
    for path, doc in sorted(built.items()):
        if doc.kind != "post":
            continue
        article = articles.get(path)
        differing = [("not read", path)] if article is None else _differences(article, doc.html)
        found.update((path, text) for _, text in differing)
        unexpected = [(side, text) for side, text in differing if (path, text) not in expected]
        report.extend(f"{path}\n  {side}: {text}" for side, text in unexpected)
    stale = sorted(expected - found)
    assert report == [], "the bot's text differs from the built page:\n" + "\n".join(report)
    assert stale == [], f"listed differences that no longer occur: {stale}"


def _articles(name: str) -> tuple[Article, ...]:
    # Jekyll is run with TZ=UTC, which decides dates for a site that sets no timezone.
    return load_corpus(SITES_DIR / name, "http://localhost:4000", "UTC").articles


def _sentences(article: Article) -> list[str]:
    """The sentences the bot reads, headings included, in reading order."""
    blocks = html_blocks(article.body, 0) if article.is_html else document_blocks(article.body)
    return [s.text for block in blocks for s in split_sentences(block.text)]


def _differences(article: Article, html: str | None) -> list[tuple[str, str]]:
    """("bot only", sentence) and ("page only", block), normalised, breaking the criterion."""
    return list(_each_difference(article, html or ""))


def _each_difference(article: Article, html: str) -> Iterator[tuple[str, str]]:
    page = [normalise(block) for block in page_blocks(html)]
    sentences = [text for text in map(normalise, _sentences(article)) if text]
    on_page = "\n".join(page)
    for sentence in sentences:
        if sentence not in on_page:
            yield "bot only", sentence
    read = "".join(sentences)
    for block in page:
        if block not in read:
            yield "page only", block
