"""Link rules pinned to what Jekyll 4 (defaults) and kramdown-parser-gfm produce."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from bot.corpus.heading_ids import HeadingIds
from bot.corpus.permalinks import (
    PERMALINK_STYLES,
    absolute_url,
    expand_permalink,
    heading_link,
    post_slug_from_filename,
)

POSTS_DIR = Path(__file__).resolve().parents[2] / "corpus" / "_posts"
TOKYO = ZoneInfo("Asia/Tokyo")
SITE_URL = "http://localhost:4000"
DEFAULT_TEMPLATE = "/:categories/:year/:month/:day/:title:output_ext"
# 2025-12-11 11:25:14 in Tokyo: a Thursday, ISO week 50, day 345 of the year.
DATE = datetime(2025, 12, 11, 11, 25, 14, tzinfo=TOKYO)

# The five sample posts: file name, front matter date and category, and the URL Jekyll
# serves. Worked by hand: the date is shown in Asia/Tokyo (Utils.parse_date ... .localtime
# under TZ=site timezone), the category is only downcased (UrlDrop#categories; Japanese has
# no case) and each UTF-8 byte is escaped as upper-case %XX (URL.escape_path).
SAMPLE_POSTS = [
    (
        "2025-12-11-cb9ba47eba2e6bbf.md",
        "2025-12-11 02:25:14 +0000",
        "AI導入戦略",
        "http://localhost:4000/ai%E5%B0%8E%E5%85%A5%E6%88%A6%E7%95%A5"
        "/2025/12/11/cb9ba47eba2e6bbf.html",
    ),
    (
        "2025-12-13-47d2f6d40203a5c2.md",
        "2025-12-12 16:41:50 +0000",
        "AI技術ガイド",
        "http://localhost:4000/ai%E6%8A%80%E8%A1%93%E3%82%AC%E3%82%A4%E3%83%89"
        "/2025/12/13/47d2f6d40203a5c2.html",
    ),
    (
        "2025-12-16-efc44d18642c6773.md",
        "2025-12-15 20:38:57 +0000",
        "AI技術ガイド",
        "http://localhost:4000/ai%E6%8A%80%E8%A1%93%E3%82%AC%E3%82%A4%E3%83%89"
        "/2025/12/16/efc44d18642c6773.html",
    ),
    (
        "2026-01-01-55c007909e286ea6.md",
        "2026-01-01 04:57:40 +0000",
        "投資分析",
        "http://localhost:4000/%E6%8A%95%E8%B3%87%E5%88%86%E6%9E%90/2026/01/01/55c007909e286ea6.html",
    ),
    (
        "2026-02-06-8ac7c5b51012d51b.md",
        "2026-02-05 17:08:42 +0000",
        "AI最新ニュース",
        "http://localhost:4000/ai%E6%9C%80%E6%96%B0%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9"
        "/2026/02/06/8ac7c5b51012d51b.html",
    ),
]


def tokyo(utc_text: str) -> datetime:
    """A front matter date shown in the site timezone."""
    return datetime.strptime(utc_text, "%Y-%m-%d %H:%M:%S %z").astimezone(TOKYO)


@pytest.mark.parametrize(("filename", "date", "category", "expected"), SAMPLE_POSTS)
def test_sample_post_absolute_urls(filename: str, date: str, category: str, expected: str) -> None:
    """Each sample post gets the absolute URL Jekyll's default permalink gives it."""
    path = expand_permalink(
        DEFAULT_TEMPLATE,
        date=tokyo(date),
        categories=[category],
        title=post_slug_from_filename(filename),
    )
    assert absolute_url(SITE_URL, "", path) == expected


@pytest.mark.parametrize(("filename", "date", "category", "expected"), SAMPLE_POSTS)
def test_sample_table_matches_corpus(
    filename: str, date: str, category: str, expected: str
) -> None:
    """The sample table repeats the corpus front matter exactly."""
    text = (POSTS_DIR / filename).read_text(encoding="utf-8")
    assert re.search(rf"^date: {re.escape(date)}$", text, re.MULTILINE)
    assert re.search(rf'^categories: \["{re.escape(category)}"\]$', text, re.MULTILINE)


@pytest.mark.parametrize(
    ("style", "template"),
    [
        ("none", "/:categories/:title:output_ext"),
        ("date", "/:categories/:year/:month/:day/:title:output_ext"),
        ("ordinal", "/:categories/:year/:y_day/:title:output_ext"),
        ("pretty", "/:categories/:year/:month/:day/:title/"),
        ("weekdate", "/:categories/:year/W:week/:short_day/:title:output_ext"),
    ],
)
def test_permalink_styles_match_jekyll(style: str, template: str) -> None:
    """Style names map to Jekyll's STYLE_TO_PERMALINK templates."""
    assert PERMALINK_STYLES[style] == template


