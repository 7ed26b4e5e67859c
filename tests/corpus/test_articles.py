"""The loader on the real sample posts (every quirk) and on broken or unpublished files."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.corpus.articles import Article, article_key, clean_title
from bot.corpus.passages import split_article
from bot.corpus.reader import load_corpus
from tests.conftest import SAMPLE_CORPUS, SITE_URL, PostWriter

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def sample() -> dict[str, Article]:
    corpus = load_corpus(SAMPLE_CORPUS, SITE_URL, "Asia/Tokyo")
    return {article_key(Path(a.source).name): a for a in corpus.articles}


def test_every_sample_article_loads(sample: dict[str, Article]) -> None:
    """All five sample posts load and none is skipped."""
    corpus = load_corpus(SAMPLE_CORPUS, SITE_URL, "Asia/Tokyo")
    assert len(corpus.articles) == 5
    assert corpus.skipped == ()


def test_title_cut_off_by_replacement_character(sample: dict[str, Article]) -> None:
    """A title ending in U+FFFD (a cut-off character) ends in an ellipsis instead."""
    assert sample["cb9ba47eba2e6bbf"].title == "MetaがLlama 4で画像生成能力を…"


def test_title_starting_with_markdown_hash(sample: dict[str, Article]) -> None:
    """A `# ` left at the start of a title is dropped."""
    assert sample["efc44d18642c6773"].title.startswith("Llama 4の登場で")


@pytest.mark.parametrize("key", ["55c007909e286ea6", "efc44d18642c6773", "8ac7c5b51012d51b"])
def test_markdown_bold_in_excerpt_is_plain(sample: dict[str, Article], key: str) -> None:
    """`**bold**` in a front matter excerpt becomes plain text."""
    excerpt = sample[key].excerpt
    assert excerpt is not None and "**" not in excerpt and excerpt.startswith("Meta")


def test_trailing_end_marker_removed(sample: dict[str, Article]) -> None:
    """The `---END---` editor marker does not reach the body."""
    body = sample["55c007909e286ea6"].body
    assert "END" not in body and body.rstrip().endswith("本当に楽しみですね。")


def test_repeated_paragraph_kept_once(sample: dict[str, Article]) -> None:
    """A paragraph pasted twice in one section is quoted once."""
    passages = split_article(sample["47d2f6d40203a5c2"], 320, 0)
    texts = [s.text for p in passages for s in p.sentences]
    assert sum(t.startswith("Llama 4の「2倍」という数字は") for t in texts) == 1


def test_article_that_stops_mid_sentence_keeps_its_last_words(sample: dict[str, Article]) -> None:
    """An article cut off mid-sentence keeps the unfinished sentence."""
    assert sample["47d2f6d40203a5c2"].body.rstrip().endswith("どのようなセーフガード")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("cb9ba47eba2e6bbf", datetime(2025, 12, 11, 11, 25, 14, tzinfo=TOKYO)),
        ("efc44d18642c6773", datetime(2025, 12, 16, 5, 38, 57, tzinfo=TOKYO)),
        ("8ac7c5b51012d51b", datetime(2026, 2, 6, 2, 8, 42, tzinfo=TOKYO)),
    ],
)
def test_date_left_as_string_by_yaml_is_parsed(
    sample: dict[str, Article], key: str, expected: datetime
) -> None:
    """`2025-12-15 20:38:57 +0000` (a string to YAML) becomes an aware time in Tokyo."""
    when = sample[key].date
    assert when == expected
    assert when is not None and when.utcoffset() == expected.utcoffset()


def test_front_matter_fields(sample: dict[str, Article]) -> None:
    """Categories, tags and author come from the front matter."""
    article = sample["8ac7c5b51012d51b"]
    assert article.categories == ("AI最新ニュース",)
    assert "NVIDIA" in article.tags and article.author == "ALLFORCES編集部"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("# 見出し", "見出し"),
        ("## **強調**タイトル", "強調タイトル"),
        ("途中\ufffd", "途中…"),
        (None, "stem"),
    ],
)
def test_clean_title(raw: str | None, expected: str) -> None:
    """Titles lose Markdown and a trailing replacement character."""
    assert clean_title(raw, "stem") == expected


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("2025-01-02-bad-yaml.md", b"---\ntitle: [unclosed\n---\n\nbody text here", "not valid YAML"),
    ("2025-01-03-no-body.md", b"---\ntitle: empty\n---\n\n   \n", "no body"),
    ("2025-01-04-sjis.md", "---\ntitle: x\n---\n\n日本語".encode("cp932"), "not UTF-8"),
    ("2025-01-05-binary.md", b"\x00\x01\x02PNG\x00", "binary"),
    ("2025-01-06-empty.md", b"", "empty"),
    ("2025-01-07-list.md", b"---\n- a\n- b\n---\n\nbody", "front matter"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_unreadable_file_is_skipped_with_one_clear_line(
    post: PostWriter,
    site: Path,
    caplog: pytest.LogCaptureFixture,
    name: str,
    content: bytes,
    reason: str,
) -> None:
    """A broken file is skipped, named with its reason in one log line; the rest loads."""
    post("2025-01-01-good.md", "良い記事です。")
    (site / "_posts" / name).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        corpus = load_corpus(site, SITE_URL, "Asia/Tokyo")
    assert [a.key for a in corpus.articles] == ["_posts/2025-01-01-good.md"]
    assert len(corpus.skipped) == 1 and reason in corpus.skipped[0].reason
    lines = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]


def test_unpublished_drafts_and_future_posts_are_left_out(post: PostWriter, site: Path) -> None:
    """Jekyll would not publish these: `published: false`, `_drafts/`, a future date."""
    post("2025-01-01-live.md", "公開。")
    post("2025-01-02-hidden.md", "非公開。", {"title": "h", "published": False})
    post("2025-01-03-draft.md", "下書き。", folder="_drafts")
    post("2099-01-01-future.md", "未来。", {"title": "f", "date": "2099-01-01 00:00:00 +0900"})
    corpus = load_corpus(site, SITE_URL, "Asia/Tokyo")
    assert [a.key for a in corpus.articles] == ["_posts/2025-01-01-live.md"]


def test_jekyll_site_config_is_read(post: PostWriter, site: Path) -> None:
    """`_config.yml` supplies url, baseurl and the permalink style for a Jekyll site."""
    post(
        "2025-03-04-hello.md",
        "本文。",
        {"title": "t", "date": "2025-03-04", "categories": ["Tech"]},
    )
    (site / "_config.yml").write_text(
        "url: https://blog.example\nbaseurl: /b\npermalink: pretty\n", encoding="utf-8"
    )
    [article] = load_corpus(site, SITE_URL, "Asia/Tokyo").articles
    assert article.url == "https://blog.example/b/tech/2025/03/04/hello/"


def test_front_matter_permalink_wins(post: PostWriter, site: Path) -> None:
    """A post's own `permalink` replaces the site's template."""
    post(
        "2025-03-04-hello.md",
        "本文。",
        {"title": "t", "date": "2025-03-04", "permalink": "/p/:title/"},
    )
    [article] = load_corpus(site, SITE_URL, "Asia/Tokyo").articles
    assert article.url == "http://localhost:4000/p/hello/"


def test_wrong_types_in_front_matter_are_ignored(post: PostWriter, site: Path) -> None:
    """`date: 42`, `tags: "a, b"`, `categories: {}` do not stop the article from loading."""
    post("2025-03-04-odd.md", "本文。", 'title: t\ndate: 42\ntags: "a, b"\ncategories: {}\n')
    [article] = load_corpus(site, SITE_URL, "Asia/Tokyo").articles
    assert article.tags == ("a", "b") and article.categories == ()
    assert article.day == "2025-03-04"
