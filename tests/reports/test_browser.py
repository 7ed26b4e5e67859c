"""The editors' page in a real headless Chromium, on a log filled from a fixture site.

``EDITORS_SCREENSHOTS=docs`` keeps the screenshots in docs/ (the ones the docs show).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.embedding.models import LoadedEmbedder
from bot.reports.covers import cover_gap
from bot.reports.gaps import find_gaps

from .site_log import (
    DOWN_REASONS,
    PARAPHRASES,
    fill_log,
    index_site,
    questions,
    small_site,
    spread,
    vote_down,
    write_the_missing_article,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = os.environ.get("EDITORS_SCREENSHOTS")  # a folder, e.g. docs, to keep them


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise AssertionError(f"editors' view exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers (the introspection pages are hidden on purpose)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("editors' view did not start")


@dataclass(frozen=True)
class SiteLog:
    """A question log filled from the vim-jp fixture site (see site_log.py)."""

    path: Path
    covered_url: str  # the article written for the first paraphrase group
    covered_key: str


@pytest.fixture(scope="module")
def site_log(tmp_path_factory: pytest.TempPathFactory, real_embedder: LoadedEmbedder) -> SiteLog:
    """Eight weeks of readers' questions; then an editor writes the article the largest
    paraphrase group asks for, marks the group covered, and two readers ask again."""
    tmp = tmp_path_factory.mktemp("site-log")
    engine = index_site(small_site(tmp / "site"), tmp / "cache", real_embedder)
    db = tmp / "questions.db"
    now = datetime.now(UTC)
    asyncio.run(vote_down(db, asyncio.run(fill_log(db, engine, spread(now - timedelta(days=2))))))
    groups = asyncio.run(find_gaps(db, real_embedder, top=None))
    group = next(g for g in groups if g.example in PARAPHRASES[0])
    assert group.size >= 2, "paraphrases share one group"  # one may have got an answer
    url = asyncio.run(write_the_missing_article(tmp / "site", engine))
    asyncio.run(cover_gap(db, real_embedder, group.key, url, now=now - timedelta(days=1)))
    later = [
        (PARAPHRASES[0][1], now - timedelta(hours=20)),
        (PARAPHRASES[0][3], now - timedelta(hours=3)),
    ]
    asyncio.run(fill_log(db, engine, later))
    return SiteLog(db, url, group.key)


@contextmanager
def editors_view(db: Path, tmp_path: Path) -> Iterator[str]:
    """`python -m bot editors` on a free local port with the project's model cache;
    stopped with Ctrl-C (SIGINT), which must end it cleanly."""
    port = _free_port()
    env = dict(os.environ, QUESTION_DB=str(db), EDITORS_PORT=str(port), TIMEZONE="Asia/Tokyo")
    env.update(PYTHONPATH=str(ROOT), CACHE_DIR=str(ROOT / "cache"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "editors", "--host", "127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/questions", process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output, output


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ]
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _screenshot(url: str, name: str, height: int, tmp_path: Path) -> Path:
    shot = (Path(SCREENSHOTS) if SCREENSHOTS else tmp_path) / name
    result = _chromium(
        [f"--window-size=1280,{height}", f"--screenshot={shot.resolve()}", url],
        tmp_path / f"profile-{name}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


def _section(dom: str, section: str) -> str:
    """The HTML from the heading with id `section` to the next heading."""
    start = dom.index(f'<h2 id="{section}">')
    end = dom.find("<h2", start + 1)
    return dom[start : end if end > 0 else len(dom)]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_editors_page_in_chromium(site_log: SiteLog, tmp_path: Path) -> None:
    """Chromium opens `/` on a log filled from a fixture site: the weekly chart, the open
    gaps grouped by meaning, the covered group with its later answers, decoded links."""
    with editors_view(site_log.path, tmp_path) as base:
        with urllib.request.urlopen(f"{base}/", timeout=300) as warm:  # loads the model
            assert warm.status == 200
        dom = _chromium(["--dump-dom", f"{base}/"], tmp_path / "profile-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        page = dom.stdout
        table = _chromium(["--dump-dom", f"{base}/questions/results"], tmp_path / "profile-t")
        _screenshot(f"{base}/", "editors-page.png", 1000, tmp_path)
        _screenshot(f"{base}/", "editors-page-full.png", 4200, tmp_path)

    chart = _section(page, "weeks")
    weeks = re.findall(r'data-week="[\d-]+" data-asked="(\d+)" data-answered="(\d+)"', chart)
    assert len(weeks) == 12
    assert sum(int(a) for a, _ in weeks) == len(questions()) + 2
    assert sum(int(a) > 0 for a, _ in weeks) >= 8  # eight weeks of questions, then two
    assert re.search(r'class="share"[^>]*>\d+%<', chart)

    gaps = _section(page, "gaps")
    grouped = [row for row in gaps.split('<tr class="gap"')[1:] if PARAPHRASES[2][0] in row]
    assert len(grouped) == 1, "three wordings of one question are one group"
    assert all(wording in grouped[0] for wording in PARAPHRASES[2])
    assert f'data-key="{site_log.covered_key}"' not in gaps

    covered = _section(page, "covered")
    row = re.search(
        r'data-later-asked="(\d+)" data-later-answered="(\d+)">(.*?)</tr>', covered, re.DOTALL
    )
    assert row is not None and row.group(1) == "2"
    assert int(row.group(2)) >= 1, "the new article answers readers who ask again"
    assert f'href="{site_log.covered_url}"' in row.group(3)

    downvoted = _section(page, "downvoted")
    assert downvoted.count('<tr class="downvoted">') == 2
    assert all(reason in downvoted for reason in DOWN_REASONS)
    assert '<div class="excerpt">' in downvoted and "<strong>" in downvoted

    decoded = re.findall(r'<a href="([^"]*%E3[^"]*)">[^<]*</a> <span class="hint">([^<]*)<', page)
    assert decoded, "links with Japanese anchors are on the page"
    for href, shown in decoded:
        assert "%E3" not in shown and shown == urllib.parse.unquote(href)
    assert re.search(r'<a href="[^"]*%E3[^"]*">[^<%]*[ぁ-んァ-ン一-龥][^<%]*</a>', table.stdout)