@pytest.mark.parametrize(
    ("template", "categories", "expected"),
    [
        ("date", ["AI導入戦略"], "/ai%E5%B0%8E%E5%85%A5%E6%88%A6%E7%95%A5/2025/12/11/abc.html"),
        ("pretty", ["AI導入戦略"], "/ai%E5%B0%8E%E5%85%A5%E6%88%A6%E7%95%A5/2025/12/11/abc/"),
        ("none", ["News"], "/news/abc.html"),
        ("ordinal", ["News"], "/news/2025/345/abc.html"),
        ("weekdate", ["News"], "/news/2025/W50/Thu/abc.html"),
        ("date", [], "/2025/12/11/abc.html"),
        ("date", ["", "News", ""], "/news/2025/12/11/abc.html"),
        ("date", ["Tech", "AI"], "/tech/ai/2025/12/11/abc.html"),
        ("date", ["AI", "ai", "Ai"], "/ai/2025/12/11/abc.html"),
        ("date", ["Machine Learning"], "/machine%20learning/2025/12/11/abc.html"),
        ("date", ["C++", "Q&A?"], "/c++/q&a%3F/2025/12/11/abc.html"),
        ("date", ["100%", "#1"], "/100%25/%231/2025/12/11/abc.html"),
        ("date", ["ＡＩ"], "/%EF%BD%81%EF%BD%89/2025/12/11/abc.html"),
        ("date", ["ΟΔΟΣ"], "/%CE%BF%CE%B4%CE%BF%CF%83/2025/12/11/abc.html"),
        ("/:categories/:title/", ["a/b"], "/a/b/abc/"),
        ("/articles/:year/:title/", ["News"], "/articles/2025/abc/"),
        ("/:year_:month_:day/:title:output_ext", [], "/2025_12_11/abc.html"),
        ("/:i_month/:i_day/:short_year/:hour:minute:second", [], "/12/11/25/112514"),
        (
            "/:short_month/:long_month/:long_day/:w_year-:week-:w_day",
            [],
            "/Dec/December/Thursday/2025-50-4",
        ),
        (
            "/:collection/:slugified_categories/:title",
            ["Machine Learning", "AI導入"],
            "/posts/machine-learning/ai%E5%B0%8E%E5%85%A5/abc",
        ),
        ("/:title/index.html", [], "/abc/index.html"),
        ("/../:title/./x/", [], "/abc/x/"),
    ],
)
def test_expand_permalink(template: str, categories: list[str], expected: str) -> None:
    """Templates and style names expand, escape and collapse as Jekyll's URL#to_s."""
    assert expand_permalink(template, date=DATE, categories=categories, title="abc") == expected


@pytest.mark.parametrize(
    ("title", "slug", "expected"),
    [
        ("8ac7c5b51012d51b", None, "/8ac7c5b51012d51b|8ac7c5b51012d51b"),
        ("Hello World?", None, "/Hello-World|hello-world"),
        ("My_Post.v2", None, "/My_Post.v2|my-post-v2"),
        (
            "記事 タイトル",
            None,
            "/%E8%A8%98%E4%BA%8B-%E3%82%BF%E3%82%A4%E3%83%88%E3%83%AB"
            "|%E8%A8%98%E4%BA%8B-%E3%82%BF%E3%82%A4%E3%83%88%E3%83%AB",
        ),
        ("abc", "Custom Slug", "/Custom-Slug|custom-slug"),
    ],
)
def test_title_and_slug_placeholders(title: str, slug: str | None, expected: str) -> None:
    """:title is slugified "pretty" (cased), :slug "default"; a front matter slug wins."""
    path = expand_permalink("/:title|:slug", date=DATE, categories=[], title=title, slug=slug)
    assert path == expected


def test_output_ext_placeholder() -> None:
    """:output_ext takes the converter's extension."""
    path = expand_permalink("none", date=DATE, categories=[], title="abc", output_ext=".json")
    assert path == "/abc.json"


