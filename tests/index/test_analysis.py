"""Normalization and Japanese analysis: exact tokens kept whole, offsets into the original."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.index.analysis import JapaneseAnalyzer, Token, normalize
from tests.index.conftest import TOY_DOCS

ODD_CHARS = ["😀", "👍🏽", "\u200f", "\u202e", "\u200b", "\x00", "\x07", "\ufeff", "\ud800", "ｶﾞ"]
ODD_CHARS += ["ー", "─", "〜", "～", "\u0301", "\n", "\t", "؟", "עברית", "A", "4", "-", "$", "。"]


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
        ("Hugging Faceのモデル", {"hug", "face", "モデル"}),
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
        ("What is the best model for images?", ["best", "model", "imag"]),
        ("How do I use Hugging Face?", ["use", "hug", "face"]),
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
    ("text", "also"),
    [
        ("Elixir 1.19 was released", "Elixir 1.19 releases"),
        ("compiling is faster", "the compiler compiles"),
    ],
)
def test_english_words_meet_at_their_stems(
    analyzer: JapaneseAnalyzer, text: str, also: str
) -> None:
    """Inflected English words share a term; numbers and versions stay as written."""
    assert set(analyzer.terms(text)) & set(analyzer.terms(also)) - {"elixir", "1.19"}
    assert "1.19" in analyzer.terms("Elixir 1.19 was released")
