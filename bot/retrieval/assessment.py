"""The evidence about one question that its tier is decided from, gathered before deciding.

For a question this ranks the hits, cuts their excerpts and measures the question as a
whole: how well its best sentence matches, which of its names the blog never uses, and
whether the date, price or number it asks for is stated by any excerpt about it.
`eval --calibrate` fits the confidence model on exactly this evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.index.analysis import JapaneseAnalyzer
from bot.index.snapshot import Index
from bot.retrieval.confidence import AnswerType, asked_value, missing_answer_type
from bot.retrieval.coverage import top_cosine
from bot.retrieval.emphasis import Question
from bot.retrieval.excerpts import hit_excerpt
from bot.retrieval.query import Query, name_words
from bot.retrieval.search import Hit, Signals, article_mask, rank, term_coverage
from bot.retrieval.serving import Options, Serving
from bot.retrieval.timing import Stopwatch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The evidence a tier is decided from; `eval --calibrate` fits the model on it."""

    hits: list[Hit]
    signals: Signals
    excerpts: list[str]  # one per hit, as shown
    excerpt_terms: list[float]  # per hit: its excerpt's share of the question's idf mass
    missing_type: AnswerType | None  # asked for, but stated by no excerpt about the question


class Assessor:
    """Gathers a question's evidence against whichever index it is handed."""

    def __init__(self, analyzer: JapaneseAnalyzer) -> None:
        self.analyzer = analyzer

    def assess(
        self,
        serving: Serving,
        query: Query,
        vector: np.ndarray,
        k: int,
        options: Options,
        watch: Stopwatch,
    ) -> Assessment:
        """Rank, cut excerpts, then measure the question; each part is a lap of `watch`."""
        index = serving.index
        terms = self.analyzer.terms(query.text)
        mask = article_mask(index, options.filters)
        hits = rank(
            index, vector, terms, k, options.mode, mask, options.diversity, options.lexical_weight
        )
        watch.lap("search")
        question = question_for(index, terms, query)
        excerpts = [hit_excerpt(hit, question, self.analyzer) for hit in hits]
        watch.lap("excerpts")
        absent = absent_names(self.analyzer, index, serving.titles, query)
        signals = question_signals(index, hits, terms, query.language, absent)
        above = serving.null.above(top_cosine(index, vector), query.language)
        shares = [excerpt_share(question, e, self.analyzer) for e in excerpts]
        signals = replace(signals, above_null=above, excerpt_terms=shares[0] if shares else 0.0)
        missing = missing_type_about(self.analyzer, query, excerpts)
        watch.lap("confidence")
        return Assessment(hits, signals, excerpts, shares, missing)


def question_for(index: Index, terms: Sequence[str], query: Query) -> Question:
    """What the sentence choice needs to know of the question, on this index."""
    known = [t for t in terms if index.lexical.document_frequency(t)]
    weights = {t: index.lexical.idf(t) for t in known}
    return Question(weights, asked_value(query.text, query.language), query.language)


def excerpt_share(question: Question, excerpt: str, analyzer: JapaneseAnalyzer) -> float:
    """The share of the question's idf mass (terms the blog knows) the excerpt holds: an
    excerpt about the topic that lacks the question's own rare words rarely answers it."""
    total = sum(question.term_weights.values())
    if total <= 0:
        return 0.0
    found = set(analyzer.terms(excerpt.replace("**", ""))) & question.term_weights.keys()
    return sum(question.term_weights[t] for t in found) / total


def absent_names(
    analyzer: JapaneseAnalyzer, index: Index, titles: frozenset[str], query: Query
) -> list[str]:
    """Names in a question that no passage, title, category or tag of the blog uses.

    Such a question cannot be answered by the blog, whatever the cosines say. `titles` is
    the index's `title_vocabulary`, made once when the index is loaded.
    """
    absent = []
    for word in name_words(query.text, query.language):
        found = analyzer.terms(word)
        unknown = found and index.lexical.document_frequency(found[0]) == 0
        if unknown and found[0] not in titles:
            absent.append(word)
    return absent


def title_vocabulary(analyzer: JapaneseAnalyzer, index: Index) -> frozenset[str]:
    """Terms of titles, categories and tags: a name may appear only there ("$50B").

    Each distinct name is analysed once, however many articles share it."""
    names = {a.title for a in index.articles.values()}
    names.update(n for a in index.articles.values() for n in (*a.categories, *a.tags))
    return frozenset(t for name in names for t in analyzer.terms(name))


def missing_type_about(
    analyzer: JapaneseAnalyzer, query: Query, excerpts: Sequence[str]
) -> AnswerType | None:
    """The date, price or number asked for when no excerpt about the question states it.

    An excerpt counts only if it holds every name of the question: "昨年リリースされた
    Llama 3" does not say when Llama 4 comes out.
    """
    names = {t for w in name_words(query.text, query.language) for t in analyzer.terms(w)}
    about = [e for e in excerpts if names <= set(analyzer.terms(e.replace("**", "")))]
    return missing_answer_type(query.text, query.language, about)


def question_signals(
    index: Index,
    hits: list[Hit],
    terms: Sequence[str],
    language: str = "ja",
    absent_names: Sequence[str] = (),
) -> Signals:
    """Evidence about the question as a whole, beyond its best cosine."""
    if not hits:
        return Signals(0.0, 0.0, 0.0, language == "en", tuple(absent_names))
    return Signals(
        relevance=hits[0].relevance,
        top_sentence=hits[0].sentence,
        term_coverage=term_coverage(index, terms),
        english=language == "en",
        absent_names=tuple(absent_names),
        nearest_relevance=hits[0].nearest_relevance,
    )