@pytest.mark.parametrize("template", ["/:path/", "/:name/", "/:nonsense/"])
def test_unknown_placeholder_raises(template: str) -> None:
    """A placeholder Jekyll's UrlDrop has no value for is an error."""
    with pytest.raises(ValueError, match="URL template"):
        expand_permalink(template, date=DATE, categories=[], title="abc")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("2026-02-06-8ac7c5b51012d51b.md", "8ac7c5b51012d51b"),
        ("_posts/2026/2026-02-06-8ac7c5b51012d51b.markdown", "8ac7c5b51012d51b"),
        ("2026-2-6-hello-world.md", "hello-world"),
        ("2026-02-06-version.1.2.md", "version.1.2"),
        ("2026-02-06-trailing...md", "trailing"),
        ("2026-02-06-日本語の記事.md", "日本語の記事"),
    ],
)
def test_post_slug_from_filename(filename: str, expected: str) -> None:
    """The slug is what follows the date in a DATE_FILENAME_MATCHER name."""
    assert post_slug_from_filename(filename) == expected


@pytest.mark.parametrize(
    "filename", ["about.md", "2026-02-06-no-extension", "20260206-x.md", "２０２６-02-06-x.md"]
)
def test_post_slug_rejects_non_post_names(filename: str) -> None:
    """Names Jekyll does not read as posts are refused."""
    with pytest.raises(ValueError, match="post file name"):
        post_slug_from_filename(filename)


@pytest.mark.parametrize(
    ("site_url", "baseurl", "path", "expected"),
    [
        (SITE_URL, "", "/2025/12/11/abc.html", "http://localhost:4000/2025/12/11/abc.html"),
        (
            SITE_URL,
            "/blog",
            "/2025/12/11/abc.html",
            "http://localhost:4000/blog/2025/12/11/abc.html",
        ),
        (SITE_URL, "/blog/", "/abc/", "http://localhost:4000/blog/abc/"),
        (SITE_URL, "blog", "abc.html", "http://localhost:4000/blog/abc.html"),
        (SITE_URL + "/", "/blog/", "/abc.html", "http://localhost:4000/blog/abc.html"),
        (SITE_URL, "/blog", "", "http://localhost:4000/blog"),
        (SITE_URL, "", "", "http://localhost:4000/"),
        ("HTTPS://Example.COM:443", "", "/a.html", "https://example.com/a.html"),
        ("https://example.com:8443", "", "/a.html", "https://example.com:8443/a.html"),
        (SITE_URL, "", "/%e8%a8%98/%7Eme", "http://localhost:4000/%E8%A8%98/~me"),
        (
            SITE_URL,
            "",
            "/記事 一覧/",
            "http://localhost:4000/%E8%A8%98%E4%BA%8B%20%E4%B8%80%E8%A6%A7/",
        ),
        (SITE_URL, "", "/%E3%81%8B%E3%82%99/", "http://localhost:4000/%E3%81%8C/"),
        (SITE_URL, "/blog", "https://other.example/x", "https://other.example/x"),
        ("", "/blog", "/abc.html", "/blog/abc.html"),
    ],
)
def test_absolute_url(site_url: str, baseurl: str, path: str, expected: str) -> None:
    """site_url + baseurl + path, normalized like Jekyll's absolute_url filter."""
    assert absolute_url(site_url, baseurl, path) == expected


@pytest.mark.parametrize(
    ("anchor", "expected_fragment"),
    [
        (None, ""),
        ("", ""),
        ("hello-world", "#hello-world"),
        ("見出し-1", "#%E8%A6%8B%E5%87%BA%E3%81%97-1"),
        (
            "投資家と技術者が今考えるべきこと",
            "#%E6%8A%95%E8%B3%87%E5%AE%B6%E3%81%A8%E6%8A%80%E8%A1%93%E8%80%85"
            "%E3%81%8C%E4%BB%8A%E8%80%83%E3%81%88%E3%82%8B%E3%81%B9%E3%81%8D%E3%81%93%E3%81%A8",
        ),
        ("code_x", "#code_x"),
    ],
)
def test_heading_link_fragment(anchor: str | None, expected_fragment: str) -> None:
    """A heading id becomes a percent-encoded UTF-8 fragment; none or empty adds nothing."""
    url = heading_link(absolute_url(SITE_URL, "/blog", "/a.html"), anchor)
    assert url == "http://localhost:4000/blog/a.html" + expected_fragment


@pytest.mark.parametrize(
    ("article_url", "anchor", "expected"),
    [
        ("http://localhost:4000/2025/12/25/ruby-4/", "ruby-box", "/2025/12/25/ruby-4/#ruby-box"),
        ("http://localhost:4000/a.html", "a b#c%d", "/a.html#a%20b%23c%25d"),
        ("http://localhost:4000/a.html", "q?/x:@!$&'()*+,;=", "/a.html#q?/x:@!$&'()*+,;="),
        ("http://localhost:4000/a.html", 'x"<>`{}|\\^', "/a.html#x%22%3C%3E%60%7B%7D%7C%5C%5E"),
    ],
)
def test_heading_link_joins_the_article_url_as_it_is(
    article_url: str, anchor: str, expected: str
) -> None:
    """The article's URL is kept to the character (its trailing "/" too); only the id is
    escaped: what a fragment may hold stays, the rest is percent-encoded."""
    assert heading_link(article_url, anchor) == SITE_URL + expected


