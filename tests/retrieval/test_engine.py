"""The engine's public entry points: one cleaning per question, evaluation ranking, timings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.retrieval import engine as engine_module
from bot.retrieval.confidence import tier_for
from bot.retrieval.engine import Engine
from bot.retrieval.query import Query, clean_question
from bot.retrieval.serving import Options
from tests.conftest import PostWriter, engine_for
from tests.fakes import HashEmbedder


@pytest.fixture
def engine(post: PostWriter, site: Path, tmp_path: Path) -> Engine:
    post("2025-01-01-invest.md", "Metaは$50Bを投じると発表した。これはAIインフラへの投資だ。")
    post("2025-02-01-garden.md", "トマトは日当たりの良い場所で育てる。水やりは朝に行う。")
    return engine_for(site, tmp_path / "cache", HashEmbedder(64))


def _count_cleaning(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def counting(raw: str, max_chars: int = 500) -> Query:
        seen.append(raw)
        return clean_question(raw, max_chars)

    monkeypatch.setattr(engine_module, "clean_question", counting)
    return seen


def test_ask_cleans_the_question_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Discord question is cleaned once, though it is batched and then answered."""
    seen = _count_cleaning(monkeypatch)
    answer = asyncio.run(engine.ask("<@123> **Metaの投資**"))
    assert seen == ["<@123> **Metaの投資**"]
    assert answer.question == "Metaの投資"


def test_answer_cleans_the_question_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocking entry point cleans once too."""
    seen = _count_cleaning(monkeypatch)
    engine.answer("Metaの投資")
    assert len(seen) == 1


def test_a_refused_answer_shows_nothing_but_evaluation_keeps_its_ranking(engine: Engine) -> None:
    """`answer` hides a `none` answer's results; with `keep_ranking` it keeps them."""
    shown = engine.answer("量子コンピューターの値段", Options(k=2))
    kept = engine.answer("量子コンピューターの値段", Options(k=2, keep_ranking=True))
    assert shown.tier == kept.tier == "none"
    assert shown.results == () and len(kept.results) >= 1
    assert kept.confidence == shown.confidence


def test_evaluation_answer_matches_answer_when_not_refused(engine: Engine) -> None:
    """Outside a refusal the evaluation answer is the reader's answer, result for result."""
    shown = engine.answer("Metaは何に投資する？", Options(k=2))
    kept = engine.answer("Metaは何に投資する？", Options(k=2, keep_ranking=True))
    assert shown.tier == kept.tier != "none"
    assert shown.results == kept.results


def test_answer_reports_every_stage(engine: Engine) -> None:
    """Each stage is timed, none is negative, and together they fit in the total."""
    answer = engine.answer("Metaの投資")
    stages = answer.timings_ms
    assert set(stages) == {"encode", "search", "excerpts", "confidence"}
    assert all(ms >= 0.0 for ms in stages.values())
    assert stages["search"] > 0.0 and stages["encode"] > 0.0
    assert sum(stages.values()) <= answer.latency_ms


def test_unusable_question_is_timed_without_stages(engine: Engine) -> None:
    """A question with no words is not encoded or searched, and says why."""
    answer = engine.answer("<@123> ***")
    assert answer.tier == "none" and answer.notice
    assert answer.timings_ms == {} and answer.results == ()


def test_result_score_is_the_confidence_its_tier_comes_from(engine: Engine) -> None:
    """Each result's tier is the tier of its own `score`, capped by the answer's tier."""
    order = {"answer": 0, "related": 1, "none": 2}
    answer = engine.answer("Metaは何に投資する？", Options(k=2, keep_ranking=True))
    assert answer.results
    for result in answer.results:
        own = tier_for(result.confidence, engine.thresholds)
        expected = max(own, answer.tier, key=order.__getitem__)
        assert result.tier == (answer.tier if expected == "none" else expected)


def test_the_first_question_does_not_analyse_every_title_and_tag(
    post: PostWriter, site: Path, tmp_path: Path
) -> None:
    """Titles, categories and tags are analysed when the index is loaded, each distinct
    name once; a post's tags are capped. The first question used to analyse them all in
    its own thread (200 posts with 10 000 tags each: 80 s)."""
    for n in range(20):
        tags = ["共通"] * 50 + [f"tag{n}x{i}" for i in range(300)]
        post(
            f"2025-01-{n + 1:02d}-p{n}.md",
            f"記事{n}の本文です。",
            {"title": f"記事{n}", "tags": tags},
        )
    engine = engine_for(site, tmp_path / "cache", HashEmbedder(64))
    assert max(len(a.tags) for a in engine.index.articles.values()) == 100
    assert set(engine.analyzer.terms("共通 記事19")) <= engine.serving.titles
    analysed: list[str] = []
    terms = engine.analyzer.terms

    def counting(text: str) -> list[str]:
        analysed.append(text)
        return terms(text)

    engine.analyzer.terms = counting  # type: ignore[method-assign]
    engine.answer("記事3の本文は？")
    assert 0 < len(analysed) < 50
