"""Decide how sure the bot is: `answer`, `related` or `none`.

One cosine is not enough evidence: off-topic questions score inside the range of good
ones, and a question about Llama 4's price is close to every passage about Llama 4.
Three kinds of evidence are combined:

* a name or number the reader typed ("Gemini 2.0", "DeepSeek", "GWh") that occurs
  nowhere in the blog means the blog cannot hold the answer: at most `related`;
* a question that asks when, how much or how many (`expected_answer_type`) is answered only by
  an excerpt that states a date, a price or a number: when no shown excerpt about the
  question's names does, the blog most likely does not say: at most `related` too;
* otherwise a logistic model over four question-level signals (how far the best
  sentence stands above the other candidates, its cosine, the share of the question's
  idf mass the corpus knows, and whether the question is English) gives the probability
  that the top excerpt answers. Its coefficients are fitted per model on the labelled
  questions with `python -m bot eval FILE --calibrate` (L2-regularised, standardised
  features) and pasted here; the thresholds can be overridden by settings.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from bot.embedding.embedded import IDENTITY as EMBEDDED_IDENTITY
from bot.retrieval.answers import Tier
from bot.retrieval.search import Signals

log = logging.getLogger(__name__)

AnswerType = Literal["date", "price", "number"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float  # confidence at or above which an excerpt is shown as the answer
    related: float  # at or above which related articles are shown, marked uncertain


@dataclass(frozen=True, slots=True)
class Model:
    """Two logistic models over the features of `features`, in their raw units.

    `coverage` (intercept first, then one weight per feature and one for absent names)
    says whether the blog covers the question at all: it is fitted on answerable questions
    against the bundled probes (`bot.retrieval.probes`) asked of the same blogs, and below
    `coverage_floor` (a logit) the tier is `none`. The rest says how likely the top excerpt
    answers a covered question: its probability decides `answer` or `related`.
    """

    intercept: float
    relevance: float
    top_sentence: float
    term_coverage: float
    english: float
    above_null: float = 0.0
    excerpt_terms: float = 0.0
    nearest_relevance: float = 0.0
    coverage: tuple[float, ...] = ()
    coverage_floor: float = -math.inf

    def probability(self, signals: Signals) -> float:
        return self.probability_of(features(signals))

    def probability_of(self, x: Sequence[float]) -> float:
        """The same, from the feature values (what calibration works with)."""
        weights = (
            self.relevance,
            self.top_sentence,
            self.term_coverage,
            self.english,
            self.above_null,
            self.excerpt_terms,
            self.nearest_relevance,
        )
        logit = self.intercept + sum(w * v for w, v in zip(weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def covers(self, x: Sequence[float], absent_names: bool) -> bool:
        """Whether the blog covers a question with these features at all."""
        return coverage_logit(self.coverage, x, absent_names) >= self.coverage_floor


def coverage_inputs(x: Sequence[float], absent_names: bool) -> tuple[float, ...]:
    """What the coverage model reads: the features of `features`, then absent names."""
    return (*x, 1.0 if absent_names else 0.0)


def coverage_logit(coverage: Sequence[float], x: Sequence[float], absent_names: bool) -> float:
    """How strongly a question looks like the blog's answerable ones rather than the probes,
    under `coverage` (intercept first; 0 when no coverage model was fitted)."""
    if not coverage:
        return 0.0
    values = coverage_inputs(x, absent_names)
    return coverage[0] + sum(w * v for w, v in zip(coverage[1:], values, strict=True))


FEATURES = (
    "relevance",
    "top_sentence",
    "term_coverage",
    "english",
    "above_null",
    "excerpt_terms",
    "nearest_relevance",
)
ABSENT_NAME_CAP = 0.3  # confidence ceiling when the question names what the blog never does
ANSWER_TYPE_CAP = 0.3  # ceiling when no shown excerpt states the date, price or number asked
UNCOVERED_CAP = 0.1  # ceiling below the coverage floor: under `related`, so tier `none`
NULL_CLIP = 10.0  # distances from the null beyond this say nothing more

# `python -m bot eval ... --calibrate`, the command in docs/eval.md: L2 logistic regressions,
# C=1, standardised features, coefficients in raw units, fitted on every labelled question
# of the nine sets (the development questions never). `coverage`: answerable questions
# against the bundled probes asked of the same six blogs, its floor the logit that refuses
# at most 3% of the answerable ones. The answer threshold is the lowest that shows at most
# 10% of the on-topic unanswerable questions as `answer` (`bot.evaluation.crossval`). The
# held-out (leave-one-set-out) figures of this procedure are in docs/eval.md.
E5_SMALL = Model(
    intercept=-10.89,
    relevance=-0.0673,
    top_sentence=12.04,
    term_coverage=-1.175,
    english=0.4751,
    above_null=0.2863,
    excerpt_terms=-0.1473,
    nearest_relevance=0.3367,
    coverage=(-0.3129, 0.08665, -8.055, 2.258, 0.05386, 2.159, 1.899, 0.2259, -0.6414),
    coverage_floor=-0.4463,
)
E5_THRESHOLDS = Thresholds(answer=0.9, related=0.2)
CALIBRATED: dict[str, tuple[Model, Thresholds]] = {
    EMBEDDED_IDENTITY: (E5_SMALL, E5_THRESHOLDS),
    "intfloat/multilingual-e5-small": (E5_SMALL, E5_THRESHOLDS),
}
# A model nobody calibrated: its cosine range is unknown, so only the scale-free signals
# count; the question's terms must be known to the corpus for an `answer`, and a question
# less than one standard deviation above the blog's probes is not covered.
DEFAULT = (
    Model(
        intercept=-3.0,
        relevance=0.3,
        top_sentence=0.0,
        term_coverage=5.0,
        english=0.0,
        coverage=(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0),
        coverage_floor=1.0,
    ),
    Thresholds(answer=0.6, related=0.2),
)


def features(signals: Signals) -> tuple[float, float, float, float, float, float, float]:
    """The model's inputs, in the order of `FEATURES`."""
    return (
        signals.relevance,
        signals.top_sentence,
        signals.term_coverage,
        1.0 if signals.english else 0.0,
        clipped_null(signals.above_null),
        signals.excerpt_terms,
        signals.nearest_relevance,
    )


