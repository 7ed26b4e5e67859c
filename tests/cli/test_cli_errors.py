"""`python -m bot` when things go wrong: odd file names, closed pipes, an unwritable log,
bad URLs, Discord out of reach. Each is one line and an honest exit code, never a traceback.

The fake embedder stands in for the model (handed to the composition root), so these
run in seconds on the sample corpus.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest

from bot.cli import compose, main
from bot.settings import SettingsError, load_settings
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.fakes import HashEmbedder

QUESTION = "GPT-4oについて何て書いてある？"


@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The CLI on the sample corpus with the fake embedder, in an empty folder (no .env)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORPUS_DIR", str(SAMPLE_CORPUS))
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QUESTION_DB", str(tmp_path / "data" / "questions.db"))
    with compose.embedders(lambda settings: HashEmbedder()):
        yield tmp_path


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_reindex_prints_undecodable_file_names(
    fake_cli: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A post named with byte 0xff is listed as skipped with the byte escaped; printing it
    no longer fails after the index was saved."""
    corpus = fake_cli / "corpus"
    (corpus / "_posts").mkdir(parents=True)
    shutil.copy(SAMPLE_CORPUS / "_config.yml", corpus / "_config.yml")
    first = sorted((SAMPLE_CORPUS / "_posts").iterdir())[0]
    shutil.copy(first, corpus / "_posts" / first.name)
    odd = os.fsencode(corpus / "_posts") + b"/2025-12-13-\xff.md"
    shutil.copyfile(os.fsencode(first), odd)
    monkeypatch.setenv("CORPUS_DIR", str(corpus))
    assert main(["reindex"]) == 0
    out = capsys.readouterr().out
    assert "1 articles" in out and "1 skipped" in out
    assert "skipped _posts/2025-12-13-\\xff.md" in out


def test_ask_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`ask … | head` where head has gone: no BrokenPipeError, exit 141 like a shell."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from bot.cli import main
        from tests.fakes import HashEmbedder
        sys.exit(main(["ask", {QUESTION!r}, "--no-log"], embedder=lambda s: HashEmbedder()))
        """
    )
    env = {
        **os.environ,
        "CORPUS_DIR": str(SAMPLE_CORPUS),
        "CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONIOENCODING": "utf-8",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the answer is written
    err = process.stderr.read().decode("utf-8", "replace")
    assert process.wait(timeout=120) == 141
    assert "BrokenPipeError" not in err and "Traceback" not in err


def test_an_unwritable_question_log_is_one_line_and_a_failure(
    fake_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither the database nor its spill file can be written: the answer is printed, one
    error line says the question was not logged, and the exit code says so too."""
    monkeypatch.setenv("QUESTION_DB", "/dev/null/data/questions.db")
    with caplog.at_level(logging.WARNING):
        code = main(["ask", QUESTION])
        gc.collect()
    captured = capsys.readouterr()
    assert code != 0
    assert "Q: " + QUESTION in captured.out
    assert "noted for the editors" not in captured.out
    errors = error_lines(captured.err)
    assert len(errors) == 1 and "not logged" in errors[0] and "QUESTION_DB" in errors[0]
    assert "never retrieved" not in caplog.text + captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "url",
    ["https://", "http://", "https:///blog", "https://exa mple.com", "https://example.com/my blog"],
)
def test_site_urls_without_a_host_or_with_spaces_are_refused(url: str) -> None:
    """SITE_URL must name a host and hold no spaces: every link is built from it."""
    with pytest.raises(SettingsError, match="SITE_URL"):
        load_settings(site_url=url, _env_file=None)


def test_a_bad_site_url_stops_the_cli_in_one_line(
    fake_cli: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SITE_URL", "https://")
    assert main(["ask", QUESTION]) == 2
    err = capsys.readouterr().err
    errors = error_lines(err)
    assert len(errors) == 1 and "SITE_URL" in errors[0] and "Traceback" not in err


def test_good_site_urls_still_load() -> None:
    for url in ("http://localhost:4000", "https://example.com/blog/", "https://例え.jp"):
        assert load_settings(site_url=url, _env_file=None).site_url == url.rstrip("/")


def test_no_log_does_not_claim_the_question_was_noted(
    fake_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped --category finds nothing; with --no-log nothing was noted, and it says so."""
    assert main(["ask", QUESTION, "--no-log", "--category", "no-such-category"]) == 0
    out = capsys.readouterr().out
    assert "noted for the editors" not in out
    assert "not logged" in out
    assert "no-such-category" in out
    assert not (fake_cli / "data" / "questions.db").exists()


def test_a_logged_question_is_still_noted(
    fake_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", QUESTION, "--category", "no-such-category"]) == 0
    assert "noted for the editors" in capsys.readouterr().out


def test_run_with_discord_out_of_reach_is_one_line(
    fake_cli: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DISCORD_API_BASE at a closed port: one line naming Discord, exit 2, no traceback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    monkeypatch.setenv("DISCORD_TOKEN", "test.token.value")
    monkeypatch.setenv("DISCORD_API_BASE", f"http://127.0.0.1:{port}/api/v10")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    errors = error_lines(err)
    assert len(errors) == 1 and "cannot reach Discord" in errors[0]
    assert "Traceback" not in err
