"""`python -m bot` end to end: the real model on the sample corpus, and clear errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import compose, main
from bot.retrieval.search import SHIPPED_MODE
from bot.settings import load_settings
from tests.conftest import ROOT, SAMPLE_CORPUS

pytestmark = pytest.mark.model


@pytest.fixture
def project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CORPUS_DIR", str(SAMPLE_CORPUS))
    monkeypatch.setenv("CACHE_DIR", str(ROOT / "cache"))


def test_ask_json_has_the_documented_shape(
    project_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ask --json` prints question, tier, answered and results with title/url/date/excerpt."""
    assert main(["ask", "Metaが過去に買収した会社は？", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["question"] == "Metaが過去に買収した会社は？"
    assert answer["tier"] in ("answer", "related")
    assert answer["answered"] is (answer["tier"] == "answer")
    first = answer["results"][0]
    assert set(first) >= {"title", "url", "date", "heading", "excerpt", "score", "source"}
    assert first["source"] == "_posts/2026-02-06-8ac7c5b51012d51b.md"
    assert first["url"].startswith("http://localhost:4000/ai%E6%9C%80%E6%96%B0")
    assert first["date"] == "2026-02-06" and "**" in first["excerpt"]
    assert "InstagramやWhatsAppの買収" in first["excerpt"].replace("**", "")


def test_ask_prints_excerpts_and_links(
    project_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The human-readable answer shows the title, date and link of each excerpt."""
    assert main(["ask", "GPT-4oについて何て書いてある？", "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "GPT-4o" in out and out.count("http://localhost:4000/") == 2


def test_ask_prints_its_answer_when_the_log_cannot_be_opened(
    project_env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A question log from a newer version is a warning on stderr; the answer still prints."""
    newer = tmp_path / "questions.db"
    with sqlite3.connect(newer) as connection:
        connection.execute("PRAGMA user_version = 999")
    monkeypatch.setenv("QUESTION_DB", str(newer))
    assert main(["ask", "GPT-4oについて何て書いてある？", "--k", "1"]) == 0
    captured = capsys.readouterr()
    assert "GPT-4o" in captured.out and "http://localhost:4000/" in captured.out
    assert "question not logged" in captured.err and "QUESTION_DB" in captured.err


def test_the_model_is_loaded_as_the_settings_say(monkeypatch: pytest.MonkeyPatch) -> None:
    """EMBEDDING_PRECISION, DEVICE, EMBEDDING_THREADS and EMBEDDING_RUNTIME reach the loader."""
    seen: dict[str, object] = {}

    def fake_load(*args: object, **options: object) -> object:
        seen.update(options)
        return object()

    monkeypatch.setattr(compose, "load_embedder", fake_load)
    settings = load_settings(
        embedding_precision="int8",
        device="cpu",
        embedding_threads=1,
        embedding_runtime="torch",
        sentence_vectors="pooled",
    )
    compose.embedder_for(settings)
    assert seen == {
        "precision": "int8",
        "device": "cpu",
        "threads": 1,
        "runtime": "torch",
        "pooled_sentences": True,
    }


def test_settings_that_cannot_work_together_are_one_line(
    project_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ONNX Runtime asked for on a GPU (it runs on the CPU here) is exit 2 and one line."""
    monkeypatch.setenv("EMBEDDING_RUNTIME", "onnx")
    monkeypatch.setenv("DEVICE", "cuda")
    assert main(["model"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "DEVICE" in errors[0]
    assert "Traceback" not in err


def test_eval_prints_the_metrics_table(
    project_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`eval` on the dev set prints the metrics per corpus and writes one result per line."""
    dev = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
    if not dev.is_file():
        pytest.skip("the shared dev set is not beside the checkout")
    results = tmp_path / "results.jsonl"
    assert main(["eval", str(dev), "--results", str(results)]) == 0
    table = capsys.readouterr().out
    assert f"| {SHIPPED_MODE} | all | 12 |" in table and "evidence_in_bold" in table
    lines = results.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12 and json.loads(lines[0])["id"] == "d01"


def test_eval_without_labels_writes_results_and_exits_0(
    project_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Questions without labels are answered and written; there is nothing to score."""
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "x1", "question": "GPT-4oで何ができる？"}\n', encoding="utf-8")
    results = tmp_path / "results.jsonl"
    assert main(["eval", str(questions), "--results", str(results)]) == 0
    assert "nothing to score" in capsys.readouterr().out
    assert json.loads(results.read_text(encoding="utf-8"))["id"] == "x1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EMBEDDING_MODEL", "/no/such/model"),
        ("TIMEZONE", "Mars/Olympus"),
        ("TOP_K", "many"),
        ("CORPUS_DIR", "/no/such/corpus"),
    ],
)
def test_wrong_setting_is_one_line_and_exit_2(
    project_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    """A wrong setting stops the command with one line naming it, never a traceback."""
    monkeypatch.setenv(variable, value)
    assert main(["ask", "質問"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and variable in errors[0] and "Traceback" not in err


def test_module_entry_point_runs() -> None:
    """`python -m bot --help` works as a program and lists the sub-commands."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "ask" in done.stdout and "reindex" in done.stdout
