"""Turn answers into Discord messages that always fit Discord's limits.

Everything here is a pure function of its input, so hostile text (a 10 000-character
title, a question full of ``@everyone`` and Markdown) is handled by trimming and
escaping, never by a rejected message. Text that did not come from the bot (the
reader's question, article titles and excerpts) is escaped so that it shows as typed;
only the bot's own ``**`` around the matched sentence stays Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import discord

from bot.discordbot.messages import Lang, say
from bot.retrieval.answers import Answer, Result, Tier, by_article

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
EMBEDS_TOTAL_MAX = 6000
EMBEDS_MAX = 10
FIELDS_MAX = 25
EXCERPT_SOFT_MAX = 1000  # readable; the hard limit is the embed's share of 6000
ELLIPSIS = "…"
EMPHASIS = "**"

_MARKDOWN = re.compile(r"([\\*_`~|\[\]<>])")
_LINE_START = re.compile(r"^(\s*)([#\-+])", re.MULTILINE)
_ORDERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)

# -- escaping and trimming -------------------------------------------------------------


def escape_text(text: str) -> str:
    """Show ``text`` literally: no Markdown, no mentions, no ``<…>`` syntax."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    escaped = _LINE_START.sub(r"\1\\\2", escaped)
    escaped = _ORDERED.sub(r"\1\\.", escaped)
    # Every @, not only what discord.utils.escape_mentions knows (it skips <@&123>).
    return escaped.replace("@", "@\u200b")


def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.endswith("\\") and not cut.endswith("\\\\"):
        cut = cut[:-1]  # never leave half an escape
    return cut + ELLIPSIS


def escape_trimmed(text: str, limit: int) -> str:
    """Escape, then fit ``limit`` by cutting the original text (escapes stay whole)."""
    raw = text
    rendered = escape_text(raw)
    while len(rendered) > limit and raw:
        raw = raw[: max(0, len(raw) - (len(rendered) - limit) - 1)]
        rendered = escape_text(raw) + ELLIPSIS if raw else ""
    return rendered if len(rendered) <= limit else ""


def split_emphasis(excerpt: str) -> list[tuple[str, bool]]:
    """``a **b** c`` → ``[("a ", False), ("b", True), (" c", False)]``; an unpaired
    marker is treated as text."""
    pieces = excerpt.split(EMPHASIS)
    if len(pieces) % 2 == 0:  # odd number of markers: the last one has no partner
        pieces[-2:] = [pieces[-2] + EMPHASIS + pieces[-1]]
    return [(piece, i % 2 == 1) for i, piece in enumerate(pieces) if piece]


def _render(parts: Sequence[tuple[str, bool]]) -> str:
    return "".join(
        f"{EMPHASIS}{escape_text(text)}{EMPHASIS}" if bold else escape_text(text)
        for text, bold in parts
    )


def render_excerpt(excerpt: str, limit: int) -> str:
    """The excerpt escaped, the bot's emphasis kept, cut to ``limit`` around the match.

    The context on either side shares the room left by the emphasised sentence (before
    it loses its start, after it loses its end); only when that is not enough is the
    sentence itself shortened.
    """
    parts = split_emphasis(excerpt)
    rendered = _render(parts)
    if len(rendered) <= limit:
        return rendered
    first_bold = next((i for i, (_, bold) in enumerate(parts) if bold), len(parts))
    plain = [i for i, (_, bold) in enumerate(parts) if not bold]
    room = limit - len(_render([p for p in parts if p[1]]))
    shares = _share(room, [len(escape_text(parts[i][0])) for i in plain])
    for i, share in zip(plain, shares, strict=True):
        parts[i] = (_fit_piece(parts[i][0], share, keep_end=i < first_bold), False)
    parts = [p for p in parts if p[0]]
    rendered = _render(parts)
    while len(rendered) > limit and parts:
        parts = _shorten(parts, len(rendered) - limit + 1)
        rendered = _render(parts)
    return rendered


def _share(room: int, lengths: list[int]) -> list[int]:
    """Split ``room`` between pieces: short ones keep all they need, long ones the rest."""
    shares = [0] * len(lengths)
    left, pending = max(0, room), sorted(range(len(lengths)), key=lambda i: lengths[i])
    while pending:
        fair = left // len(pending)
        index = pending.pop(0)
        shares[index] = min(lengths[index], fair)
        left -= shares[index]
    return shares


def _fit_piece(text: str, room: int, *, keep_end: bool) -> str:
    """``text`` cut from its start (``keep_end``) or its end until it renders in ``room``."""
    raw = text
    while raw and len(escape_text(raw)) + (raw != text) > room:
        over = max(1, len(escape_text(raw)) + 1 - room)
        raw = raw[over:] if keep_end else raw[:-over]
    if raw == text or not raw:
        return raw
    return ELLIPSIS + raw if keep_end else raw + ELLIPSIS


