"""The sentence text column: rows follow the sentence vectors, through save, load and reindex."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.index.texts import TextBuilder, TextColumn
from tests.conftest import SITE_URL, PostWriter
from tests.fakes import HashEmbedder


def test_column_round_trips_through_a_folder(tmp_path: Path) -> None:
    """Saved and loaded (memory-mapped), every row reads back as written, multibyte too."""
    column = TextColumn.of(["最初の文。", "", "second sentence."])
    column.save(tmp_path)
    loaded = TextColumn.load(tmp_path)
    assert loaded is not None
    assert loaded.many(range(3)) == ("最初の文。", "", "second sentence.")


def test_copied_rows_keep_their_text() -> None:
    """Rows copied verbatim from an older column read the same as in it."""
    old = TextColumn.of(["a", "bb", "ccc", "dddd"])
    builder = TextBuilder()
    builder.add(["new"])
    builder.copy_rows(old, 1, 3)
    assert builder.finish().many(range(3)) == ("new", "bb", "ccc")


def test_missing_column_loads_as_none(tmp_path: Path) -> None:
    """A snapshot written before the column existed has none (the index derives it)."""
    assert TextColumn.load(tmp_path) is None


def _unit_texts_from_passages(index) -> list[str]:  # type: ignore[no-untyped-def]
    sentences = [s.text for p in index.passages for s in p.sentences]
    return [sentences[int(g)] for g in index.units.vector_row]


def test_unit_texts_match_the_passages_after_reload_and_edit(
    post: PostWriter, site: Path, tmp_path: Path, analyzer: JapaneseAnalyzer
) -> None:
    """Each unit's text is its sentence's text: built, loaded again, and after an edit."""
    for i in range(3):
        post(
            f"2024-01-0{i + 1}-p{i}.md",
            f"# 見出し{i}\n\n本文{i}です。二つ目の文{i}。\n\n## 節\n\n三つ目{i}？",
        )
    spec, cache, embedder = CorpusSpec(site, SITE_URL, "Asia/Tokyo"), tmp_path / "c", HashEmbedder()
    index, _ = refresh(spec, embedder, analyzer, cache)
    units = list(range(len(index.units.vector_row)))
    assert list(index.unit_texts(units)) == _unit_texts_from_passages(index)
    post("2024-01-02-p1.md", "# 見出し\n\n書き直した文です。\n\n追記の文？")
    edited, _ = refresh(spec, embedder, analyzer, cache)
    units = list(range(len(edited.units.vector_row)))
    assert list(edited.unit_texts(units)) == _unit_texts_from_passages(edited)
    reloaded, report = refresh(spec, embedder, analyzer, cache)
    assert report.embedded == 0
    assert list(reloaded.unit_texts(units)) == _unit_texts_from_passages(edited)
    assert np.array_equal(reloaded.sentence_texts.offsets, edited.sentence_texts.offsets)
