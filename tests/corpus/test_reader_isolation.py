"""The site is read in a worker process: a file that overruns its time or memory
allowance is skipped with one line, the rest of the site loads, and the worker holds
no secrets."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from bot.corpus import reader
from bot.corpus.reader import (
    Read,
    Reading,
    ReadLimits,
    SiteReadFailed,
    Unchanged,
    load_corpus,
    read_site,
)
from tests.conftest import SITE_URL
from tests.hostile import finishes

SLOW_BODY = "{% for i in (1..199999) %}{% include leaf.html %}{% endfor %} 本文。"


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _post(root: Path, name: str, body: str) -> None:
    _write(root, f"_posts/{name}.md", f"---\ntitle: {name}\n---\n\n{body}\n")


def _site(root: Path) -> Path:
    _write(root, "_config.yml", "title: t\n")
    _write(root, "_includes/leaf.html", "葉")
    _post(root, "2025-01-01-first", "最初の記事です。")
    _post(root, "2025-01-03-last", "最後の記事です。")
    return root


def test_a_file_past_its_time_allowance_is_skipped_and_the_rest_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _post(_site(tmp_path), "2025-01-02-slow", SLOW_BODY)
    with caplog.at_level(logging.WARNING):
        corpus = load_corpus(tmp_path, SITE_URL, "Asia/Tokyo", limits=ReadLimits(0.2))
    assert [a.title for a in corpus.articles] == ["2025-01-01-first", "2025-01-03-last"]
    assert [s.source for s in corpus.skipped] == ["_posts/2025-01-02-slow.md"]
    assert "took over 0.2 s" in corpus.skipped[0].reason
    assert "skipped _posts/2025-01-02-slow.md: took over 0.2 s to read" in caplog.text


def test_a_file_past_its_memory_allowance_is_skipped_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    """Splitting 6 000 paragraphs takes about 25 MB of Markdown tokens: over 16 MB."""
    paragraphs = "\n\n".join(f"段落{i}の本文。 *強調* と `コード` を含む。" for i in range(6_000))
    _post(_site(tmp_path), "2025-01-02-huge", paragraphs)
    limits = ReadLimits(memory_mb=16)
    reading = read_site(tmp_path, SITE_URL, "Asia/Tokyo", split=(320, 1), limits=limits)
    assert [a.title for a in reading.articles] == ["2025-01-01-first", "2025-01-03-last"]
    assert [s.source for s in reading.skipped] == ["_posts/2025-01-02-huge.md"]
    assert "memory" in reading.skipped[0].reason


def test_isolated_and_in_process_reading_agree(tmp_path: Path) -> None:
    _site(tmp_path)
    isolated = read_site(tmp_path, SITE_URL, "Asia/Tokyo", split=(320, 1))
    inline = read_site(
        tmp_path, SITE_URL, "Asia/Tokyo", split=(320, 1), limits=ReadLimits(isolated=False)
    )
    assert isolated == inline
    assert all(isinstance(o, Read) and o.passages and not o.article.body for o in inline.outcomes)


def test_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    first = read_site(_site(tmp_path), SITE_URL, "Asia/Tokyo")
    known = {a.source: (a.size, a.mtime_ns, a.site_identity) for a in first.articles}
    _post(tmp_path, "2025-01-03-last", "書き直した記事です。")
    again = read_site(tmp_path, SITE_URL, "Asia/Tokyo", known=known)
    assert again.outcomes[0] == Unchanged("_posts/2025-01-01-first.md")
    assert isinstance(again.outcomes[1], Read)
    assert "書き直した" in again.outcomes[1].article.body


def test_the_worker_gets_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token")
    monkeypatch.setenv("QUESTION_LOG_SALT", "pepper")
    environment = reader._worker_environment()
    assert "DISCORD_TOKEN" not in environment
    assert "QUESTION_LOG_SALT" not in environment
    assert environment["PATH"] == os.environ["PATH"]


def test_stop_ends_a_read_at_once_and_later_reads_work(tmp_path: Path) -> None:
    """Shutting down must not wait out a hostile file's allowance (a minute)."""
    _post(_site(tmp_path), "2025-01-02-slow", SLOW_BODY * 4)
    outcome: list[BaseException | Reading] = []

    def read() -> None:
        try:
            outcome.append(read_site(tmp_path, SITE_URL, "Asia/Tokyo"))
        except SiteReadFailed as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    while not reader._CURRENT and thread.is_alive():
        time.sleep(0.05)
    time.sleep(0.5)  # the worker is inside the slow file by now
    reader.stop()
    finishes(thread.join)
    assert isinstance(outcome[0], SiteReadFailed) and "stopped" in str(outcome[0])
    _post(tmp_path, "2025-01-02-slow", "もう遅くない。")
    assert len(read_site(tmp_path, SITE_URL, "Asia/Tokyo").articles) == 3
