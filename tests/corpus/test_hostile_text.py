"""A blog's text is untrusted: no heading, post or table may stall the reader or exhaust
its memory. Each hostile input is generated here, sized so that the reading it guards
takes a fraction of a second and the unbounded reading took far longer (or far more).
"""

from __future__ import annotations

import tracemalloc

from bot.corpus import liquid_render
from bot.corpus.heading_ids import HeadingIds
from bot.corpus.html_text import html_blocks
from bot.corpus.markdown import document_blocks
from tests.hostile import finishes


def test_a_heading_of_backticks_gets_its_id_at_once() -> None:
    heading = "`" * 12_000
    assert finishes(lambda: HeadingIds().generate(heading)) == ""
    assert HeadingIds().generate("a ``b` c`` d") == "a-b-c-d"


def test_a_heading_of_open_brackets_gets_its_id_at_once() -> None:
    heading = "[" * 50_000 + "x"
    assert finishes(lambda: HeadingIds().generate(heading)) == "x"
    assert HeadingIds().generate("[a](b) [c][d] [^1] ![i](p) [e") == "a-c---e"


def test_unclosed_underscores_in_a_heading_do_not_stall_its_id() -> None:
    heading = "_1" * 40_000
    assert finishes(lambda: HeadingIds().generate(heading)) == heading
    assert HeadingIds().generate("__a _b_ c__ d_e") == "a-b-c-d_e"


def test_deeply_nested_underscores_in_a_heading_do_not_stall_its_id() -> None:
    depth = 8_000
    heading = "_a " * depth + "x" + " a_" * depth
    generated = finishes(lambda: HeadingIds().generate(heading))
    assert generated.startswith("a-" * 32 + "_a-")  # nesting past 32 levels stays as written
    assert HeadingIds().generate("_a " * 30 + "x" + " a_" * 30) == "a-" * 30 + "x" + "-a" * 30


def _render(text: str) -> str:
    return liquid_render.render(
        text, page={}, site={}, links=lambda _tag, _arg: "", includes=None, source="post.md"
    )


def test_thousands_of_unclosed_raw_tags_render_at_once() -> None:
    post = "{% raw %}" * 16_000 + "{{ x }}"
    assert finishes(lambda: _render(post)) == ""
    assert _render("{% raw %}{{ a }}{% endraw %} {{ 'b' }}") == "{{ a }} b"


def test_a_tag_left_open_before_a_megabyte_of_letters_renders_at_once() -> None:
    letters = "a" * 1_000_000
    assert finishes(lambda: _render("{{ 'b' }} {% " + letters)) == "  " + letters
    assert _render("{% assign v = 'c' %}{{ v }} {% unknown %}d") == "c d"


def test_stripping_liquid_from_hostile_text_is_linear() -> None:
    assert finishes(lambda: liquid_render.strip_liquid("{%" * 250_000)) == ""
    assert finishes(lambda: liquid_render.strip_liquid("{% comment %}" * 16_000)) == ""
    assert liquid_render.strip_liquid("a{% comment %}b{% endcomment %}{{ c }}{% d %}") == "a"


def test_a_filter_cannot_build_a_value_of_hundreds_of_megabytes() -> None:
    """A string doubled 13 times, split into characters and joined with itself: 268 MB."""
    doubled = (
        '{% assign s = "ab" %}{% for i in (1..13) %}{% assign s = s | append: s %}{% endfor %}'
    )
    tracemalloc.start()
    try:
        rendered = _render(doubled + "{{ s | split: '' | join: s }}")
        assert _render(doubled.replace("13", "40") + "{{ s | size }}") == ""
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rendered == ""  # not rendered: its Liquid is removed
    assert peak < 50_000_000
    assert _render(doubled.replace("13", "3") + "{{ s | size }}") == "16"


def test_a_long_pipe_table_is_read_in_bounded_memory() -> None:
    """Each cell was a handful of markdown-it tokens: a 150 kB table took about 95 MB."""
    row = "|a" * 20 + "|\n"
    document = "|h" * 20 + "|\n" + "|-" * 20 + "|\n" + row * 3_500 + "\nafter\n\n|b|\n|-|\n|c|\n"
    tracemalloc.start()
    try:
        blocks = document_blocks(document)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [block.text for block in blocks] == ["after"]
    assert peak < 30_000_000


def test_unclosed_html_comments_and_tags_are_read_at_once() -> None:
    comments = "<div>\n" + "<!--" * 40_000
    assert [block.text for block in finishes(lambda: document_blocks(comments))] == [comments[6:]]
    tags = "<div>\n" + "<a " * 10_000 + "\n\nafter"
    assert [block.text for block in finishes(lambda: document_blocks(tags))][-1] == "after"
    kept = "<div>a <!-- b --> c</div>\n\n<p>d <!-- e > f</p>\n\n<p>g <h x\n"
    assert [block.text for block in document_blocks(kept)] == ["a c", "d <!-- e > f", "g <h x"]


def test_a_pipe_before_thousands_of_backticks_is_read_at_once() -> None:
    """The table check's code-span pattern backtracked cubically ("|" + 3 000 backticks:
    1.3 s; 12 000: over a minute)."""
    text = "前の段落です。\n\n| a " + "`" * 12_000 + "\n"
    blocks = finishes(lambda: list(document_blocks(text)))
    assert blocks[0].text == "前の段落です。"


def test_a_heading_with_a_long_run_of_spaces_is_read_at_once() -> None:
    """The `{#id}` suffix pattern was quadratic in the spaces of a heading (40 000: 2.4 s)."""
    blocks = finishes(lambda: list(document_blocks("# a" + " " * 150_000 + "b {#id}\n")))
    assert [b.is_heading for b in blocks] == [True]


def test_markup_html_parser_asserts_on_is_left_out_not_fatal() -> None:
    """`<![foo[` made html.parser raise AssertionError out of the article loader."""
    blocks = list(html_blocks("<p>前の段落です。</p><![foo[ 残り", 0))
    assert [b.text for b in blocks][:1] == ["前の段落です。"]
