"""Question cleaning: Discord markup, invisible characters, length and name words."""

from __future__ import annotations

import pytest

from bot.retrieval.query import clean_question, detect_language, name_words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<@123456> Llama 4って何？", "Llama 4って何？"),
        ("@everyone Llama 4って何？", "Llama 4って何？"),
        ("```python\nprint(1)\n``` Llama 4?", "print(1) Llama 4?"),
        ("Llama\u200b 4\u200d って\u202e何？", "Llama 4 って 何？"),
        ("**太字**と__下線__", "太字と 下線"),
        ("https://example.com/x Metaの投資", "Metaの投資"),
    ],
)
def test_markup_and_invisibles_are_stripped(raw: str, expected: str) -> None:
    """Mentions, @everyone, fences, zero-width and bidi characters, URLs never reach search."""
    assert clean_question(raw).text.replace(" ", "") == expected.replace(" ", "")


def test_long_question_is_capped() -> None:
    """6 000 characters are cut to the cap; a question within it is kept whole."""
    assert len(clean_question("あ" * 6000, max_chars=500).text) == 500
    assert clean_question("あ" * 500, max_chars=500).text == "あ" * 500


@pytest.mark.parametrize("raw", ["", "   ", "？？！", "😀🎉", "<@1> @here", "\u200b\u202e"])
def test_wordless_questions_are_empty(raw: str) -> None:
    """Emoji-only, punctuation-only or mention-only questions get the 'no words' notice."""
    assert clean_question(raw).empty


def test_mixed_scripts_count_as_japanese() -> None:
    """Any kana or kanji makes a question Japanese; Latin-only is English."""
    assert detect_language("GPT-4oの性能") == "ja"
    assert detect_language("Is Llama 4 open?") == "en"
    assert detect_language("Как дела") == "other"


def test_name_words() -> None:
    """Latin words in Japanese; capitalised or numeric words (not the first) in English."""
    assert name_words("Gemini 2.0との比較は？", "ja") == ["Gemini", "2.0"]
    assert name_words("Is Llama 4 better than DeepSeek?", "en") == ["Llama", "4", "DeepSeek"]
    assert name_words("Which chipmaker benefits from Meta's push?", "en") == ["Meta"]
