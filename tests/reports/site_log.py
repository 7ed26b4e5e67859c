"""A question log filled the way readers fill it: a fixture blog, the real model, real tiers.

Eight vim-jp.org posts (tests/data/sites/vim-jp, CC BY 4.0, see its FIXTURE.md) are indexed
with the embedded model; the site's own labelled questions, its unanswerable ones and a few
off-topic ones are asked through the engine and logged through the question log's own
writer, spread over eight weeks, some asked by several readers. Nothing in the log is
written by hand: tiers, excerpts and links are what the bot answered.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.embedding.models import Embedder
from bot.questions import QuestionLog
from bot.questions.store import Origin, QuestionRecord, new_question_id
from bot.retrieval.engine import Engine
from tests.conftest import engine_for

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "tests" / "data" / "sites" / "vim-jp"
EVAL = ROOT / "tests" / "data" / "eval"
POSTS = (
    "blog/2016-09-13-vim8.0-features.md",
    "blog/2021-09-16-vim-jp-10th-anniversary.md",
    "blog/2016-07-02-reading_vimrc-quadrennial.md",
    "blog/2014-11-29-vim-creator-bram-moolenaar-interview.md",
    "blog/2024-01-09-Vim-9.1-has-been-released.md",
    "blog/2017-08-04-vimconf2017-venue-and-date-ja.md",
    "blog/2018-06-07-VimConf2018-sponsor-ja.md",
    "blog/2018-03-12-recent-changes.md",
)
WEEKS = 8
REPEATS = 3  # an unanswerable or off-topic question is asked by this many readers
# What readers ask that the blog has no article on, in several wordings each: with the
# embedded model every pair within a group is above the gaps threshold (0.968 to 0.997),
# every pair across groups below 0.88.
PARAPHRASES = (
    (
        "Vim 10 はいつ出る？",
        "Vim 10 っていつ出るの？",
        "Vim 10のリリース日は？",
        "Vim 10 はいつリリースされますか？",
    ),
    ("Neovimの日本語の勉強会ってある？", "Neovimの勉強会は日本でやってる？"),
    (
        "VimConf 2026のチケットはいつ発売？",
        "VimConf 2026 のチケットっていつ買えるの？",
        "VimConf 2026のチケット発売日は？",
    ),
)
DOWN_REASONS = ("情報が古い", "質問に答えていない")
# The article an editor writes for the first group.
NEW_POST = "blog/2026-11-30-vim-10-release-date.md"
NEW_POST_TEXT = """---
layout: post
category: blog
title: Vim 10 のリリース日が決まりました
---

Vim 10 のリリース日は 2027 年 1 月 15 日に決まりました。

読者の皆さんから「Vim 10 はいつ出るのか」という質問を多くいただいていました。
開発版はすでに公開されていて、正式版は 2027 年 1 月 15 日に出ます。
"""


@dataclass(frozen=True)
class Asked:
    question: str
    kind: str


def small_site(dest: Path) -> Path:
    """The fixture site with only :data:`POSTS` (and no pages), licence notices kept."""
    shutil.copytree(SITE, dest, ignore=shutil.ignore_patterns("docs", "tips", "index.html"))
    for post in (dest / "_posts").rglob("*.md"):
        if post.relative_to(dest / "_posts").as_posix() not in POSTS:
            post.unlink()
    return dest


def questions() -> list[Asked]:
    """The site's labelled questions about the kept posts, then the unanswerable and
    off-topic ones (each asked :data:`REPEATS` times)."""
    rows = [json.loads(line) for line in (EVAL / "vim-jp.jsonl").read_text("utf-8").splitlines()]
    kept = {f"_posts/{post}" for post in POSTS}
    asked = [Asked(r["question"], r["kind"]) for r in rows if r["article"] in kept]
    unanswerable = [r for r in rows if r["kind"] == "unanswerable"][:4]
    off_topic = [
        json.loads(line) for line in (EVAL / "off-topic.jsonl").read_text("utf-8").splitlines()
    ]
    for row in [*unanswerable, *off_topic[:3]]:
        asked += [Asked(row["question"], row["kind"])] * REPEATS
    asked += [Asked(wording, "gap") for group in PARAPHRASES for wording in group]
    return asked


def index_site(site: Path, cache: Path, embedder: Embedder) -> Engine:
    return engine_for(site, cache, embedder)


async def write_the_missing_article(site: Path, engine: Engine) -> str:
    """Add :data:`NEW_POST`, reindex, and return its URL as the bot links it."""
    path = site / "_posts" / NEW_POST
    path.write_text(NEW_POST_TEXT, encoding="utf-8")
    await engine.reindex()
    answer = await engine.ask(PARAPHRASES[0][2])
    urls = [r.url.split("#")[0] for r in answer.results if r.source.endswith(NEW_POST)]
    assert urls, f"the new article is not found: {answer.results}"
    return urls[0]


async def fill_log(
    db_path: Path, engine: Engine, asked: list[tuple[str, datetime]]
) -> list[QuestionRecord]:
    """Ask each question at its time through the engine; log it with the bot's own writer."""
    log = await QuestionLog.open(db_path)
    records = []
    try:
        for i, (question, when) in enumerate(asked):
            answer = await engine.ask(question)
            origin = Origin("discord", guild_id=1, channel_id=2, user_hash=f"reader-{i % 9}")
            record = QuestionRecord(new_question_id(), when, origin, answer, engine.embedder.name)
            log.record(record)
            records.append(record)
        await log.flush()
    finally:
        await log.close()
    return records


async def vote_down(db_path: Path, records: list[QuestionRecord]) -> list[str]:
    """Two readers vote down the first two answers, with their reasons; returns their ids."""
    answered = [r.id for r in records if r.answer.tier == "answer"][:2]
    log = await QuestionLog.open(db_path)
    try:
        for question_id, reason in zip(answered, DOWN_REASONS, strict=False):
            await log.vote(question_id, "voter-1", -1, reason)
            await log.vote(question_id, "voter-2", -1, None)
    finally:
        await log.close()
    return answered


def spread(until: datetime) -> list[tuple[str, datetime]]:
    """Every question of :func:`questions`, over the :data:`WEEKS` weeks before `until`."""
    return [
        (asked.question, until - timedelta(days=(i * 11) % (7 * WEEKS), hours=i % 13 + 1))
        for i, asked in enumerate(questions())
    ]
