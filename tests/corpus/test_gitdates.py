"""Dates of pages that state none: their last commit in a git clone, else no date."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.corpus.articles import Corpus
from bot.corpus.gitdates import commit_dates, parse_log
from bot.corpus.reader import ReadLimits, load_corpus
from tests.conftest import SITE_URL

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

TOKYO = timezone(timedelta(hours=9))


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _git(repo: Path, *args: str, when: str = "2021-03-04T05:06:07+09:00") -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "HOME": str(repo)}
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )


def _commit(repo: Path, message: str, when: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, when=when)


def _load(root: Path, isolated: bool = False) -> Corpus:
    return load_corpus(root, SITE_URL, "Asia/Tokyo", limits=ReadLimits(isolated=isolated))


@needs_git
def test_dateless_page_takes_its_last_commit_date(tmp_path: Path) -> None:
    """A page without a date in a clone is dated by the last commit that changed it, in the
    site's timezone; a post keeps its file name's date; the folder may be a subfolder."""
    _git(tmp_path, "init", "-q")
    site = tmp_path / "blog"
    _write(site, "about.md", "---\ntitle: about\n---\n\n本文です。\n")
    _write(site, "notes/メモ 1.md", "---\n---\n# メモ\n\n覚え書き。\n")
    _write(site, "_posts/2020-01-02-hello.md", "---\ntitle: hello\n---\n\n本文です。\n")
    _commit(tmp_path, "first", "2021-03-04T05:06:07+09:00")
    _write(site, "about.md", "---\ntitle: about\n---\n\n書き直した本文。\n")
    _commit(tmp_path, "second", "2022-06-30T20:00:00+00:00")
    articles = {a.source: a for a in _load(site, isolated=True).articles}  # git in the worker
    assert articles["about.md"].date == datetime(2022, 7, 1, 5, tzinfo=TOKYO)
    assert articles["about.md"].day == "2022-07-01"
    assert articles["notes/メモ 1.md"].date == datetime(2021, 3, 4, 5, 6, 7, tzinfo=TOKYO)
    assert articles["_posts/2020-01-02-hello.md"].day == "2020-01-02"


@needs_git
def test_uncommitted_page_in_a_clone_has_no_date(tmp_path: Path) -> None:
    """A page git has never seen shows no date rather than the time of the checkout."""
    _git(tmp_path, "init", "-q")
    _write(tmp_path, "old.md", "# old\n\n本文。\n")
    _commit(tmp_path, "first", "2021-03-04T05:06:07+09:00")
    _write(tmp_path, "new.md", "# new\n\n本文。\n")
    articles = {a.source: a for a in _load(tmp_path).articles}
    assert articles["old.md"].day == "2021-03-04"
    assert articles["new.md"].date is None and articles["new.md"].day == ""


def test_dateless_page_outside_a_clone_has_no_date(tmp_path: Path) -> None:
    """No git clone: no date, never the file's modification time."""
    _write(tmp_path, "about.md", "---\ntitle: about\n---\n\n本文です。\n")
    _write(tmp_path, "_posts/2020-01-02-hello.md", "---\ntitle: hello\n---\n\n本文です。\n")
    articles = {a.source: a for a in _load(tmp_path).articles}
    assert articles["about.md"].date is None
    assert articles["_posts/2020-01-02-hello.md"].day == "2020-01-02"


def test_no_git_gives_no_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without git on the PATH the read goes on, with one line saying why."""
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with caplog.at_level(logging.INFO, logger="bot.corpus.gitdates"):
        assert commit_dates(tmp_path) == {}
    assert len(caplog.records) == 1 and "git" in caplog.records[0].getMessage()


@needs_git
def test_folder_outside_a_clone_gives_no_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with caplog.at_level(logging.INFO, logger="bot.corpus.gitdates"):
        assert commit_dates(tmp_path) == {}
    assert len(caplog.records) == 1


def test_parse_log_keeps_the_newest_commit_of_each_path() -> None:
    """Newest first: the first commit naming a path wins; a commit with no paths (a merge)
    and odd names (spaces, a leading newline, non-UTF-8 bytes) are read as they are."""
    output = (
        b"\x00200\x00"  # a merge: no paths
        b"\x00100\x00\na.md\x00dir/b c.md\x00"
        b"\x0050\x00\n\nodd.md\x00a.md\x00caf\xe9.md\x00"
    )
    dates = parse_log(output)
    at = {path: when.timestamp() for path, when in dates.items()}
    assert at == {"a.md": 100, "dir/b c.md": 100, "\nodd.md": 50, "caf\udce9.md": 50}
    assert all(when.tzinfo is UTC for when in dates.values())
    assert parse_log(b"") == {}
