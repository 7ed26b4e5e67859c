"""Run labelled questions through an engine once per ranking configuration.

Each question is encoded once; every configuration then re-ranks from the same vector,
so trying twenty rankers costs twenty searches, not twenty encodings.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from bot.retrieval.assessment import Assessment
from bot.retrieval.confidence import asked_value, features
from bot.retrieval.crossval import Config, Observation, Table
from bot.retrieval.engine import Engine
from bot.retrieval.evaluation import Labelled, outcome
from bot.retrieval.excerpts import hit_excerpt
from bot.retrieval.scoring import MODES
from bot.retrieval.verdict import for_hit

log = logging.getLogger(__name__)

BASELINES = (
    Config("dense", 0.0),
    Config("lexical", 0.0),
    Config("rrf", 0.0),
    Config("passages", 0.0),  # the hybrid without sentence vectors: what they buy
)
DIVERSITIES = (0.0, 0.1, 0.3, math.inf)  # inf: one passage per article (the old rule)


EMPHASES = (0.0, 2.0, 12.0)  # beside the shipped LEXICAL_EMPHASIS, for the fused ranker


def candidate_configs() -> list[Config]:
    """Every configuration the choice may pick, simplest first (ties go to the first)."""
    plain = [Config(m, d) for d in DIVERSITIES for m in MODES]
    return plain + [Config("hybrid", 0.0, e) for e in EMPHASES]


def observed_configs() -> list[Config]:
    """The candidates, then the baselines that are measured but never chosen."""
    candidates = candidate_configs()
    return candidates + [c for c in BASELINES if c not in candidates]


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
    excerpts = found.excerpts if config.emphasis is None else _excerpts(engine, item, found, config)
    each = [outcome(item, [s], [e], "none") for s, e in zip(sources, excerpts, strict=True)]
    first = outcome(item, sources[:1], excerpts[:1], "none")
    return Observation(
        matched=tuple(o.rank == 1 for o in each),
        evidence=tuple(o.evidence3 for o in each),
        evidence_bold=first.evidence_bold,
        features=features(found.signals),
        hit_features=tuple(features(for_hit(found.signals, h)) for h in found.hits),
        absent_names=bool(found.signals.absent_names),
        missing_type=found.missing_type is not None,
    )


def _excerpts(engine: Engine, item: Labelled, found: Assessment, config: Config) -> list[str]:
    """The hits' excerpts cut with the configuration's emphasis instead of the shipped one."""
    query = engine.clean(item.question)
    terms = engine.analyzer.terms(query.text)
    asked = asked_value(query.text, query.language)
    return [
        hit_excerpt(engine.index, h, terms, engine.analyzer, asked, config.emphasis)
        for h in found.hits
    ]


def merge(tables: Sequence[Table]) -> Table:
    """Tables of several corpora, concatenated in the same order as their items."""
    merged: Table = {}
    for table in tables:
        for config, rows in table.items():
            merged.setdefault(config, []).extend(rows)
    return merged