def clipped_null(above_null: float) -> float:
    return max(-NULL_CLIP, min(NULL_CLIP, above_null))


def _calibrated(model: str) -> tuple[Model, Thresholds]:
    """The entry for `model`; an embedder name may add its precision ("…+int8") to the
    identity the entry was keyed by, and the cosines barely move with it."""
    if model in CALIBRATED:
        return CALIBRATED[model]
    return CALIBRATED.get(model.rsplit("+", 1)[0], DEFAULT)


def model_for(model: str) -> Model:
    return _calibrated(model)[0]


def thresholds_for(model: str, answer: float | None, related: float | None) -> Thresholds:
    base = _calibrated(model)[1]
    return Thresholds(
        answer=base.answer if answer is None else answer,
        related=base.related if related is None else related,
    )


def confidence(
    signals: Signals, model: Model = DEFAULT[0], missing_type: AnswerType | None = None
) -> float:
    """Probability in [0, 1] that the top excerpt answers the question.

    `missing_type` is the kind of answer the question asks for (a date, a price, a
    number) when no shown excerpt states one: similarity alone cannot overrule that.
    """
    probability = model.probability(signals)
    if not model.covers(features(signals), bool(signals.absent_names)):
        log.debug("best cosine %.2f sd above the blog's null: not covered", signals.above_null)
        probability = min(probability, UNCOVERED_CAP)
    if signals.absent_names:
        log.debug("names absent from the corpus: %s", ", ".join(signals.absent_names))
        probability = min(probability, ABSENT_NAME_CAP)
    if missing_type is not None:
        log.debug("no excerpt states the %s the question asks for", missing_type)
        probability = min(probability, ANSWER_TYPE_CAP)
    return probability


def tier_for(score: float, thresholds: Thresholds) -> Tier:
    if score >= thresholds.answer:
        return "answer"
    if score >= thresholds.related:
        return "related"
    return "none"


