"""Ranking on tiny hand-made corpora with the hashing embedder: exact tokens, filters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from bot.retrieval.engine import Engine
from bot.retrieval.search import Filters, rank
from bot.retrieval.serving import Options
from tests.conftest import PostWriter, engine_for
from tests.fakes import HashEmbedder

KEEP = Options(keep_ranking=True)  # scored whatever the tier, as `eval` does

POSTS = {
    "2025-01-01-invest.md": (
        "投資",
        "Metaは$50Bを投じると発表した。これはAIインフラへの投資だ。データセンターも増える。",
    ),
    "2025-02-01-models.md": (
        "モデル",
        "OpenAIはGPT-4oを公開した。音声と画像を同時に扱える。応答も速くなった。",
    ),
    "2025-03-01-garden.md": (
        "庭",
        "トマトは日当たりの良い場所で育てる。水やりは朝に行う。肥料は控えめにする。",
    ),
    "2025-04-01-travel.md": ("旅", "京都の紅葉は十一月が見頃だ。朝早くなら人も少ない。"),
    "2025-05-01-cooking.md": ("料理", "味噌汁の出汁は昆布と鰹節で取る。沸騰させないのがこつだ。"),
    "2025-06-01-running.md": ("運動", "毎朝五キロ走っている。膝を痛めないよう靴を選ぶ。"),
}


@pytest.fixture
def engine(post: PostWriter, site: Path, tmp_path: Path) -> Engine:
    for name, (category, body) in POSTS.items():
        front = {"title": name[11:-3], "date": f"{name[:10]} 10:00:00 +0900",
                 "categories": [category]}  # fmt: skip
        post(name, body, front)
    return engine_for(site, tmp_path / "cache", HashEmbedder(64))


@pytest.mark.parametrize(
    ("question", "article"),
    [("$50Bは何に投じる？", "invest"), ("GPT-4oで何ができる？", "models")],
)
def test_keyword_question_finds_its_exact_token(
    engine: Engine, question: str, article: str
) -> None:
    """Names and amounts that embeddings blur are found by the lexical side."""
    answer = engine.answer(question, KEEP)
    assert article in answer.results[0].source


def test_paraphrase_finds_its_passage(engine: Engine) -> None:
    """Different wording, same content words in other forms: the right article comes first."""
    answer = engine.answer("トマトを育てるには日当たりが大事？", KEEP)
    assert "garden" in answer.results[0].source
    assert "日当たり" in answer.results[0].excerpt


def test_off_topic_question_is_refused(engine: Engine) -> None:
    """Nothing the corpus knows: no `answer`, and a `none` answer shows nothing."""
    answer = engine.answer("明日の札幌の天気は？")
    assert answer.tier != "answer"


def test_filter_excludes_other_categories(engine: Engine) -> None:
    """A category filter keeps every other category out, even the best match."""
    answer = engine.answer(
        "GPT-4oで何ができる？", Options(filters=Filters(category="庭"), keep_ranking=True)
    )
    assert answer.results and all("garden" in r.source for r in answer.results)


def test_one_result_per_article_with_scores_in_unit_range(engine: Engine) -> None:
    """Results name distinct articles; each score is a probability-like value in [0, 1]."""
    answer = engine.answer("Metaの投資", Options(k=3, keep_ranking=True))
    sources = [r.source for r in answer.results]
    assert len(sources) == len(set(sources))
    assert all(0.0 <= r.confidence <= 1.0 for r in answer.results)
    assert 0.0 <= answer.confidence <= 1.0


def test_modes_all_rank(engine: Engine) -> None:
    """Dense-only and lexical-only modes (for `eval --compare`) return ranked results."""
    for mode in ("dense", "lexical", "hybrid"):
        answer = engine.answer("GPT-4oで何ができる？", Options(mode=mode, keep_ranking=True))
        assert answer.results, mode


def test_passages_mode_ranks_without_reading_a_sentence_vector(engine: Engine) -> None:
    """The "no sentence vectors" baseline must not read them: with every sentence vector
    NaN it still ranks the right article with finite scores."""
    index = engine.index
    index.sentence_vectors = np.full(index.sentence_vectors.shape, np.nan, np.float16)
    terms = engine.analyzer.terms("GPT-4oで何ができる？")
    query = engine.embedder.embed_queries(["GPT-4oで何ができる？"])[0]
    hits = rank(index, query, terms, 3, mode="passages")
    assert hits and index.passages[hits[0].row].source.endswith("models.md")
    assert all(np.isfinite(h.relevance) and np.isfinite(h.sentence_scores).all() for h in hits)


def test_each_result_carries_its_own_tier_capped_by_the_answer(
    post: PostWriter, site: Path, tmp_path: Path
) -> None:
    """An excerpt is never labelled more confident than the answer it belongs to."""
    post("2025-01-01-a.md", "MetaはInstagramを買収した。WhatsAppも買収した。")
    post("2025-01-02-b.md", "天気の話。雨が降った。")
    engine = engine_for(site, tmp_path / "cache", HashEmbedder(64))
    order = {"answer": 0, "related": 1, "none": 2}
    for question in ("Metaが買収した会社は？", "明日の天気は？", "量子コンピューターの値段"):
        answer = engine.answer(question)
        assert all(order[r.tier] >= order[answer.tier] for r in answer.results)
        assert all(r.tier != "none" for r in answer.results)
        assert answer.tier != "none" or answer.results == ()


def test_undated_page_is_outside_every_date_range(
    post: PostWriter, site: Path, tmp_path: Path
) -> None:
    """A page with no known date is found without a date filter (its date null in JSON) and
    left out by `since` and `until`: nothing says it was written in the range."""
    post("2025-03-01-garden.md", POSTS["2025-03-01-garden.md"][1], {"title": "garden"})
    (site / "tomato.md").write_text(
        "---\ntitle: tomato\n---\n\nトマトの苗は五月に植える。支柱を立てて育てる。\n", "utf-8"
    )
    engine = engine_for(site, tmp_path / "cache", HashEmbedder(64))
    question = "トマトの苗はいつ植える？"
    found = {r.source: r for r in engine.answer(question, KEEP).results}
    assert found["tomato.md"].date is None and found["tomato.md"].to_json()["date"] is None
    for filters in (Filters(since=date(2000, 1, 1)), Filters(until=date(2100, 1, 1))):
        answer = engine.answer(question, Options(filters=filters, keep_ranking=True))
        assert answer.results and "tomato.md" not in {r.source for r in answer.results}
