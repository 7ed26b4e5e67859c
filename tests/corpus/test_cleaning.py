"""What readers are shown: Liquid rendered, Markdown reduced to text, sections kept apart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.corpus.articles import Article
from bot.corpus.markdown import document_blocks, strip_inline
from bot.corpus.passages import Passage, heading_anchors, split_article
from bot.corpus.reader import load_corpus
from tests.conftest import SITE_URL


def _article(root: Path, body: str, *, config: str = "", data: str = "") -> Article:
    if config:
        (root / "_config.yml").write_text(config, encoding="utf-8")
    if data:
        (root / "_data").mkdir(parents=True, exist_ok=True)
        (root / "_data" / "releases.yml").write_text(data, encoding="utf-8")
    post = root / "_posts" / "2025-01-01-post.md"
    post.parent.mkdir(parents=True, exist_ok=True)
    post.write_text(f"---\ntitle: 記事\nversion: 3.4\n---\n\n{body}\n", encoding="utf-8")
    [article] = load_corpus(root, SITE_URL, "Asia/Tokyo").articles
    return article


def _passages(root: Path, body: str, **kw: str) -> list[Passage]:
    return split_article(_article(root, body, **kw), 320, 0)


def _text(root: Path, body: str, **kw: str) -> str:
    return "\n".join(p.text for p in _passages(root, body, **kw))


def test_liquid_variables_tags_and_filters_are_rendered(tmp_path: Path) -> None:
    """page.*, site.*, site.data, assign, if, for and filters become text."""
    body = (
        "{% assign r = site.data.releases | where: 'version', '4.0.0' | first %}"
        "Ruby {{ r.version }} は {{ page.version }} の次、{{ site.title | upcase }}。"
        "{% if r %}あり。{% endif %}{% for x in (1..3) %}{{ x }}{% endfor %}"
    )
    data = "- version: 4.0.0\n- version: 3.4.0\n"
    text = _text(tmp_path, body, config="title: blog\n", data=data)
    assert text == "Ruby 4.0.0 は 3.4 の次、BLOG。あり。123"


def test_highlight_is_code_and_unknown_tags_vanish(tmp_path: Path) -> None:
    """{% highlight %} is a code block (not prose); a tag no one knows renders as nothing."""
    body = "前。\n\n{% highlight ruby %}\nputs 1\n{% endhighlight %}\n\n後{% nosuch x %}。"
    assert _text(tmp_path, body) == "前。後。"


def test_unrenderable_liquid_is_stripped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A template python-liquid cannot parse loses its tags, never shows them."""
    with caplog.at_level(logging.WARNING):
        text = _text(tmp_path, "前{% if %}中{{ x | }}後。{% for %}")
    assert "{" not in text and "前" in text and "後。" in text
    assert sum("not rendered" in r.getMessage() for r in caplog.records) <= 1


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[本文][1]を見て。\n\n[1]: https://example.com/a", "本文を見て。"),
        ("[本文](https://example.com/**a**)だ。", "本文だ。"),
        ("double splat演算子（`**`）を使う。", "double splat演算子（**）を使う。"),
        ("**太字**と<b>タグ</b>と&amp;。", "太字とタグと&。"),
        ("要約。\n{: .summary}", "要約。"),
        ("注釈つき[^1]。\n\n[^1]: 注釈の本文。", "注釈つき。注釈の本文。"),
        ("表の前。\n\n| a | b |\n|---|---|\n| c | d |", "表の前。"),
        ("前。\n\n```ruby\nputs 1\n```\n\n    indented code\n", "前。"),
    ],
)
def test_markdown_becomes_plain_prose(tmp_path: Path, markdown: str, expected: str) -> None:
    """Links keep their text, code spans their content; definitions, code and tables go."""
    assert _text(tmp_path, markdown) == expected


def test_kramdown_ids_and_headings_without_blank_lines(tmp_path: Path) -> None:
    """`{: #id}` sets the id; a heading needs no blank line around it."""
    body = "## 概要\n{: #summary}\n本文一。\n## 詳細\n本文二。"
    article = _article(tmp_path, body)
    assert heading_anchors(article) == ["summary", "詳細"]
    assert [(p.heading, p.anchor) for p in split_article(article)] == [
        ("概要", "summary"),
        ("詳細", "詳細"),
    ]


def test_repeated_paragraph_under_another_heading_is_kept(tmp_path: Path) -> None:
    """The same paragraph in two sections is quoted in both; twice in one, once."""
    para = "この段落は四十文字を十分に超える長さで、二つの節に全く同じ文章として現れる段落です。"
    body = f"## 一\n\n{para}\n\n{para}\n\n## 二\n\n{para}"
    passages = _passages(tmp_path, body)
    assert [p.heading for p in passages] == ["一", "二"]
    assert all(p.text == para for p in passages)


def test_passages_never_join_two_sections(tmp_path: Path) -> None:
    """Two headings with the same explicit id still give separate passages."""
    body = "## 一\n{: #same}\n\n文一。\n\n## 二\n{: #same}\n\n文二。"
    assert [p.text for p in _passages(tmp_path, body)] == ["文一。", "文二。"]


def test_sentence_starts_increase_through_the_article(tmp_path: Path) -> None:
    """Each sentence has its own start offset, in reading order (units key on it)."""
    body = "[長いリンク文字列](https://example.com/very/long) 一。二。\n\n三。四。"
    starts = [s.start for p in _passages(tmp_path, body) for s in p.sentences]
    assert starts == sorted(set(starts)) and len(starts) == 4


def test_strip_inline_for_titles() -> None:
    """Titles and excerpts lose emphasis and links but keep code text."""
    assert strip_inline("**Meta** の [Llama](https://x) と `a*b`") == "Meta の Llama と a*b"


def test_html_heading_ids_are_taken_as_written() -> None:
    """Raw HTML headings keep their own id and get none generated."""
    blocks = document_blocks('<h2 id="x">見出し</h2>\n\n本文。\n')
    assert next((b.text, b.explicit_id, b.generated) for b in blocks) == ("見出し", "x", False)
