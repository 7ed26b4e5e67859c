"""Decide from a question's evidence: its confidence, its tier and the excerpts it shows.

Each excerpt gets a confidence of its own (the model applied to that hit's evidence,
with the question's caps) and is labelled with its own tier, never above the answer's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.corpus.permalinks import heading_link
from bot.index.snapshot import Index
from bot.retrieval.answers import Result, Tier
from bot.retrieval.assessment import Assessment
from bot.retrieval.confidence import Model, Thresholds, confidence, tier_for
from bot.retrieval.search import Hit, Signals

_ORDER: dict[Tier, int] = {"answer": 0, "related": 1, "none": 2}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one question."""

    tier: Tier
    confidence: float  # the answer's confidence; decides `tier`
    ranking: tuple[Result, ...]  # every hit as labelled, those too weak after the first dropped

    @property
    def shown(self) -> tuple[Result, ...]:
        """What the reader sees: a `none` answer shows nothing."""
        return self.ranking if self.tier != "none" else ()


def decide(index: Index, found: Assessment, model: Model, thresholds: Thresholds) -> Verdict:
    """The tier from the question's evidence; `index` is the one the hits point into."""
    if not found.hits:
        return Verdict("none", 0.0, ())
    score = confidence(found.signals, model, found.missing_type)
    tier = tier_for(score, thresholds)
    results = [
        result_for(index, hit, n, excerpt, _hit_confidence(found, n - 1, model))
        for n, (hit, excerpt) in enumerate(zip(found.hits, found.excerpts, strict=True), 1)
    ]
    return Verdict(tier, score, labelled(tier, results, thresholds))


def _hit_confidence(found: Assessment, n: int, model: Model) -> float:
    """A result's own confidence: its evidence, with the question's caps."""
    signals = for_hit(found.signals, found.hits[n], found.excerpt_terms[n])
    return confidence(signals, model, found.missing_type)


def for_hit(signals: Signals, hit: Hit, excerpt_terms: float) -> Signals:
    """The question's signals with this hit's own evidence (its excerpt's share of the
    question's words among them)."""
    return replace(
        signals, relevance=hit.relevance, top_sentence=hit.sentence, excerpt_terms=excerpt_terms
    )


def labelled(tier: Tier, results: list[Result], thresholds: Thresholds) -> tuple[Result, ...]:
    """Label each excerpt with its own tier (capped by the answer's) and drop, after
    the first, those too weak to be even related, so a confident answer is not padded."""
    shown: list[Result] = []
    for result in results:
        own = tier_for(result.confidence, thresholds)
        label = own if _ORDER[own] > _ORDER[tier] else tier
        if label == "none" and shown:
            continue
        shown.append(replace(result, tier=label if label != "none" else tier))
    return tuple(shown)


def result_for(index: Index, hit: Hit, rank: int, excerpt: str, own: float) -> Result:
    """The record shown for one hit: its article, the heading's link, its excerpt and its
    own confidence `own`."""
    passage = index.passages[hit.row]
    article = index.articles[passage.source]
    return Result(
        title=article.title,
        url=heading_link(article.url, passage.anchor),
        date=article.day or None,
        heading=passage.heading,
        excerpt=excerpt,
        confidence=round(own, 4),
        source=article.source,
        passage_id=passage.id,
        rank=rank,
    )
