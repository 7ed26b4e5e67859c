"""The editors' to-do list: questions the blog could not answer, grouped and ranked.

Readers ask the same missing thing in many wordings ("Llama 4の発売日は？", "Llama 4 っていつ
出るの？"), so a flat list of unanswered questions hides what matters. We merge exact
duplicates after normalisation, then group near-duplicates by cosine similarity of the same
query embeddings the search uses, and rank groups by how many readers asked.

Clustering is greedy "leader" clustering: the question with the most neighbours above the
threshold founds a group and takes its unassigned neighbours, then the next densest, and so on.
Every member is therefore within the threshold of its group's founder, which keeps groups
tight (no single-linkage chains), and the cost is two similarity passes over the questions,
block by block, so memory does not grow with the square of the log.

``DEFAULT_THRESHOLD`` is `clean_threshold` on a labelled set: the lowest cosine at which
no two different questions would share a group. Editors prefer a gap listed twice to two
different gaps hidden in one line, hence the precision-first rule. The set is
``tests/data/paraphrases.jsonl`` plus the unanswerable questions of
``tests/data/questions.jsonl`` (32 questions, five paraphrase groups, twelve singletons);
with the embedded multilingual-e5-small model (fp32) different questions about Llama 4
reach 0.958, paraphrases start at 0.87 (cross-lingual) to 0.92 (Japanese): 0.96 groups
four of the five Japanese paraphrase sets and leaves cross-lingual ones apart. Held out
(chosen on half the groups, measured on the other half) the rule picks 0.95 on one half
and that merges one pair of different questions of the other (0.958): five groups are
too few for the rule to generalise by more than a hundredth, so treat 0.96 as a floor.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from bot.embedding.models import Embedder
from bot.questions.store import format_time, parse_time, read_only_uri

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.96
THRESHOLD_GRID = tuple(round(0.80 + 0.01 * i, 2) for i in range(20))  # 0.80 … 0.99
_BLOCK_ROWS = 512  # similarity rows computed at a time, to bound memory on large logs

KEY_LENGTH = 6  # hex digits of a group's key: what an editor types to mark it covered

# Unanswered questions, less those an editor has marked covered by an article.
_GAP_SQL = """
SELECT q.id, q.question, q.asked_at, q.user_hash, r.title, r.url
FROM questions AS q
LEFT JOIN results AS r
  ON r.question_id = q.id
 AND r.rank = (SELECT MIN(rank) FROM results WHERE question_id = q.id)
WHERE q.tier IN ('related', 'none')
  AND (:since IS NULL OR q.asked_at >= :since)
  AND q.id NOT IN (SELECT question_id FROM gap_cover_questions)
ORDER BY q.asked_at
"""


@dataclass(frozen=True)
class GapGroup:
    """One thing readers wanted and the blog did not answer."""

    example: str  # the most central wording
    size: int  # questions in the group
    askers: int  # distinct user_hash values (questions from the CLI have none)
    first_asked: datetime  # in the settings' timezone
    last_asked: datetime
    wordings: tuple[str, ...]  # distinct wordings, most asked first
    article_title: str | None  # the top result most often shown for the group, if any
    article_url: str | None
    question_ids: tuple[str, ...] = ()  # what marking the group covered takes off the list

    @property
    def other_wordings(self) -> tuple[str, ...]:
        """The wordings besides the example, most asked first."""
        return tuple(w for w in self.wordings if w != self.example)

    @property
    def key(self) -> str:
        """A short name for the group, stable while its most central wording stays."""
        return group_key(self.example)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "example": self.example,
            "size": self.size,
            "askers": self.askers,
            "first_asked": self.first_asked.isoformat(),
            "last_asked": self.last_asked.isoformat(),
            "wordings": list(self.wordings),
            "article_title": self.article_title,
            "article_url": self.article_url,
        }


def group_key(example: str) -> str:
    """The key of the group whose most central wording is `example`."""
    digest = hashlib.sha256((normalise(example) or example).encode("utf-8")).hexdigest()
    return digest[:KEY_LENGTH]


@dataclass(frozen=True)
class _Asked:
    id: str
    question: str
    asked_at: datetime  # UTC
    user_hash: str | None
    article: tuple[str, str] | None  # (title, url) of the top result


async def find_gaps(
    db_path: Path,
    embedder: Embedder,
    *,
    since: date | None = None,
    top: int | None = 20,
    tz: tzinfo = UTC,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[GapGroup]:
    """Group the unanswered questions (tier related/none) that no editor has marked
    covered, and return the `top` largest (all of them for None)."""
    rows = await _load(db_path, day_start_utc(since, tz))
    if not rows:
        return []
    clusters = await asyncio.to_thread(_cluster_rows, rows, embedder, threshold)
    groups = [_make_group(members, example, tz) for members, example in clusters]
    groups.sort(key=lambda g: (-g.askers, -g.size, -g.last_asked.timestamp(), g.example))
    log.debug("%d unanswered questions in %d groups", len(rows), len(groups))
    return groups if top is None else groups[:top]


def day_start_utc(since: date | None, tz: tzinfo) -> str | None:
    """Midnight of `since` in `tz`, as the UTC ISO string stored in `asked_at`."""
    if since is None:
        return None
    return format_time(datetime.combine(since, time(), tzinfo=tz))


async def _load(db_path: Path, since_utc: str | None) -> list[_Asked]:
    async with aiosqlite.connect(read_only_uri(db_path), uri=True) as db:
        fetched = await db.execute_fetchall(_GAP_SQL, {"since": since_utc})
    return [
        _Asked(str(i), str(q), parse_time(str(at)), user, (str(title), str(url)) if url else None)
        for i, q, at, user, title, url in fetched
    ]


def normalise(question: str) -> str:
    """The key for exact duplicates: NFKC, case-folded, without spaces and punctuation."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def _cluster_rows(
    rows: Sequence[_Asked], embedder: Embedder, threshold: float
) -> list[tuple[list[_Asked], str]]:
    """Merge exact duplicates, embed one wording of each, cluster; runs in a worker thread."""
    by_key: dict[str, list[_Asked]] = {}
    for row in rows:
        by_key.setdefault(normalise(row.question) or row.question, []).append(row)
    buckets = list(by_key.values())
    texts = [Counter(r.question for r in bucket).most_common(1)[0][0] for bucket in buckets]
    weights = np.array([len(bucket) for bucket in buckets], dtype=np.float32)
    vectors = np.asarray(embedder.embed_queries(texts), dtype=np.float32)
    result = []
    for members in leader_clusters(vectors, weights, threshold):
        centre = members[_most_central(vectors[members], weights[members])]
        result.append(([row for i in members for row in buckets[i]], texts[centre]))
    return result


