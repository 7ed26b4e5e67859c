"""Run labelled questions through an engine once per ranking configuration.

Each question is encoded once; every configuration then re-ranks from the same vector,
so trying sixteen rankers costs sixteen searches, not sixteen encodings. For each hit
the excerpt is cut once per possible bold sentence, so the sentence model can be fitted
and applied later without searching again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from bot.evaluation.crossval import Config, HitView, Observation, Table
from bot.evaluation.labelled import Labelled, squash
from bot.retrieval.assessment import question_for
from bot.retrieval.confidence import features
from bot.retrieval.engine import Engine
from bot.retrieval.excerpts import hit_features, make_excerpt
from bot.retrieval.scoring import MODES, Hit
from bot.retrieval.serving import Options
from bot.retrieval.verdict import for_hit

log = logging.getLogger(__name__)

BASELINES = (
    Config("dense", 0.0),
    Config("lexical", 0.0),
    Config("rrf", 0.0),
    Config("passages", 0.0),  # the hybrid without sentence vectors: what they buy
)
DIVERSITIES = (0.3, math.inf)  # inf: one passage per article (the old rule)
LEXICAL_WEIGHTS = (0.25, 0.5)  # beside the shipped weight, for the fused ranker


def candidate_configs() -> list[Config]:
    """Every configuration the choice may pick, simplest first (ties go to the first)."""
    plain = [Config(m, 0.0) for m in MODES]
    lighter = [Config("hybrid", 0.0, w) for w in LEXICAL_WEIGHTS]
    return plain + lighter + [Config("hybrid", d) for d in DIVERSITIES]


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
    query = engine.clean(item.question)
    options = Options(
        k=3,
        mode=config.mode,
        diversity=config.diversity,
        lexical_weight=config.lexical_weight,
        keep_ranking=True,
    )
    serving, found = engine.evidence(query, vector, options)
    index = serving.index
    question = question_for(index, engine.analyzer.terms(query.text), query)
    views = []
    for hit in found.hits:
        source = index.passages[hit.row].source
        rows = hit_features(hit, question, engine.analyzer)
        views.append(_view(item, hit, item.matches(source), rows))
    return Observation(
        hits=tuple(views),
        features=features(found.signals),
        hit_features=tuple(
            features(for_hit(found.signals, h, share))
            for h, share in zip(found.hits, found.excerpt_terms, strict=True)
        ),
        absent_names=bool(found.signals.absent_names),
        missing_type=found.missing_type is not None,
        above_null=found.signals.above_null,
    )


def _view(item: Labelled, hit: Hit, matched: bool, rows: np.ndarray) -> HitView:
    """What a reader would find in this hit's excerpt with each sentence in bold."""
    wanted = [squash(e) for e in item.evidence]
    shown, bold = [], []
    for j, sentence in enumerate(hit.sentences):
        excerpt = squash(make_excerpt(hit.sentences, hit.sentence_scores, j))
        shown.append(any(w in excerpt for w in wanted))
        bold.append(any(w in squash(sentence) for w in wanted))
    return HitView(matched, hit.best, rows, tuple(shown), tuple(bold))


def merge(tables: Sequence[Table]) -> Table:
    """Tables of several corpora, concatenated in the same order as their items."""
    merged: Table = {}
    for table in tables:
        for config, rows in table.items():
            merged.setdefault(config, []).extend(rows)
    return merged
