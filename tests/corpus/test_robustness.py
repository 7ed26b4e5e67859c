"""Hostile input never escapes the loader or the splitter, and a corpus of bad files still works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus.articles import Article
from bot.corpus.passages import split_article, split_sentences
from bot.corpus.reader import load_corpus
from tests.conftest import SITE_URL, engine_for
from tests.fakes import HashEmbedder

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30)
)
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
front_matter = st.dictionaries(
    st.sampled_from(
        [
            "title",
            "date",
            "categories",
            "tags",
            "author",
            "excerpt",
            "permalink",
            "published",
            "category",
        ]
    ),
    yaml_values,
    max_size=8,
)


def _load_one(tmp_path: Path, name: str, content: bytes) -> tuple[list[Article], list[str]]:
    posts = tmp_path / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    for old in posts.iterdir():
        old.unlink()
    (posts / name).write_bytes(content)
    corpus = load_corpus(tmp_path, SITE_URL, "Asia/Tokyo")
    return list(corpus.articles), [s.reason for s in corpus.skipped]


@FAST
@given(content=st.binary(max_size=2000))
def test_random_bytes_never_raise(tmp_path_factory: Any, content: bytes) -> None:
    """Any bytes either load as an article or are skipped with a reason."""
    root = tmp_path_factory.mktemp("bytes")
    articles, reasons = _load_one(root, "2025-01-01-x.md", content)
    assert len(articles) + len(reasons) <= 1
    assert all(reason and "\n" not in reason for reason in reasons)


@FAST
@given(meta=front_matter, body=st.text(max_size=400), crlf=st.booleans(), bom=st.booleans())
def test_odd_front_matter_never_raises(
    tmp_path_factory: Any, meta: dict[str, Any], body: str, crlf: bool, bom: bool
) -> None:
    """Wrong types, nesting, CRLF and BOMs give an article or a clear skip, never an error."""
    root = tmp_path_factory.mktemp("meta")
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n\n" + body
    if crlf:
        text = text.replace("\n", "\r\n")
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass")
    articles, _ = _load_one(root, "2025-01-01-x.md", data)
    for article in articles:
        for passage in split_article(article, 120, 1):
            assert passage.text and 0 <= passage.start <= passage.end <= len(article.body)


@FAST
@given(text=st.text(max_size=3000))
def test_sentence_splitter_never_raises(text: str) -> None:
    """Any text splits into non-empty sentences whose spans lie inside it."""
    for sentence in split_sentences(text):
        assert sentence.text.strip() and 0 <= sentence.start < sentence.end <= len(text)


def test_deeply_nested_front_matter_is_skipped(tmp_path: Path) -> None:
    """Front matter nested thousands deep is refused with a reason, not a crash."""
    deep = "title: " + "[" * 5000 + "]" * 5000
    _, reasons = _load_one(tmp_path, "2025-01-01-deep.md", f"---\n{deep}\n---\n\n本文。".encode())
    assert reasons and ("YAML" in reasons[0] or "nested" in reasons[0])


def test_huge_file_is_skipped(tmp_path: Path) -> None:
    """A file over the size limit is skipped with its size in the reason."""
    big = b"---\ntitle: big\n---\n\n" + "あ".encode() * 2_000_000
    _, reasons = _load_one(tmp_path, "2025-01-01-big.md", big)
    assert reasons and "limit" in reasons[0]


def test_corpus_of_only_bad_files_starts_and_answers_none(tmp_path: Path) -> None:
    """With no readable article the engine still starts and every answer is tier none."""
    posts = tmp_path / "site" / "_posts"
    posts.mkdir(parents=True)
    (posts / "2025-01-01-a.md").write_bytes(b"\x00\x01binary")
    (posts / "2025-01-02-b.md").write_bytes(b"---\ntitle: [\n---\nx")
    engine = engine_for(tmp_path / "site", tmp_path / "cache", HashEmbedder(32))
    answer = engine.answer("Llama 4について")
    assert engine.index.articles == {} and answer.tier == "none" and answer.results == ()
    again = engine_for(tmp_path / "site", tmp_path / "cache", HashEmbedder(32))
    assert again.answer("質問").tier == "none"
