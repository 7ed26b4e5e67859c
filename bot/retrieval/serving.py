"""What a question is answered against, and how: shared by the engine and its assessor."""

from __future__ import annotations

from dataclasses import dataclass

from bot.index.snapshot import Index
from bot.retrieval.coverage import NullScores
from bot.retrieval.search import DIVERSITY, LEXICAL_WEIGHT, SHIPPED_MODE, Filters, Mode


@dataclass(frozen=True, slots=True)
class Options:
    """How to answer one question; the defaults are what readers get."""

    k: int | None = None  # excerpts wanted; None: the configured top_k
    filters: Filters | None = None
    mode: Mode = SHIPPED_MODE
    diversity: float = DIVERSITY
    lexical_weight: float = LEXICAL_WEIGHT  # BM25's part in the fused score
    # `eval` scores every question, refused or not: a `none` answer keeps what it ranked
    keep_ranking: bool = False


READERS = Options()


@dataclass(frozen=True, slots=True)
class Serving:
    """An index, what its null looks like and the terms of its titles, categories and
    tags, made together when the index is loaded (not by its first question) and swapped
    together, so a question never mixes one index with another's."""

    index: Index
    null: NullScores
    titles: frozenset[str] = frozenset()
