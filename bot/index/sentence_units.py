"""Each article's sentences once, in reading order, with their neighbours.

Passages overlap by a sentence, so the same sentence has two vectors and two passages.
Ranking and excerpts work on sentences, so they need one entry per sentence and its
neighbours across passage boundaries: the sentence that answers may be the first of
the next passage. A sentence is identified by its article and its start offset, so the
units are a sort of two integer columns, computed at refresh and stored in the
snapshot as arrays: no per-sentence Python object exists while serving, and a unit's
text is decoded from its passage only when an excerpt shows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.corpus.passages import Passage
from bot.index.mapped import load_mapped, read_rows

_QUESTION_END = re.compile(r"[？?][」』）)\"'”’]*$")
_COLUMNS = ("unit_of", "vector_row", "prev", "next", "interrogative", "window_norm")
# The units' file prefix; a new one when what they mean changes, so that older snapshots
# derive their units again instead of using stale ones. units2: neighbours stop at a heading.
_FILES = "units2"
_CHUNK = 65_536  # units per pass when summing neighbourhood vectors


def is_question(text: str) -> bool:
    """The sentence ends with a question mark (perhaps inside closing brackets)."""
    return bool(_QUESTION_END.search(text))


@dataclass(frozen=True, slots=True)
class Units:
    """Unique sentences: `unit_of[g]` maps a row of `sentence_vectors` to its unit."""

    unit_of: np.ndarray  # int32 per sentence vector row
    vector_row: np.ndarray  # int32 per unit: the first sentence vector row holding it
    prev: np.ndarray  # int32 per unit: the previous unit of the article, or -1
    next: np.ndarray  # int32 per unit: the next unit of the article, or -1
    interrogative: np.ndarray  # bool per unit: the sentence ends with a question mark
    window_norm: np.ndarray  # float32 per unit: norm of its vector plus its neighbours'

    @classmethod
    def empty(cls) -> Units:
        none = np.zeros(0, np.int32)
        return cls(none, none, none, none, np.zeros(0, bool), np.zeros(0, np.float32))

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

    def save(self, folder: Path) -> None:
        for name in _COLUMNS:
            np.save(folder / f"{_FILES}_{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Units | None:
        """The snapshot's units, memory-mapped; None for a snapshot written without them
        (or with an older layout, whose units the index then derives again)."""
        paths = [folder / f"{_FILES}_{name}.npy" for name in _COLUMNS]
        if not all(p.is_file() for p in paths):
            return None
        return cls(*(load_mapped(p) for p in paths))


def section_ids(passages: Sequence[Passage]) -> np.ndarray:
    """One integer per passage, the same for passages under the same (heading, anchor)."""
    ids: dict[tuple[str, str | None, str | None], int] = {}
    keys = ((p.source, p.heading, p.anchor) for p in passages)
    return np.fromiter((ids.setdefault(k, len(ids)) for k in keys), np.int64, len(passages))


def build_units(
    passage_article: np.ndarray,
    sentence_offsets: np.ndarray,
    sentence_starts: np.ndarray,
    sentence_asks: np.ndarray,
    sentence_vectors: np.ndarray,
    passage_section: np.ndarray | None = None,
) -> Units:
    """Units from each sentence row's article and start offset (a sort, no Python loop).

    Neighbours are linked within one section only (`passage_section`, from
    `section_ids`): an excerpt grown from a sentence must not reach into the text under
    another heading, which its link and heading would not describe. Without it, sections
    are not told apart.

    The norm of each unit's neighbourhood vector is query-independent, so it is stored:
    search then gets the neighbourhood cosine from three sentence cosines it has anyway.
    """
    total = len(sentence_starts)
    if total == 0:
        return Units.empty()
    rows = np.repeat(np.arange(len(passage_article)), np.diff(sentence_offsets))
    article = np.asarray(passage_article, np.int64)[rows]
    starts = np.asarray(sentence_starts, np.int64)
    order = np.lexsort((np.arange(total), starts, article))  # first occurrence leads
    a, s = article[order], starts[order]
    first = np.ones(total, bool)
    first[1:] = (a[1:] != a[:-1]) | (s[1:] != s[:-1])
    unit_of = np.empty(total, np.int32)
    unit_of[order] = np.cumsum(first) - 1
    vector_row = order[first].astype(np.int32)
    unit_article = a[first]
    same = unit_article[1:] == unit_article[:-1]
    if passage_section is not None:
        unit_section = np.asarray(passage_section, np.int64)[rows[vector_row]]
        same &= unit_section[1:] == unit_section[:-1]
    count = len(vector_row)
    ids = np.arange(count, dtype=np.int32)
    prev = np.full(count, -1, np.int32)
    nxt = np.full(count, -1, np.int32)
    prev[1:][same] = ids[:-1][same]
    nxt[:-1][same] = ids[1:][same]
    asks = np.asarray(sentence_asks, bool)[vector_row]
    norms = _window_norms(sentence_vectors, vector_row, prev, nxt)
    return Units(unit_of, vector_row, prev, nxt, asks, norms)


def _window_norms(
    vectors: np.ndarray, vector_row: np.ndarray, prev: np.ndarray, nxt: np.ndarray
) -> np.ndarray:
    """Norm of each unit's vector plus its neighbours', a chunk of units at a time.

    Units follow the sentence rows' order, so a chunk's rows (neighbours included) are
    one compact range, read in one go.
    """
    out = np.empty(len(vector_row), np.float32)
    for begin in range(0, len(vector_row), _CHUNK):
        units = np.arange(begin, min(begin + _CHUNK, len(vector_row)))
        around = [units, prev[units], nxt[units]]
        rows = np.concatenate([vector_row[u[u >= 0]] for u in around])
        low, high = int(rows.min()), int(rows.max()) + 1
        block = read_rows(vectors, low, high)
        total = np.asarray(block[vector_row[units] - low], np.float32).copy()
        for side in (prev, nxt):
            other = side[units]
            has = other >= 0
            total[has] += np.asarray(block[vector_row[other[has]] - low], np.float32)
        out[units] = np.linalg.norm(total, axis=1)
    return out
