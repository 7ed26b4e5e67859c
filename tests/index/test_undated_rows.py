"""An article without a date survives the snapshot's manifest row."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.corpus.articles import Article
from bot.index.snapshot_files import article_from_row, article_row


@pytest.mark.parametrize("when", [None, datetime(2024, 5, 1, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))])
def test_manifest_row_keeps_the_date_or_its_absence(when: datetime | None) -> None:
    article = Article(
        "about.md", "about.md", "t", when, (), (), None, None, "https://x.org/about", "本文"
    )
    row = json.loads(json.dumps(article_row(article)))
    assert row["date"] == (when.isoformat() if when else None)
    back = article_from_row(row)
    assert back.date == when and back.day == (when.strftime("%Y-%m-%d") if when else "")
