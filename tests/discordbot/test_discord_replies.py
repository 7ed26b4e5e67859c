"""Reply rendering: hostile answers always fit Discord's limits and show text literally."""

from __future__ import annotations

import re
from dataclasses import replace

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discordbot.autocomplete import PrefixIndex
from bot.discordbot.messages import language_of
from bot.discordbot.replies import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    EMBEDS_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    TITLE_MAX,
    answer_content,
    answer_embeds,
    escape_text,
    render_excerpt,
    report_embed,
    shared_content,
    split_emphasis,
)
from bot.retrieval.answers import Answer, Result, Tier

NASTY = "@everyone <@&123> <@!1234567890123456789> **x** __u__ `c` ~~s~~ ||p|| [l](https://e.vil) "
UNESCAPED = re.compile(r"(?<!\\)[*_`~|\[\]<>]")


def result(rank: int, *, size: int = 10_000, excerpt: str | None = None) -> Result:
    return Result(
        title=("T" + NASTY) * (size // 80),
        url=f"https://blog.example/{rank}/",
        date="2024-05-01",
        heading="H" * size,
        excerpt=excerpt or f"{NASTY * (size // 200)}**{'本文' * size}**{NASTY * (size // 200)}",
        confidence=0.5,
        source=f"_posts/{rank}.md",
        passage_id=f"p{rank}",
        rank=rank,
    )


def answer(results: int, tier: Tier = "answer", question: str = "質問") -> Answer:
    hits = tuple(result(n) for n in range(1, results + 1))
    return Answer(question, tier, hits, 0.9, "ja", "v1")


def embed_total(embeds: list[discord.Embed]) -> int:
    return sum(len(e) for e in embeds)


@pytest.mark.parametrize("count", [1, 3, 10, 12])
def test_hostile_answers_fit_every_limit(count: int) -> None:
    """Huge titles, headings and excerpts are trimmed to Discord's per-field and total limits."""
    embeds = answer_embeds(answer(count), "ja")
    assert 1 <= len(embeds) <= 10
    assert embed_total(embeds) <= EMBEDS_TOTAL_MAX
    for embed in embeds:
        assert embed.title and len(embed.title) <= TITLE_MAX
        assert embed.description and len(embed.description) <= DESCRIPTION_MAX
        assert embed.description.count("**") % 2 == 0
        assert "本文" in embed.description  # the match survives the trimming


def test_question_is_escaped_and_fits_content() -> None:
    """The echoed question can neither ping nor format, however long it is."""
    content = answer_content(answer(1, question=NASTY * 100), "en")
    assert len(content) <= CONTENT_MAX
    assert "@everyone" not in content and "<@&123>" not in content and "<@!" not in content
    echoed = content.splitlines()[0].removeprefix("> ")
    assert not UNESCAPED.search(echoed.replace("\\\\", ""))


def test_excerpt_keeps_only_the_bots_emphasis() -> None:
    """Article Markdown is escaped; the bot's ** around the matched sentence stays bold."""
    text = render_excerpt("a *star* and _under_ **the match `x`** after", 500)
    assert text == r"a \*star\* and \_under\_ **the match \`x\`** after"


def test_excerpt_trimming_cuts_context_before_the_match() -> None:
    """Context goes first, from the far ends, so the matched sentence stays readable."""
    text = render_excerpt("before " * 50 + "**match**" + " after" * 50, 60)
    assert len(text) <= 60
    assert "**match**" in text and text.startswith("…")


def test_unpaired_emphasis_is_plain_text() -> None:
    """A lone ** from an article cannot open bold that swallows the rest of the message."""
    assert split_emphasis("a **b** c **d") == [("a ", False), ("b", True), (" c **d", False)]
    assert render_excerpt("a **b** c **d", 100) == r"a **b** c \*\*d"


def test_escape_text_neutralises_line_syntax_and_mentions() -> None:
    """Headings, quotes, lists and every @ are shown as typed."""
    escaped = escape_text("# title\n> quote\n- item\n1. first\n@here")
    lines = [r"\# title", r"\> quote", r"\- item", r"1\. first", "@\u200bhere"]
    assert escaped.splitlines() == lines


def test_tiny_and_empty_excerpts() -> None:
    """Zero room or empty text gives an empty string rather than broken Markdown."""
    assert render_excerpt("**abc**", 0) == ""
    assert render_excerpt("", 10) == ""
    assert render_excerpt("**" + "x" * 100 + "**", 20).endswith("…**")


def test_none_tier_has_no_embeds_and_says_it_was_noted() -> None:
    """A none answer is a kind sentence, in the reader's language."""
    none = Answer("何か", "none", (), 0.1, "ja", "v1")
    assert answer_embeds(none, "ja") == []
    assert "編集部" in answer_content(none, "ja")
    assert "noted for the editors" in answer_content(none, "en")


def test_shared_content_names_the_sharer_safely() -> None:
    """The sharer's display name is escaped and the whole stays within 2000 characters."""
    text = shared_content("x" * 3000, "@everyone **me**", "en")
    assert len(text) <= CONTENT_MAX and "@everyone" not in text and "**me**" not in text


def test_report_embed_fields_fit() -> None:
    """Long lists of articles are cut with a count of what was left out."""
    embed = report_embed("summary", [("Added", [f"_posts/{n}.md" for n in range(500)])])
    field = embed.fields[0]
    assert field.name is not None and len(field.name) <= FIELD_NAME_MAX
    assert field.value is not None and len(field.value) <= FIELD_VALUE_MAX
    assert "… +" in field.value and len(embed) <= EMBEDS_TOTAL_MAX


def test_autocomplete_is_prefix_first_and_at_most_25() -> None:
    """Choices are filtered by what was typed, prefix matches first, never over 25."""
    values = [f"tag{n:02d}" for n in range(40)] + ["AI", "生成AI", "x" * 101]
    index = PrefixIndex.build(values)
    assert len(index.complete("")) == 25
    assert index.complete("ai") == ["AI", "生成AI"]
    assert index.complete("x") == []


def test_language_of_locales() -> None:
    """Japanese clients get Japanese; everything else gets English."""
    assert language_of(discord.Locale.japanese) == "ja"
    assert language_of("en-US") == "en" and language_of(None) == "en"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab *_`~|[]<>#-@\\\n本…")), max_size=400),
    st.integers(min_value=0, max_value=300),
)
def test_any_excerpt_fits_and_keeps_bold_balanced(excerpt: str, limit: int) -> None:
    """Whatever an article contains, the rendering fits and its bold markers pair up."""
    text = render_excerpt(excerpt, limit)
    assert len(text) <= limit
    unescaped_stars = re.findall(r"(?<!\\)\*\*", text.replace("\\\\", ""))
    assert len(unescaped_stars) % 2 == 0


def test_passages_of_one_article_share_its_embed() -> None:
    """Two passages of one article are one embed, both excerpts under their headings."""
    first = result(1, size=200, excerpt="前の文。**最初の答え**。後の文。")
    second = replace(result(2, size=200, excerpt="**二つ目の答え**。"), source=first.source)
    second = replace(second, heading="別の見出し", confidence=0.4, tier="related")
    other = result(3, size=200, excerpt="**別の記事**。")
    embeds = answer_embeds(Answer("質問", "answer", (first, second, other), 0.9, "ja", "v1"), "ja")
    assert len(embeds) == 2
    description = embeds[0].description or ""
    assert "最初の答え" in description and "二つ目の答え" in description
    assert description.index("最初の答え") < description.index("§ 別の見出し")
    assert "(0.40)" in description  # the later excerpt carries its own confidence
    assert "別の記事" in (embeds[1].description or "")


@pytest.mark.parametrize("per_article", [2, 4])
def test_hostile_grouped_answers_fit_every_limit(per_article: int) -> None:
    """Huge excerpts grouped by article still fit Discord's limits, each match kept."""
    hits = tuple(replace(result(n), source=f"_posts/{n // per_article}.md") for n in range(12))
    embeds = answer_embeds(Answer("質問", "answer", hits, 0.9, "ja", "v1"), "ja")
    assert len(embeds) == -(-12 // per_article)
    assert embed_total(embeds) <= EMBEDS_TOTAL_MAX
    for embed in embeds:
        assert embed.description and len(embed.description) <= DESCRIPTION_MAX
        assert embed.description.count("**") % 2 == 0 and "本文" in embed.description


def test_footer_of_an_undated_article_shows_no_date() -> None:
    """A page with no known date: the footer holds the confidence alone, no "None ·"."""
    dated, undated = result(1, size=100), replace(result(2, size=100), date=None)
    [first, second] = answer_embeds(
        Answer("質問", "answer", (dated, undated), 0.9, "ja", "v1"), "en"
    )
    assert first.footer.text is not None and first.footer.text.startswith("2024-05-01 · ")
    assert second.footer.text is not None and second.footer.text
    assert "None" not in second.footer.text and "·" not in second.footer.text
