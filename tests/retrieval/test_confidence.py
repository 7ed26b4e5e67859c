"""Confidence tiers: the logistic model, the two vetoes and the threshold overrides."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.embedding.embedded import IDENTITY
from bot.embedding.embedded import IDENTITY as EMBEDDED_IDENTITY
from bot.retrieval.confidence import (
    ABSENT_NAME_CAP,
    ANSWER_TYPE_CAP,
    E5_SMALL,
    AnswerType,
    asked_value,
    confidence,
    expected_answer_type,
    missing_answer_type,
    model_for,
    states_answer_type,
    thresholds_for,
    tier_for,
)
from bot.retrieval.search import Signals

E5 = EMBEDDED_IDENTITY
STRONG = Signals(
    12.0, 0.91, 1.0, False, (), above_null=5.0, excerpt_terms=1.0, nearest_relevance=12.0
)
WEAK = Signals(3.5, 0.81, 0.0, False, (), above_null=1.0, excerpt_terms=0.0, nearest_relevance=3.5)


def test_strong_evidence_answers_and_weak_is_refused() -> None:
    """A sentence far above the others with known terms answers; an off-topic one does not."""
    thresholds = thresholds_for(E5, None, None)
    assert tier_for(confidence(STRONG, E5_SMALL), thresholds) == "answer"
    assert tier_for(confidence(WEAK, E5_SMALL), thresholds) != "answer"


@pytest.mark.parametrize("model", [E5, "a-model-nobody-calibrated"])
def test_a_question_near_the_blogs_probes_is_not_covered(model: str) -> None:
    """A question that matches this blog no better than its probes do, with few words the
    blog knows, gets `none`, calibrated model or not; one far above them does not."""
    thresholds = thresholds_for(model, None, None)
    near = replace(WEAK, above_null=0.0, term_coverage=0.2)
    far = replace(STRONG, above_null=6.0)
    assert tier_for(confidence(near, model_for(model)), thresholds) == "none"
    assert tier_for(confidence(far, model_for(model)), thresholds) != "none"


def test_absent_name_caps_confidence_below_answer() -> None:
    """A name the blog never uses ("Gemini 2.0") can at most be `related`."""
    vetoed = replace(STRONG, absent_names=("2.0",))
    score = confidence(vetoed, E5_SMALL)
    assert score <= ABSENT_NAME_CAP
    assert tier_for(score, thresholds_for(E5, None, None)) != "answer"


def test_confidence_is_a_probability() -> None:
    """Extreme signals stay within [0, 1]."""
    for signals in (
        Signals(1e6, 1.0, 1.0, True, ()),
        Signals(-1e6, -1.0, 0.0, False, ()),
    ):
        assert 0.0 <= confidence(signals, E5_SMALL) <= 1.0


def test_settings_override_calibrated_thresholds() -> None:
    """ANSWER_THRESHOLD / RELATED_THRESHOLD win over the per-model values."""
    assert thresholds_for(E5, 0.9, 0.1).answer == 0.9
    assert thresholds_for("unknown-model", None, 0.05).related == 0.05


@pytest.mark.parametrize(
    ("question", "language", "kind"),
    [
        ("Llama 4っていつリリースされるの？", "ja", "date"),
        ("発売日は決まってる？", "ja", "date"),
        ("何年にリリースされた？", "ja", "date"),
        ("Llama 4のAPI料金いくら？", "ja", "price"),
        ("スマートグラスの価格は？", "ja", "price"),
        ("MMLUスコア何点？", "ja", "number"),
        ("性能アップって何%？", "ja", "number"),
        ("対応言語はいくつ？", "ja", "number"),
        ("When will Llama 4 ship?", "en", "date"),
        ("So when was Llama 3 released?", "en", "date"),
        ("What year did Meta buy Instagram?", "en", "date"),
        ("What is the price of the glasses?", "en", "price"),
        ("How much money is Meta investing?", "en", "price"),
        ("How many GPUs does Meta buy?", "en", "number"),
        ("What score does it get on MMLU?", "en", "number"),
        # Not asking for a value: none expected.
        ("いつも使ってるモデルは？", "ja", None),
        ("同じキャラを何枚描かせてもブレない？", "ja", None),
        ("写真は何枚まで入れられる？", "ja", "number"),
        ("How much is Meta investing in Llama 4?", "en", "number"),
        ("広告の画像って何パターンも作れる？", "ja", None),
        ("75%って何の数字？", "ja", None),
        ("GLUEのスコアって出てる？", "ja", None),
        ("What happens when the model is open?", "en", None),
        ("Does Llama cut development cost?", "en", None),
    ],
)
def test_expected_answer_type(question: str, language: str, kind: AnswerType | None) -> None:
    """When, how much and how many ask for a value; "however many" and "what is 75%" do not."""
    assert expected_answer_type(question, language) == kind


@pytest.mark.parametrize(
    ("kind", "text", "states"),
    [
        ("date", "昨年リリースされたLlama 3は", True),
        ("date", "2025年12月に発表された", True),
        ("date", "Released in March 2024.", True),
        ("date", "Llama 4が公開されれば", False),
        ("price", "**500億ドル**の投資", True),
        ("price", "Meta puts $50B into AI.", True),
        ("price", "API利用料で収益を得る", False),
        ("number", "さらに30%の性能向上です", True),
        ("number", "言語理解能力を2倍に", True),
        ("number", "500億ドルだよ？", True),
        ("number", "Llama 4とGPT-4oとH100", False),
    ],
)
def test_states_answer_type(kind: AnswerType, text: str, states: bool) -> None:
    """Dates, prices and numbers with units count; digits inside names do not."""
    assert states_answer_type(kind, text) is states


def test_missing_answer_type_needs_one_excerpt_stating_it() -> None:
    """One shown excerpt with the value is enough; none means the blog likely does not say."""
    question = "Llama 4の性能アップって何%？"
    shown = ["Llama 4は高性能だ。", "Llama 4でさらに30%の性能向上です。"]
    assert missing_answer_type(question, "ja", shown) is None
    assert missing_answer_type(question, "ja", shown[:1]) == "number"
    assert missing_answer_type("Llamaはオープン？", "ja", shown[:1]) is None


def test_missing_answer_type_caps_below_answer() -> None:
    """Strong similarity cannot overrule a missing date, price or number; thresholds can."""
    score = confidence(STRONG, E5_SMALL, missing_type="date")
    assert score <= ANSWER_TYPE_CAP < confidence(STRONG, E5_SMALL)
    assert tier_for(score, thresholds_for(E5, None, None)) == "related"
    assert tier_for(score, thresholds_for(E5, ANSWER_TYPE_CAP, None)) == "answer"


@pytest.mark.parametrize(
    ("question", "language", "stating", "not_stating"),
    [
        (
            "写真は何枚まで入れられる？",
            "ja",
            "1回に最大10枚まで添付できます。",
            "写真を添付できます。",
        ),
        ("MetaはLlama 4にいくら投資するの？", "ja", "500億ドルを投じる。", "Llama 4に投資する。"),
        ("JRubyはどのRubyバージョン互換？", "ja", "Ruby 1.8.7 と互換です。", "互換性があります。"),
        ("Which Jekyll versions fixed it?", "en", "Version 1.0.4 fixes it.", "It was fixed."),
    ],
)
def test_asked_value_recognises_the_sentence_that_states_it(
    question: str, language: str, stating: str, not_stating: str
) -> None:
    """Count, price and version questions know which sentence states their value."""
    states = asked_value(question, language)
    assert states is not None and states(stating) and not states(not_stating)


def test_asked_value_is_none_for_open_questions() -> None:
    """A question asking for no value leaves the bold to similarity."""
    assert asked_value("Llamaの派生モデルはどこで見られる？", "ja") is None


def test_embedded_model_with_a_precision_suffix_is_calibrated() -> None:
    """The embedder's name may add "+int8" to the identity; the calibration still applies."""
    assert model_for(f"{IDENTITY}+int8") == E5_SMALL
    assert model_for("someone/else+int8") != E5_SMALL
