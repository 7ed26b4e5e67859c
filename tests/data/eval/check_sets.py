"""Validate labelled question sets for the retrieval ranker (JSONL, one question a line).

Usage: python tests/data/eval/check_sets.py tests/data/eval/sample.jsonl [more.jsonl ...]

Every line must have exactly the expected keys, a known kind and language, a unique id,
and evidence strings that are verbatim substrings of the body (front matter removed) of
the named article or of one of its `also_ok` articles. An unanswerable question has a
null article, no `also_ok` and no evidence, and only an unanswerable question may.
Evidence found in an article the line does not list is reported as a warning: the
question may need that article in `also_ok`.

Prints errors and warnings, then counts per kind, language and article. Exits 1 on errors.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Corpus name -> corpus root, relative to the repository root.
CORPUS_ROOTS: dict[str, str] = {"sample": "corpus"}

KEYS = frozenset({"id", "corpus", "lang", "question", "article", "also_ok", "evidence_any", "kind"})
KINDS = ("fact", "paraphrase", "keyword", "opinion", "crosslingual", "unanswerable")
LANGS = ("ja", "en")
EVIDENCE_MIN, EVIDENCE_MAX = 10, 60

# Markdown that the bot strips before indexing, so evidence must not contain it.
MARKUP = ("**", "__", "#", "](", "[", "`", "\n", "\r")
# A sentence ends at one of these; evidence may end with one but not contain one inside.
TERMINATORS = re.compile(r"[。！？!?]")
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Report:
    """Errors, warnings and counts gathered over all lines of all files."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    kind_lang: Counter[tuple[str, str]] = field(default_factory=Counter)
    articles: Counter[str] = field(default_factory=Counter)
    also_ok: Counter[str] = field(default_factory=Counter)
    lines: int = 0


class Corpora:
    """Article bodies per corpus, read once, keyed by corpus-relative path."""

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self._bodies: dict[str, dict[str, str]] = {}

    def bodies(self, corpus: str) -> dict[str, str]:
        if corpus not in self._bodies:
            root = self.repo_root / CORPUS_ROOTS[corpus]
            self._bodies[corpus] = {
                path.relative_to(root).as_posix(): body_of(path.read_text(encoding="utf-8"))
                for path in sorted(root.rglob("*.md"))
            }
        return self._bodies[corpus]


def body_of(text: str) -> str:
    """The article text after its YAML front matter (the whole text if it has none)."""
    if not text.startswith("---\n"):
        return text
    end = text.find("\n---\n", 4)
    return text if end < 0 else text[end + len("\n---\n") :]


