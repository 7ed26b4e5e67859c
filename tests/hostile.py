"""Guards for hostile-input tests: a call that used to hang or backtrack must return.

A runaway Python loop is given up on after a generous allowance (tens of times what the
fixed code needs, a fraction of what the stalled code took); a backtracking regex holds
the interpreter lock until it ends, so the call's own duration is checked as well. It
checks that the call ends, not how fast: the allowance is far above any honest run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ALLOWANCE_S = 10.0


class DidNotFinish(AssertionError):
    pass


def finishes(call: Callable[[], T], allowance_s: float = ALLOWANCE_S) -> T:
    """`call()`'s result; fails the test if it is still running after `allowance_s`."""
    box: dict[str, T] = {}
    errors: list[BaseException] = []

    took: list[float] = []

    def run() -> None:
        started = time.monotonic()
        try:
            box["value"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        took.append(time.monotonic() - started)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(allowance_s)
    if thread.is_alive() or took[0] > allowance_s:
        raise DidNotFinish(f"still running after {allowance_s:.0f} s")
    if errors:
        raise errors[0]
    return box["value"]
