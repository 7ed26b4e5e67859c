"""`ask`, `reindex` and `eval`: the answer pipeline from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli import compose, printable
from bot.cli.errors import UserError
from bot.cli.options import day
from bot.evaluation.calibration import format_model, format_sentences
from bot.evaluation.labelled import (
    EvalFileError,
    Labelled,
    Report,
    answer_outcome,
    asked_everywhere,
    corpus_folder,
    format_table,
    probes_for,
    read_questions,
    result_line,
    score,
)
from bot.evaluation.observe import merge, observe, observed_configs
from bot.evaluation.report import held_out_summary, reliability_plot
from bot.questions import Origin, QuestionLog, QuestionLogError, QuestionRecord, new_question_id
from bot.retrieval.answers import Answer, by_article
from bot.retrieval.engine import Engine
from bot.retrieval.search import MODES, SHIPPED_MODE, Filters, Mode
from bot.retrieval.serving import Options
from bot.settings import Settings

TIER_LABELS = {
    "answer": "answer",
    "related": "related (uncertain match)",
    "none": "not covered by the blog yet",
}


def register(sub: Any) -> None:
    ask = sub.add_parser("ask", help="answer a question with excerpts and links")
    ask.add_argument("question", help="the question, in Japanese or English")
    ask.add_argument("--k", type=int, default=None, help="number of excerpts (default TOP_K)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--category", help="only articles in this category")
    ask.add_argument("--tag", help="only articles with this tag")
    ask.add_argument("--since", type=day, help="only articles on or after YYYY-MM-DD")
    ask.add_argument("--until", type=day, help="only articles on or before YYYY-MM-DD")
    ask.add_argument(
        "--no-log", action="store_true", help="do not record the question in QUESTION_DB"
    )
    ask.set_defaults(handler=run_ask)

    model = sub.add_parser("model", help="prepare EMBEDDING_MODEL and say where it lives")
    model.set_defaults(handler=run_model)

    reindex = sub.add_parser("reindex", help="(re)build the index of CORPUS_DIR")
    reindex.set_defaults(handler=run_reindex)

    evaluate = sub.add_parser("eval", help="measure retrieval on labelled questions")
    evaluate.add_argument(
        "file", type=Path, nargs="+", help="JSONL: one {id, corpus, question, ...} per line"
    )
    evaluate.add_argument("--results", type=Path, help="write each answer as JSONL here")
    evaluate.add_argument(
        "--compare", action="store_true", help="plain dense, BM25, RRF and hybrid side by side"
    )
    evaluate.add_argument(
        "--cv",
        action="store_true",
        help="choose ranker and confidence model on the other files, report each file held out",
    )
    evaluate.add_argument(
        "--calibrate",
        action="store_true",
        help="--cv, and print the confidence model fitted on all files as confidence.py stores it",
    )
    evaluate.add_argument(
        "--dev",
        type=Path,
        nargs="+",
        default=[],
        help="with --cv: report these files separately; nothing is chosen on them",
    )
    evaluate.add_argument("--plot", type=Path, help="with --cv: write a reliability plot (PNG)")
    evaluate.set_defaults(handler=run_eval)


def run_model(args: argparse.Namespace, settings: Settings) -> int:
    embedder = compose.embedder_for(settings)  # the configured model itself, whatever is injected
    print(f"model ready: {embedder.name} ({embedder.dimension} dimensions, {embedder.runtime})")
    return 0


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer from the current index; only when there is none yet is it built first."""
    engine = compose.root(settings).serving_engine()
    filters = Filters(args.category, args.tag, args.since, args.until)
    question_id = new_question_id()  # given before answering, as in Discord
    asked_at = datetime.now(UTC)
    answer = engine.answer(args.question, Options(k=args.k, filters=filters))
    problem, unlogged = None, "--no-log" if args.no_log else None
    if not args.no_log:
        record = QuestionRecord(question_id, asked_at, Origin("cli"), answer, engine.embedder.name)
        problem = asyncio.run(log_question(settings, record))
        unlogged = "the question log cannot be written" if problem else None
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        unknown = unknown_filters(engine, args.category, args.tag)
        print(format_answer(answer, unlogged=unlogged, unknown=unknown))
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


def unknown_filters(engine: Engine, category: str | None, tag: str | None) -> list[str]:
    """``--category``/``--tag`` values that no article has, as phrases for the answer."""
    unknown = []
    if category is not None and category not in engine.categories():
        unknown.append(f"no article is in category {category!r}")
    if tag is not None and tag not in engine.tags():
        unknown.append(f"no article has tag {tag!r}")
    return unknown


async def log_question(settings: Settings, record: QuestionRecord) -> str | None:
    """Keep the question for the editors, exactly as the Discord bot does: durable before
    the answer is printed. A log that cannot be opened (a newer file, a failed migration)
    is reported on stderr, and the answer is still printed. A question that neither the
    database nor its spill file could take is the one-line problem returned (the command
    then fails); the log's own warnings stay out of the way unless ``--verbose``.
    """
    path = settings.question_db
    with _held_log_records() as records:
        try:
            log = await QuestionLog.open(path, queue_max=settings.log_queue_max)
        except (QuestionLogError, OSError) as exc:
            print(f"warning: question not logged: setting QUESTION_DB: {exc}", file=sys.stderr)
            return None
        # a row the writer gives up on fails a future nobody awaits once we have moved on
        asyncio.get_running_loop().set_exception_handler(_ignore_lost_rows)
        kept = await log.record_durably(record)
        await log.close()
    if kept == "lost":
        errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
        reason = errors[-1].split("lost: ", 1)[-1] if errors else "cannot be written"
        return f"question not logged: setting QUESTION_DB: {printable(str(path))}: {reason}"
    if kept == "spilled":
        print(
            "warning: question kept in the spill file beside QUESTION_DB; it is written to "
            "the database when that can be written",
            file=sys.stderr,
        )
    return None


