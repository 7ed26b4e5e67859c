"""Autocomplete for ``/ask``'s category and tag from a sorted index, never a scan.

Discord sends an autocomplete interaction on every keystroke and it cannot be deferred,
so it is answered on the event loop. Scanning every tag of every article there took
0.4 s per keystroke at 200 articles × 10 000 tags, stalling every other reader. Instead
the distinct values are sorted once per index load, in a worker thread, and each
keystroke is two binary searches: names that start with what was typed, then names
with it inside (from a bounded list of suffixes). The index is bounded too: at most
:data:`MAX_VALUES` names and :data:`MAX_SUFFIXES` suffixes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CHOICES_MAX = 25
CHOICE_MAX = 100  # Discord's limit on a choice's name and value
MAX_VALUES = 200_000
MAX_SUFFIXES = 400_000
SCAN_MAX = CHOICES_MAX * 8  # suffix entries looked at per keystroke, at most
FIRST_BUILD_WAIT_S = 2.0  # Discord drops an autocomplete answered after three seconds


@dataclass(frozen=True)
class PrefixIndex:
    """Casefolded names in sorted order, with a bounded sorted list of their suffixes."""

    keys: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    suffix_keys: list[str] = field(default_factory=list)
    suffix_values: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, names: Iterable[str]) -> PrefixIndex:
        """Index the distinct names Discord can show (1 to 100 characters)."""
        usable = {(name.casefold(), name) for name in names if 0 < len(name) <= CHOICE_MAX}
        pairs = sorted(usable)
        if len(pairs) > MAX_VALUES:
            log.warning("autocomplete: %d names, only the first %d offered", len(pairs), MAX_VALUES)
            pairs = pairs[:MAX_VALUES]
        suffixes = sorted(_suffixes(pairs))
        return cls(
            keys=[key for key, _ in pairs],
            values=[value for _, value in pairs],
            suffix_keys=[key for key, _ in suffixes],
            suffix_values=[value for _, value in suffixes],
        )

    def __len__(self) -> int:
        return len(self.keys)

    def complete(self, typed: str, limit: int = CHOICES_MAX) -> list[str]:
        """Names starting with ``typed`` first, then names containing it; case-insensitive."""
        needle = typed.strip().casefold()
        found = list(_matching(self.keys, self.values, needle, limit))
        if len(found) < limit and needle:
            seen = set(found)
            for value in _matching(self.suffix_keys, self.suffix_values, needle, SCAN_MAX):
                if value not in seen:
                    seen.add(value)
                    found.append(value)
                    if len(found) == limit:
                        break
        return found


def _suffixes(pairs: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    budget = MAX_SUFFIXES
    for key, value in pairs:
        for start in range(1, len(key)):
            if budget == 0:
                return
            budget -= 1
            yield key[start:], value


def _matching(keys: list[str], values: list[str], needle: str, most: int) -> Iterator[str]:
    start = bisect.bisect_left(keys, needle)
    for i in range(start, min(start + most, len(keys))):
        if not keys[i].startswith(needle):
            return
        yield values[i]


class Completions:
    """The index for the current engine index, rebuilt off the event loop when it changes.

    ``names`` reads the engine (slow at scale) and runs only in a worker thread; ``version``
    says which index is loaded and is cheap. Until a rebuild is done the previous index
    answers.
    """

    def __init__(self, names: Callable[[], list[str]], version: Callable[[], object]) -> None:
        self._names = names
        self._version = version
        self._index = PrefixIndex()
        self._built_for: object = None
        self._building: asyncio.Task[None] | None = None

    async def complete(self, typed: str) -> list[str]:
        """Answer a keystroke from the current index; start a rebuild if it is stale.

        Only before the first index exists does a keystroke wait, and never long.
        """
        building = self.refresh()
        if building is not None and self._built_for is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(building), FIRST_BUILD_WAIT_S)
        return self._index.complete(typed)

    def refresh(self) -> asyncio.Task[None] | None:
        """Start rebuilding when the engine's index changed; the running build, if any."""
        version = self._version()
        if version != self._built_for and self._building is None:
            self._building = asyncio.get_running_loop().create_task(self._build(version))
        return self._building

    async def ready(self) -> None:
        """Wait until the index matches the engine's current one."""
        while (task := self.refresh()) is not None:
            await task

    async def _build(self, version: object) -> None:
        try:
            self._index = await asyncio.to_thread(lambda: PrefixIndex.build(self._names()))
            self._built_for = version
            log.debug("autocomplete: %d names indexed", len(self._index))
        except Exception:
            log.exception("autocomplete: could not build the index; keeping the previous one")
            self._built_for = version  # do not retry on every keystroke
        finally:
            self._building = None