def check_types(rec: dict[str, Any], where: str, rep: Report) -> bool:
    """Keys and value types; False when the line is too broken to check further."""
    keys = set(rec)
    if keys != KEYS:
        missing, extra = sorted(KEYS - keys), sorted(keys - KEYS)
        rep.errors.append(f"{where}: keys missing {missing} extra {extra}")
        return False
    ok = True
    for key in ("id", "corpus", "lang", "question", "kind"):
        if not isinstance(rec[key], str) or not rec[key].strip():
            rep.errors.append(f"{where}: {key} must be a non-empty string")
            ok = False
    if rec["article"] is not None and not isinstance(rec["article"], str):
        rep.errors.append(f"{where}: article must be a string or null")
        ok = False
    for key in ("also_ok", "evidence_any"):
        value = rec[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            rep.errors.append(f"{where}: {key} must be a list of strings")
            ok = False
    return ok


def check_labels(rec: dict[str, Any], where: str, rep: Report) -> bool:
    """Corpus, kind and language are known and agree with the question text."""
    ok = True
    if rec["corpus"] not in CORPUS_ROOTS:
        rep.errors.append(f"{where}: unknown corpus {rec['corpus']!r}")
        ok = False
    if rec["kind"] not in KINDS:
        rep.errors.append(f"{where}: unknown kind {rec['kind']!r}")
        ok = False
    if rec["lang"] not in LANGS:
        rep.errors.append(f"{where}: unknown lang {rec['lang']!r}")
        ok = False
    has_japanese = bool(JAPANESE.search(rec["question"]))
    if rec["lang"] == "en" and has_japanese:
        rep.errors.append(f"{where}: lang en but the question has Japanese text")
    if rec["lang"] == "ja" and not has_japanese:
        rep.errors.append(f"{where}: lang ja but the question has no Japanese text")
    if rec["kind"] == "crosslingual" and rec["lang"] != "en":
        rep.errors.append(f"{where}: crosslingual questions must be in English")
    return ok


def check_unanswerable(rec: dict[str, Any], where: str, rep: Report) -> bool:
    """Unanswerable <=> null article, no also_ok, no evidence. True if answerable."""
    unanswerable = rec["kind"] == "unanswerable"
    empty = rec["article"] is None and not rec["evidence_any"]
    if unanswerable and not (empty and not rec["also_ok"]):
        rep.errors.append(f"{where}: unanswerable needs article null, also_ok [], evidence []")
    if not unanswerable and (rec["article"] is None or not rec["evidence_any"]):
        rep.errors.append(f"{where}: answerable question needs an article and evidence")
    return not unanswerable and rec["article"] is not None


def check_evidence_text(ev: str, where: str, rep: Report) -> None:
    """Length, no Markdown, within one sentence."""
    if not EVIDENCE_MIN <= len(ev) <= EVIDENCE_MAX:
        rep.errors.append(f"{where}: evidence length {len(ev)} not in 10..60: {ev!r}")
    if any(mark in ev for mark in MARKUP):
        rep.errors.append(f"{where}: evidence contains Markdown or a line break: {ev!r}")
    if TERMINATORS.search(ev[:-1]):
        rep.errors.append(f"{where}: evidence spans a sentence end: {ev!r}")
    if ev != ev.strip():
        rep.errors.append(f"{where}: evidence has leading or trailing space: {ev!r}")


def check_articles(rec: dict[str, Any], bodies: dict[str, str], where: str, rep: Report) -> None:
    """Listed articles exist; every evidence string is in one; every listed one is used."""
    listed = [rec["article"], *rec["also_ok"]]
    if len(set(listed)) != len(listed):
        rep.errors.append(f"{where}: article repeated in also_ok")
    missing = [path for path in listed if path not in bodies]
    for path in missing:
        rep.errors.append(f"{where}: no such article {path!r}")
    if missing:
        return
    if len(set(rec["evidence_any"])) != len(rec["evidence_any"]):
        rep.errors.append(f"{where}: duplicate evidence strings")
    used: set[str] = set()
    for ev in rec["evidence_any"]:
        check_evidence_text(ev, where, rep)
        found = [path for path in listed if ev in bodies[path]]
        if not found:
            rep.errors.append(f"{where}: evidence not verbatim in listed articles: {ev!r}")
        used.update(found)
        elsewhere = [p for p in bodies if p not in listed and ev in bodies[p]]
        for path in elsewhere:
            rep.warnings.append(f"{where}: evidence also in unlisted {path}: {ev!r}")
    for path in listed:
        if path not in used:
            rep.errors.append(f"{where}: no evidence string comes from {path}")


def check_line(raw: str, where: str, corpora: Corpora, seen: dict[str, str], rep: Report) -> None:
    try:
        rec = json.loads(raw)
    except json.JSONDecodeError as exc:
        rep.errors.append(f"{where}: invalid JSON: {exc}")
        return
    if not isinstance(rec, dict):
        rep.errors.append(f"{where}: line is not a JSON object")
        return
    if not check_types(rec, where, rep):
        return
    for key in ("id", "question"):
        value = rec[key].strip()
        if f"{key}:{value}" in seen:
            rep.errors.append(f"{where}: duplicate {key} (first at {seen[f'{key}:{value}']})")
        seen.setdefault(f"{key}:{value}", where)
    labels_ok = check_labels(rec, where, rep)
    rep.kinds[rec["kind"]] += 1
    rep.langs[rec["lang"]] += 1
    rep.kind_lang[(rec["kind"], rec["lang"])] += 1
    rep.articles[rec["article"] or "(none)"] += 1
    rep.also_ok.update(rec["also_ok"])
    if check_unanswerable(rec, where, rep) and labels_ok:
        check_articles(rec, corpora.bodies(rec["corpus"]), where, rep)


def check_file(path: Path, corpora: Corpora, seen: dict[str, str], rep: Report) -> None:
    with path.open(encoding="utf-8") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                rep.errors.append(f"{path}:{number}: blank line")
                continue
            rep.lines += 1
            check_line(raw, f"{path}:{number}", corpora, seen, rep)


def print_report(rep: Report) -> None:
    for warning in rep.warnings:
        print(f"WARNING {warning}")
    for error in rep.errors:
        print(f"ERROR {error}")
    total = rep.lines or 1
    print(f"\n{rep.lines} questions, {len(rep.errors)} errors, {len(rep.warnings)} warnings")
    print("\nper kind:        ja   en  total")
    for kind in KINDS:
        ja, en = rep.kind_lang[(kind, "ja")], rep.kind_lang[(kind, "en")]
        print(f"  {kind:<13} {ja:4d} {en:4d} {rep.kinds[kind]:6d}")
    print("\nper language:")
    for lang in LANGS:
        print(f"  {lang}  {rep.langs[lang]:4d}  ({100 * rep.langs[lang] / total:.0f}%)")
    print("\nper article:          best  also_ok")
    for article in sorted(set(rep.articles) | set(rep.also_ok)):
        print(f"  {article:<40} {rep.articles[article]:4d} {rep.also_ok[article]:6d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate labelled question sets.")
    parser.add_argument("sets", nargs="+", type=Path, help="JSONL question sets")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    corpora, rep = Corpora(args.root), Report()
    seen: dict[str, str] = {}
    for path in args.sets:
        check_file(path, corpora, seen, rep)
    print_report(rep)
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main())
