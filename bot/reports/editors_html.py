"""The editors' page as HTML: one template, an inline SVG chart, no script, no network.

The page must open on an editor's laptop behind the site's proxy and in a headless browser
alike, so it loads nothing: the chart is SVG drawn here, the styles are inline, and the
Content-Security-Policy sent with it forbids scripts and outside requests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.reports.covers import CoverOutcome
from bot.reports.links import readable_url
from bot.reports.weekly import EditorsReport, WeekCount

TEMPLATES = Path(__file__).with_name("templates")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
TIER_LABELS = {
    "answer": "回答 / answer",
    "related": "関連のみ / related",
    "none": "該当なし / none",
}
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)

# chart geometry, in SVG user units
_WIDTH, _HEIGHT, _LEFT, _BOTTOM, _TOP = 760, 240, 40, 36, 28


def emphasised(excerpt: str | None) -> Markup:
    """The excerpt escaped, its **matching sentence** in <strong> as the reader saw it."""
    if not excerpt:
        return Markup("")
    parts, last = [], 0
    for match in _BOLD.finditer(excerpt):
        parts.append(escape(excerpt[last : match.start()]))
        parts.append(f"<strong>{escape(match.group(1))}</strong>")
        last = match.end()
    parts.append(escape(excerpt[last:]))
    return Markup("".join(parts))  # noqa: S704 - every piece escaped above


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def cover_verdict(cover: CoverOutcome) -> str:
    """What an editor needs from a cover in one phrase."""
    if cover.later_share is None:
        return "まだ質問なし / no similar question since"
    if cover.later_answered == cover.later_asked:
        return "回答できている / now answered"
    if cover.later_answered == 0:
        return "まだ未回答 / still unanswered"
    return "一部回答 / partly answered"


def chart_svg(weeks: Sequence[WeekCount]) -> Markup:
    """Questions per week as bars, the answered part darker, the share written above."""
    if not weeks:
        return Markup("")
    peak = max((w.asked for w in weeks), default=0) or 1
    slot = (_WIDTH - _LEFT) / len(weeks)
    bar = slot * 0.7
    plot = _HEIGHT - _BOTTOM - _TOP
    base = _HEIGHT - _BOTTOM
    shapes = [
        f'<line x1="{_LEFT}" y1="{base}" x2="{_WIDTH}" y2="{base}" stroke="#888"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end" class="axis">{peak}</text>',
        f'<text x="{_LEFT - 6}" y="{base}" text-anchor="end" class="axis">0</text>',
    ]
    every = max(1, len(weeks) // 12 + (len(weeks) % 12 > 0))  # at most about 12 labels
    for i, week in enumerate(weeks):
        x = _LEFT + i * slot + (slot - bar) / 2
        asked_h = plot * week.asked / peak
        answered_h = plot * week.answered / peak
        label = f"{week.start:%Y-%m-%d}: {week.asked} 件 / questions, {percent(week.share)} 回答"
        shapes.append(
            f'<g class="week" data-week="{week.start:%Y-%m-%d}" data-asked="{week.asked}" '
            f'data-answered="{week.answered}"><title>{escape(label)}</title>'
            f'<rect class="asked" x="{x:.1f}" y="{base - asked_h:.1f}" width="{bar:.1f}" '
            f'height="{asked_h:.1f}"/>'
            f'<rect class="answered" x="{x:.1f}" y="{base - answered_h:.1f}" '
            f'width="{bar:.1f}" height="{answered_h:.1f}"/>'
        )
        if week.asked:
            shapes.append(
                f'<text class="share" x="{x + bar / 2:.1f}" y="{base - asked_h - 5:.1f}" '
                f'text-anchor="middle">{percent(week.share)}</text>'
            )
        if i % every == 0:
            shapes.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{base + 16}" '
                f'text-anchor="middle">{week.start:%m/%d}</text>'
            )
        shapes.append("</g>")
    return Markup(  # noqa: S704 - numbers, dates and escaped labels only
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="質問数と回答率（週ごと） / '
        f'Questions per week and share answered">{"".join(shapes)}</svg>'
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["readable_url"] = readable_url
    env.filters["emphasised"] = emphasised
    env.filters["percent"] = percent
    env.filters["tier_label"] = lambda tier: TIER_LABELS.get(str(tier), str(tier))
    env.filters["verdict"] = cover_verdict
    return env


_ENV = _environment()


def render_report(report: EditorsReport, *, weeks: int, datasette_path: str) -> str:
    """The page for `report`; `datasette_path` links the free-form tables and SQL."""
    return _ENV.get_template("editors.html").render(
        report=report,
        weeks=weeks,
        chart=chart_svg(report.weeks),
        datasette_path=datasette_path,
        share=percent(report.answered / report.asked if report.asked else None),
    )


def render_unavailable(message: str) -> str:
    return _ENV.get_template("unavailable.html").render(message=message)
