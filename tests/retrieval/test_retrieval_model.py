"""The real embedded model on the sample corpus: properties, not figures.

Every figure of the ranker and the confidence model is measured held out by
`python -m bot eval ... --cv` (docs/eval.md); these questions are in no labelled set.
"""

from __future__ import annotations

import pytest

from bot.retrieval.engine import Engine
from bot.retrieval.serving import Options

pytestmark = pytest.mark.model


def test_english_question_finds_japanese_evidence(real_engine: Engine) -> None:
    """Cross-lingual: an English question is answered by the Japanese sentence that says it."""
    answer = real_engine.answer(
        "Does Microsoft offer a comparable assistant?", Options(keep_ranking=True)
    )
    assert any("Copilot" in r.excerpt for r in answer.results)


def test_name_the_blog_never_uses_is_not_answered(real_engine: Engine) -> None:
    """A product the blog never mentions: at most `related`."""
    assert real_engine.answer("Falcon 180Bとの性能比較は？").tier != "answer"


@pytest.mark.parametrize(
    "question",
    [
        "美味しいサワードウブレッドの焼き方を教えて",
        "明日の東京の降水確率は？",
        "How do I bake sourdough bread at home?",
        "asdfghjkl qwerty",
    ],
)
def test_what_no_blog_covers_is_not_covered(real_engine: Engine, question: str) -> None:
    """Bread, weather and keyboard mash on an AI news blog: tier `none`, nothing shown."""
    answer = real_engine.answer(question)
    assert answer.tier == "none" and answer.results == ()


def test_a_covered_question_is_shown(real_engine: Engine) -> None:
    """The blog's own subject is covered: never `none`."""
    assert real_engine.answer("Metaが過去に買収した会社は？").tier != "none"
