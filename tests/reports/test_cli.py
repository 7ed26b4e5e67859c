"""`python -m bot gaps|stats`: missing log, output files and formats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import compose, main
from tests.fakes import HashEmbedder

from .conftest import QuestionLogFile

T0 = datetime(2026, 2, 5, 3, 0, tzinfo=UTC)


@dataclass
class Env:
    log: QuestionLogFile
    embedder: HashEmbedder  # what the CLI embeds the questions with: never the real model


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log_file: QuestionLogFile
) -> Iterator[Env]:
    """Run the CLI against the test log with the hash embedder, away from any `.env`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUESTION_DB", str(log_file.path))
    monkeypatch.setenv("TIMEZONE", "Asia/Tokyo")
    log_file.add("Llama 4の発売日は？", T0, user="a")
    log_file.add("Llama 4の発売日は？", T0, user="b")
    log_file.add("明日の天気は？", T0, user="a", tier="related")
    log_file.add("MetaのEmuとは？", T0, tier="answer")
    fake = HashEmbedder()

    def only_the_fake(settings: object) -> HashEmbedder:
        return fake

    with compose.embedders(only_the_fake):
        yield Env(log_file, fake)


def test_missing_log_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a database both reports print one clear line and succeed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUESTION_DB", "data/questions.db")
    for command in ("gaps", "stats"):
        assert main([command]) == 0
        assert (
            "no questions logged yet: data/questions.db does not exist" in capsys.readouterr().out
        )


def test_gaps_table(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    """The table lists the most asked gap first with its reader count."""
    assert main(["gaps", "--top", "5"]) == 0
    assert env.embedder.calls > 0, "gaps embeds the unanswered questions with the fake"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("key")
    assert "Llama 4の発売日は？" in lines[2] and "2026-02-05 12:00" in lines[2]
    assert "明日の天気は？" in lines[3]


def test_gaps_csv_file_has_bom(env: Env, tmp_path: Path) -> None:
    """--format csv --out writes UTF-8 with BOM for spreadsheets."""
    out = tmp_path / "gaps.csv"
    assert main(["gaps", "--format", "csv", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfrank,")
    assert "Llama 4の発売日は？" in data.decode("utf-8-sig")
    assert env.embedder.calls > 0


def test_gaps_jsonl(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    """--format jsonl prints one group per line."""
    assert main(["gaps", "--format", "jsonl", "--top", "1"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["size"] == 2
    assert env.embedder.calls > 0


def test_stats_with_plot(env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """stats prints the report and --plot writes a PNG."""
    out = tmp_path / "stats.png"
    assert main(["stats", "--plot", str(out)]) == 0
    assert "questions: 4   answered: 1 (25%)" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"\x89PNG")


def test_bad_date_is_a_usage_error(env: Env) -> None:
    """--since must be YYYY-MM-DD."""
    with pytest.raises(SystemExit) as exit_info:
        main(["stats", "--since", "yesterday"])
    assert exit_info.value.code == 2


def _keys(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Example wording -> key, from `gaps --format jsonl`."""
    assert main(["gaps", "--format", "jsonl"]) == 0
    groups = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {g["example"]: g["key"] for g in groups}


def test_a_covered_group_leaves_the_list_until_uncovered(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--covered KEY URL` takes the group off the list; `--uncover ID` puts it back."""
    keys = _keys(capsys)
    url = "https://blog.example/2026/02/llama-4.html"
    assert main(["gaps", "--covered", keys["Llama 4の発売日は？"], url]) == 0
    said = capsys.readouterr().out
    assert said.startswith("cover 1: 2 question(s) like 'Llama 4の発売日は？'") and url in said
    assert list(_keys(capsys)) == ["明日の天気は？"]
    assert main(["gaps", "--uncover", "1"]) == 0
    capsys.readouterr()
    assert set(_keys(capsys)) == {"Llama 4の発売日は？", "明日の天気は？"}


def test_covering_an_unknown_group_or_a_non_url_is_one_line(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stale key, a URL that is not one and an unknown cover id each exit 2 with a line."""
    keys = _keys(capsys)
    assert main(["gaps", "--covered", "zzzzzz", "https://blog.example/a.html"]) == 2
    assert "no open gap group 'zzzzzz'" in capsys.readouterr().err
    assert main(["gaps", "--covered", keys["明日の天気は？"], "javascript:alert(1)"]) == 2
    assert "not an article URL" in capsys.readouterr().err
    assert main(["gaps", "--uncover", "9"]) == 2
    assert "no cover 9" in capsys.readouterr().err
    assert env.log.count("gap_covers") == 0