def test_heading_link_to_a_page_served_elsewhere() -> None:
    """A permalink that is already a full URL is linked to as it is, as Jekyll serves it."""
    url = absolute_url(SITE_URL, "/blog", "https://Other.example/X%7e/")
    assert heading_link(url, "見出し") == "https://Other.example/X%7e/#%E8%A6%8B%E5%87%BA%E3%81%97"


@pytest.mark.parametrize("anchor", ["画像生成の競争を超えてmetaが狙う本質とは", "ⅳ--ⓐ-０", "é-あ"])
def test_anchor_is_ascii_and_decodes_to_the_id(anchor: str) -> None:
    """The fragment is plain ASCII and percent-decodes back to the exact heading id."""
    url = heading_link(absolute_url(SITE_URL, "", "/a.html"), anchor)
    assert url.isascii()
    assert unquote(urlsplit(url).fragment) == anchor


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        (
            "画像生成の競争を超えて、Metaが狙う「本質」とは？",
            "画像生成の競争を超えてmetaが狙う本質とは",
        ),
        ("投資家と技術者が今、考えるべきこと", "投資家と技術者が今考えるべきこと"),
        (
            "Llama 4の登場で、Metaが描くオープンAI戦略の深層とは何か？",
            "llama-4の登場でmetaが描くオープンai戦略の深層とは何か",
        ),
        (
            "マルチモーダルAI：なぜ今、そこまで重要なのか？",
            "マルチモーダルaiなぜ今そこまで重要なのか",
        ),
        ("MetaのAIへの“本気”と過去の教訓", "metaのaiへの本気と過去の教訓"),
        ("日本語・中黒々", "日本語中黒々"),
        ("Hello, World!", "hello-world"),
        ("  Spaces  around  ", "spaces--around"),
        ("Tab\there", "tab-here"),
        ("1. Numbers first", "1-numbers-first"),
        ("Ⅳ ① ⓐ ０", "ⅳ--ⓐ-０"),
        ("ΟΔΟΣ", "οδοσ"),
        ("**Bold** and *em*", "bold-and-em"),
        ("`code_x` in __strong__ and _em_", "code_x-in-strong-and-em"),
        ("snake_case_name", "snake_case_name"),
        ("[Llama 4](https://llama.meta.com/a_b) リリース", "llama-4-リリース"),
        ("![logo](logo.png) Logo", "-logo"),
        ("<span>HTML</span> &amp; &eacute; &#x3042;", "html--é-あ"),
        ("<https://a--b.example>", "httpsa--bexample"),
        ("a -- b --- c", "a--b--c"),
        ("a \\-\\- b \\_x\\_", "a----b-_x_"),
        ("Closing hashes ##", "closing-hashes"),
        ("##", ""),
        ("C# basics", "c-basics"),
        ("Custom {#my-id}", "my-id"),
        ("？！", ""),
    ],
)
def test_heading_id(heading: str, expected: str) -> None:
    """Heading text maps to kramdown-parser-gfm's generate_gfm_header_id result."""
    assert HeadingIds().generate(heading) == expected


@pytest.mark.parametrize(
    ("headings", "expected"),
    [
        (["概要", "概要", "概要"], ["概要", "概要-1", "概要-2"]),
        (["Hello, World!", "hello world"], ["hello-world", "hello-world-1"]),
        (["a", "a", "a-1"], ["a", "a-1", "a-1"]),
        (["？", "！"], ["", "-1"]),
        (["Intro {#intro}", "Intro", "Intro"], ["intro", "intro", "intro-1"]),
    ],
)
def test_duplicate_heading_ids(headings: list[str], expected: list[str]) -> None:
    """Repeated ids get -1, -2 suffixes counted per base id, as GFM's @id_counter does."""
    ids = HeadingIds()
    assert [ids.generate(heading) for heading in headings] == expected


def test_heading_ids_are_per_document() -> None:
    """A new generator starts with no used ids."""
    first, second = HeadingIds(), HeadingIds()
    assert first.generate("まとめ") == "まとめ"
    assert second.generate("まとめ") == "まとめ"


@pytest.mark.parametrize("heading", ["", "   ", " \t "])
def test_empty_heading_raises(heading: str) -> None:
    """Text kramdown would not parse as a heading is refused."""
    with pytest.raises(ValueError, match="empty"):
        HeadingIds().generate(heading)
