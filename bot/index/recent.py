"""Embed each distinct text once while indexing.

Passages overlap by a sentence, so every passage boundary would embed one sentence
twice, and release notes and translated posts repeat whole sentences ("詳しくは…を参照
してください"). On the fixture sites 10-20% of the texts a first index embeds are repeats.
A text's vector is a function of the text alone, so a repeat takes the vector already
computed. The memory is bounded: only the most recent texts are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

CAPACITY = 8192  # vectors kept (~12 MB at 384 dimensions)


class RecentVectors:
    """Vectors of recently embedded texts, in front of an embedding function."""

    def __init__(
        self, embed: Callable[[Sequence[str]], np.ndarray], capacity: int = CAPACITY
    ) -> None:
        self._embed = embed
        self._capacity = max(1, capacity)
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self.embedded = 0  # texts sent to the model
        self.reused = 0  # texts answered from memory

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, in order; only texts not seen recently reach the model."""
        found: dict[str, np.ndarray] = {}
        for text in texts:
            if text in self._kept and text not in found:
                self._kept.move_to_end(text)
                found[text] = self._kept[text]
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = np.asarray(self._embed(missing))
            found.update(zip(missing, fresh, strict=True))
            for text, vector in zip(missing, fresh, strict=True):
                self._remember(text, vector)
        self.embedded += len(missing)
        self.reused += len(texts) - len(missing)
        if not texts:
            return np.asarray(self._embed([]))
        return np.stack([found[t] for t in texts])

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._kept[text] = vector
        self._kept.move_to_end(text)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
