"""BM25 over analysed passages: ranking, masks, frequencies and save/load checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.index.analysis import JapaneseAnalyzer
from bot.index.bm25 import LexicalIndex
from tests.index.conftest import TOY_DOCS

POSTS = Path(__file__).resolve().parents[2] / "corpus" / "_posts"


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("GPT-4oについて", 0),
        ("GPT-4の性能は？", 1),
        ("Llama 4.5", 2),
        ("$50Bの投資", 3),
        ("グループチャットでAIが手伝ってくれる？", 4),
    ],
)
def test_exact_token_ranks_first(
    analyzer: JapaneseAnalyzer, toy_index: LexicalIndex, query: str, best: int
) -> None:
    """The document holding the query's exact token ranks first."""
    indices, scores = toy_index.top(analyzer.terms(query), k=3)
    assert indices[0] == best
    assert scores[0] > 0


def test_top_orders_limits_and_masks(analyzer: JapaneseAnalyzer, toy_index: LexicalIndex) -> None:
    """top() returns best-first matches only, at most k, never a masked document."""
    query = analyzer.terms("GPT-4oについて")
    indices, scores = toy_index.top(query, k=10)
    assert list(indices) == [0, 1]
    assert scores.dtype == np.float32 and scores[0] > scores[1] > 0
    assert list(toy_index.top(query, k=1)[0]) == [0]
    assert toy_index.top(query, k=0)[0].size == 0
    mask = np.ones(len(toy_index), dtype=bool)
    mask[0] = False
    assert list(toy_index.top(query, k=10, mask=mask)[0]) == [1]
    with pytest.raises(ValueError, match="mask"):
        toy_index.top(query, k=1, mask=np.ones(2, dtype=bool))


@pytest.mark.parametrize("query", [[], ["nowhere"], [""]])
def test_no_match_gives_zeros(toy_index: LexicalIndex, query: list[str]) -> None:
    """An empty or unknown query scores every document zero and tops nothing."""
    scores = toy_index.scores(query)
    assert scores.shape == (len(TOY_DOCS),) and scores.dtype == np.float32
    assert not scores.any()
    assert toy_index.top(query, k=3)[0].size == 0


def test_repeated_query_terms_count_once(toy_index: LexicalIndex) -> None:
    """Repeating a query term does not change the scores."""
    np.testing.assert_array_equal(toy_index.scores(["gpt"] * 3), toy_index.scores(["gpt"]))


@pytest.mark.parametrize(("term", "df"), [("gpt", 2), ("gpt-4o", 1), ("4.5", 1), ("nowhere", 0)])
def test_document_frequency(toy_index: LexicalIndex, term: str, df: int) -> None:
    """document_frequency counts documents containing the term."""
    assert toy_index.document_frequency(term) == df


def test_idf_favours_rare_terms(toy_index: LexicalIndex) -> None:
    """Rarer terms get a larger, positive idf."""
    assert toy_index.idf("nowhere") > toy_index.idf("gpt-4o") > toy_index.idf("gpt") > 0


def test_empty_corpus_gives_an_empty_index(tmp_path: Path) -> None:
    """No documents: an index of length 0 that scores nothing, and survives save/load."""
    empty = LexicalIndex.build([])
    empty.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex")
    for index in (empty, loaded):
        assert len(index) == 0 and index.scores(["llama"]).shape == (0,)
        assert index.document_frequency("\x00") == 0


@pytest.mark.parametrize("documents", [["not", "lists"]])
def test_build_rejects_bad_input(documents: list[str]) -> None:
    """Zero documents or plain strings instead of term lists are refused."""
    with pytest.raises((ValueError, TypeError)):
        LexicalIndex.build(documents)


def test_save_load_round_trip(toy_index: LexicalIndex, tmp_path: Path) -> None:
    """A saved index loads back with identical scores, frequencies and plain files."""
    toy_index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert len(loaded) == len(toy_index)
    for query in (["gpt"], ["gpt-4o", "4o"], ["$50b", "投資"]):
        np.testing.assert_array_equal(loaded.scores(query), toy_index.scores(query))
    assert loaded.document_frequency("gpt") == 2
    meta = json.loads((tmp_path / LexicalIndex.META_FILE).read_text(encoding="utf-8"))
    assert meta["format_version"] == LexicalIndex.FORMAT_VERSION
    for npy in tmp_path.glob("*.npy"):
        np.load(npy, allow_pickle=False)


def _bump_version(directory: Path) -> None:
    path = directory / LexicalIndex.META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**meta, "format_version": LexicalIndex.FORMAT_VERSION + 1}))


def _shorten_data(directory: Path) -> None:
    path = directory / "data.csc.index.npy"
    np.save(path, np.load(path)[:-1])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_bump_version, "format"),
        (lambda d: (d / LexicalIndex.META_FILE).unlink(), "missing"),
        (lambda d: (d / LexicalIndex.META_FILE).write_text("{oops"), "unreadable"),
        (lambda d: (d / "data.csc.index.npy").write_bytes(b"garbage"), "unreadable"),
        (lambda d: (d / "indptr.csc.index.npy").unlink(), "unreadable"),
        (lambda d: (d / "vocab.index.json").write_text('{"gpt": '), "unreadable"),
        (_shorten_data, "corrupt"),
    ],
)
def test_load_refuses_damaged_index(
    toy_index: LexicalIndex, tmp_path: Path, damage: object, message: str
) -> None:
    """A mismatched, missing or corrupt index raises a clear ValueError."""
    toy_index.save(tmp_path)
    assert callable(damage)
    damage(tmp_path)
    with pytest.raises(ValueError, match=message):
        LexicalIndex.load(tmp_path)


def test_load_of_missing_directory_fails_clearly(tmp_path: Path) -> None:
    """Loading from a directory that was never written names the problem."""
    with pytest.raises(ValueError, match="no lexical index"):
        LexicalIndex.load(tmp_path / "absent")


def _paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for post in sorted(POSTS.glob("*.md")):
        body = post.read_text(encoding="utf-8").split("---", 2)[2]
        paragraphs += [p.strip() for p in body.split("\n\n") if p.strip()]
    return paragraphs


@pytest.mark.parametrize(
    ("query", "needle"),
    [("GPT-4oについて", "GPT-4o"), ("DALL-Eはどう？", "DALL-E"), ("$50B", "$50B")],
)
def test_sample_articles_rank_exact_token_first(
    analyzer: JapaneseAnalyzer, query: str, needle: str
) -> None:
    """On the real sample posts, a paragraph containing the exact token ranks first."""
    paragraphs = _paragraphs()
    index = LexicalIndex.build([analyzer.terms(p) for p in paragraphs])
    indices, _ = index.top(analyzer.terms(query), k=5)
    assert needle in paragraphs[indices[0]]
