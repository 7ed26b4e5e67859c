"""Sites as they really are: pages, nested `_posts`, odd names and settings, hostile files.

Each case here once ended `reindex` with a traceback or gave a wrong link; now a file
either reads as Jekyll would serve it or is skipped with one line naming it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from bot.corpus.articles import Article, Corpus
from bot.corpus.passages import split_article
from bot.corpus.permalinks import heading_link
from bot.corpus.reader import ReadLimits, load_corpus
from tests.conftest import SITE_URL

ONE_MB_BUDGET_S = 60.0  # a guard against a hang, not a speed assertion (2 shared cores)


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _page(title: str, body: str = "本文です。") -> str:
    return f"---\ntitle: {title}\n---\n\n{body}\n"


def _load(root: Path, timezone: str = "Asia/Tokyo") -> Corpus:
    return load_corpus(root, SITE_URL, timezone)


def _sparse_file(path: Path, size: int) -> None:
    """A file of `size` bytes that takes no disk: only a reader that reads it pays."""
    with path.open("wb") as file:
        file.truncate(size)


def _load_in_process_measuring_memory(
    root: Path, caplog: pytest.LogCaptureFixture
) -> tuple[Corpus, int]:
    """The corpus read in this process (so tracemalloc sees it), and its peak in bytes."""
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING):
            corpus = load_corpus(root, SITE_URL, "Asia/Tokyo", limits=ReadLimits(isolated=False))
        return corpus, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _by_source(corpus: Corpus) -> dict[str, Article]:
    return {a.source: a for a in corpus.articles}


def test_pages_are_read_with_their_jekyll_urls(tmp_path: Path) -> None:
    """index.md, about.md and ja/about/index.md are pages with Jekyll's URLs."""
    _write(tmp_path, "_config.yml", "permalink: pretty\n")
    for name in ("index.md", "about.md", "ja/about/index.md"):
        _write(tmp_path, name, _page(name))
    _write(tmp_path, "README.md", "# Read me\n\nNo front matter: a static file.\n")
    articles = _by_source(_load(tmp_path))
    assert {s: a.url for s, a in articles.items()} == {
        "about.md": f"{SITE_URL}/about/",
        "index.md": f"{SITE_URL}/",
        "ja/about/index.md": f"{SITE_URL}/ja/about/",
    }
    assert {a.kind for a in articles.values()} == {"page"}


def test_plain_folder_of_notes_reads_every_file(tmp_path: Path) -> None:
    """A folder with only notes.md (no front matter) gives one article titled by its heading."""
    _write(tmp_path, "notes.md", "# 覚え書き\n\n今日の学び。\n")
    _write(tmp_path, "sub/untitled.md", "見出しのない文章。\n")
    articles = _by_source(_load(tmp_path))
    assert articles["notes.md"].title == "覚え書き"
    assert articles["sub/untitled.md"].title == "untitled"


def test_posts_under_a_language_folder_use_the_site_config(tmp_path: Path) -> None:
    """ja/news/_posts with no root _posts: pretty links, UTC dates, folders as categories."""
    _write(tmp_path, "_config.yml", "permalink: pretty\ntimezone: UTC\nurl: https://x.org\n")
    front = "---\ntitle: t\ndate: 2024-12-25 00:30:00 +0900\n---\n\n"
    _write(tmp_path, "ja/news/_posts/2024-12-25-ruby.md", front + "## 概要\n\n本文。\n")
    [article] = _load(tmp_path).articles
    assert article.url == "https://x.org/ja/news/2024/12/24/ruby/"
    assert article.day == "2024-12-24" and article.categories == ("ja", "news")


def test_heading_link_keeps_the_trailing_slash(tmp_path: Path) -> None:
    """A pretty post URL keeps its "/" before the heading's "#id", as Jekyll serves it."""
    _write(tmp_path, "_config.yml", "permalink: pretty\n")
    _write(tmp_path, "_posts/2025-12-25-ruby-4.md", _page("t", "## Ruby Box\n\n本文です。"))
    [article] = _load(tmp_path).articles
    [passage] = split_article(article)
    link = heading_link(article.url, passage.anchor)
    assert link == f"{SITE_URL}/2025/12/25/ruby-4/#ruby-box"


