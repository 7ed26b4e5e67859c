"""The vector cache: nothing embedded twice, only edited articles re-embedded, atomic snapshots."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from tests.conftest import SITE_URL, PostWriter, write_post
from tests.fakes import HashEmbedder

BODY = "### 見出し{n}\n\n記事{n}の一文目です。記事{n}の二文目です。\n\n記事{n}の三文目です。"


@pytest.fixture
def three_posts(post: PostWriter) -> list[Path]:
    return [post(f"2025-01-0{n}-post{n}.md", BODY.format(n=n)) for n in (1, 2, 3)]


def run(site: Path, cache: Path, embedder: HashEmbedder):  # type: ignore[no-untyped-def]
    spec = CorpusSpec(site, SITE_URL, "Asia/Tokyo", passage_chars=40, overlap=0)
    return refresh(spec, embedder, JapaneseAnalyzer(), cache)


def test_second_run_embeds_nothing(three_posts: list[Path], site: Path, tmp_path: Path) -> None:
    """A restart with an unchanged corpus embeds 0 passages and keeps the index version."""
    first_index, first = run(site, tmp_path / "cache", HashEmbedder(32))
    embedder = HashEmbedder(32)
    index, second = run(site, tmp_path / "cache", embedder)
    assert first.embedded == first.passages > 0 and first.added == tuple(sorted(first.added))
    assert second.embedded == 0 and embedder.calls == 0
    assert second.unchanged == 3 and second.added == second.changed == ()
    assert index.version == first_index.version
    np.testing.assert_array_equal(index.vectors, first_index.vectors)


def test_edited_article_reembeds_only_its_own_passages(
    three_posts: list[Path], site: Path, tmp_path: Path
) -> None:
    """Editing one article re-embeds only its changed passages; the others are reused."""
    _, first = run(site, tmp_path / "cache", HashEmbedder(32))
    target = three_posts[1]
    target.write_text(target.read_text(encoding="utf-8").replace("三文目", "最後の文"), "utf-8")
    embedder = HashEmbedder(32)
    index, report = run(site, tmp_path / "cache", embedder)
    assert report.changed == ("_posts/2025-01-02-post2.md",)
    assert report.unchanged == 2
    assert 0 < report.embedded < first.passages
    changed = [p for p in index.passages if p.source.endswith("post2.md")]
    assert report.embedded <= len(changed)


def test_touched_but_identical_file_is_reparsed_not_reembedded(
    three_posts: list[Path], site: Path, tmp_path: Path
) -> None:
    """A new mtime makes the file count as changed, but its passages reuse their vectors."""
    run(site, tmp_path / "cache", HashEmbedder(32))
    os.utime(three_posts[0], (1_000_000_000, 1_000_000_000))
    _, report = run(site, tmp_path / "cache", HashEmbedder(32))
    assert report.changed == ("_posts/2025-01-01-post1.md",) and report.embedded == 0


def test_removed_and_added_articles_are_reported(
    three_posts: list[Path], site: Path, tmp_path: Path, post: PostWriter
) -> None:
    """Deleting one file and adding another shows in the report and the index."""
    run(site, tmp_path / "cache", HashEmbedder(32))
    three_posts[2].unlink()
    post("2025-01-09-post9.md", BODY.format(n=9))
    index, report = run(site, tmp_path / "cache", HashEmbedder(32))
    assert report.removed == ("_posts/2025-01-03-post3.md",)
    assert report.added == ("_posts/2025-01-09-post9.md",)
    assert sorted(index.articles) == [
        "_posts/2025-01-01-post1.md",
        "_posts/2025-01-02-post2.md",
        "_posts/2025-01-09-post9.md",
    ]


def test_models_keep_separate_caches(three_posts: list[Path], site: Path, tmp_path: Path) -> None:
    """Vectors of one model are never reused for another (dimension or name differs)."""
    run(site, tmp_path / "cache", HashEmbedder(32))
    other = HashEmbedder(48)
    _, report = run(site, tmp_path / "cache", other)
    assert report.embedded == report.passages and other.calls > 0


class FailingEmbedder(HashEmbedder):
    """Fails after a number of texts, like a model that crashes mid-reindex."""

    def __init__(self, dimension: int, fail_after: int) -> None:
        super().__init__(dimension)
        self.fail_after = fail_after

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.calls + len(texts) > self.fail_after:
            raise RuntimeError("model crashed")
        return super().embed_documents(texts)


def test_reindex_failing_halfway_leaves_the_old_snapshot(
    three_posts: list[Path], site: Path, tmp_path: Path, post: PostWriter
) -> None:
    """A crash while embedding writes nothing; the next start loads the last good index."""
    good, _ = run(site, tmp_path / "cache", HashEmbedder(32))
    for n in range(4, 9):
        post(f"2025-02-0{n}-new{n}.md", BODY.format(n=n * 10))
    with pytest.raises(RuntimeError):
        run(site, tmp_path / "cache", FailingEmbedder(32, fail_after=3))
    for n in range(4, 9):
        (site / "_posts" / f"2025-02-0{n}-new{n}.md").unlink()
    embedder = HashEmbedder(32)
    index, report = run(site, tmp_path / "cache", embedder)
    assert report.embedded == 0 and index.version == good.version
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".tmp")]
    assert leftovers == []


def _run_with(site: Path, cache: Path, embedder: HashEmbedder, url: str, tz: str):  # type: ignore[no-untyped-def]
    spec = CorpusSpec(site, url, tz, passage_chars=40, overlap=0)
    return refresh(spec, embedder, JapaneseAnalyzer(), cache)


@pytest.mark.parametrize(
    ("url", "tz", "config"),
    [
        ("https://blog.example", "Asia/Tokyo", None),
        (SITE_URL, "UTC", None),
        (SITE_URL, "Asia/Tokyo", "permalink: pretty\n"),
    ],
)
def test_site_settings_relink_without_reembedding(
    three_posts: list[Path], site: Path, tmp_path: Path, url: str, tz: str, config: str | None
) -> None:
    """SITE_URL, TIMEZONE or _config.yml changes relink and redate all, embedding nothing."""
    cache = tmp_path / "cache"
    first, _ = _run_with(site, cache, HashEmbedder(32), SITE_URL, "Asia/Tokyo")
    if config is not None:
        (site / "_config.yml").write_text(config, encoding="utf-8")
    embedder = HashEmbedder(32)
    index, report = _run_with(site, cache, embedder, url, tz)
    assert len(report.changed) == 3 and report.embedded == 0 and embedder.calls == 0
    before = {a.source: (a.url, a.date.utcoffset()) for a in first.articles.values()}
    after = {a.source: (a.url, a.date.utcoffset()) for a in index.articles.values()}
    assert before.keys() == after.keys() and all(before[s] != after[s] for s in before)


def test_same_words_split_at_other_line_breaks_are_cached_apart(
    post: PostWriter, site: Path, tmp_path: Path
) -> None:
    """A paragraph repeated in two posts under different line breaks splits into different
    sentence counts; each copy keeps its own sentence vectors (no wrong row count)."""
    front = {"title": "同じ題", "date": "2025-01-01 10:00:00 +0900"}
    post("2025-01-01-a.md", "Footer text here and more words\nthat end the post.", front)
    post("2025-01-02-b.md", "Footer text here and more words that end the post.", front)
    spec = CorpusSpec(site, SITE_URL, "Asia/Tokyo")
    index, report = refresh(spec, HashEmbedder(32), JapaneseAnalyzer(), tmp_path / "cache")
    counts = [len(p.sentences) for p in index.passages]
    assert sorted(counts) == [1, 2] and report.embedded == 2
    again, _ = refresh(spec, HashEmbedder(32), JapaneseAnalyzer(), tmp_path / "cache")
    assert len(again.sentence_vectors) == sum(counts)


def test_two_blogs_share_one_cache_without_evicting_each_other(tmp_path: Path) -> None:
    """Pointing the bot at another blog and back re-embeds nothing: each blog keeps its
    own snapshot in the shared cache, and a new blog reuses the vectors of passages it
    shares with one already indexed."""
    first, second, cache = tmp_path / "first", tmp_path / "second", tmp_path / "cache"
    for n in (1, 2, 3):
        write_post(first, f"2025-01-0{n}-a{n}.md", BODY.format(n=n), {"title": f"記事{n}"})
    for n in (3, 4):  # post 3 is in both blogs
        write_post(second, f"2025-02-0{n}-b{n}.md", BODY.format(n=n), {"title": f"記事{n}"})
    _, report = run(first, cache, HashEmbedder(32))
    assert report.embedded == report.passages > 0
    _, report = run(second, cache, HashEmbedder(32))
    assert 0 < report.embedded < report.passages and report.removed == ()
    for blog in (first, second):
        embedder = HashEmbedder(32)
        index, report = run(blog, cache, embedder)
        assert report.embedded == 0 and embedder.calls == 0 and report.unchanged > 0
        assert {a.source.split("/")[-1][:10] for a in index.articles.values()} <= {
            "2025-01-01",
            "2025-01-02",
            "2025-01-03",
            "2025-02-03",
            "2025-02-04",
        }
