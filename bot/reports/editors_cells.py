"""How Datasette shows a link in the editors' view: decoded, as on the editors' page.

Registered with Datasette's plugin manager by :func:`bot.reports.editors.make_datasette`
(an in-process hook, not an installed plugin). Datasette would print a stored link as it is,
``#4-neovim-%E3%81%AE%E9%96%8B…``, which squeezes the question column to a few characters;
the link keeps its stored ``href`` and shows :func:`bot.reports.links.readable_url`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from datasette import hookimpl
from markupsafe import Markup

from bot.reports.links import readable_url

LINK_STARTS = ("http://", "https://")


@hookimpl  # type: ignore[untyped-decorator]
def render_cell(value: Any) -> Markup | None:
    """A decoded link for a stored URL with percent-escapes; Datasette's own otherwise."""
    if not isinstance(value, str) or "%" not in value or not value.startswith(LINK_STARTS):
        return None
    shown = readable_url(value)
    if shown == value:
        return None
    return Markup(  # noqa: S704 - both parts escaped
        f'<a href="{escape(value, quote=True)}">{escape(shown)}</a>'
    )
