"""Sentence units link neighbours within one section, never across a heading."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.corpus.passages import Passage, Sentence
from bot.index.sentence_units import build_units, section_ids
from tests.conftest import PostWriter, engine_for
from tests.fakes import HashEmbedder


def _passage(n: int, source: str, heading: str | None, starts: list[int]) -> Passage:
    sentences = tuple(Sentence(f"s{s}", s, s + 2) for s in starts)
    end = starts[-1] + 2
    return Passage(f"{source}:{n}", source, heading, heading, "", starts[0], end, sentences)


def _units(passages: list[Passage], sections: np.ndarray | None) -> tuple[list[int], list[int]]:
    article = {s: i for i, s in enumerate(dict.fromkeys(p.source for p in passages))}
    counts = [len(p.sentences) for p in passages]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    starts = np.array([s.start for p in passages for s in p.sentences], np.int32)
    vectors = np.eye(len(starts), 4, dtype=np.float32)
    units = build_units(
        np.array([article[p.source] for p in passages], np.int32),
        offsets,
        starts,
        np.zeros(len(starts), bool),
        vectors,
        sections,
    )
    return units.prev.tolist(), units.next.tolist()


PASSAGES = [
    _passage(0, "a.md", "Intro", [0, 3]),
    _passage(1, "a.md", "Intro", [3, 6]),  # overlaps the first by one sentence
    _passage(2, "a.md", "Usage", [9, 12]),
    _passage(3, "b.md", "Usage", [0, 3]),
]


def test_section_ids_follow_article_heading_and_anchor() -> None:
    """Passages share an id only when article, heading and anchor are all the same."""
    assert section_ids(PASSAGES).tolist() == [0, 0, 1, 2]


def test_neighbours_stop_at_a_heading() -> None:
    """The last sentence under Intro has no next unit; the first under Usage no previous."""
    prev, nxt = _units(PASSAGES, section_ids(PASSAGES))
    # units in order: a:0, a:3, a:6 (Intro), a:9, a:12 (Usage), b:0, b:3
    assert nxt == [1, 2, -1, 4, -1, 6, -1]
    assert prev == [-1, 0, 1, -1, 3, -1, 5]


def test_without_sections_an_article_is_one_chain() -> None:
    """Without section ids the old behaviour stays: one chain per article."""
    prev, nxt = _units(PASSAGES, None)
    assert nxt == [1, 2, 3, 4, -1, 6, -1]
    assert prev == [-1, 0, 1, 2, 3, -1, 5]


def test_a_built_index_never_links_across_a_heading(
    post: PostWriter, site: Path, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """Through the real reader and refresh: no unit's neighbour sits under another heading."""
    body = "前置きの文です。もう一つの文です。\n\n## 使い方\n\n使い方の文です。最後の文です。\n"
    post("2024-01-01-guide.md", body)
    index = engine_for(site, tmp_path / "cache", hash_embedder).index
    heading_of = {}
    for row, passage in enumerate(index.passages):
        for g in range(int(index.sentence_offsets[row]), int(index.sentence_offsets[row + 1])):
            heading_of[int(index.units.unit_of[g])] = passage.heading
    assert len(set(heading_of.values())) == 2  # both sections were read
    for unit, heading in heading_of.items():
        for neighbour in (int(index.units.prev[unit]), int(index.units.next[unit])):
            assert neighbour < 0 or heading_of[neighbour] == heading
