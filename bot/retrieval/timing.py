"""Where one question's time goes, stage by stage, for the benchmark and the logs.

The engine always takes these laps: a handful of clock reads cost next to nothing beside
a question's milliseconds, so timing needs no switch and no patching from outside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

Stage = Literal["encode", "search", "excerpts", "confidence"]


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Milliseconds spent in each stage of one question, in the order they run.

    `total_ms` is the whole call after cleaning the question (what `Answer.latency_ms`
    says), so it is a hair more than the sum of the four stages.
    """

    encode_ms: float  # the question's vector; ~0 from `ask`, whose batcher encoded it
    search_ms: float  # question terms, dense and lexical candidates, sentence scoring
    excerpts_ms: float  # cutting and emphasising each hit's excerpt
    confidence_ms: float  # question signals, answer-type check, tiers, the result records
    total_ms: float

    def stages_ms(self) -> dict[str, float]:
        """The four stages by name, as `Answer.timings_ms` carries them."""
        return {
            "encode": self.encode_ms,
            "search": self.search_ms,
            "excerpts": self.excerpts_ms,
            "confidence": self.confidence_ms,
        }


class Stopwatch:
    """Adds the time since the previous lap to a stage."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self._laps: dict[Stage, float] = {}

    def lap(self, stage: Stage) -> None:
        now = time.perf_counter()
        self._laps[stage] = self._laps.get(stage, 0.0) + (now - self._last)
        self._last = now

    def finish(self) -> StageTimes:
        """The laps so far and the time since the start; a stage never reached counts 0."""
        finished = time.perf_counter()

        def ms(stage: Stage) -> float:
            return self._laps.get(stage, 0.0) * 1000

        return StageTimes(
            encode_ms=ms("encode"),
            search_ms=ms("search"),
            excerpts_ms=ms("excerpts"),
            confidence_ms=ms("confidence"),
            total_ms=(finished - self.started) * 1000,
        )
