"""Gap clustering with the real embedded model on the unanswered paraphrase groups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.embedding.models import LoadedEmbedder, load_embedder
from bot.reports.gaps import DEFAULT_THRESHOLD, find_gaps
from bot.settings import EMBEDDED_MODEL

from .conftest import QuestionLogFile

pytestmark = pytest.mark.model

DATA = Path(__file__).resolve().parents[1] / "data"
# Unanswerable questions in questions.jsonl that paraphrase a group of paraphrases.jsonl.
SAME_AS = {"q46": "g1", "q47": "g2", "q48": "g3", "q51": "g5", "q59": "g4"}


@pytest.fixture(scope="module")
def model() -> Iterator[LoadedEmbedder]:
    """The embedded default model, loaded once for the module."""
    try:
        yield load_embedder(EMBEDDED_MODEL, Path(__file__).resolve().parents[2] / "cache")
    except Exception as exc:
        pytest.skip(f"embedded model unavailable: {exc}")


def _labelled() -> dict[str, str]:
    """Question → group: paraphrase groups plus unanswerable questions as singletons."""
    labels = {}
    for line in (DATA / "paraphrases.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        labels[row["question"]] = row["group"]
    for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] == "unanswerable":
            labels[row["question"]] = SAME_AS.get(row["id"], row["id"])
    return labels


async def test_default_threshold_groups_paraphrases_without_mixing(
    model: LoadedEmbedder, log_file: QuestionLogFile
) -> None:
    """No group mixes two different questions; the Japanese paraphrase sets are grouped."""
    labels = _labelled()
    start = datetime(2026, 2, 1, tzinfo=UTC)
    for i, question in enumerate(labels):
        log_file.add(question, start + timedelta(minutes=i), user=f"r{i}")
    groups = await find_gaps(log_file.path, model, top=100, threshold=DEFAULT_THRESHOLD)
    assert sum(g.size for g in groups) == len(labels)
    for group in groups:
        assert len({labels[w] for w in group.wordings}) == 1, group.wordings
    together = next(g for g in groups if "Llama 4の発売日は？" in g.wordings)
    assert "Llama 4 っていつ出るの？" in together.wordings
    assert sum(1 for g in groups if g.size >= 2) >= 4
