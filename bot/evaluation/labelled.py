"""Measure retrieval on labelled questions (the confidence fit is `calibration`).

Two label formats are read. The current one names each row's corpus (`sample` is the
sample blog in `corpus/`, any other name the fixture site `tests/data/sites/<name>/`) and
its article by corpus-relative path, with any number of verbatim evidence strings. The
older one (no `corpus`) names an article of the sample blog by its original file name,
matched through the 16-hex-digit key in both names, with one evidence string.

Metrics, per corpus and overall: hit@1, hit@3, MRR, evidence@3 (an evidence string inside
one of the top three excerpts, markup ignored), evidence-in-bold (inside the first
excerpt's emphasised sentence), answerable questions refused (tier `none`) and shown as
`answer`, and unanswerable ones shown as `answer`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.corpus.articles import article_key
from bot.retrieval.answers import Answer, Tier
from bot.retrieval.coverage import probe_texts

log = logging.getLogger(__name__)

ALL = "all"
SAMPLE = "sample"  # the corpus of the older format's rows


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    question: str
    kind: str | None
    articles: frozenset[str]  # acceptable articles (paths, or keys in the old format)
    evidence: tuple[str, ...]  # any one of them, found in an excerpt, is the evidence
    labelled: bool  # whether the line says anything about the right article
    corpus: str = SAMPLE
    by_path: bool = False  # articles are corpus-relative paths, not 16-hex keys
    fold: str = ""  # the question set it comes from: cross-validation folds by set

    @property
    def answerable(self) -> bool:
        return bool(self.articles)

    @property
    def probe(self) -> bool:
        """A bundled probe asked of this corpus: fitted on, never scored."""
        return self.kind == PROBE

    @property
    def off_topic(self) -> bool:
        """About something no blog covers: it should be told so (tier `none`)."""
        return self.kind == "off_topic"

    def matches(self, source: str) -> bool:
        """Whether a result's article (corpus-relative path) is an acceptable one."""
        key = source if self.by_path else article_key(Path(source).name)
        return key in self.articles


class EvalFileError(ValueError):
    """A line of the question file is not usable; the message names it."""


def read_questions(path: Path) -> list[Labelled]:
    out: list[Labelled] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                out.append(_parse(line, f"{path}:{number}", path.stem))
    return out


