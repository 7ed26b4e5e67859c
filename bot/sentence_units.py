"""Each article's sentences once, in reading order, with their neighbours.

Passages overlap by a sentence, so the same sentence has two vectors and two passages.
Ranking and excerpts work on sentences, so they need one entry per sentence and its
neighbours across passage boundaries: the sentence that answers may be the first of
the next passage. Built once per index version (a pass over the passages) and kept.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bot.index import Index

log = logging.getLogger(__name__)

_QUESTION_END = re.compile(r"[？?][」』）)\"'”’]*$")
_KEEP = 4  # index versions kept (a reindex briefly has two alive)


@dataclass(frozen=True, slots=True)
class Units:
    """Unique sentences: `unit_of[g]` maps a row of `sentence_vectors` to its unit."""

    unit_of: np.ndarray  # int64 per sentence vector row
    vector_row: np.ndarray  # int64 per unit: one sentence vector row holding it
    prev: np.ndarray  # int64 per unit: the previous unit of the article, or -1
    next: np.ndarray  # int64 per unit: the next unit of the article, or -1
    interrogative: np.ndarray  # bool per unit: the sentence ends with a question mark
    texts: tuple[str, ...]

    def around(self, unit: int, reach: int) -> list[int]:
        """Units within `reach` sentences of `unit`, in reading order."""
        before: list[int] = []
        cursor = unit
        for _ in range(reach):
            cursor = int(self.prev[cursor])
            if cursor < 0:
                break
            before.append(cursor)
        after: list[int] = []
        cursor = unit
        for _ in range(reach):
            cursor = int(self.next[cursor])
            if cursor < 0:
                break
            after.append(cursor)
        return [*reversed(before), unit, *after]


_cache: OrderedDict[str, Units] = OrderedDict()
_lock = threading.Lock()


def units_for(index: Index) -> Units:
    """The index's sentence units, built on first use."""
    with _lock:
        found = _cache.get(index.version)
        if found is not None and len(found.unit_of) == len(index.sentence_vectors):
            _cache.move_to_end(index.version)
            return found
    built = _build(index)
    with _lock:
        _cache[index.version] = built
        while len(_cache) > _KEEP:
            _cache.popitem(last=False)
    return built


def _build(index: Index) -> Units:
    unit_of = np.zeros(len(index.sentence_vectors), np.int64)
    seen: dict[tuple[str, int, str], int] = {}
    vector_row: list[int] = []
    texts: list[str] = []
    order: dict[str, list[int]] = {}
    g = 0
    for passage in index.passages:
        for sentence in passage.sentences:
            key = (passage.source, sentence.start, sentence.text)
            unit = seen.get(key)
            if unit is None:
                unit = seen[key] = len(texts)
                vector_row.append(g)
                texts.append(sentence.text)
                order.setdefault(passage.source, []).append(unit)
            unit_of[g] = unit
            g += 1
    prev = np.full(len(texts), -1, np.int64)
    nxt = np.full(len(texts), -1, np.int64)
    for units in order.values():  # passages come in reading order, so units do too
        prev[units[1:]] = units[:-1]
        nxt[units[:-1]] = units[1:]
    asks = np.fromiter((bool(_QUESTION_END.search(t)) for t in texts), bool, len(texts))
    log.debug("sentence units: %d sentences, %d unique", g, len(texts))
    return Units(unit_of, np.asarray(vector_row, np.int64), prev, nxt, asks, tuple(texts))
