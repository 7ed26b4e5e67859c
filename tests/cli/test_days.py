"""One reading of YYYY-MM-DD for every day option: `ask`, `gaps`, `stats`, `export`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.retrieval.days import NotADay, parse_day

MESSAGE = "expected a date like 2024-05-01 (YYYY-MM-DD), got 'soon'"


def test_a_day_is_read_with_spaces_around_it() -> None:
    assert parse_day(" 2024-05-01 ") == date(2024, 5, 1)


@pytest.mark.parametrize("text", ["soon", "2024-13-01", "", "2024/05/01"])
def test_anything_else_is_not_a_day(text: str) -> None:
    with pytest.raises(NotADay) as raised:
        parse_day(f" {text} ")
    assert raised.value.text == text and repr(text) in str(raised.value)


@pytest.mark.parametrize(
    "argv",
    [["ask", "質問", "--since", "soon"], ["gaps", "--since", "soon"], ["stats", "--since", "soon"]],
    ids=["ask", "gaps", "stats"],
)
def test_day_options_are_usage_errors_with_one_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"argument --since: {MESSAGE}" in capsys.readouterr().err


def test_export_says_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUESTION_DB", str(tmp_path / "questions.db"))
    assert main(["export", "--until", "soon"]) == 2
    assert capsys.readouterr().err == f"error: --until: {MESSAGE}\n"
