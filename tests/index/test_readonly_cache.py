"""A complete, current cache mounted read-only still serves; a needed rebuild is one line.

Root ignores file modes, so under root the read-only folder is simulated: every call that
would create, change or remove something under it fails with EROFS, as on a read-only
mount. Otherwise the folder's modes are really cleared.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.cli.answering import format_answer
from bot.embedding import runtime
from bot.embedding.serving import MANIFEST_FILE
from bot.index.analysis import JapaneseAnalyzer
from bot.index.refresh import CorpusSpec, refresh
from bot.settings import SettingsError
from tests.conftest import SITE_URL, PostWriter, engine_for
from tests.fakes import HashEmbedder

BODY = "### 見出し{n}\n\n記事{n}の一文目です。記事{n}の二文目です。\n\n記事{n}の三文目です。"
_WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class ReadOnlyTree:
    """Refuses, with EROFS, every change under `root`; `refused` lists what was tried."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root.resolve()
        self.refused: list[str] = []
        self._patch = monkeypatch

    def _inside(self, path: Any, dir_fd: int | None = None) -> bool:
        if isinstance(path, int):
            return False
        text = os.fsdecode(path)
        if dir_fd is not None and not os.path.isabs(text):
            text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
        return Path(os.path.abspath(text)).is_relative_to(self.root)

    def _refuse(self, path: Any) -> None:
        self.refused.append(os.fsdecode(path))
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def install(self) -> None:
        real_open, real_io_open, real_mkdir = os.open, io.open, os.mkdir
        real_access = os.access

        def os_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
            if flags & _WRITING_FLAGS and self._inside(path, kw.get("dir_fd")):
                self._refuse(path)
            return real_open(path, flags, mode, **kw)

        def io_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
            writing = any(flag in mode for flag in "wax+")
            if writing and not isinstance(file, int) and self._inside(file):
                self._refuse(file)
            return real_io_open(file, mode, *args, **kw)

        def mkdir(path: Any, mode: int = 0o777, **kw: Any) -> None:
            if self._inside(path, kw.get("dir_fd")):
                if os.path.lexists(path) and kw.get("dir_fd") is None:
                    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
                self._refuse(path)
            real_mkdir(path, mode, **kw)

        def access(path: Any, mode: int, **kw: Any) -> bool:
            if mode & os.W_OK and self._inside(path, kw.get("dir_fd")):
                return False
            return real_access(path, mode, **kw)

        def refusing(real: Callable[..., Any]) -> Callable[..., Any]:
            def call(*paths: Any, **kw: Any) -> Any:
                fd = kw.get("src_dir_fd", kw.get("dir_fd"))
                if any(self._inside(p, fd) for p in paths[:2]):
                    self._refuse(paths[0])
                return real(*paths, **kw)

            return call

        self._patch.setattr(os, "open", os_open)
        self._patch.setattr(io, "open", io_open)
        self._patch.setattr(builtins, "open", io_open)
        self._patch.setattr(os, "mkdir", mkdir)
        self._patch.setattr(os, "access", access)
        for name in ("rename", "replace", "unlink", "remove", "rmdir", "link", "truncate"):
            self._patch.setattr(os, name, refusing(getattr(os, name)))


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], ReadOnlyTree]]:
    """Make a folder tree read-only: modes cleared, or (under root) writes refused."""
    cleared: list[tuple[Path, int]] = []

    def make(root: Path) -> ReadOnlyTree:
        tree = ReadOnlyTree(root, monkeypatch)
        if os.geteuid() == 0:
            tree.install()
            return tree
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            cleared.append((path, mode))
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        return tree

    yield make
    for path, mode in reversed(cleared):
        path.chmod(mode)


@pytest.fixture
def three_posts(post: PostWriter) -> list[Path]:
    return [post(f"2025-01-0{n}-post{n}.md", BODY.format(n=n)) for n in (1, 2, 3)]


def _refresh(site: Path, cache: Path, embedder: HashEmbedder) -> Any:
    spec = CorpusSpec(site, SITE_URL, "Asia/Tokyo", passage_chars=40, overlap=0)
    return refresh(spec, embedder, JapaneseAnalyzer(), cache)


def test_current_snapshot_serves_from_a_read_only_cache(
    three_posts: list[Path],
    site: Path,
    tmp_path: Path,
    read_only: Callable[[Path], ReadOnlyTree],
) -> None:
    """An engine opens on a read-only cache whose snapshot is current, and answers."""
    cache = tmp_path / "cache"
    built = engine_for(site, cache, HashEmbedder(32))
    read_only(cache)
    embedder = HashEmbedder(32)
    engine = engine_for(site, cache, embedder)
    answer = engine.answer("記事2の二文目")
    assert engine.index.version == built.index.version
    assert embedder.calls == 1  # the question; no passage embedded again
    assert answer.results and "記事2" in format_answer(answer)


def test_rebuild_needed_on_a_read_only_cache_is_one_clear_error(
    three_posts: list[Path],
    site: Path,
    tmp_path: Path,
    post: PostWriter,
    read_only: Callable[[Path], ReadOnlyTree],
) -> None:
    """A changed corpus needs a write: a one-line settings error, before any embedding."""
    cache = tmp_path / "cache"
    _refresh(site, cache, HashEmbedder(32))
    post("2025-01-09-post9.md", BODY.format(n=9))
    read_only(cache)
    embedder = HashEmbedder(32)
    with pytest.raises(SettingsError) as raised:
        _refresh(site, cache, embedder)
    message = str(raised.value)
    assert "CACHE_DIR" in message and str(cache) in message and "\n" not in message
    assert embedder.calls == 0


def test_empty_read_only_cache_is_one_clear_error(
    three_posts: list[Path],
    site: Path,
    tmp_path: Path,
    read_only: Callable[[Path], ReadOnlyTree],
) -> None:
    """No snapshot at all in a read-only cache: the same one-line error."""
    cache = tmp_path / "cache"
    cache.mkdir()
    read_only(cache)
    with pytest.raises(SettingsError, match="CACHE_DIR"):
        _refresh(site, cache, HashEmbedder(32))


class _Session:
    def get_inputs(self) -> list[Any]:
        return []

    def run(self, names: list[str], feed: dict[str, Any]) -> list[np.ndarray]:
        return [np.ones((1, 4), np.float32)]


def test_exported_graph_opens_from_a_read_only_cache(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    read_only: Callable[[Path], ReadOnlyTree],
) -> None:
    """A graph already exported is opened as it is: no export, no lock file, nothing written."""
    cache = tmp_path / "cache"
    path = cache / "models" / "onnx" / "0123abcd" / runtime.GRAPH_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"graph")
    (path.parent / runtime.WEIGHTS_FILE).write_bytes(b"weights")
    (path.parent / MANIFEST_FILE).write_text("{}", encoding="utf-8")
    opened: list[Path] = []

    def open_session(graph: Path, threads: int) -> _Session:
        opened.append(graph)
        return _Session()

    def load_model() -> Any:
        raise AssertionError("the model was loaded to export the graph again")

    monkeypatch.setattr(runtime, "open_session", open_session)
    tree = read_only(cache)
    session = runtime.open_graph(path, 1, load_model)
    assert isinstance(session, _Session)
    assert opened == [path]
    assert tree.refused == []
    assert not (path.parent.parent / f"{path.parent.name}.lock").exists()
