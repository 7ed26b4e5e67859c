"""The gaps report as people and programs read it: an aligned table, CSV and JSON Lines.

Japanese is two terminal columns wide, so the table measures text by display width;
every CSV cell goes through the one formula-neutralising rule of `bot.reports.cells`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence

from bot.reports.cells import neutralise_row
from bot.reports.gaps import GapGroup


def char_width(ch: str) -> int:
    """Terminal columns of one character: 2 for wide/full-width, 0 for combining marks."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """Pad or cut `text` to exactly `width` columns, marking a cut with …."""
    text = re.sub(r"\s+", " ", text).strip()
    if display_width(text) > width:
        kept, used = [], 0
        for ch in text:
            if used + char_width(ch) > width - 1:
                break
            kept.append(ch)
            used += char_width(ch)
        text = "".join(kept) + "…"
    return text + " " * (width - display_width(text))


def format_table(groups: Sequence[GapGroup], width: int = 120) -> str:
    """A fixed-width table that keeps Japanese columns aligned in a terminal."""
    if not groups:
        return "no unanswered questions in this period"
    fixed = [6, 6, 5, 16, 16]
    flexible = max(width - sum(fixed) - 2 * 7, 30)
    question_width = flexible * 3 // 5
    article_width = flexible - question_width
    widths = [*fixed[:3], question_width, *fixed[3:], article_width]
    header = ["key", "askers", "asked", "question (example)", "first", "last", "nearest article"]
    lines = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    for group in groups:
        cells = [
            group.key,
            str(group.askers),
            str(group.size),
            group.example,
            f"{group.first_asked:%Y-%m-%d %H:%M}",
            f"{group.last_asked:%Y-%m-%d %H:%M}",
            group.article_title or "-",
        ]
        lines.append(_row(cells, widths))
    return "\n".join(lines)


def _row(cells: Iterable[str], widths: Sequence[int]) -> str:
    return "  ".join(fit(cell, w) for cell, w in zip(cells, widths, strict=True)).rstrip()


CSV_FIELDS = (
    "rank",
    "key",
    "askers",
    "size",
    "example",
    "first_asked",
    "last_asked",
    "article_title",
    "article_url",
    "wordings",
)


def format_csv(groups: Sequence[GapGroup]) -> str:
    """CSV text; the caller writes it as UTF-8 with BOM so spreadsheets read Japanese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for number, g in enumerate(groups, 1):
        writer.writerow(
            neutralise_row(
                [
                    number,
                    g.key,
                    g.askers,
                    g.size,
                    g.example,
                    g.first_asked.isoformat(),
                    g.last_asked.isoformat(),
                    g.article_title or "",
                    g.article_url or "",
                    " / ".join(g.wordings),
                ]
            )
        )
    return out.getvalue()


def format_jsonl(groups: Sequence[GapGroup]) -> str:
    return "".join(json.dumps(g.to_json(), ensure_ascii=False) + "\n" for g in groups)
