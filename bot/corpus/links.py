"""Article and heading links, kept as one import for the stages that build answer links.

URLs are built in `bot.corpus.permalinks` and heading ids in `bot.corpus.heading_ids`;
this module only names what other stages use, so they need not know the split.
"""

from __future__ import annotations

from bot.corpus.heading_ids import HeadingIds
from bot.corpus.permalinks import (
    PERMALINK_STYLES,
    absolute_url,
    expand_permalink,
    page_url,
    post_slug_from_filename,
)

__all__ = [
    "PERMALINK_STYLES",
    "HeadingIds",
    "absolute_url",
    "expand_permalink",
    "page_url",
    "post_slug_from_filename",
]
