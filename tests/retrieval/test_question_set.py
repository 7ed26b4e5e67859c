"""Checks on the labelled evaluation questions and the unanswered-paraphrase groups."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "corpus"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
QUESTIONS_PATH = DATA_DIR / "questions.jsonl"
PARAPHRASES_PATH = DATA_DIR / "paraphrases.jsonl"

REQUIRED_KEYS = {"id", "lang", "question", "article", "also_ok", "evidence", "kind"}
LANGS = {"ja", "en"}
ANSWERABLE_KINDS = {"fact", "paraphrase", "keyword", "opinion", "crosslingual"}
KINDS = ANSWERABLE_KINDS | {"unanswerable"}
EVIDENCE_MIN, EVIDENCE_MAX = 8, 40

MIN_TOTAL = 40
MIN_UNANSWERABLE = 10
MIN_ENGLISH = 10
MIN_PER_ANSWERABLE_KIND = 5
MIN_PER_ARTICLE = 6
MIN_PARAPHRASE_LINES, MAX_PARAPHRASE_LINES = 12, 20

HEX_ID = re.compile(r"([0-9a-f]{16})")
QUESTION_ID = re.compile(r"^q\d{2,}$")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def read_jsonl(path: Path) -> list[Any]:
    """Parse a JSON Lines file, failing with the line number on bad JSON."""
    rows: list[Any] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            pytest.fail(f"{path.name}:{number}: invalid JSON ({exc})")
    return rows


def post_body(text: str) -> str:
    """Return a post's text without its YAML front matter."""
    if text.startswith("---\n"):
        parts = text.split("---\n", 2)
        if len(parts) == 3:
            return parts[2]
    return text


def load_corpus(corpus_dir: Path = CORPUS_DIR) -> dict[str, str]:
    """Map each post's 16-hex-digit id to its body text."""
    corpus = {}
    for path in sorted(corpus_dir.rglob("*")):
        match = HEX_ID.search(path.name)
        if path.is_file() and match:
            corpus[match.group(1)] = post_body(path.read_text(encoding="utf-8"))
    return corpus


def hex_id(name: object) -> str | None:
    """Extract the 16-hex-digit id from an article file name."""
    if not isinstance(name, str):
        return None
    match = HEX_ID.search(name)
    return match.group(1) if match else None


def question_problems(row: object, corpus: dict[str, str]) -> list[str]:
    """List everything wrong with one labelled question (empty when valid)."""
    if not isinstance(row, dict):
        return ["not a JSON object"]
    keys = set(row)
    if keys != REQUIRED_KEYS:
        return [
            f"keys differ: missing {sorted(REQUIRED_KEYS - keys)}, "
            f"extra {sorted(keys - REQUIRED_KEYS)}"
        ]
    problems = []
    if not isinstance(row["id"], str) or not QUESTION_ID.match(row["id"]):
        problems.append(f"bad id {row['id']!r}")
    if row["lang"] not in LANGS:
        problems.append(f"bad lang {row['lang']!r}")
    if row["kind"] not in KINDS:
        problems.append(f"bad kind {row['kind']!r}")
    if not isinstance(row["question"], str) or not row["question"].strip():
        problems.append("empty question")
    if not isinstance(row["also_ok"], list):
        problems.append("also_ok is not a list")
        return problems

    if row["kind"] == "unanswerable":
        if row["article"] is not None:
            problems.append("unanswerable question has an article")
        if row["evidence"] is not None:
            problems.append("unanswerable question has evidence")
        if row["also_ok"]:
            problems.append("unanswerable question has also_ok articles")
        return problems

    article_id = hex_id(row["article"])
    if article_id is None:
        problems.append(f"answerable question lacks an article: {row['article']!r}")
    elif article_id not in corpus:
        problems.append(f"article not in corpus: {row['article']!r}")
    evidence = row["evidence"]
    if not isinstance(evidence, str):
        problems.append("answerable question lacks evidence")
    else:
        if not EVIDENCE_MIN <= len(evidence) <= EVIDENCE_MAX:
            problems.append(f"evidence length {len(evidence)} out of range")
        if article_id in corpus and evidence not in corpus[article_id]:
            problems.append(f"evidence not found verbatim: {evidence!r}")
    for other in row["also_ok"]:
        other_id = hex_id(other)
        if other_id not in corpus:
            problems.append(f"also_ok article not in corpus: {other!r}")
        elif other_id == article_id:
            problems.append(f"also_ok repeats the labelled article: {other!r}")
    if len(set(row["also_ok"])) != len(row["also_ok"]):
        problems.append("also_ok has duplicates")
    if row["kind"] == "crosslingual":
        if row["lang"] != "en":
            problems.append("crosslingual question is not in English")
        if isinstance(evidence, str) and not JAPANESE.search(evidence):
            problems.append("crosslingual evidence is not Japanese")
    return problems


def count_problems(rows: list[dict[str, Any]]) -> list[str]:
    """List every coverage requirement the question set misses."""
    problems = []
    kinds = Counter(row.get("kind") for row in rows)
    langs = Counter(row.get("lang") for row in rows)
    articles = Counter(hex_id(row.get("article")) for row in rows)
    if len(rows) < MIN_TOTAL:
        problems.append(f"only {len(rows)} questions")
    if kinds["unanswerable"] < MIN_UNANSWERABLE:
        problems.append(f"only {kinds['unanswerable']} unanswerable questions")
    for kind in sorted(ANSWERABLE_KINDS):
        if kinds[kind] < MIN_PER_ANSWERABLE_KIND:
            problems.append(f"only {kinds[kind]} {kind} questions")
    for lang in sorted(LANGS):
        if not langs[lang]:
            problems.append(f"no {lang} questions")
    if langs["en"] < MIN_ENGLISH:
        problems.append(f"only {langs['en']} English questions")
    for article_id in sorted(load_corpus()):
        if articles[article_id] < MIN_PER_ARTICLE:
            problems.append(f"only {articles[article_id]} questions for {article_id}")
    return problems


