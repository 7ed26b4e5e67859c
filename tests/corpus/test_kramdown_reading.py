"""Posts read as kramdown renders them: what Jekyll's page shows is what the bot quotes.

Each case here is one where CommonMark (the parser the bot uses) and kramdown (the one
Jekyll renders with) disagree, and the reader of the built page would otherwise see an
excerpt that is not on it: raw link syntax, asterisks, a footnote marker glued into a
sentence, or two list items run into one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.corpus.html_text import html_blocks
from bot.corpus.markdown import document_blocks, strip_inline
from bot.corpus.passages import split_article, split_sentences
from bot.corpus.reader import load_corpus
from tests.conftest import SITE_URL


def _texts(markdown: str) -> list[str]:
    return [block.text for block in document_blocks(markdown)]


def _sentences(markdown: str) -> list[str]:
    return [s.text for b in document_blocks(markdown) for s in split_sentences(b.text)]


def _passage_texts(root: Path, body: str) -> list[str]:
    post = root / "_posts" / "2025-01-01-post.md"
    post.parent.mkdir(parents=True, exist_ok=True)
    post.write_text(f"---\ntitle: 記事\n---\n\n{body}\n", encoding="utf-8")
    [article] = load_corpus(root, SITE_URL, "Asia/Tokyo").articles
    return [p.text for p in split_article(article, 320, 0)]


# 1. Link targets with spaces


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            "[team organizationタグ](/#tag_team organization)の記事。",
            "team organizationタグの記事。",
        ),
        ('[題](/a b "タイトル")を見る。', "題を見る。"),
        ("[題](/a b 'タイトル')を見る。", "題を見る。"),
        ("[題](</a b>)を見る。", "題を見る。"),
        ('[題](</a b> "タイトル")を見る。', "題を見る。"),
        ("[括弧](/wiki/A (b) c)の例。", "括弧の例。"),
        ("[**強調**リンク](/x y)だ。", "強調リンクだ。"),
    ],
)
def test_link_target_with_spaces_keeps_only_the_link_text(markdown: str, expected: str) -> None:
    """kramdown accepts spaces in an inline link's target; the page shows the link text."""
    assert _texts(markdown) == [expected]


def test_reference_link_with_a_space_before_its_id() -> None:
    """`[text] [id]` is a reference link in kramdown: its text only, no brackets."""
    markdown = '通り([*1] [1])、進めます。\n\n[1]: http://example.com/start "開始"'
    assert _texts(markdown) == ["通り(*1)、進めます。"]


def test_brackets_that_are_not_links_stay_text() -> None:
    """No target and no definition: kramdown shows the brackets, and so does the bot."""
    assert _texts("[注] (2020年) と [未定義] [id] の話。") == [
        "[注] (2020年) と [未定義] [id] の話。"
    ]


def test_image_with_spaces_in_its_target_is_not_text() -> None:
    """An image (even with a lenient target) shows a picture, not its alt text."""
    assert _texts('![スクリーンショット](/img/a b.png)\n\n![図](x.png "t") 本文。') == ["本文。"]


# 2. Footnotes


def test_footnote_reference_is_not_glued_into_the_sentence() -> None:
    """The reference is a superscript number on the page: the sentence reads without it."""
    sentences = _sentences("本文[^1]です。続き[^note]。\n\n[^1]: 一つ目。\n[^note]: 二つ目。")
    assert sentences[:2] == ["本文です。", "続き。"]
    assert not any("[" in s or "^" in s for s in sentences)


def test_footnotes_are_the_last_paragraphs_in_reference_order() -> None:
    """kramdown lists the notes at the end, numbered by first reference; unused ones go."""
    markdown = (
        "前[^b]と後[^a]。\n\n[^a]: 注A。\n[^b]: 注B の[リンク](http://x)。\n[^c]: 使われない。"
        "\n\n## 最後の見出し\n\n最後の段落。"
    )
    assert _texts(markdown) == [
        "前と後。",
        "最後の見出し",
        "最後の段落。",
        "注B のリンク。",
        "注A。",
    ]


def test_footnote_text_in_a_passage(tmp_path: Path) -> None:
    """A passage quoting a note shows the note's words, with no "[1]" or "↩" around them."""
    body = "本文[^1]です。\n\n[^1]: 2022/08/02: 期限を延長しました。"
    assert _passage_texts(tmp_path, body) == ["本文です。2022/08/02: 期限を延長しました。"]


# 3. Items never run together


def test_definition_list_terms_and_definitions_are_separate_sentences() -> None:
    """`term` / `: definition` is a definition list: no ": " marker, each its own sentence."""
    markdown = "1.9 系\n: * r18423 以前の全てのリビジョン\n\n用語\n: 定義一\n: 定義二"
    assert _sentences(markdown) == [
        "1.9 系",
        "r18423 以前の全てのリビジョン",
        "用語",
        "定義一",
        "定義二",
    ]