def _ignore_lost_rows(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not isinstance(context.get("exception"), QuestionLogError):
        loop.default_exception_handler(context)


@contextlib.contextmanager
def _held_log_records() -> Iterator[list[logging.LogRecord]]:
    """The question log's records, kept here instead of printed (printed with -v)."""
    logger = logging.getLogger("bot.questions")
    handler = _Keep()
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = verbose
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def format_answer(
    answer: Answer, *, unlogged: str | None = None, unknown: Sequence[str] = ()
) -> str:
    """The answer as text; `unlogged` says why the question was not kept, if it was not."""
    lines = [
        f"Q: {answer.question}",
        f"[{TIER_LABELS[answer.tier]}] confidence {answer.confidence:.2f}",
    ]
    if answer.notice:
        lines.append(answer.notice)
    for problem in unknown:
        lines.append(problem[0].upper() + problem[1:] + ".")
    if answer.tier == "none" and not answer.notice:
        lines.append(
            "Nothing in the blog matches this well; it was noted for the editors."
            if unlogged is None
            else f"Nothing in the blog matches this well (not logged: {unlogged})."
        )
    for number, group in enumerate(by_article(answer.results), 1):
        first = group[0]
        lines.append("")
        lines.append(f"{number}. {first.title}" + (f" ({first.date})" if first.date else ""))
        for n, result in enumerate(group):
            if result.heading and (n == 0 or result.heading != group[n - 1].heading):
                lines.append(f"   § {result.heading}")
            lines.append(f"   {result.excerpt}")
            lines.append(f"   {result.url}")
    return "\n".join(lines)


def run_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """The one command that writes the index: brought up to date with CORPUS_DIR."""
    _, report = compose.root(settings).refreshed_engine()
    print(report.summary())
    for skipped in report.skipped:
        print(f"  skipped {printable(skipped.source)}: {printable(skipped.reason)}")
    return 0


def _read_all(paths: list[Path]) -> list[Labelled]:
    try:
        return asked_everywhere([item for path in paths for item in read_questions(path)])
    except (OSError, EvalFileError) as exc:
        raise UserError(str(exc)) from None


def engines_for(items: list[Labelled], settings: Settings) -> dict[str, Engine]:
    """One engine per corpus the rows name, sharing one model, each on its current index
    (built only when it has none yet). A fixture site keeps its index in its own folder
    under CACHE_DIR/eval, so switching corpora re-embeds nothing and never replaces the
    configured corpus's index."""
    root = compose.root(settings)
    engines: dict[str, Engine] = {}
    for corpus in dict.fromkeys(i.corpus for i in items):
        folder = corpus_folder(corpus)
        if folder is None:
            engines[corpus] = root.serving_engine()
            continue
        if not folder.is_dir():
            raise UserError(f"corpus {corpus!r}: {folder} is not a folder")
        config = root.engine_config(folder, settings.cache_dir / "eval" / corpus)
        engines[corpus] = root.serving_engine(config)
    return engines


EVALUATION = Options(k=3, keep_ranking=True)  # scored refused or not: keep what was ranked


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    items = _read_all(args.file)
    if args.cv or args.calibrate:
        return run_cv(args, items, _read_all(args.dev), settings)
    engines = engines_for(items, settings)
    modes: tuple[Mode, ...] = MODES if args.compare else (SHIPPED_MODE,)
    reports: dict[str, Report] = {}
    answers: list[Answer] = []
    for mode in modes:
        options = Options(k=3, mode=mode, keep_ranking=True)
        answers = [engines[i.corpus].answer(i.question, options) for i in items]
        reports[mode] = score(
            (i, answer_outcome(i, a)) for i, a in zip(items, answers, strict=True)
        )
    if args.results:
        shipped = (
            answers
            if not args.compare
            else [engines[i.corpus].answer(i.question, EVALUATION) for i in items]
        )
        lines = [result_line(i, a) for i, a in zip(items, shipped, strict=True)]
        args.results.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8"
        )
    if not any(report.tallies for report in reports.values()):
        print(f"{len(items)} questions answered; none is labelled, so there is nothing to score")
        return 0
    print(format_table(reports))
    return 0


def run_cv(
    args: argparse.Namespace, items: list[Labelled], dev: list[Labelled], settings: Settings
) -> int:
    """Held-out figures for the baselines and for the chosen ranker, then what ships."""
    corpora = list(dict.fromkeys(i.corpus for i in [*items, *dev]))
    everything = [*items, *dev, *probes_for(corpora)]
    engines = engines_for(everything, settings)
    configs = observed_configs()
    tables = []
    for corpus, engine in engines.items():
        tables.append(observe(engine, [i for i in everything if i.corpus == corpus], configs))
    ordered = [i for corpus in engines for i in everything if i.corpus == corpus]
    table = merge(tables)
    dev_ids = {id(i) for i in dev}
    keep = [n for n, i in enumerate(ordered) if id(i) not in dev_ids]
    apart = [n for n, i in enumerate(ordered) if id(i) in dev_ids]
    try:
        summary = held_out_summary(ordered, table, keep, apart)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(summary.text)
    if args.calibrate:
        name = next(iter(engines.values())).embedder.name
        print(format_model(name, summary.shipped.model, summary.shipped.thresholds))
        print(format_sentences(summary.shipped.sentences))
    if args.plot:
        reliability_plot(summary.confidences, summary.answerable, args.plot)
        print(f"reliability plot written to {args.plot}")
    return 0
