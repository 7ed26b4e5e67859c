"""The typed answer every front end (CLI, Discord, eval) receives from the core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Tier = Literal["answer", "related", "none"]
TIERS: tuple[Tier, ...] = ("answer", "related", "none")


@dataclass(frozen=True, slots=True)
class Result:
    """One excerpt shown to the reader, with where it came from."""

    title: str
    url: str
    date: str | None  # YYYY-MM-DD in the site's timezone; None (JSON null) when undated
    heading: str | None
    excerpt: str  # plain text; the matching sentence wrapped in **…**
    confidence: float  # this excerpt's own, in [0, 1]; `tier` comes from it
    source: str  # article path relative to the corpus folder
    passage_id: str
    rank: int
    tier: Tier = "answer"  # the tier of `score`, never above the answer's

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, its confidence under the name the log and clients read."""
        record = asdict(self)
        record["score"] = record.pop("confidence")
        return record


@dataclass(frozen=True, slots=True)
class Answer:
    """What the bot says to one question: a confidence tier and its excerpts."""

    question: str
    tier: Tier
    results: tuple[Result, ...]
    confidence: float  # that the first excerpt answers, in [0, 1]; decides `tier`
    language: str  # "ja", "en" or "other", guessed from the script
    index_version: str
    latency_ms: float = 0.0
    notice: str | None = None  # a user-facing reason when the question was unusable
    # encode, search, excerpts, confidence: `bot.retrieval.timing.StageTimes` by name
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        """Only a confident answer counts; `related` and `none` are editors' gaps."""
        return self.tier == "answer"

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "tier": self.tier,
            "answered": self.answered,
            "best_score": round(self.confidence, 4),
            "language": self.language,
            "index_version": self.index_version,
            "notice": self.notice,
            "results": [r.to_json() for r in self.results],
        }


def by_article(results: Sequence[Result]) -> list[list[Result]]:
    """Results grouped by article, groups in the order of their best result, each group in
    rank order: a reply shows two passages of one article together under its title."""
    groups: dict[str, list[Result]] = {}
    for result in results:
        groups.setdefault(result.source, []).append(result)
    return list(groups.values())
