"""Only `python -m bot run` imports discord.py: the other commands start without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_CORPUS

# Runs a command in a fresh interpreter and reports which of our modules imported
# discord.py first (None when nothing did).
SCRIPT = textwrap.dedent(
    """
    import json, sys, traceback
    sys.path.insert(0, {root!r})

    class Watch:
        first = None

        def find_spec(self, name, path=None, target=None):
            if name == "discord" and Watch.first is None:
                ours = [f for f in traceback.extract_stack() if "/bot/" in f.filename]
                Watch.first = f"{{ours[-1].filename}}:{{ours[-1].lineno}}" if ours else "?"
            return None

    sys.meta_path.insert(0, Watch())
    from bot.cli import main
    from tests.fakes import HashEmbedder
    code = main({argv!r}, embedder=lambda settings: HashEmbedder())
    print(json.dumps({{"code": code, "discord": Watch.first, "loaded": "discord" in sys.modules}}))
    """
)


def run_cli(argv: list[str], tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "CORPUS_DIR": str(SAMPLE_CORPUS),
        "CACHE_DIR": str(tmp_path / "cache"),
        "QUESTION_DB": str(tmp_path / "questions.db"),
        "PYTHONIOENCODING": "utf-8",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT), argv=argv)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "argv",
    [["ask", "GPT-4oについて何て書いてある？", "--json", "--no-log"], ["stats"]],
    ids=["ask", "stats"],
)
def test_commands_other_than_run_do_not_import_discord(argv: list[str], tmp_path: Path) -> None:
    result = run_cli(argv, tmp_path)
    assert result["code"] == 0
    assert result["discord"] is None, f"discord.py imported from {result['discord']}"
    assert result["loaded"] is False


def test_run_still_imports_it(tmp_path: Path) -> None:
    """The watch does see an import: `run` without a token loads the Discord layer first."""
    result = run_cli(["run"], tmp_path)
    assert result["code"] == 2  # DISCORD_TOKEN is not set
    assert result["loaded"] is True
