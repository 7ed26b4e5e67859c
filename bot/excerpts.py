"""Cut the 1–3 sentences of a passage that answer best, and emphasise them.

The sentence most similar to the question is wrapped in ``**``; inside the other shown
sentences, the question's own words are emphasised, found with the same Japanese
analyser as the lexical index, so conjugated or full-width forms match too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from bot.lexical import JapaneseAnalyzer
from bot.passages import Passage, join_sentences

MAX_EXCERPT_CHARS = 600
MAX_SENTENCES = 3


def best_window(scores: np.ndarray, width: int = MAX_SENTENCES) -> tuple[int, int, int]:
    """(start, end, best) of the window of ≤ `width` sentences around the best sentence."""
    best = int(np.argmax(scores)) if len(scores) else 0
    start, end = best, best + 1
    while end - start < width and (start > 0 or end < len(scores)):
        before = scores[start - 1] if start > 0 else -np.inf
        after = scores[end] if end < len(scores) else -np.inf
        if after >= before:
            end += 1
        else:
            start -= 1
    return start, end, best


def make_excerpt(
    passage: Passage,
    sentence_scores: np.ndarray,
    query_terms: Collection[str],
    analyzer: JapaneseAnalyzer,
    max_chars: int = MAX_EXCERPT_CHARS,
) -> str:
    """The passage's best sentences with the best one in bold, within `max_chars`."""
    texts = [s.text for s in passage.sentences]
    start, end, best = best_window(sentence_scores)
    shown: list[str] = []
    for i in range(start, end):
        text = _fit(texts[i], max_chars // 2 if i != best else max_chars)
        if i == best:
            shown.append(f"**{_unbold(text)}**")
        else:
            shown.append(emphasise_terms(text, query_terms, analyzer))
    excerpt = join_sentences(shown)
    while len(excerpt) > max_chars and len(shown) > 1:
        shown.pop(0 if start < best else -1)
        start += 1 if start < best else 0
        excerpt = join_sentences(shown)
    return excerpt


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


def _unbold(text: str) -> str:
    """Asterisks from the article itself would pair up with ours; drop them."""
    return text.replace("**", "")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
