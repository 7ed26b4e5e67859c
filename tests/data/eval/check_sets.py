"""Validate labelled question sets for the retrieval ranker (JSONL, one question a line).

Usage: python tests/data/eval/check_sets.py tests/data/eval/sample.jsonl [more.jsonl ...]

Every line must have exactly the expected keys, a known kind and language, a unique id,
and evidence strings that are verbatim substrings of the body (front matter removed) of
the named article or of one of its `also_ok` articles. An unanswerable question (kind
`unanswerable`, or `off_topic`: outside the blog's subject altogether) has a null
article, no `also_ok` and no evidence, and only an unanswerable question may. A
crosslingual question is in the other language than the evidence in its own article.
Evidence found in an article the line does not list is reported as a warning: the
question may need that article in `also_ok`.

The bot quotes rendered text, so evidence must be plain prose: no Markdown, kramdown,
Liquid or HTML syntax inside it, and at least one occurrence in a listed article outside
fenced, `{% highlight %}` and indented code blocks, tables, and source that is never shown
as text (Liquid tags and comments, HTML tags and comments, link targets, reference
definitions, kramdown attribute lists).

Corpora: `sample` is the sample blog in `corpus/`; any other name is the fixture site
`tests/data/sites/<name>/`; `*` means every corpus and is allowed only on an `off_topic`
question. Its articles are the files the bot reads (Markdown extensions, no hidden or
underscore folders other than `_posts`), less the fixture notes `FIXTURE.md`.

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

# Corpus name -> corpus root, relative to the repository root; other names are fixture sites.
CORPUS_ROOTS: dict[str, str] = {"sample": "corpus"}
SITES_DIR = "tests/data/sites"
# What the bot reads as articles (bot/corpus/articles.py), and the fixture's own notes.
ARTICLE_SUFFIXES = (".md", ".markdown", ".mkdown", ".mkd", ".mkdn", ".txt")
NOT_ARTICLES = frozenset({"FIXTURE.md"})

KEYS = frozenset({"id", "corpus", "lang", "question", "article", "also_ok", "evidence_any", "kind"})
KINDS = ("fact", "paraphrase", "keyword", "opinion", "crosslingual", "unanswerable", "off_topic")
# Kinds with no answer in the corpus: null article, no also_ok, no evidence.
UNANSWERED = frozenset({"unanswerable", "off_topic"})
# The corpus value of a question asked on every corpus; only an off_topic question may have it.
EVERY_CORPUS = "*"
LANGS = ("ja", "en")
EVIDENCE_MIN, EVIDENCE_MAX = 10, 60

# Markdown that the bot strips before indexing, so evidence must not contain it; likewise
# kramdown attribute lists, Liquid, table pipes and backslash escapes.
MARKUP = ("**", "__", "#", "](", "[", "]", "`", "{:", "{{", "{%", "%}", "}}", "|", "\\", "\n", "\r")
HTML_MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*[\s/>]|<!--|-->|&(?:#\d+|#x[0-9a-fA-F]+|\w+);")
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


@dataclass(frozen=True)
class Body:
    """An article body as written, and the same text with everything that is not shown as
    prose (code, tables, markup that renders to nothing) blanked out, offsets kept."""

    text: str
    prose: str


class Corpora:
    """Article bodies per corpus, read once, keyed by corpus-relative path."""

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self._bodies: dict[str, dict[str, Body]] = {}

    def root(self, corpus: str) -> Path:
        relative = CORPUS_ROOTS.get(corpus, f"{SITES_DIR}/{corpus}")
        return self.repo_root / relative

    def known(self, corpus: str) -> bool:
        return "/" not in corpus and corpus not in ("", ".", "..") and self.root(corpus).is_dir()

    def bodies(self, corpus: str) -> dict[str, Body]:
        if corpus not in self._bodies:
            root = self.root(corpus)
            bodies: dict[str, Body] = {}
            for path in article_files(root):
                text = body_of(path.read_text(encoding="utf-8"))
                bodies[path.relative_to(root).as_posix()] = Body(text, prose_of(text))
            self._bodies[corpus] = bodies
        return self._bodies[corpus]


def article_files(root: Path) -> list[Path]:
    """Markdown files the bot would read: no hidden or underscore folders except `_posts`."""
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or path.suffix.lower() not in ARTICLE_SUFFIXES:
            continue
        if any(p.startswith(".") or (p.startswith("_") and p != "_posts") for p in parts[:-1]):
            continue
        name = parts[-1]
        if name.startswith((".", "_")) or (len(parts) == 1 and name in NOT_ARTICLES):
            continue
        found.append(path)
    return found


def body_of(text: str) -> str:
    """The article text after its YAML front matter (the whole text if it has none)."""
    if not text.startswith("---\n"):
        return text
    end = text.find("\n---\n", 4)
    return text if end < 0 else text[end + len("\n---\n") :]


# Source that is never shown as prose, blanked out before evidence is looked up.
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
LIQUID_BLOCK = re.compile(
    r"\{%-?\s*(highlight|comment)\b.*?\{%-?\s*end\1\s*-?%\}", re.DOTALL | re.IGNORECASE
)
HTML_BLOCK = re.compile(r"<(table|style|script)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
HIDDEN = (
    re.compile(r"<!--.*?-->", re.DOTALL),  # HTML comments
    re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL),  # Liquid tags and output
    re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"),  # HTML tags (not autolinks)
    re.compile(r"\]\([^)\n]*\)"),  # inline link and image targets
    re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:.*$", re.MULTILINE),  # reference definitions
    re.compile(r"\{:[^}\n]*\}"),  # kramdown attribute lists
)
TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*$")
LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)]|:)([ \t]+)\S")


def blank(text: str, start: int, end: int) -> str:
    """`text` with [start, end) replaced by NULs, line breaks kept, so offsets still agree."""
    return text[:start] + re.sub(r"[^\n]", "\0", text[start:end]) + text[end:]


def width(line: str) -> int:
    """Indentation in columns, a tab advancing to the next multiple of four."""
    column = 0
    for char in line:
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            break
    return column


def prose_of(text: str) -> str:
    """The body with code blocks, tables and never-rendered source blanked out."""
    for pattern in (LIQUID_BLOCK, HTML_BLOCK, *HIDDEN):
        for match in pattern.finditer(text):
            text = blank(text, match.start(), match.end())
    lines = text.split("\n")
    hidden = fenced_lines(lines) | table_lines(lines)
    hidden |= indented_code_lines(lines, hidden)
    return "\n".join("\0" * len(line) if i in hidden else line for i, line in enumerate(lines))


def fenced_lines(lines: list[str]) -> set[int]:
    """Lines of ``` or ~~~ fenced blocks, fences included (an unclosed fence runs to the end)."""
    hidden: set[int] = set()
    fence = ""
    for i, line in enumerate(lines):
        match = FENCE.match(line)
        if fence:
            hidden.add(i)
            closing = match is not None and not line.strip().lstrip(fence[0])
            if closing and len(line.strip()) >= len(fence):
                fence = ""
        elif match:
            hidden.add(i)
            fence = match.group(1)
    return hidden


def table_lines(lines: list[str]) -> set[int]:
    """Lines that start with a pipe, and whole paragraphs that hold a table rule row."""
    hidden = {i for i, line in enumerate(lines) if line.lstrip().startswith("|")}
    start = 0
    for end in [*(i for i, line in enumerate(lines) if not line.strip()), len(lines)]:
        if any(TABLE_RULE.match(line) for line in lines[start:end]):
            hidden.update(range(start, end))
        start = end + 1
    return hidden


def indented_code_lines(lines: list[str], skip: set[int]) -> set[int]:
    """Indented code: after a blank line, four columns deeper than the enclosing list item's
    content (kramdown's rule). A list item's content column comes from its first line; a
    paragraph that starts left of it ends that item; a `^` line ends every list."""
    hidden: set[int] = set()
    columns: list[int] = []  # content columns of the open list items, outermost first
    after_blank, in_code = True, False
    for i, line in enumerate(lines):
        if i in skip:
            after_blank, in_code = False, False
            continue
        if not line.strip():
            after_blank = True
            continue
        indent = width(line)
        if (after_blank or in_code) and indent >= (columns[-1] if columns else 0) + 4:
            hidden.add(i)
            after_blank, in_code = False, True
            continue
        item = LIST_ITEM.match(line)
        if line.strip() == "^":
            columns.clear()
        elif item:
            while columns and columns[-1] > indent:
                columns.pop()
            columns.append(width(item.group(1)) + len(item.group(0)) - len(item.group(1)) - 1)
        elif after_blank:
            while columns and columns[-1] > indent:
                columns.pop()
        after_blank, in_code = False, False
    return hidden


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


def check_labels(rec: dict[str, Any], where: str, corpora: Corpora, rep: Report) -> bool:
    """Corpus, kind and language are known and agree with the question text."""
    ok = True
    if rec["corpus"] == EVERY_CORPUS:
        if rec["kind"] != "off_topic":
            rep.errors.append(f"{where}: corpus {EVERY_CORPUS!r} is only for kind off_topic")
            ok = False
    elif not corpora.known(rec["corpus"]):
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
    return ok


def check_unanswerable(rec: dict[str, Any], where: str, rep: Report) -> bool:
    """Unanswerable or off_topic <=> null article, no also_ok, no evidence. True if answerable."""
    unanswerable = rec["kind"] in UNANSWERED
    empty = rec["article"] is None and not rec["evidence_any"]
    if unanswerable and not (empty and not rec["also_ok"]):
        rep.errors.append(f"{where}: {rec['kind']} needs article null, also_ok [], evidence []")
    if not unanswerable and (rec["article"] is None or not rec["evidence_any"]):
        rep.errors.append(f"{where}: answerable question needs an article and evidence")
    return not unanswerable and rec["article"] is not None


def check_evidence_text(ev: str, where: str, rep: Report) -> None:
    """Length, no Markdown, within one sentence."""
    if not EVIDENCE_MIN <= len(ev) <= EVIDENCE_MAX:
        rep.errors.append(f"{where}: evidence length {len(ev)} not in 10..60: {ev!r}")
    if any(mark in ev for mark in MARKUP) or HTML_MARKUP.search(ev):
        rep.errors.append(f"{where}: evidence contains markup or a line break: {ev!r}")
    if TERMINATORS.search(ev[:-1]):
        rep.errors.append(f"{where}: evidence spans a sentence end: {ev!r}")
    if ev != ev.strip():
        rep.errors.append(f"{where}: evidence has leading or trailing space: {ev!r}")


def check_articles(rec: dict[str, Any], bodies: dict[str, Body], where: str, rep: Report) -> None:
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
        found = [path for path in listed if ev in bodies[path].prose]
        if not found and any(ev in bodies[path].text for path in listed):
            rep.errors.append(f"{where}: evidence only inside code, a table or markup: {ev!r}")
        elif not found:
            rep.errors.append(f"{where}: evidence not verbatim in listed articles: {ev!r}")
        used.update(found)
        elsewhere = [p for p in bodies if p not in listed and ev in bodies[p].prose]
        for path in elsewhere:
            rep.warnings.append(f"{where}: evidence also in unlisted {path}: {ev!r}")
    for path in listed:
        if path not in used:
            rep.errors.append(f"{where}: no evidence string comes from {path}")
    if rec["kind"] == "crosslingual":
        check_crosslingual(rec, bodies[rec["article"]], where, rep)


def check_crosslingual(rec: dict[str, Any], article: Body, where: str, rep: Report) -> None:
    """A crosslingual question is asked in the other language than its article's evidence."""
    japanese_question = rec["lang"] == "ja"
    own = [ev for ev in rec["evidence_any"] if ev in article.prose]
    if own and all(bool(JAPANESE.search(ev)) == japanese_question for ev in own):
        rep.errors.append(f"{where}: crosslingual, yet in the language of its evidence")


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
    labels_ok = check_labels(rec, where, corpora, rep)
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
