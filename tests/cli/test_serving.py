"""`ask` and `eval` answer from the index as the last reindex left it; `reindex` writes it.

The answering commands never read the corpus, embed a passage or wait on a reindex in
another process; only without any index do they build one, and say so.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.cli import compose, main
from bot.index import snapshot
from tests.conftest import PostWriter
from tests.fakes import HashEmbedder

NOTICE = "no index yet for {}: building it (python -m bot reindex does this ahead)"


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting passages (documents) apart from questions."""

    def __init__(self) -> None:
        super().__init__(64)
        self.documents = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return super().embed_documents(texts)


@pytest.fixture
def fake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, site: Path, post: PostWriter
) -> Iterator[CountingEmbedder]:
    """A two-post blog, its cache and question log under tmp_path, and the counting fake."""
    post("2025-01-01-jekyll.md", "Jekyllのテーマを変える方法。_config.yml の theme を書き換える。")
    post("2025-01-02-ruby.md", "Rubyのバージョンを上げる手順。rbenv install を使う。")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORPUS_DIR", str(site))
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QUESTION_DB", str(tmp_path / "questions.db"))
    embedder = CountingEmbedder()
    with compose.embedders(lambda settings: embedder):
        yield embedder


def ask(question: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], str]:
    assert main(["ask", question, "--json", "--no-log"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_ask_answers_from_the_snapshot_after_the_corpus_changed(
    fake: CountingEmbedder, post: PostWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    """A post written after the reindex is neither read nor embedded by `ask`: the answer
    comes from the saved index, and only the question is embedded."""
    assert main(["reindex"]) == 0
    indexed = capsys.readouterr().out
    assert "2 articles" in indexed and fake.documents > 0
    embedded = fake.documents
    post("2025-01-03-python.md", "Pythonの仮想環境を作る。venv モジュールを使う。")

    answer, err = ask("Pythonの仮想環境", capsys)

    assert fake.documents == embedded, "ask embedded passages"
    assert "no index yet" not in err
    sources = {r["source"] for r in answer["results"]}  # type: ignore[attr-defined]
    assert "_posts/2025-01-03-python.md" not in sources
    assert main(["reindex"]) == 0
    assert "3 articles (1 added" in capsys.readouterr().out
    answer, _ = ask("Pythonの仮想環境", capsys)
    assert answer["results"][0]["source"] == "_posts/2025-01-03-python.md"  # type: ignore[index]


def test_ask_without_an_index_builds_it_and_says_so_once(
    fake: CountingEmbedder, site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer, err = ask("Jekyllのテーマ", capsys)
    assert err.strip().splitlines() == [NOTICE.format(site)]
    assert fake.documents > 0 and answer["results"]
    embedded = fake.documents
    answer, err = ask("Jekyllのテーマ", capsys)
    assert "no index yet" not in err and fake.documents == embedded


def test_ask_does_not_wait_for_a_reindex_elsewhere(
    fake: CountingEmbedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While another reindex holds the cache's lock, `ask` still answers at once."""
    assert main(["reindex"]) == 0
    capsys.readouterr()
    held, release = threading.Event(), threading.Event()

    def other_reindex() -> None:
        with snapshot.exclusive(tmp_path / "cache"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=other_reindex, daemon=True)
    holder.start()
    try:
        assert held.wait(10)
        codes: list[int] = []
        asking = threading.Thread(
            target=lambda: codes.append(main(["ask", "Rubyのバージョン", "--no-log"])),
            daemon=True,
        )
        asking.start()
        asking.join(30)
        assert codes == [0], "ask waited on the reindex lock"
    finally:
        release.set()
        holder.join(10)
    assert "Ruby" in capsys.readouterr().out


def test_eval_answers_from_the_snapshot(
    fake: CountingEmbedder, tmp_path: Path, post: PostWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eval` loads the index as `ask` does: nothing embedded but the questions."""
    assert main(["reindex"]) == 0
    embedded = fake.documents
    post("2025-01-03-python.md", "Pythonの仮想環境を作る。venv モジュールを使う。")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "x1", "question": "Rubyのバージョン"}\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(questions)]) == 0
    captured = capsys.readouterr()
    assert "nothing to score" in captured.out and "no index yet" not in captured.err
    assert fake.documents == embedded
