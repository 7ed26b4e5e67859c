"""Cut the 1–3 sentences that answer best, and emphasise the one that answers.

The answering sentence (`bot.retrieval.emphasis` picks it) is wrapped in ``**``, whole:
nothing else is emphasised, so the bold is never cut into fragments. The window grows
around it towards the better-scoring neighbour (context before or after), possibly across
a passage boundary, while it fits. The whole excerpt, markup included, stays within
`max_chars`, below Discord's 1 024-character embed field.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from bot.corpus.passages import join_sentences
from bot.index.analysis import JapaneseAnalyzer
from bot.retrieval.emphasis import FITTED, Question, SentenceModel, sentence_features
from bot.retrieval.scoring import Hit

log = logging.getLogger(__name__)

MAX_EXCERPT_CHARS = 700
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


def hit_features(hit: Hit, question: Question, analyzer: JapaneseAnalyzer) -> np.ndarray:
    """The sentence signals of a hit's sentences (`bot.retrieval.emphasis`)."""
    return sentence_features(hit.sentences, hit.sentence_scores, hit.best, question, analyzer)


def hit_excerpt(
    hit: Hit,
    question: Question,
    analyzer: JapaneseAnalyzer,
    model: SentenceModel = FITTED,
) -> str:
    """The excerpt shown for one hit, its answering sentence in bold."""
    chosen = model.pick(hit_features(hit, question, analyzer))
    return make_excerpt(hit.sentences, hit.sentence_scores, chosen)


def make_excerpt(
    sentences: Sequence[str],
    scores: np.ndarray,
    best: int,
    max_chars: int = MAX_EXCERPT_CHARS,
) -> str:
    """Sentence `best` in bold with up to two neighbours, within `max_chars` in all."""
    if not sentences:
        return ""
    start, end, best = best_window(scores, best)
    keep = [best]
    for i in _by_preference(start, end, best, scores):
        trial = sorted([*keep, i])
        if len(_render(sentences, trial, best)) <= max_chars:
            keep = trial
    excerpt = _render(sentences, keep, best)
    return excerpt if len(excerpt) <= max_chars else _bold(_fit(sentences[best], max_chars - 4))


def _by_preference(start: int, end: int, best: int, scores: np.ndarray) -> list[int]:
    """The window's other sentences, the better-scoring first."""
    others = [i for i in range(start, end) if i != best]
    return sorted(others, key=lambda i: -float(scores[i]))


def _render(sentences: Sequence[str], shown: Sequence[int], best: int) -> str:
    """Shown sentences in reading order; a gap between two of them becomes an ellipsis."""
    parts: list[str] = []
    for position, i in enumerate(shown):
        if position and i != shown[position - 1] + 1:
            parts.append(ELLIPSIS)
        parts.append(_bold(sentences[i]) if i == best else _unbold(sentences[i]))
    return _join_for_reading(parts)


_ENDS = tuple("。！？!?.…」』）)】:：")


def _join_for_reading(parts: Sequence[str]) -> str:
    """Sentences as `join_sentences` joins them, except that a line that ends without a
    full stop (a list item, a heading, a table cell) keeps its line break: "…の導入" and
    "Issue #679" are two lines, not one word."""
    out = ""
    for part in parts:
        if out and not out.replace("**", "").rstrip().endswith(_ENDS) and part != ELLIPSIS:
            out += "\n" + part
        else:
            out = join_sentences([out, part]) if out else part
    return out


def _bold(text: str) -> str:
    return f"**{_unbold(text)}**"


def _unbold(text: str) -> str:
    """Asterisks from the article itself would pair up with ours; drop them."""
    return text.replace("**", "")


def _fit(text: str, limit: int) -> str:
    text = _unbold(text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