# -- expected answer type ------------------------------------------------------------
# What the question asks for, by language. A counter after 何 asks for a number unless a
# concessive も follows, at once or after the verb (何枚描かせても, 何パターンも: "however
# many"). A bare noun such
# as スコア or "cost" does not make a question numeric; only asking for its value does.
_ASKS: dict[str, tuple[tuple[AnswerType, re.Pattern[str]], ...]] = {
    "ja": (
        (
            "date",
            re.compile(
                r"いつ(?!も|でも|か(?!ら)|の間)|何(?:時(?!間)|年(?!間)|月|日)(?!も)"
                r"|(?:発売|リリース|公開|発表)(?:日|時期)"
            ),
        ),
        ("price", re.compile(r"いくら|(?:値段|価格|料金|金額|費用)(?:は|って)|何(?:円|ドル)")),
        (
            "number",
            re.compile(
                r"何(?:点|個|人|%|％|倍|件|社|台|回|割|歳|万|億|時間|年間|か月|"
                r"ヶ月|B|GB|枚|本|冊|種類|文字|分|秒|日間|週間|ページ|行|桁|つ)"
                r"(?!も)(?![^、。？?]{0,8}[てで]も)|いくつ"
            ),
        ),
    ),
    "en": (
        (
            "date",
            re.compile(
                r"^\W*when\b|\bwhen (?:is|was|will|did|does|do|are|were|can)\b"
                r"|\bwhat (?:date|year|month|day)\b|\bwhich (?:year|month)\b"
                r"|\b(?:release|launch) date\b",
                re.IGNORECASE,
            ),
        ),
        (
            "price",
            re.compile(
                r"\bhow much (?:money|does|do|did|will|would)\b|\bprice[ds]?\b"
                r"|\bpricing\b|\bwhat does .* cost\b",
                re.IGNORECASE,
            ),
        ),
        (
            "number",
            re.compile(
                r"\bhow (?:many|much)\b|\bby how much\b"
                r"|\bwhat (?:score|percentage|percent|share)\b",
                re.IGNORECASE,
            ),
        ),
    ),
}
# What states it, in either language: the blog is Japanese, figures are often Latin.
_DATE = re.compile(
    r"(?<![A-Za-z\-.\d])\d{1,4}\s*(?:年|月|日)|[昨来今去翌]年|[先来今翌]月|年内|年末|年初"
    r"|[上下]半期|四半期|今[春夏秋冬]|\b(?:19|20)\d{2}\b|\b(?:next|last|this) (?:year|month)\b"
    r"|\b(?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December)\b",
    re.IGNORECASE,
)
_PRICE = re.compile(
    r"[¥￥$＄€£]\s*\d|\d[\d,.]*\s*(?:円|ドル|ユーロ|億|万|兆)"
    r"|\d\s*(?:dollars?|yen|USD|JPY|billion|million)\b",
    re.IGNORECASE,
)
# A number with a unit or a counter; a digit inside a name ("Llama 4", "GPT-4o") is not one.
_NUMBER = re.compile(
    r"(?<![A-Za-z\-.\d])\d[\d,.]*\s*(?:%|％|倍|点|個|人|社|件|台|回|割|歳|年|か月|ヶ月|時間"
    r"|GB|TB|B\b|パーセント|percent|times\b|つ|枚|本|冊|種類|文字|分|秒|日|週|ページ|行|桁)"
    r"|[一二三四五六七八九十百千]+\s*(?:倍|割|つ|人|社|枚|本|冊|種類)",
    re.IGNORECASE,
)
_STATES: dict[AnswerType, tuple[re.Pattern[str], ...]] = {
    "date": (_DATE,),
    "price": (_PRICE,),
    "number": (_NUMBER, _PRICE),
}


def expected_answer_type(question: str, language: str) -> AnswerType | None:
    """The kind of value the question asks for, if it asks for one."""
    for kind, pattern in _ASKS["ja" if language == "ja" else "en"]:
        if pattern.search(question):
            return kind
    return None


# A version asked for ("どのバージョン", "which version") is stated by a dotted number or a
# "v" number; it only moves the bold (it is no reason to refuse).
_ASKS_VERSION = re.compile(
    r"(?:どの|何|最新)(?:\w{0,12})?バージョン|バージョンは|\b(?:which|what) (?:\w+ )?versions?\b",
    re.IGNORECASE,
)
_VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*|(?<![\w.])v\d+\b|バージョン\s*\d")


def asked_value(question: str, language: str) -> Callable[[str], bool] | None:
    """Whether a sentence states the kind of value the question asks for; None when it
    asks for none (the excerpt then bolds by similarity alone)."""
    kind = expected_answer_type(question, language)
    if kind is not None:
        return partial(states_answer_type, kind)
    if _ASKS_VERSION.search(question):
        return lambda text: bool(_VERSION.search(text.replace("**", "")))
    return None


def states_answer_type(kind: AnswerType, text: str) -> bool:
    """Whether `text` (an excerpt, markup allowed) states a value of that kind."""
    plain = text.replace("**", "")
    return any(p.search(plain) for p in _STATES[kind])


def missing_answer_type(question: str, language: str, excerpts: Iterable[str]) -> AnswerType | None:
    """The kind asked for when none of `excerpts` states it; None when the check passes."""
    kind = expected_answer_type(question, language)
    if kind is None or any(states_answer_type(kind, e) for e in excerpts):
        return None
    return kind
