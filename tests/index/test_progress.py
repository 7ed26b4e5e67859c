"""The first index's progress line: done/total, this run's rate and the time left."""

from __future__ import annotations

from bot.index.progress import Meter


def test_line_reports_rate_and_eta_of_this_run() -> None:
    """Resumed passages count as done but not towards the rate: 100 left at 10/s is 10 s."""
    now = [0.0]
    meter = Meter(total=300, done=100, clock=lambda: now[0])
    now[0] = 10.0
    meter.advance(100)
    assert meter.line(now[0]) == "embedded 200/300 passages (10.0/s, 0m10s left)"


def test_line_before_any_rate_has_unknown_eta() -> None:
    """With nothing embedded yet, the time left is unknown, not zero."""
    meter = Meter(total=50, clock=lambda: 0.0)
    assert meter.line(0.0).endswith("(0.0/s, ? left)")


def test_long_runs_show_hours() -> None:
    """Hours of embedding read as hours and minutes."""
    now = [0.0]
    meter = Meter(total=100_000, clock=lambda: now[0])
    now[0] = 100.0
    meter.advance(1000)
    assert "(10.0/s, 2h45m left)" in meter.line(now[0])
