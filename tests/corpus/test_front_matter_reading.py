"""Articles and the targets of `{% link %}` read a file's front matter in one way."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.corpus.frontmatter import MAX_FILE_BYTES, UnreadableArticle, read_front_matter
from bot.corpus.site import read_site_config
from bot.corpus.sitelinks import LinkTable
from tests.conftest import SITE_URL


def _links(root: Path) -> LinkTable:
    return LinkTable(root, read_site_config(root, SITE_URL, "Asia/Tokyo"))


@pytest.mark.parametrize(
    "raw",
    [
        b"---\npermalink: /who/\n---\n\nbody\n",
        codecs.BOM_UTF8 + b"---\r\npermalink: /who/\r\n---\r\n\r\nbody\r\n",
        codecs.BOM_UTF16_LE + "---\npermalink: /who/\n---\n\nbody\n".encode("utf-16-le"),
    ],
)
def test_link_target_is_decoded_as_an_article_is(tmp_path: Path, raw: bytes) -> None:
    """A byte-order mark and CRLF lines read alike for an article and a link's target."""
    (tmp_path / "about.md").write_bytes(raw)
    meta, body = read_front_matter(tmp_path / "about.md")
    assert meta == {"permalink": "/who/"} and body.strip() == "body"
    assert _links(tmp_path).resolve("link", "about.md") == "/who/"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"---\ntitle: [unclosed\n---\n\nbody\n", "front matter is not valid YAML"),
        (b"---\n- a\n- b\n---\n\nbody\n", "front matter is not a mapping"),
        (b"---\ntitle: x\n---\n\n\x00\x01", "binary file"),
        (b"---\ntitle: \xff\n---\n\nbody\n", "not UTF-8"),
        (b"   \n", "file is empty"),
        (b"x" * (MAX_FILE_BYTES + 1), "over the"),
    ],
)
def test_unreadable_link_target_links_nowhere(tmp_path: Path, raw: bytes, reason: str) -> None:
    """What makes a file unreadable as an article (same reason) leaves a link to it empty."""
    (tmp_path / "bad.md").write_bytes(raw)
    with pytest.raises(UnreadableArticle, match=reason):
        read_front_matter(tmp_path / "bad.md")
    assert _links(tmp_path).resolve("link", "bad.md") == ""


def test_site_encoding_applies_to_link_targets(tmp_path: Path) -> None:
    """The site's `encoding:` decodes a link's target as it decodes an article."""
    (tmp_path / "_config.yml").write_text("encoding: shift_jis\n", encoding="ascii")
    (tmp_path / "about.md").write_bytes("---\npermalink: /紹介/\n---\n\n本文\n".encode("shift_jis"))
    assert _links(tmp_path).resolve("link", "about.md") == "/紹介/"
