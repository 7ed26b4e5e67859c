"""Sentence splitting and passage packing."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.corpus.articles import article_key
from bot.corpus.passages import Passage, split_article, split_sentences
from bot.corpus.reader import load_corpus
from tests.conftest import SAMPLE_CORPUS, SITE_URL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一文目。二文目！三文目？", ["一文目。", "二文目！", "三文目？"]),
        ("「すごい！」と彼は言った。次。", ["「すごい！」と彼は言った。", "次。"]),
        ("本当かな？」と思った。", ["本当かな？」と思った。"]),
        ("彼は「まさか。」と言った。", ["彼は「まさか。」と言った。"]),
        ("一行目\n二行目。", ["一行目", "二行目。"]),
        ("Hello world. It works! Yes", ["Hello world.", "It works!", "Yes"]),
        ("Llama 4.5は速い。$50Bだ。", ["Llama 4.5は速い。", "$50Bだ。"]),
        ("途中で切れた文", ["途中で切れた文"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    """Japanese terminators end sentences outside brackets; closers stay with the sentence."""
    assert [s.text for s in split_sentences(text)] == expected


def test_sentence_spans_point_into_the_text() -> None:
    """Each sentence's span covers its raw text in the paragraph."""
    text = "前置き。  本文です！"
    spans = [(s.start, s.end) for s in split_sentences(text, offset=10)]
    assert [text[a - 10 : b - 10] for a, b in spans] == ["前置き。", "本文です！"]


@pytest.fixture(scope="module")
def sample_passages() -> dict[str, list[Passage]]:
    corpus = load_corpus(SAMPLE_CORPUS, SITE_URL, "Asia/Tokyo")
    return {article_key(Path(a.source).name): split_article(a, 320, 1) for a in corpus.articles}


def test_passages_respect_headings(sample_passages: dict[str, list[Passage]]) -> None:
    """A passage never spans two headings, and knows its heading and anchor."""
    passages = sample_passages["8ac7c5b51012d51b"]
    headed = [p for p in passages if p.heading == "マルチモーダルAI：なぜ今、そこまで重要なのか？"]
    assert headed and all(p.anchor == "マルチモーダルaiなぜ今そこまで重要なのか" for p in headed)
    assert passages[0].heading is None


def test_passages_are_near_the_target_length(sample_passages: dict[str, list[Passage]]) -> None:
    """Passages stay near the target unless one sentence is longer by itself."""
    for passages in sample_passages.values():
        for p in passages:
            assert len(p.text) <= 320 + max(len(s.text) for s in p.sentences)


def test_title_repeated_as_first_line_is_not_a_passage(
    sample_passages: dict[str, list[Passage]],
) -> None:
    """The title echoed as the article's first paragraph is not quoted as an answer."""
    first = sample_passages["55c007909e286ea6"][0]
    assert not first.text.startswith("Llama 4.5の画像生成、どこまで本気？その真価に迫る")


def test_overlap_repeats_one_sentence(sample_passages: dict[str, list[Passage]]) -> None:
    """Consecutive passages of one section share the overlap sentence."""
    passages = sample_passages["47d2f6d40203a5c2"]
    pairs = [(a, b) for a, b in itertools.pairwise(passages) if a.anchor == b.anchor]
    assert pairs and all(a.sentences[-1] == b.sentences[0] for a, b in pairs)


def test_passage_ids_and_hashes_are_unique(sample_passages: dict[str, list[Passage]]) -> None:
    """Ids and content hashes identify passages uniquely across the corpus."""
    everything = [p for ps in sample_passages.values() for p in ps]
    assert len({p.id for p in everything}) == len(everything)
    assert len({p.content_hash for p in everything}) == len(everything)
