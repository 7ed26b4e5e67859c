"""The editors' view in a real headless Chromium: the gap groups page renders its rows."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import QuestionLogFile

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = os.environ.get("EDITORS_SCREENSHOT")  # e.g. docs/editors-gaps.png to refresh it


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


@pytest.fixture
def server(sample_log: QuestionLogFile, tmp_path: Path) -> Iterator[str]:
    """`python -m bot editors` on a free local port; stopped with Ctrl-C (SIGINT)."""
    port = _free_port()
    env = dict(os.environ, QUESTION_DB=str(sample_log.path), EDITORS_PORT=str(port))
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "editors", "--host", "127.0.0.1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/", process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == 0, output


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


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_gap_groups_page_renders_rows(server: str, tmp_path: Path) -> None:
    """Chromium shows the gap groups canned query with a known question and takes a screenshot."""
    url = f"{server}/questions/gap_groups"
    dom = _chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "未回答の質問グループ" in dom.stdout
    assert "昔の未回答の質問" in dom.stdout
    assert "<td" in dom.stdout
    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "gaps.png"
    result = _chromium([f"--screenshot={shot.resolve()}", url], tmp_path / "profile-shot")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