def _shorten(parts: list[tuple[str, bool]], by: int) -> list[tuple[str, bool]]:
    """Remove at least ``by`` characters: context first, then the emphasised sentence."""
    plain = [i for i, (_, bold) in enumerate(parts) if not bold]
    index = plain[0] if plain else len(parts) - 1
    text, bold = parts[index]
    keep = len(text) - by - 1  # one more for the ellipsis
    if keep <= 0 or not bold:
        return parts[:index] + parts[index + 1 :]
    return [*parts[:index], (text[:keep] + ELLIPSIS, bold), *parts[index + 1 :]]


# -- answers ---------------------------------------------------------------------------


def confidence_label(tier: Tier, score: float, lang: Lang) -> str:
    return f"{say('label.' + tier, lang)} ({score:.2f})"


def answer_content(answer: Answer, lang: Lang) -> str:
    """The message text: the echoed question and what the tier means."""
    question = escape_trimmed(answer.question, CONTENT_MAX // 2)
    lines = [f"> {question}" if question else ""]
    lines.append(say(answer.tier, lang))
    if answer.notice and answer.tier == "none":
        lines.append(escape_trimmed(answer.notice, 300))
    return trim("\n".join(line for line in lines if line), CONTENT_MAX)


def shared_content(content: str, name: str, lang: Lang) -> str:
    """A privately shown answer's text, reposted with who shared it."""
    line = say("shared_by", lang, name=escape_trimmed(name, 100))
    return trim(f"{line}\n{content}", CONTENT_MAX)


def answer_embeds(answer: Answer, lang: Lang) -> list[discord.Embed]:
    """One embed per article, its excerpts together under its title, all within the
    6000-character message total (a reply may quote two passages of one article)."""
    groups = by_article(answer.results)[:EMBEDS_MAX]
    if not groups:
        return []
    share = EMBEDS_TOTAL_MAX // len(groups)
    return [article_embed(group, lang, share) for group in groups]


def article_embed(group: Sequence[Result], lang: Lang, budget: int) -> discord.Embed:
    """Title linked to the article's best passage, then each passage's heading and excerpt;
    the date (none when unknown) and the best excerpt's confidence in the footer, a later
    excerpt's beside its heading. The title, description and footer together stay within
    ``budget`` characters.
    """
    best = group[0]
    title = escape_trimmed(best.title or best.url, min(TITLE_MAX, budget // 3)) or "…"
    label = confidence_label(best.tier, best.confidence, lang)
    footer = trim(f"{best.date} · {label}" if best.date else label, 120)
    room = min(DESCRIPTION_MAX, EXCERPT_SOFT_MAX * len(group), budget - len(title) - len(footer))
    rooms = _share(room - 2 * (len(group) - 1), [len(r.excerpt) + 160 for r in group])
    pieces = [
        _passage_text(result, n > 0, lang, each)
        for n, (result, each) in enumerate(zip(group, rooms, strict=True))
    ]
    embed = discord.Embed(
        title=title,
        url=best.url if _linkable(best.url) else None,
        description="\n\n".join(piece for piece in pieces if piece) or None,
        colour=_COLOURS[best.tier],
    )
    embed.set_footer(text=footer)
    return embed


def _passage_text(result: Result, labelled: bool, lang: Lang, room: int) -> str:
    """'§ heading' (with this excerpt's confidence when it is not the best) and the excerpt."""
    label = f" · {confidence_label(result.tier, result.confidence, lang)}" if labelled else ""
    heading = f"§ {escape_trimmed(result.heading, 120)}{label}\n" if result.heading else ""
    if not heading and label:
        heading = f"§{label}\n"
    if len(heading) * 2 > room:
        heading = ""
    return heading + render_excerpt(result.excerpt, room - len(heading))


_COLOURS: dict[Tier, discord.Colour] = {
    "answer": discord.Colour.green(),
    "related": discord.Colour.gold(),
    "none": discord.Colour.light_grey(),
}


def _linkable(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url) <= 2048 and " " not in url


def report_embed(title: str, fields: Iterable[tuple[str, Sequence[str]]]) -> discord.Embed:
    """An embed of named lists (e.g. added/changed articles), each fitted to a field."""
    embed = discord.Embed(title=trim(title, TITLE_MAX))
    total = len(embed.title or "")
    for name, items in list(fields)[:FIELDS_MAX]:
        value = field_value(items, min(FIELD_VALUE_MAX, EMBEDS_TOTAL_MAX - total - 300))
        label = trim(f"{name} ({len(items)})", FIELD_NAME_MAX)
        if value and total + len(label) + len(value) <= EMBEDS_TOTAL_MAX:
            embed.add_field(name=label, value=value, inline=False)
            total += len(label) + len(value)
    return embed


def field_value(items: Sequence[str], limit: int) -> str:
    """Items one per line, escaped; when they do not fit, how many more there are."""
    lines: list[str] = []
    used = 0
    for n, item in enumerate(items):
        line = escape_trimmed(item, 200)
        more = f"… +{len(items) - n}"
        if used + len(line) + 1 + len(more) > limit:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    return trim("\n".join(lines) or "—", limit)


# -- autocomplete ----------------------------------------------------------------------