def clean_threshold(
    vectors: np.ndarray, labels: Sequence[str], grid: Sequence[float] = THRESHOLD_GRID
) -> float:
    """The lowest threshold of `grid` above every cosine between questions of different
    labels (normalised vectors): nothing different is ever grouped. The grid's top when
    none is."""
    similar = vectors @ vectors.T
    names = np.asarray(labels)
    different = names[:, None] != names[None, :]
    worst = float(similar[different].max()) if different.any() else -1.0
    return next((t for t in grid if t > worst), grid[-1])


def leader_clusters(vectors: np.ndarray, weights: np.ndarray, threshold: float) -> list[list[int]]:
    """Greedy clustering: densest unassigned point first takes its unassigned neighbours.

    Neighbour lists are never kept (12 000 near-duplicates would need 1.2 GB of them): one
    pass block by block sums each point's neighbour weights, then the leaders' similarity
    rows are computed again, a block of upcoming leaders at a time. Memory stays at one
    block of similarities whatever the log holds.
    """
    density = _densities(vectors, weights, threshold)
    order = sorted(range(len(vectors)), key=lambda i: (-density[i], i))
    assigned = np.zeros(len(vectors), dtype=bool)
    clusters: list[list[int]] = []
    for start in range(0, len(order), _BLOCK_ROWS):
        leaders = [i for i in order[start : start + _BLOCK_ROWS] if not assigned[i]]
        if not leaders:
            continue
        sims = vectors[leaders] @ vectors.T
        for leader, row in zip(leaders, sims, strict=True):
            if assigned[leader]:
                continue
            close = row >= threshold
            close[leader] = True
            members = np.flatnonzero(close & ~assigned)
            assigned[members] = True
            clusters.append([int(j) for j in members])
    return clusters


def _densities(vectors: np.ndarray, weights: np.ndarray, threshold: float) -> np.ndarray:
    """Each point's summed weight of the points within `threshold` (itself included)."""
    density = np.zeros(len(vectors), dtype=np.float64)
    for start in range(0, len(vectors), _BLOCK_ROWS):
        close = vectors[start : start + _BLOCK_ROWS] @ vectors.T >= threshold
        rows = np.arange(len(close))
        close[rows, start + rows] = True
        density[start : start + len(close)] = close.astype(np.float32) @ weights
    return density


def _most_central(vectors: np.ndarray, weights: np.ndarray) -> int:
    """The member with the highest weighted similarity to the whole group.

    ``(V Vᵀ) w`` computed as ``V (Vᵀ w)``: no members x members matrix for a large group.
    """
    return int(np.argmax(vectors @ (weights @ vectors)))


def _make_group(members: Sequence[_Asked], example: str, tz: tzinfo) -> GapGroup:
    moments = [m.asked_at for m in members]
    articles = Counter(m.article for m in members if m.article is not None)
    article = articles.most_common(1)[0][0] if articles else None
    return GapGroup(
        example=example,
        size=len(members),
        askers=len({m.user_hash for m in members if m.user_hash}),
        first_asked=min(moments).astimezone(tz),
        last_asked=max(moments).astimezone(tz),
        wordings=tuple(q for q, _ in Counter(m.question for m in members).most_common()),
        article_title=article[0] if article else None,
        article_url=article[1] if article else None,
        question_ids=tuple(m.id for m in members),
    )
