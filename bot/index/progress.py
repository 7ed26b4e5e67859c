"""A first index's progress in the log: passages done, rate, and the time left."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

EVERY_S = 10.0


class Meter:
    """Counts embedded passages; logs done/total, passages per second and the ETA."""

    def __init__(
        self, total: int, done: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.done = done
        self._resumed = done
        self._clock = clock
        self._started = clock()
        self._logged = self._started

    def advance(self, count: int) -> None:
        self.done += count
        now = self._clock()
        if now - self._logged >= EVERY_S or self.done >= self.total:
            self._logged = now
            log.info("%s", self.line(now))

    def rate(self, now: float) -> float:
        """Passages per second embedded by this run (resumed ones excluded)."""
        elapsed = now - self._started
        return (self.done - self._resumed) / elapsed if elapsed > 0 else 0.0

    def line(self, now: float) -> str:
        rate = self.rate(now)
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "?" if left == float("inf") else _duration(left)
        return f"embedded {self.done}/{self.total} passages ({rate:.1f}/s, {eta} left)"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
