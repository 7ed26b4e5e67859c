"""A blog's text is untrusted: no heading, post or table may stall the reader or exhaust
its memory. Each hostile input is generated here, sized so that the reading it guards
takes a fraction of a second and the unbounded reading took far longer (or far more).
"""

from __future__ import annotations

from bot.corpus.heading_ids import HeadingIds
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
