"""Tests for the lexical side of retrieval: normalization, Japanese analysis and BM25."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.index.lexical import JapaneseAnalyzer, LexicalIndex, Token, normalize

POSTS = Path(__file__).resolve().parents[2] / "corpus" / "_posts"
TOY_DOCS = [
    "GPT-4oの新機能を詳しく解説します。",
    "GPT-4の性能を比べてみた。",
    "Llama 4.5の画像生成はすごい。",
    "Metaが$50Bの投資計画を発表した。",
    "グループチャットでAIが手伝ってくれる機能。",
]
ODD_CHARS = ["😀", "👍🏽", "\u200f", "\u202e", "\u200b", "\x00", "\x07", "\ufeff", "\ud800", "ｶﾞ"]
ODD_CHARS += ["ー", "─", "〜", "～", "\u0301", "\n", "\t", "؟", "עברית", "A", "4", "-", "$", "。"]


@pytest.fixture(scope="module")
def analyzer() -> JapaneseAnalyzer:
    """One analyzer (one Sudachi dictionary load) for the whole module."""
    return JapaneseAnalyzer()


@pytest.fixture(scope="module")
def toy_index(analyzer: JapaneseAnalyzer) -> LexicalIndex:
    """A BM25 index over the five toy documents."""
    return LexicalIndex.build([analyzer.terms(doc) for doc in TOY_DOCS])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＧＰＴ－４ｏ", "gpt-4o"),
        ("GPT‐4o", "gpt-4o"),
        ("ｺﾝﾋﾟｭｰﾀｰ", "コンピューター"),
        ("ｶﾞｷﾞｸﾞ", "ガギグ"),
        ("コンピュ─タ", "コンピュータ"),
        ("サ━バ━", "サーバー"),
        ("デ—タ", "データ"),
        ("サ-バ", "サーバ"),
        ("ツール—たとえば", "ツール—たとえば"),
        ("10～20", "10〜20"),
        ("ＨＥＬＬＯ  World\n\t！", "hello world !"),
        ("Straße", "strasse"),
        ("Ｇ\u200bＰＴ", "gpt"),
        ("  \n ", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    """Width, case, long-vowel look-alikes, dashes, invisibles and whitespace are unified."""
    assert normalize(raw) == expected


@given(st.text(max_size=200))
def test_normalize_is_idempotent(text: str) -> None:
    """Normalizing twice changes nothing, so indexed and query text agree."""
    once = normalize(text)
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Llama 4.5のニュース", {"llama", "4.5", "ニュース"}),
        ("$50B投資", {"$50b", "50b", "投資"}),
        ("GPT-4o", {"gpt-4o"}),
        ("ＧＰＴ－４ｏについて", {"gpt-4o", "gpt"}),
        ("OpenAIのDALL-Eと比べる", {"openai", "dall-e"}),
        ("Hugging Faceのモデル", {"hugging", "face", "モデル"}),
        ("生成AIの民主化", {"生成ai", "生成", "ai", "民主化"}),
    ],
)
def test_compounds_kept_whole(analyzer: JapaneseAnalyzer, text: str, expected: set[str]) -> None:
    """Alphanumeric compounds and Japanese compounds survive as whole terms."""
    assert expected <= set(analyzer.terms(text))


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("AIがこのモデルを使うことができるのでしょうか？", {"が", "を", "の", "こと", "か", "?"}),
        ("AIについて何を思いますか", {"は", "つく", "何", "思う", "ます", "か"}),
        ("AIのためにするようなところ", {"ため", "為", "する", "為る", "よう", "所"}),
    ],
)
def test_function_words_dropped(analyzer: JapaneseAnalyzer, text: str, absent: set[str]) -> None:
    """Particles, auxiliaries, punctuation and function-ish nouns and verbs leave no term."""
    terms = set(analyzer.terms(text))
    assert "ai" in terms
    assert not absent & terms


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("使える", "使えた"),
        ("使う", "使えない"),
        ("強化する", "強化した"),
        ("新しい", "新しかった"),
    ],
)
def test_conjugations_share_a_term(analyzer: JapaneseAnalyzer, first: str, second: str) -> None:
    """Inflected forms of one word produce a shared term."""
    assert set(analyzer.terms(first)) & set(analyzer.terms(second))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the best model for images?", ["best", "model", "images"]),
        ("How do I use Hugging Face?", ["use", "hugging", "face"]),
    ],
)
def test_english_stop_words_dropped(
    analyzer: JapaneseAnalyzer, text: str, expected: list[str]
) -> None:
    """English questions keep content words only, lower-cased."""
    assert analyzer.terms(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＧＰＴ－４ｏの話", [("gpt", 0, 3), ("gpt-4o", 0, 6), ("4o", 4, 6), ("話", 7, 8)]),
        ("  $50B投資", [("$50b", 2, 6), ("50b", 3, 6), ("投資", 6, 8)]),
        ("ｺﾝﾋﾟｭｰﾀｰを使えた", [("コンピューター", 0, 8), ("使う", 9, 11)]),
        ("㍻の ｶﾞｲﾄﾞ", [("平成", 0, 1), ("ガイド", 3, 8)]),
    ],
)
def test_offsets_point_into_original_text(
    analyzer: JapaneseAnalyzer, text: str, expected: list[tuple[str, int, int]]
) -> None:
    """Token offsets index the text as written, before normalization."""
    assert analyzer.tokens(text) == [Token(*item) for item in expected]


@pytest.mark.parametrize(
    "text", ["Llama 4.5と$50B投資", "ＧＰＴ－４ｏ、ｺﾝﾋﾟｭｰﾀｰとDALL-E", "生成AIの民主化とｶﾞｲﾄﾞ"]
)
def test_offsets_slice_normalizes_to_term(analyzer: JapaneseAnalyzer, text: str) -> None:
    """Each token's original slice normalizes to its term (no lemmatized words here)."""
    tokens = analyzer.tokens(text)
    assert tokens
    for token in tokens:
        piece = normalize(text[token.start : token.end])
        assert token.term == piece or token.term in piece or piece in token.term


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.characters(exclude_categories=()), st.sampled_from(ODD_CHARS))))
def test_tokens_never_raise_and_stay_in_bounds(
    analyzer: JapaneseAnalyzer, chars: list[str]
) -> None:
    """Arbitrary text (emoji, controls, RTL marks, lone surrogates) yields in-bounds offsets."""
    text = "".join(chars)
    for token in analyzer.tokens(text):
        assert 0 <= token.start < token.end <= len(text)
        assert token.term


def test_long_noisy_text_is_analysed(analyzer: JapaneseAnalyzer) -> None:
    """5 000 characters of mixed scripts and symbols analyse without error."""
    rng = random.Random(7)
    alphabet = [*ODD_CHARS, "日本語", "テスト", "GPT-4o", " ", "は", "を", "$50B"]
    text = "".join(rng.choice(alphabet) for _ in range(5000))[:5000]
    tokens = analyzer.tokens(text)
    assert {"日本語", "テスト", "gpt-4o"} <= {t.term for t in tokens}
    assert all(0 <= t.start < t.end <= len(text) for t in tokens)


def test_text_beyond_sudachi_limit_is_split_cleanly(analyzer: JapaneseAnalyzer) -> None:
    """Texts longer than Sudachi's input limit are cut at sentence ends, losing no word."""
    text = "日本語の文章です。" * 3000
    terms = analyzer.terms(text)
    assert terms.count("文章") == 3000
    assert terms.count("日本語") == 3000


def test_analyzer_is_thread_safe(analyzer: JapaneseAnalyzer) -> None:
    """Concurrent threads get the same terms as one thread."""
    texts = TOY_DOCS * 8
    expected = [analyzer.terms(text) for text in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(analyzer.terms, texts)) == expected


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
