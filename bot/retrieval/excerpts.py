"""Cut the 1–3 sentences that answer best, and emphasise them.

The sentence that answers best is wrapped in ``**``; the window grows around it towards
the better-scoring neighbour (context before or after), possibly across a passage
boundary, while it fits. Inside the other shown sentences the question's own words are
emphasised, found with the same Japanese analyser as the lexical index, so conjugated
or full-width forms match too. The whole excerpt, markup included, stays within
`max_chars`, below Discord's 1 024-character embed field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from bot.corpus.passages import join_sentences
from bot.index.analysis import JapaneseAnalyzer
from bot.index.snapshot import Index
from bot.retrieval.scoring import Hit

log = logging.getLogger(__name__)

MAX_EXCERPT_CHARS = 700
LEXICAL_EMPHASIS = 6.0  # standard deviations of sentence similarity per unit of idf share
MAX_SENTENCES = 3
ELLIPSIS = "…"


def best_window(
    scores: np.ndarray, best: int | None = None, width: int = MAX_SENTENCES
) -> tuple[int, int, int]:
    """(start, end, best) of ≤ `width` sentences around the best, grown greedily by score."""
    if best is None:
        best = int(np.argmax(scores)) if len(scores) else 0
    start, end = best, min(best + 1, len(scores))
    while end - start < width and (start > 0 or end < len(scores)):
        before = scores[start - 1] if start > 0 else -np.inf
        after = scores[end] if end < len(scores) else -np.inf
        if after >= before:
            end += 1
        else:
            start -= 1
    return start, end, best


def hit_excerpt(
    index: Index,
    hit: Hit,
    terms: Sequence[str],
    analyzer: JapaneseAnalyzer,
    states_asked: Callable[[str], bool] | None = None,
    emphasis: float | None = None,
) -> str:
    """The excerpt shown for one hit: its rare question terms weighted by their idf.

    `states_asked` tells whether a sentence states the kind of value the question asks
    for (a date, a price, a count, a version); such a sentence takes the bold.
    """
    known = [t for t in terms if index.lexical.document_frequency(t)]
    weights = {t: index.lexical.idf(t) for t in known}
    return make_excerpt(
        hit.sentences,
        hit.sentence_scores,
        hit.best,
        set(terms),
        analyzer,
        term_weights=weights,
        states_asked=states_asked,
        emphasis=LEXICAL_EMPHASIS if emphasis is None else emphasis,
    )


def make_excerpt(
    sentences: Sequence[str],
    scores: np.ndarray,
    best: int,
    query_terms: Collection[str],
    analyzer: JapaneseAnalyzer,
    max_chars: int = MAX_EXCERPT_CHARS,
    term_weights: Mapping[str, float] | None = None,
    states_asked: Callable[[str], bool] | None = None,
    emphasis: float = LEXICAL_EMPHASIS,
) -> str:
    """The best sentence in bold with up to two neighbours, within `max_chars` in all.

    With `term_weights` (idf per question term), a neighbour that holds the question's
    rare words may take the bold from the sentence the vectors liked best; with
    `states_asked`, a neighbour stating the value asked for takes it before anything else.
    """
    if not sentences:
        return ""
    if term_weights or states_asked:
        best = emphasis_target(
            sentences, scores, best, term_weights or {}, analyzer, states_asked, emphasis
        )
    start, end, best = best_window(scores, best)
    keep = [best]
    for i in _by_preference(start, end, best, scores):
        trial = sorted([*keep, i])
        if len(_render(sentences, trial, best, query_terms, analyzer)) <= max_chars:
            keep = trial
    excerpt = _render(sentences, keep, best, query_terms, analyzer)
    return excerpt if len(excerpt) <= max_chars else _bold(_fit(sentences[best], max_chars - 4))


def emphasis_target(
    sentences: Sequence[str],
    scores: np.ndarray,
    best: int,
    term_weights: Mapping[str, float],
    analyzer: JapaneseAnalyzer,
    states_asked: Callable[[str], bool] | None = None,
    emphasis: float = LEXICAL_EMPHASIS,
) -> int:
    """The sentence next to (or at) `best` that best combines similarity and rare terms;
    one stating the value the question asks for comes first."""
    total = sum(term_weights.values()) or 1.0
    reach = range(max(0, best - 1), min(len(sentences), best + 2))

    def combined(i: int) -> float:
        found = set(analyzer.terms(sentences[i])) & term_weights.keys()
        share = sum(term_weights[t] for t in found) / total
        return float(scores[i]) + emphasis * share

    def states(i: int) -> bool:
        return states_asked is not None and states_asked(sentences[i])

    return max(reach, key=lambda i: (states(i), combined(i), i == best))


def _by_preference(start: int, end: int, best: int, scores: np.ndarray) -> list[int]:
    """The window's other sentences, the better-scoring first."""
    others = [i for i in range(start, end) if i != best]
    return sorted(others, key=lambda i: -float(scores[i]))


def _render(
    sentences: Sequence[str],
    shown: Sequence[int],
    best: int,
    terms: Collection[str],
    analyzer: JapaneseAnalyzer,
) -> str:
    """Shown sentences in reading order; a gap between two of them becomes an ellipsis."""
    parts: list[str] = []
    for position, i in enumerate(shown):
        if position and i != shown[position - 1] + 1:
            parts.append(ELLIPSIS)
        text = sentences[i]
        parts.append(_bold(text) if i == best else emphasise_terms(text, terms, analyzer))
    return join_sentences(parts)


def emphasise_terms(text: str, terms: Collection[str], analyzer: JapaneseAnalyzer) -> str:
    """Wrap each occurrence of a query term (as the analyser sees it) in ``**``."""
    if not terms:
        return _unbold(text)
    spans = [(t.start, t.end) for t in analyzer.tokens(text) if t.term in terms]
    out, cursor = [], 0
    for start, end in _merge(spans):
        out.append(_unbold(text[cursor:start]))
        out.append(f"**{_unbold(text[start:end])}**")
        cursor = end
    out.append(_unbold(text[cursor:]))
    return "".join(out)


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _bold(text: str) -> str:
    return f"**{_unbold(text)}**"


def _unbold(text: str) -> str:
    """Asterisks from the article itself would pair up with ours; drop them."""
    return text.replace("**", "")


def _fit(text: str, limit: int) -> str:
    text = _unbold(text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