def test_block_html_inside_a_paragraph_ends_the_line() -> None:
    """`<li>` or `<p>` written inside a line of text still separates the items."""
    sentences = _sentences("変更点：<ul><li>Xの導入</li><li>Issue #679の修正</li></ul>")
    assert sentences == ["変更点：", "Xの導入", "Issue #679の修正"]


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<details><summary>詳細</summary>本文です。</details>", ["詳細", "本文です。"]),
        (
            "<figure><img src=x><figcaption>図の説明</figcaption></figure>続き。",
            ["図の説明", "続き。"],
        ),
        ("<header>ヘッダ</header><nav>ナビ</nav><main>本体</main>", ["ヘッダ", "ナビ", "本体"]),
    ],
)
def test_html_block_elements_do_not_run_together(markup: str, expected: list[str]) -> None:
    """Every block-level element of raw HTML starts a new paragraph."""
    assert [b.text for b in html_blocks(markup, 0)] == expected


def test_list_items_and_definitions_are_separate_sentences() -> None:
    """Each list item, term and definition (and a heading and its text) is its own sentence."""
    body = "## 変更点\n- Xの導入\n- Issue #679の修正\n\n用語\n: 定義"
    assert _sentences(body) == ["変更点", "Xの導入", "Issue #679の修正", "用語", "定義"]


# 4. Emphasis


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            "**チームトポロジーのモデルは、**私が考えるに良い。",
            "チームトポロジーのモデルは、私が考えるに良い。",
        ),
        ("これは**「重要」**です。", "これは「重要」です。"),
        ("*「斜体」*の例。", "「斜体」の例。"),
        ("例と__「太字」__の例。", "例と__「太字」__の例。"),  # `_` not after/before a letter
        ("snake_case_name と 2 * 3 * 4 はそのまま。", "snake_case_name と 2 * 3 * 4 はそのまま。"),
        ("`**` はコード。", "** はコード。"),
    ],
)
def test_emphasis_is_read_as_kramdown_reads_it(markdown: str, expected: str) -> None:
    """kramdown closes emphasis after punctuation before a letter (CommonMark does not)."""
    assert _texts(markdown) == [expected]
    assert strip_inline(markdown) == expected


def test_emphasis_does_not_split_the_sentence(tmp_path: Path) -> None:
    """The emphasised clause and the rest are one sentence, with no markup left."""
    body = "**チームトポロジーのモデルは、**私が考えるに良い。次の文。"
    assert _sentences(body) == ["チームトポロジーのモデルは、私が考えるに良い。", "次の文。"]
    assert _passage_texts(tmp_path, body) == [
        "チームトポロジーのモデルは、私が考えるに良い。次の文。"
    ]


# Block structure kramdown delimits differently


def test_html_block_runs_to_its_end_tag() -> None:
    """Blank lines inside a `<div>` do not end it (nor turn indented HTML into code)."""
    markdown = (
        '<div class="row">\n  <div class="card">\n    <span>RubyKaigi 2025</span>\n  </div>\n\n'
        '    <div class="card">\n      <span>Kaigi on Rails 2024</span>\n    </div>\n</div>\n\n後。'
    )
    assert _texts(markdown) == ["RubyKaigi 2025", "Kaigi on Rails 2024", "後。"]


def test_markdown_right_after_an_html_block_is_markdown() -> None:
    """After `</blockquote>` the next line is Markdown again, not raw text."""
    markdown = "<blockquote>\n  <p>引用。</p>\n</blockquote>\n[RubyKaigi 2022](https://rubykaigi.org/2022/)\n"
    assert _texts(markdown) == ["引用。", "RubyKaigi 2022"]


def test_end_of_block_marker_ends_a_list() -> None:
    """A `^` line ends the list, so the indented lines after it are a code block."""
    markdown = "* patch.diff\n^\n\n    --- a/utils.rb\n    +++ b/utils.rb\n\n後。"
    assert _texts(markdown) == ["patch.diff", "後。"]


def test_pipe_lines_are_a_kramdown_table() -> None:
    """A paragraph of lines with `|` is a table in kramdown (no separator line needed)."""
    markdown = "## issues\n\nOpen : 111 (+3) | Closed : 70 (+4)\n\n文中の | は本文。\nそのまま。"
    assert _texts(markdown) == ["issues", "文中の | は本文。\nそのまま。"]


def test_attribute_list_syntax_inside_code_is_code() -> None:
    """`{:desc, Date}` in a code span is Elixir, not a kramdown attribute list."""
    assert _texts("渡すのは `{:desc, Date}` です。本文{: .note}。") == [
        "渡すのは {:desc, Date} です。本文。"
    ]
