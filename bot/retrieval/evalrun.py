"""Run labelled questions through an engine once per ranking configuration.

Each question is encoded once; every configuration then re-ranks from the same vector,
so trying twenty rankers costs twenty searches, not twenty encodings.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from bot.retrieval.confidence import features
from bot.retrieval.crossval import Config, Observation, Table
from bot.retrieval.engine import Engine
from bot.retrieval.evaluation import Labelled, outcome
from bot.retrieval.scoring import MODES
from bot.retrieval.verdict import for_hit

log = logging.getLogger(__name__)

BASELINES = (Config("dense", 0.0), Config("lexical", 0.0), Config("rrf", 0.0))
DIVERSITIES = (0.0, 0.1, 0.3, math.inf)  # inf: one passage per article (the old rule)


def candidate_configs() -> list[Config]:
    """Every configuration the choice may pick, simplest first (ties go to the first)."""
    return [Config(m, d) for d in DIVERSITIES for m in MODES]


def observe(engine: Engine, items: Sequence[Labelled], configs: Sequence[Config]) -> Table:
    """Each configuration's observation of each question (all on `engine`'s corpus)."""
    texts = [engine.clean(i.question).text for i in items]
    vectors = engine.embedder.embed_queries(texts)
    table: Table = {c: [] for c in configs}
    for config in configs:
        for item, vector in zip(items, vectors, strict=True):
            table[config].append(_observation(engine, item, vector, config))
    return table


def _observation(engine: Engine, item: Labelled, vector: np.ndarray, config: Config) -> Observation:
    found = engine.assess(item.question, 3, config.mode, vector, config.diversity)
    sources = [engine.index.passages[h.row].source for h in found.hits]
    each = [outcome(item, [s], [e], "none") for s, e in zip(sources, found.excerpts, strict=True)]
    first = outcome(item, sources[:1], found.excerpts[:1], "none")
    return Observation(
        matched=tuple(o.rank == 1 for o in each),
        evidence=tuple(o.evidence3 for o in each),
        evidence_bold=first.evidence_bold,
        features=features(found.signals),
        hit_features=tuple(features(for_hit(found.signals, h)) for h in found.hits),
        absent_names=bool(found.signals.absent_names),
        missing_type=found.missing_type is not None,
    )


def merge(tables: Sequence[Table]) -> Table:
    """Tables of several corpora, concatenated in the same order as their items."""
    merged: Table = {}
    for table in tables:
        for config, rows in table.items():
            merged.setdefault(config, []).extend(rows)
    return merged