def _parse(line: str, where: str, fold: str) -> Labelled:
    try:
        row = json.loads(line)
        question = str(row["question"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise EvalFileError(f"{where}: needs a JSON object with a 'question' ({exc})") from None
    names = [str(n) for n in [row.get("article"), *(row.get("also_ok") or [])] if n]
    by_path = "corpus" in row
    evidence = row.get("evidence_any") if by_path else [row.get("evidence")]
    return Labelled(
        id=str(row.get("id", where)),
        question=question,
        kind=row.get("kind"),
        articles=frozenset(names if by_path else (article_key(n) for n in names)),
        evidence=tuple(str(e) for e in evidence or () if e),
        labelled="article" in row,
        corpus=str(row.get("corpus") or SAMPLE),
        by_path=by_path,
        fold=fold,
    )


EVERY_CORPUS = "*"  # an off-topic row asked of every corpus in the run
PROBE = "probe"


def probes_for(corpora: Sequence[str]) -> list[Labelled]:
    """The bundled probes (`bot.retrieval.probes`) as rows asked of each corpus: what the
    coverage model learns "not this blog" from. Never scored, and never a question set."""
    return [
        Labelled(f"probe{n}@{c}", text, PROBE, frozenset(), (), False, c, True, "probes")
        for c in corpora
        for n, text in enumerate(probe_texts())
    ]


def asked_everywhere(items: Sequence[Labelled]) -> list[Labelled]:
    """Rows for corpus `*` repeated once per corpus the other rows name (the id says which)."""
    corpora = list(dict.fromkeys(i.corpus for i in items if i.corpus != EVERY_CORPUS))
    out: list[Labelled] = []
    for item in items:
        if item.corpus != EVERY_CORPUS:
            out.append(item)
            continue
        out.extend(replace(item, id=f"{item.id}@{c}", corpus=c, by_path=True) for c in corpora)
    return out


def corpus_folder(corpus: str, sites: Path = Path("tests/data/sites")) -> Path | None:
    """Where a row's corpus lives; None for the sample blog (the configured CORPUS_DIR)."""
    return None if corpus == SAMPLE else sites / corpus


def squash(text: str) -> str:
    """Text as compared with evidence: no markup, no white space."""
    return re.sub(r"\s+|\*\*|__", "", text)


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def bold_sentence(excerpt: str) -> str:
    """The excerpt's emphasised sentence: its longest bold span (the others are words)."""
    spans = _BOLD.findall(excerpt)
    return max(spans, key=len) if spans else ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one question got, as the metrics see it (from an answer or an assessment)."""

    rank: int | None  # position of the first acceptable article among the results
    evidence3: bool  # an evidence string in one of the top three excerpts
    evidence_bold: bool  # an evidence string in the first excerpt's bold sentence
    tier: Tier


def outcome(item: Labelled, sources: Sequence[str], excerpts: Sequence[str], tier: Tier) -> Outcome:
    """Score one question's ranked sources and shown excerpts."""
    ranks = [n for n, source in enumerate(sources, 1) if item.matches(source)]
    wanted = [squash(e) for e in item.evidence]
    shown = [squash(e) for e in excerpts[:3]]
    bold = squash(bold_sentence(excerpts[0])) if excerpts else ""
    return Outcome(
        rank=ranks[0] if ranks else None,
        evidence3=any(w in s for w in wanted for s in shown),
        evidence_bold=bool(bold) and any(w in bold for w in wanted),
        tier=tier,
    )


def answer_outcome(item: Labelled, answer: Answer) -> Outcome:
    return outcome(
        item, [r.source for r in answer.results], [r.excerpt for r in answer.results], answer.tier
    )


METRICS = (
    "hit@1",
    "hit@3",
    "MRR",
    "evidence@3",
    "evidence_in_bold",
    "right_and_answer",
    "answerable_refused",
    "unanswerable_as_answer",
    "off_topic_none",
)


@dataclass(slots=True)
class Tally:
    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal: float = 0.0
    evidence: int = 0
    bold: int = 0
    evidence_labelled: int = 0
    refused: int = 0
    answered: int = 0
    unanswerable: int = 0
    unanswerable_answered: int = 0
    right_answered: int = 0
    off_topic: int = 0
    off_topic_none: int = 0

    def add(self, item: Labelled, got: Outcome) -> None:
        if item.off_topic:
            self.off_topic += 1
            self.off_topic_none += got.tier == "none"
            return
        if not item.answerable:
            self.unanswerable += 1
            self.unanswerable_answered += got.tier == "answer"
            return
        self.answerable += 1
        self.hit1 += got.rank == 1
        self.hit3 += got.rank is not None and got.rank <= 3
        self.reciprocal += 1 / got.rank if got.rank else 0.0
        self.refused += got.tier == "none"
        self.answered += got.tier == "answer"
        self.right_answered += got.rank == 1 and got.tier == "answer"
        if item.evidence:
            self.evidence_labelled += 1
            self.evidence += got.evidence3
            self.bold += got.evidence_bold

    def row(self) -> dict[str, float | int | None]:
        n = self.answerable
        return {
            "n": n + self.unanswerable + self.off_topic,
            "hit@1": _ratio(self.hit1, n),
            "hit@3": _ratio(self.hit3, n),
            "MRR": _ratio(self.reciprocal, n),
            "evidence@3": _ratio(self.evidence, self.evidence_labelled),
            "evidence_in_bold": _ratio(self.bold, self.evidence_labelled),
            "right_and_answer": _ratio(self.right_answered, n),
            "answerable_refused": _ratio(self.refused, n),
            "answerable_as_answer": _ratio(self.answered, n),
            "unanswerable_as_answer": _ratio(self.unanswerable_answered, self.unanswerable),
            "off_topic_none": _ratio(self.off_topic_none, self.off_topic),
        }


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass(slots=True)
class Report:
    tallies: dict[str, Tally] = field(default_factory=dict)

    def add(self, item: Labelled, got: Outcome) -> None:
        for name in (item.corpus, ALL):
            self.tallies.setdefault(name, Tally()).add(item, got)

    def rows(self) -> dict[str, dict[str, float | int | None]]:
        order = [*sorted(k for k in self.tallies if k != ALL), ALL]
        return {name: self.tallies[name].row() for name in order if name in self.tallies}


def score(items: Iterable[tuple[Labelled, Outcome]]) -> Report:
    """The metrics of the labelled questions; unlabelled ones are left out."""
    report = Report()
    for item, got in items:
        if item.labelled:
            report.add(item, got)
    return report


def format_table(reports: dict[str, Report]) -> str:
    """A markdown table: one row per (method, corpus), one column per metric."""
    lines = ["| method | corpus | n | " + " | ".join(METRICS) + " |"]
    lines.append("|" + "---|" * (len(METRICS) + 3))
    for method, report in reports.items():
        for corpus, row in report.rows().items():
            cells = [_cell(row[m]) for m in METRICS]
            lines.append(f"| {method} | {corpus} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: float | int | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def result_line(item: Labelled, answer: Answer) -> dict[str, Any]:
    return {"id": item.id, "corpus": item.corpus, **answer.to_json()}
