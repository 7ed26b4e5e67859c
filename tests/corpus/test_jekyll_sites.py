"""The fixture sites under tests/data/sites/ read as `jekyll build` builds them.

Every URL, heading id, heading link and post date the bot derives is compared with what real Jekyll
(tests/jekyll_golden.py) produced for the same file, and every passage is checked for
template or Markdown markup that a reader would otherwise see.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.corpus.articles import Article, Corpus
from bot.corpus.heading_ids import HeadingIds
from bot.corpus.passages import heading_anchors, split_article
from bot.corpus.permalinks import heading_link
from bot.corpus.reader import load_corpus
from tests.jekyll_golden import (
    FIXTURE_SITES,
    BuiltDocument,
    built_fixture_site,
    jekyll_available,
    site_config,
)

SITES_DIR = FIXTURE_SITES
SITES = sorted(config.parent.name for config in SITES_DIR.glob("*/_config.yml"))
MARKUP = ("{{", "{%", "](", "]: http", "```", "{:")
_LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.DOTALL)


@cache
def _corpus(name: str) -> Corpus:
    # Jekyll is run with TZ=UTC, which decides dates for a site that sets no timezone.
    return load_corpus(SITES_DIR / name, "http://localhost:4000", "UTC")


@pytest.mark.parametrize("name", SITES)
def test_every_fixture_file_reads_without_skips(name: str) -> None:
    """Each fixture site loads posts and pages, and no file is skipped."""
    corpus = _corpus(name)
    kinds = {a.kind for a in corpus.articles}
    assert corpus.skipped == () and kinds == {"post", "page"}
    assert sum(a.kind == "post" for a in corpus.articles) >= 25


@pytest.mark.parametrize("name", SITES)
def test_urls_ids_and_dates_match_jekyll_build(name: str) -> None:
    """URL, heading ids and post date of every built document equal `jekyll build`'s."""
    if not jekyll_available():
        pytest.skip("jekyll is not installed (Debian: apt-get install jekyll)")
    _, built = built_fixture_site(name)
    url, baseurl = site_config(SITES_DIR / name)
    mine = {a.source: a for a in _corpus(name).articles}
    mismatches: list[str] = []
    for path, doc in sorted(built.items()):
        article = mine.get(path)
        if article is None:
            mismatches.append(f"{path}: not read")
            continue
        prefix = (url or "http://localhost:4000").rstrip("/") + baseurl
        mismatches.extend(_differences(article, doc, prefix))
    extra = sorted(set(mine) - set(built))
    assert mismatches == [] and extra == []


def _differences(article: Article, doc: BuiltDocument, prefix: str) -> list[str]:
    out = []
    if article.url != prefix + doc.url:
        out.append(f"{doc.path}: url {article.url} != {prefix + doc.url}")
    if list(heading_anchors(article)) != list(doc.heading_ids):
        out.append(f"{doc.path}: ids {heading_anchors(article)} != {list(doc.heading_ids)}")
    for anchor, wanted in zip(heading_anchors(article), doc.heading_ids, strict=False):
        link = heading_link(article.url, anchor)
        page, _, fragment = link.partition("#")
        if page != prefix + doc.url or unquote(fragment) != wanted or not link.isascii():
            out.append(f"{doc.path}: heading link {link} does not lead to #{wanted}")
    if doc.kind == "post" and article.day != doc.date:
        out.append(f"{doc.path}: date {article.day} != {doc.date}")
    if article.kind != ("post" if doc.kind == "post" else "page"):
        out.append(f"{doc.path}: kind {article.kind} != {doc.kind}")
    return out


@pytest.mark.parametrize("name", SITES)
def test_no_markup_in_any_passage(name: str) -> None:
    """No Liquid, link syntax, fences or attribute lists reach passage text or headings.

    Liquid that a page shows on purpose (inside `{% raw %}`, as jekyllrb.com's posts do
    when they name a tag) and code spans (Elixir's `{:desc, Date}`) are its text, so those
    literal strings are allowed.
    """
    found: list[str] = []
    for article in _corpus(name).articles:
        shown = _shown_strings(SITES_DIR / name / article.source)
        for passage in split_article(article):
            for text in (passage.text, passage.heading or ""):
                for literal in shown:
                    text = text.replace(literal, "")
                found.extend(f"{article.source}: {m!r}" for m in MARKUP if m in text)
    assert found == []


def _shown_strings(path: Path) -> list[str]:
    """Markup a page shows as text: Liquid in `{% raw %}` blocks, code spans; longest first."""
    text = path.read_text(encoding="utf-8")
    shown = {m for block in _RAW.findall(text) for m in _LIQUID.findall(block)}
    shown.update(span for span in _CODE_SPAN.findall(text) if any(m in span for m in MARKUP))
    return sorted(shown, key=len, reverse=True)


def test_heading_ids_do_not_depend_on_other_documents() -> None:
    """Each document starts its own id counter, as kramdown does per conversion."""
    first, second = HeadingIds(), HeadingIds()
    assert first.generate("概要") == "概要" and first.generate("概要") == "概要-1"
    assert second.generate("概要") == "概要"