def test_same_file_name_in_two_languages_gives_two_keys(tmp_path: Path) -> None:
    """ja and en posts with one file name are two articles with different keys."""
    for lang in ("ja", "en"):
        _write(tmp_path, f"{lang}/news/_posts/2025-01-01-release.md", _page(lang))
    keys = [a.key for a in _load(tmp_path).articles]
    assert sorted(keys) == [
        "en/news/_posts/2025-01-01-release.md",
        "ja/news/_posts/2025-01-01-release.md",
    ]


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("title: t\npermalink: /:foo/\n", "permalink"),
        ("title: t\ndate: 0001-01-01T00:00:00+09:00\n", "date out of range"),
        (
            "title: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
            "aliases",
        ),
    ],
)
def test_hostile_front_matter_is_skipped_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, front: str, reason: str
) -> None:
    """Unknown placeholders, impossible dates and alias bombs skip the file, naming it."""
    _write(tmp_path, "_posts/2025-01-01-good.md", _page("good"))
    _write(tmp_path, "_posts/2025-01-02-bad.md", f"---\n{front}---\n\n本文。\n")
    with caplog.at_level(logging.WARNING):
        corpus = _load(tmp_path)
    assert [a.source for a in corpus.articles] == ["_posts/2025-01-01-good.md"]
    [skipped] = corpus.skipped
    assert skipped.source == "_posts/2025-01-02-bad.md" and reason in skipped.reason
    assert sum("2025-01-02-bad.md" in r.getMessage() for r in caplog.records) == 1


