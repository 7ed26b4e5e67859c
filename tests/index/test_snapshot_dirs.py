"""Snapshot folders: one writer at a time, nothing left by killed writers, no dangling CURRENT."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.index import snapshot
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import refresh
from bot.index.snapshot import Index
from tests.conftest import PostWriter
from tests.fakes import HashEmbedder
from tests.index import reindex_worker

BODY = "### 見出し{n}\n\n記事{n}の一文目です。記事{n}の二文目です。"
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def small_site(post: PostWriter, site: Path) -> Path:
    for n in (1, 2):
        post(f"2025-01-0{n}-post{n}.md", BODY.format(n=n))
    return site


@pytest.fixture
def built(small_site: Path, tmp_path: Path) -> Index:
    """An index of the small site, saved in tmp_path/cache."""
    spec = reindex_worker.spec_for(small_site)
    index, _ = refresh(
        spec, HashEmbedder(reindex_worker.DIMENSION), JapaneseAnalyzer(), _cache(tmp_path)
    )
    return index


def _cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _root(tmp_path: Path, index: Index) -> Path:
    return snapshot.snapshot_root(_cache(tmp_path), index.params)


def _run_to_death(target: Callable[..., None], *args: Any) -> int | None:
    child = SPAWN.Process(target=target, args=args)
    child.start()
    child.join(120)
    return child.exitcode


def test_a_second_reindex_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    """Another process holding the lock: a caller that will not wait gets a clear ReindexBusy."""
    held, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(target=reindex_worker.hold_lock, args=(str(tmp_path), held, release))
    holder.start()
    try:
        assert held.wait(60)
        busy = pytest.raises(snapshot.ReindexBusy, match=f"another reindex.*process {holder.pid}")
        with busy, snapshot.exclusive(tmp_path, wait_s=0.2):
            pass
    finally:
        release.set()
        holder.join(60)
    with snapshot.exclusive(tmp_path, wait_s=5), snapshot.exclusive(tmp_path, wait_s=0):
        pass  # free again, and re-entrant within one thread


def test_a_killed_reindex_frees_the_lock_and_its_folder_is_cleared(
    small_site: Path, tmp_path: Path
) -> None:
    """A reindex killed mid-build leaves a .build folder; the next one removes it, no waiting."""
    cache = _cache(tmp_path)
    assert _run_to_death(reindex_worker.die_while_building, str(small_site), str(cache)) == -9
    root = snapshot.snapshot_root(cache, reindex_worker.params_for(small_site))
    assert [p.name[:7] for p in root.iterdir() if p.is_dir()] == [".build-"]
    with snapshot.build_workdir(cache, reindex_worker.params_for(small_site)) as workdir:
        assert [p for p in root.iterdir() if p.is_dir()] == [workdir]
    assert not any(p.is_dir() for p in root.iterdir())


def test_a_killed_save_is_cleared_by_the_next(small_site: Path, tmp_path: Path) -> None:
    """A half-written snapshot is never loaded, and the next save removes it."""
    cache = _cache(tmp_path)
    assert _run_to_death(reindex_worker.die_while_saving, str(small_site), str(cache)) == -9
    params = reindex_worker.params_for(small_site)
    root = snapshot.snapshot_root(cache, params)
    assert any(p.name.startswith(".tmp-") for p in root.iterdir())
    assert snapshot.load(cache, params) is None
    spec = reindex_worker.spec_for(small_site)
    refresh(spec, HashEmbedder(reindex_worker.DIMENSION), JapaneseAnalyzer(), cache)
    assert not any(p.name.startswith(".tmp-") for p in root.iterdir())
    assert snapshot.load(cache, params) is not None


def test_only_the_snapshot_current_names_is_kept(built: Index, tmp_path: Path) -> None:
    """Saving again keeps exactly one snapshot: the one CURRENT names."""
    first = snapshot.save(built, _cache(tmp_path))
    second = snapshot.save(built, _cache(tmp_path))
    root = _root(tmp_path, built)
    assert not first.exists() and second.is_dir()
    assert [p.name for p in root.iterdir() if p.is_dir()] == [second.name]
    assert (root / snapshot.CURRENT).read_text(encoding="utf-8") == second.name


def test_current_naming_a_missing_folder_is_reported(
    built: Index, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """CURRENT naming a deleted snapshot gives one warning naming it, not a silent rebuild."""
    folder = snapshot.save(built, _cache(tmp_path))
    shutil.rmtree(folder)
    with caplog.at_level(logging.WARNING, logger="bot.index.snapshot_dirs"):
        assert snapshot.load(_cache(tmp_path), built.params) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and folder.name in warnings[0] and "missing" in warnings[0]


def test_a_snapshot_replaced_while_being_read_gives_the_new_one(
    built: Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reindex swapping CURRENT and removing the old snapshot mid-load: load reads the new."""
    cache = _cache(tmp_path)
    read = snapshot._read_snapshot
    swapped: list[Path] = []

    def swap_first(folder: Path, params: snapshot.IndexParams) -> Index | None:
        if not swapped:
            swapped.append(snapshot.save(built, cache))  # removes `folder`
        return read(folder, params)

    monkeypatch.setattr(snapshot, "_read_snapshot", swap_first)
    loaded = snapshot.load(cache, built.params)
    assert swapped and loaded is not None and loaded.version == built.version


def test_the_next_refresh_clears_everything_a_killed_one_left(
    small_site: Path, tmp_path: Path
) -> None:
    """After a reindex killed mid-save, the next refresh leaves no scratch folder at all."""
    cache = _cache(tmp_path)
    assert _run_to_death(reindex_worker.die_while_saving, str(small_site), str(cache)) == -9
    spec = reindex_worker.spec_for(small_site)
    refresh(spec, HashEmbedder(reindex_worker.DIMENSION), JapaneseAnalyzer(), cache)
    assert [p.name for p in cache.rglob(".*") if p.is_dir()] == []
