"""A first index killed midway resumes: the restart embeds only what was missing."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np

from bot.index import resume
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import refresh
from bot.index.snapshot import snapshot_root
from tests.conftest import PostWriter
from tests.fakes import HashEmbedder
from tests.index import reindex_worker
from tests.index.reindex_worker import DIMENSION, params_for, spec_for

BODY = "### 見出し{n}\n\n" + "\n\n".join(
    f"記事{{n}}の段落{i}の文です。続きの文{i}。" for i in range(8)
)


def _site(post: PostWriter, articles: int) -> None:
    for n in range(articles):
        post(f"2024-01-{n + 1:02d}-a{n}.md", BODY.format(n=n))


def _committed(cache: Path, site: Path) -> int:
    folder = resume.folder_for(snapshot_root(cache, params_for(site)), DIMENSION)
    try:
        return (folder / "hashes.bin").stat().st_size // resume.HASH_BYTES
    except OSError:
        return 0


def _kill_midway(site: Path, cache: Path, at_least: int) -> int:
    """Start a real first index, SIGKILL it once `at_least` passages are kept; how many were."""
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=reindex_worker.index_slowly, args=(str(site), str(cache)))
    worker.start()
    deadline = time.monotonic() + 60
    while _committed(cache, site) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.kill()
    worker.join(timeout=30)
    assert worker.exitcode is not None and worker.exitcode < 0, "the indexer finished first"
    return _committed(cache, site)


def test_killed_first_index_resumes_with_its_vectors(
    post: PostWriter, site: Path, tmp_path: Path, analyzer: JapaneseAnalyzer
) -> None:
    """After SIGKILL midway, the restart embeds only the passages the killed run had not."""
    _site(post, 12)
    cache = tmp_path / "cache"
    kept = _kill_midway(site, cache, at_least=32)
    restarted, report = refresh(spec_for(site), HashEmbedder(DIMENSION), analyzer, cache)
    assert 32 <= kept < report.passages
    assert report.embedded == report.passages - kept
    clean, _ = refresh(spec_for(site), HashEmbedder(DIMENSION), analyzer, tmp_path / "clean")
    assert np.allclose(restarted.vectors, clean.vectors)
    assert np.allclose(restarted.sentence_vectors, clean.sentence_vectors, atol=1e-3)
    assert _committed(cache, site) == 0  # the kept vectors went once the snapshot was saved


def test_half_written_batch_is_cut_off(tmp_path: Path) -> None:
    """A batch whose hashes were never written (killed mid-batch) is not trusted."""
    spool = resume.ResumeSpool(tmp_path, 4)
    rows = np.eye(4, dtype=np.float32)[:2]
    spool.add(["00" * 16, "11" * 16], rows, [rows[:1], rows[:2]])
    spool.close()
    with (tmp_path / "vectors.bin").open("ab") as file:  # next batch's rows, uncommitted
        file.write(np.ones((1, 4), np.float32).tobytes())
    reopened = resume.ResumeSpool(tmp_path, 4)
    assert sorted(reopened.fresh) == ["00" * 16, "11" * 16]
    assert reopened.vectors.rows == 2 and reopened.sentences.rows == 3
    assert np.allclose(reopened.sentences.read(1, 2), rows[:2])
    reopened.close()