def paraphrase_problems(rows: list[Any]) -> list[str]:
    """List everything wrong with the paraphrase groups (empty when valid)."""
    problems = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or set(row) != {"question", "group"}:
            problems.append(f"line {number}: keys must be question and group")
            continue
        if not isinstance(row["question"], str) or not row["question"].strip():
            problems.append(f"line {number}: empty question")
        if not isinstance(row["group"], str) or not row["group"].strip():
            problems.append(f"line {number}: empty group")
    sizes = Counter(row.get("group") for row in rows if isinstance(row, dict))
    for group, size in sorted(sizes.items(), key=str):
        if size < 2:
            problems.append(f"group {group!r} has only {size} question")
    questions = [row.get("question") for row in rows if isinstance(row, dict)]
    if len(questions) != len(set(questions)):
        problems.append("duplicate paraphrase questions")
    return problems


CORPUS = load_corpus()
QUESTIONS = read_jsonl(QUESTIONS_PATH)
PARAPHRASES = read_jsonl(PARAPHRASES_PATH)


def test_corpus_is_found() -> None:
    """The corpus directory next to the tests holds the five posts."""
    assert len(CORPUS) == 5, sorted(CORPUS)


@pytest.mark.parametrize("row", QUESTIONS, ids=[str(r.get("id")) for r in QUESTIONS])
def test_question_is_valid(row: object) -> None:
    """Each question has the required keys, allowed values and verbatim evidence."""
    assert question_problems(row, CORPUS) == []


def test_question_ids_are_unique() -> None:
    """No two questions share an id."""
    ids = Counter(row.get("id") for row in QUESTIONS)
    assert [i for i, n in ids.items() if n > 1] == []


def test_question_texts_are_unique() -> None:
    """No question text appears twice."""
    texts = Counter(row.get("question") for row in QUESTIONS)
    assert [t for t, n in texts.items() if n > 1] == []


def test_question_counts_meet_coverage() -> None:
    """The set is large enough and covers every kind, language and article."""
    assert count_problems(QUESTIONS) == []


def test_paraphrase_groups_are_valid() -> None:
    """Every paraphrase line is well formed and every group has two or more questions."""
    assert MIN_PARAPHRASE_LINES <= len(PARAPHRASES) <= MAX_PARAPHRASE_LINES
    assert paraphrase_problems(PARAPHRASES) == []


def _valid_row() -> dict[str, Any]:
    """Return a copy of the first answerable question, used as a base for broken rows."""
    row = next(r for r in QUESTIONS if r.get("kind") == "fact")
    return dict(row, also_ok=list(row["also_ok"]))


Mutation = Callable[[dict[str, Any]], object]
BROKEN_QUESTIONS: list[tuple[str, Mutation]] = [
    ("missing key", lambda r: r.pop("also_ok")),
    ("extra key", lambda r: r.update(note="x")),
    ("bad lang", lambda r: r.update(lang="fr")),
    ("bad kind", lambda r: r.update(kind="trivia")),
    ("bad id", lambda r: r.update(id="x1")),
    ("unknown article", lambda r: r.update(article="009_0123456789abcdef.txt")),
    ("evidence not in article", lambda r: r.update(evidence="この文は記事のどこにもありません")),
    ("evidence too short", lambda r: r.update(evidence=r["evidence"][:3])),
    ("answerable without evidence", lambda r: r.update(evidence=None)),
    ("unanswerable with article", lambda r: r.update(kind="unanswerable", evidence=None)),
    ("unanswerable with evidence", lambda r: r.update(kind="unanswerable", article=None)),
    ("also_ok repeats article", lambda r: r.update(also_ok=[r["article"]])),
    ("crosslingual in Japanese", lambda r: r.update(kind="crosslingual", lang="ja")),
]


@pytest.mark.parametrize(
    "mutate", [m for _, m in BROKEN_QUESTIONS], ids=[n for n, _ in BROKEN_QUESTIONS]
)
def test_validator_rejects_broken_question(mutate: Mutation) -> None:
    """The per-question check reports a problem for each kind of broken row."""
    row = _valid_row()
    assert question_problems(row, CORPUS) == []
    mutate(row)
    assert question_problems(row, CORPUS) != []


def test_count_check_rejects_small_set() -> None:
    """The coverage check fails for a set with too few questions."""
    answerable = [r for r in QUESTIONS if r.get("kind") != "unanswerable"]
    assert count_problems(answerable[:10]) != []


@pytest.mark.parametrize(
    "rows",
    [
        [{"question": "a", "group": "g1"}],
        [{"question": "a", "group": "g1"}, {"question": "b", "group": "g2"}],
        [{"question": "a", "group": "g1"}, {"question": "a", "group": "g1"}],
        [{"question": "a", "group": "g1"}, {"question": "b"}],
    ],
    ids=["singleton", "two singletons", "duplicate", "missing group"],
)
def test_paraphrase_check_rejects_broken_groups(rows: list[Any]) -> None:
    """The paraphrase check reports singleton groups, duplicates and missing keys."""
    assert paraphrase_problems(rows) != []