def test_deeply_nested_config_is_ignored_not_fatal(tmp_path: Path) -> None:
    """A `_config.yml` nested thousands deep is ignored with a warning; posts still load."""
    _write(tmp_path, "_config.yml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    _write(tmp_path, "_posts/2025-01-01-good.md", _page("good"))
    assert len(_load(tmp_path).articles) == 1


@pytest.mark.skipif(os.name != "posix", reason="needs byte file names")
def test_undecodable_file_name_is_skipped(tmp_path: Path) -> None:
    """A file name that is not UTF-8 is skipped with one line; the rest loads."""
    _write(tmp_path, "_posts/2025-01-01-good.md", _page("good"))
    bad = os.path.join(os.fsencode(tmp_path / "_posts"), b"2025-01-02-\xff\xfe.md")
    with open(bad, "wb") as handle:
        handle.write(_page("bad").encode())
    corpus = _load(tmp_path)
    assert len(corpus.articles) == 1 and "not valid UTF-8" in corpus.skipped[0].reason


def test_symlink_leading_outside_the_corpus_is_skipped(tmp_path: Path) -> None:
    """A link to a file outside the corpus is never read; it is named as skipped."""
    secret = _write(tmp_path / "outside", "secret.md", _page("secret", "秘密の文書。"))
    root = tmp_path / "site"
    _write(root, "_posts/2025-01-01-good.md", _page("good"))
    (root / "_posts" / "2025-01-02-link.md").symlink_to(secret)
    (root / "linked").symlink_to(secret.parent, target_is_directory=True)
    corpus = _load(root)
    assert [a.source for a in corpus.articles] == ["_posts/2025-01-01-good.md"]
    assert {s.source for s in corpus.skipped} == {"_posts/2025-01-02-link.md", "linked"}


@pytest.mark.parametrize("which", ["_includes", "_data", "_config.yml"])
def test_special_paths_linked_outside_the_corpus_are_never_read(
    tmp_path: Path, which: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`_includes`, `_data` or `_config.yml` as a symbolic link out of the corpus (a merged
    pull request can plant one): nothing behind it reaches a post, and one line says so."""
    outside = tmp_path / "outside"
    _write(outside, "environ", "DISCORD_TOKEN=very-secret-token")
    _write(outside, "secrets.yml", "token: very-secret-token\n")
    _write(tmp_path / "outside-config", "_config.yml", "title: very-secret-token\n")
    root = tmp_path / "site"
    _write(root, "_config.yml", "title: ブログ\n")
    body = "{% include environ %} {{ site.data.secrets.token }} {{ site.title }} 本文。"
    _write(root, "_posts/2025-01-01-post.md", _page("post", body))
    if which == "_config.yml":
        (root / "_config.yml").unlink()
        (root / "_config.yml").symlink_to(tmp_path / "outside-config" / "_config.yml")
    else:
        (root / which).symlink_to(outside, target_is_directory=True)
    with caplog.at_level(logging.WARNING):
        corpus = _load(root)
    text = corpus.articles[0].body
    assert "very-secret-token" not in text and "本文。" in text
    assert f"skipped {which}: symbolic link leading outside the corpus" in caplog.text


def test_drafts_excluded_and_future_follow_the_config(tmp_path: Path) -> None:
    """_drafts, `exclude:` and future posts are left out unless the config says otherwise."""
    _write(tmp_path, "_config.yml", "exclude: [private]\nfuture: true\n")
    _write(tmp_path, "_drafts/draft.md", _page("draft"))
    _write(tmp_path, "private/_posts/2025-01-01-hidden.md", _page("hidden"))
    _write(tmp_path, "_posts/2099-01-01-future.md", _page("future"))
    assert [a.source for a in _load(tmp_path).articles] == ["_posts/2099-01-01-future.md"]


def test_front_matter_defaults_apply_by_path_and_type(tmp_path: Path) -> None:
    """`defaults:` can set a permalink for posts under one folder."""
    config = (
        "defaults:\n  - scope: {path: 'ja', type: posts}\n    values: {permalink: /j/:title/}\n"
    )
    _write(tmp_path, "_config.yml", config)
    _write(tmp_path, "ja/_posts/2025-01-01-a.md", _page("a"))
    _write(tmp_path, "_posts/2025-01-01-b.md", _page("b"))
    urls = sorted(a.url for a in _load(tmp_path).articles)
    assert urls == [f"{SITE_URL}/2025/01/01/b.html", f"{SITE_URL}/j/a/"]


def test_one_megabyte_single_line_reads_and_splits(tmp_path: Path) -> None:
    """A 1 MB article on one line (prose with links and emphasis) loads and splits."""
    unit = "長い一行の記事です。[リンク](https://example.com/a_b)と**強調**と`code`もある。"
    line = unit * (1_000_000 // len(unit.encode()) + 1)
    _write(tmp_path, "_posts/2025-01-01-long.md", _page("long", line))
    done: list[int] = []

    def work() -> None:
        [article] = _load(tmp_path).articles
        done.append(len(split_article(article)))

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(ONE_MB_BUDGET_S)
    assert done and done[0] > 100


def test_dateless_page_outside_git_has_no_date(tmp_path: Path) -> None:
    """A dateless page outside a git clone shows no date: its modification time is when the
    folder was copied, not when the page was written."""
    _write(tmp_path, "_config.yml", "title: x\n")
    _write(tmp_path, "about.md", _page("about"))
    [article] = _load(tmp_path).articles
    assert article.date is None and article.day == ""


@pytest.mark.parametrize(
    "post",
    [
        "{% include bomb.html %} 本文。",  # includes itself six times, ten deep
        "{% for i in (1..199999) %}{% include leaf.html %}{% endfor %} 本文。",
    ],
)
def test_include_fan_out_is_bounded_per_document(
    tmp_path: Path, post: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Includes share one allowance per document, so a self-including include or an include
    in a long loop ends; the post keeps its own text and the rest of the site loads."""
    _write(tmp_path, "_config.yml", "title: t\n")
    _write(tmp_path, "_includes/bomb.html", "x{% include bomb.html %}" * 6)
    _write(tmp_path, "_includes/leaf.html", "葉")
    _write(tmp_path, "_posts/2025-01-01-bomb.md", _page("bomb", post))
    _write(tmp_path, "_posts/2025-01-02-fine.md", _page("fine"))
    with caplog.at_level(logging.WARNING):
        corpus = _load(tmp_path)
    bodies = _by_source(corpus)
    assert "本文。" in bodies["_posts/2025-01-01-bomb.md"].body
    assert bodies["_posts/2025-01-01-bomb.md"].body.count("葉") <= 500
    assert "_posts/2025-01-02-fine.md" in bodies
    assert "includes beyond 500" in caplog.text


def test_post_url_never_reads_a_post_linked_from_outside(tmp_path: Path) -> None:
    """`{% post_url %}` to a post that is a symbolic link out of the site: no URL, and
    nothing of the outside file is read (its permalink would come from its front matter)."""
    outside = _write(tmp_path / "outside", "2025-01-01-secret.md", "---\npermalink: /leak/\n---\nx")
    root = tmp_path / "site"
    _write(root, "_config.yml", "title: t\n")
    (root / "_posts").mkdir(parents=True)
    (root / "_posts" / "2025-01-01-secret.md").symlink_to(outside)
    _write(
        root,
        "_posts/2025-01-02-a.md",
        _page("a", "[x]({% post_url 2025-01-03-b %}) [y]({% post_url 2025-01-01-secret %}) 本文。"),
    )
    _write(root, "_posts/2025-01-03-b.md", _page("b"))
    body = _by_source(_load(root))["_posts/2025-01-02-a.md"].body
    assert "/2025/01/03/b" in body and "leak" not in body


def test_huge_data_and_config_files_are_not_read_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 1.5 GB `_data` file (sparse here) used to be read whole at every refresh; only
    the 5 MB allowance and one byte more are read now, and the file is ignored."""
    _write(tmp_path, "_config.yml", "title: t\n")
    _write(tmp_path, "_data/small.yml", "name: 小さい\n")
    _sparse_file(tmp_path / "_data" / "huge.yml", 1_500_000_000)
    _write(tmp_path, "_posts/2025-01-01-a.md", _page("a", "{{ site.data.small.name }}です。"))
    corpus, peak = _load_in_process_measuring_memory(tmp_path, caplog)
    assert peak < 50_000_000
    assert "小さいです。" in corpus.articles[0].body
    assert "ignored" in caplog.text and "huge.yml" in caplog.text


@pytest.mark.parametrize("url", ["http://[::1", "javascript:alert(1)", "https://", "http://a b"])
def test_an_unusable_config_url_is_ignored_not_put_in_every_link(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`url: "http://[::1"` skipped every file (and emptied the index); `javascript:`
    was put in every link. Now the URL is ignored with one line and the default used."""
    _write(tmp_path, "_config.yml", f"url: {json.dumps(url)}\n")
    _write(tmp_path, "_posts/2025-01-01-a.md", _page("a"))
    with caplog.at_level(logging.WARNING):
        corpus = _load(tmp_path)
    assert [a.url for a in corpus.articles] == [f"{SITE_URL}/2025/01/01/a.html"]
    assert "ignored url" in caplog.text


def test_include_and_exclude_patterns_are_capped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """10 000 exclude patterns were matched against every path (213 s for 300 posts)."""
    patterns = [f"never-{i}" for i in range(10_000)] + ["drafts-folder"]
    _write(tmp_path, "_config.yml", json.dumps({"exclude": patterns}))
    _write(tmp_path, "_posts/2025-01-01-a.md", _page("a"))
    with caplog.at_level(logging.WARNING):
        corpus = _load(tmp_path)
    assert len(corpus.site.exclude) < 1_000
    assert len(corpus.articles) == 1
    assert "kept the first 500 of 10001 exclude patterns" in caplog.text


def test_utf16_with_a_byte_order_mark_and_the_sites_encoding_are_read(tmp_path: Path) -> None:
    """Jekyll reads "bom|" + `encoding:`: a UTF-16 post with its mark was reported as a
    binary file, and `encoding: shift_jis` was ignored (every such post "not UTF-8")."""
    _write(tmp_path, "_config.yml", "encoding: Shift_JIS\n")
    sixteen = tmp_path / "_posts" / "2025-01-01-sixteen.md"
    sixteen.parent.mkdir(parents=True)
    sixteen.write_bytes(_page("十六", "UTF-16の本文です。").encode("utf-16"))
    (tmp_path / "_posts" / "2025-01-02-sjis.md").write_bytes(
        _page("シフト", "シフトJISの本文です。").encode("shift_jis")
    )
    corpus = _load(tmp_path)
    assert corpus.skipped == ()
    assert [(a.title, a.body) for a in corpus.articles] == [
        ("十六", "UTF-16の本文です。\n"),
        ("シフト", "シフトJISの本文です。\n"),
    ]


def test_post_url_finds_posts_in_one_walk_of_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`{% post_url %}` walked the site once per tag: 5 000 posts that each link the next
    took 240 s to read instead of 1.4 s. The posts are now listed once per read."""
    _write(tmp_path, "_config.yml", "title: t\n")
    for n in range(1, 29):
        link = f"[次]({{% post_url 2025-01-{n + 1:02d}-p{n + 1} %}})" if n < 28 else ""
        _write(tmp_path, f"_posts/2025-01-{n:02d}-p{n}.md", _page(f"p{n}", f"本文{n}。{link}"))
    walks: list[str] = []
    glob = Path.glob

    def counting(self: Path, pattern: str) -> Any:
        walks.append(pattern)
        return glob(self, pattern)

    monkeypatch.setattr(Path, "glob", counting)
    corpus = load_corpus(tmp_path, SITE_URL, "Asia/Tokyo", limits=ReadLimits(isolated=False))
    assert len(corpus.articles) == 28
    assert "/2025/01/02/p2.html" in corpus.articles[0].body
    assert len(walks) < 10


def test_a_huge_include_is_left_out_unread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 1.5 GB `_includes` file included once took the reader to 10.5 GB; it is now
    left out, with one line, before a byte of it is read."""
    _write(tmp_path, "_config.yml", "title: t\n")
    (tmp_path / "_includes").mkdir()
    _sparse_file(tmp_path / "_includes" / "huge.html", 1_500_000_000)
    _write(tmp_path, "_posts/2025-01-01-a.md", _page("a", "{% include huge.html %}本文です。"))
    corpus, peak = _load_in_process_measuring_memory(tmp_path, caplog)
    assert peak < 50_000_000
    assert corpus.articles[0].body == "本文です。\n"
    assert "left out include huge.html" in caplog.text
