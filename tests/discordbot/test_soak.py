"""Soak: many /ask questions through the loopback Discord while faults are injected.

A seeded plan gives each question its faults: the gateway dropped just before it is
asked (the bot resumes), 429s with ``retry_after`` on its interaction callback or its
followup, 500/502/503 on its followup (a few of them five times in a row, more than
discord.py retries), and now and then another connection holding ``BEGIN EXCLUSIVE`` on
the question database for a few seconds. Faults are aimed at one interaction's id or
token, so each lands where the plan put it.

Every question must be acknowledged (the loopback refuses a late acknowledgement, which
shows up in ``server.violations``), then answered, or told that something went
wrong when the followup never got through; after the bot closes, the question log holds
exactly one row per question.

``make test`` runs ``SOAK_QUESTIONS`` questions (default 60); ``make soak`` runs the
``soak``-marked variant (default 2000). The figures are printed and written to
``.pytest_cache/d/soak/figures.json``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sqlite3
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.discordbot.messages import Lang, say
from bot.questions.spill import spill_path
from tests.discordbot.discord_world import World, reply
from tests.loopback import InteractionHandle, LoopbackDiscord, RecordedMessage, User

SEED = int(os.environ.get("SOAK_SEED", "20240501"))
CONCURRENCY = 8
READERS = 12
QUESTIONS = (
    ("Jekyllのテーマを変えるには？", "ja"),
    ("テーマを変えたらレイアウトが崩れた", "ja"),
    ("Jekyllのプラグインはどこに置く？", "ja"),
    ("GitHub Pagesで使えるプラグインは？", "ja"),
    ("七夕のデザインについて教えて", "ja"),
    ("量子コンピュータの値段はいくら？", "ja"),
    ("How is the Discord bot deployed?", "en-US"),
    ("Which environment variable does the bot need?", "en-US"),
    ("Does the bot use slash commands?", "en-US"),
    ("What is the price of a quantum computer?", "en-US"),
)
# Chance per question of each fault; each kind is also planned at least once.
RATES = {
    "disconnect": 0.02,
    "callback_429": 0.05,
    "followup_429": 0.05,
    "followup_5xx": 0.04,
    "followup_5xx_exhausted": 0.002,
    "db_lock": 0.005,
}
EXHAUSTING = 5  # discord.py tries a webhook request five times before giving up
# Five failed tries sleep 1+3+5+7+9 s, so only the long run is sure to include one.
SHORT_KINDS = frozenset(RATES) - {"followup_5xx_exhausted"}
LOCK_SECONDS = (1.5, 6.0)  # the writer's busy timeout is 5 s: longer locks make it retry


@dataclass
class Planned:
    """One question and the faults aimed at it."""

    number: int
    question: str
    locale: str
    private: bool
    faults: list[str] = field(default_factory=list)
    retry_after: float = 0.0
    status: int = 500
    lock_seconds: float = 0.0


def plan(count: int, seed: int, kinds: frozenset[str] = SHORT_KINDS) -> list[Planned]:
    """The whole run, drawn up front from the seed; each of ``kinds`` planned at least once."""
    rng = random.Random(seed)
    planned = []
    for number in range(count):
        question, locale = rng.choice(QUESTIONS)
        item = Planned(number, question, locale, private=rng.random() < 0.2)
        item.faults = [kind for kind, rate in RATES.items() if rng.random() < rate]
        planned.append(item)
    for kind in sorted(kinds):
        if not any(kind in p.faults for p in planned):
            rng.choice(planned[: max(1, count - 5)]).faults.append(kind)
    for item in planned:
        if "followup_5xx_exhausted" in item.faults and "followup_5xx" in item.faults:
            item.faults.remove("followup_5xx")
        item.retry_after = round(rng.uniform(0.05, 0.4), 3)
        item.status = rng.choice((500, 502, 503))
        item.lock_seconds = round(rng.uniform(*LOCK_SECONDS), 2)
    return planned


class DatabaseLock(threading.Thread):
    """Another process's connection holding ``BEGIN EXCLUSIVE`` for ``seconds``, then gone."""

    def __init__(self, path: Path, seconds: float) -> None:
        super().__init__(name="soak-db-lock", daemon=True)
        self.path = path
        self.seconds = seconds
        self.acquired = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            try:
                conn.execute("BEGIN EXCLUSIVE")
                self.acquired.set()
                time.sleep(self.seconds)
                conn.execute("COMMIT")
            finally:
                conn.close()
        except BaseException as exc:
            self.error = exc
            self.acquired.set()


class Aim:
    """Hands out the next interaction's id and token before it is dispatched.

    The loopback matches a fault against the request path, so knowing the id (callback)
    and the token (followup webhook) lets a fault hit one question and no other.
    """

    def __init__(self, server: LoopbackDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
        self._original = server.new_ids
        self._next: tuple[int, str] | None = None
        monkeypatch.setattr(server, "new_ids", self._new_ids)

    def reserve(self) -> tuple[int, str]:
        self._next = self._original()
        return self._next

    def _new_ids(self) -> tuple[int, str]:
        ids, self._next = self._next, None
        return ids or self._original()


def outcome(handle: InteractionHandle, message: RecordedMessage, item: Planned) -> str:
    """``answered`` (the answer with its vote buttons) or ``error`` (the apology).

    After the deferral the first followup replaces Discord's "thinking…" message and keeps
    its visibility, so an apology is as public as the answer would have been.
    """
    lang: Lang = "ja" if item.locale == "ja" else "en"
    votes = [f"vote:up:{handle.id}", f"vote:down:{handle.id}"]
    if message.custom_ids()[:2] == votes and message.ephemeral is item.private:
        return "answered"
    if message.content == say("bug", lang) and message.ephemeral is item.private:
        return "error"
    raise AssertionError(f"question {item.number} got neither an answer nor an apology: {message}")


async def soak(
    world: World,
    count: int,
    kinds: frozenset[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """Run the planned questions, report the figures, then check them."""
    planned = plan(count, SEED, kinds)
    started = time.monotonic()
    await world.start()
    server = world.server
    aim = Aim(server, monkeypatch)
    readers = [User(f"soak-reader-{n}") for n in range(READERS)]
    for user in readers:
        world.guild.add_member(user)
    injected: Counter[str] = Counter()
    locks: list[DatabaseLock] = []
    handles: dict[int, InteractionHandle] = {}
    results: dict[int, tuple[InteractionHandle, RecordedMessage]] = {}
    queued: list[int] = []  # rows waiting for the database, seen after each reply
    slots = asyncio.Semaphore(CONCURRENCY)

    async def ask(item: Planned) -> None:
        async with slots:
            if "disconnect" in item.faults:
                session = server.gateway.by_shard.get(0)
                if session is not None and session.conn is not None:
                    await server.disconnect(4000)
                    injected["gateway_disconnect"] += 1
            if "db_lock" in item.faults:
                lock = DatabaseLock(world.settings.question_db, item.lock_seconds)
                lock.start()
                await asyncio.to_thread(lock.acquired.wait, 30)
                assert lock.error is None, lock.error
                locks.append(lock)
                injected["db_locked"] += 1
            ident, token = aim.reserve()
            if "callback_429" in item.faults:
                server.rate_limit_next(
                    f"POST /interactions/{ident}/*/callback", retry_after=item.retry_after
                )
                injected["callback_429"] += 1
            if "followup_429" in item.faults:
                server.rate_limit_next(f"POST /webhooks/*/{token}", retry_after=item.retry_after)
                injected["followup_429"] += 1
            if "followup_5xx" in item.faults:
                server.fail_next(f"POST /webhooks/*/{token}", item.status)
                injected[f"followup_{item.status}"] += 1
            if "followup_5xx_exhausted" in item.faults:
                server.fail_next(f"POST /webhooks/*/{token}", item.status, times=EXHAUSTING)
                injected[f"followup_{item.status}_x{EXHAUSTING}"] += 1
            user = readers[item.number % READERS]
            handle = await server.invoke_command(
                "ask",
                {"question": item.question, "private": item.private},
                user=user,
                locale=item.locale,
            )
            assert handle.id == ident
            handles[item.number] = handle
            results[item.number] = (handle, await reply(handle, within=60))
            queued.append(world.questions.pending if world.questions else 0)

    async with asyncio.timeout(120 + count * 0.5):  # a hung run fails instead of hanging
        await asyncio.gather(*(ask(item) for item in planned))
        for lock in locks:
            await asyncio.to_thread(lock.join, 30)
        await server.wait_resumed(injected["gateway_disconnect"], within=10)
        await world.stop()  # closes the bot, then the question log (everything written)

    outcomes = Counter(outcome(*results[p.number], p) for p in planned)
    expected_errors = sum("followup_5xx_exhausted" in p.faults for p in planned)
    ids = {str(h.id) for h in handles.values()}
    stored = world.rows("SELECT id FROM questions")
    fired = Counter(f.split(" ", 1)[0] for f in server.faults_fired)
    latencies = sorted(h.ack.latency * 1000 for h in handles.values() if h.ack is not None)
    outages = [
        r
        for r in caplog.records
        if r.name == "bot.questions.writer" and "cannot write" in r.getMessage()
    ]
    figures = {
        "seed": SEED,
        "questions": count,
        "acknowledged": len(latencies),
        "answered": outcomes["answered"],
        "errors_shown": outcomes["error"],
        "faults_injected": dict(sorted(injected.items())),
        "rest_faults_fired_by_status": dict(sorted(fired.items())),
        "gateway_identifies": len(server.gateway.identifies),
        "gateway_resumes": len(server.gateway.resumes),
        "question_log_outages": len(outages),
        "most_rows_queued": max(queued),
        "rows_logged": len(stored),
        "ack_ms": {
            "p50": round(statistics.median(latencies), 1),
            "max": round(latencies[-1], 1),
        },
        "duration_s": round(time.monotonic() - started, 1),
    }
    report(request, figures)
    assert server.violations == []
    assert server.faults == [], "every injected REST fault was used"
    assert len(latencies) == count
    assert outcomes["error"] == expected_errors and outcomes["answered"] == count - expected_errors
    assert len(server.gateway.identifies) == 1, "every disconnect was resumed, never re-identified"
    assert len(stored) == count and {row[0] for row in stored} == ids
    assert not spill_path(world.settings.question_db).exists()


def report(request: pytest.FixtureRequest, figures: dict[str, Any]) -> None:
    """Print the figures and keep them in .pytest_cache/d/soak/figures.json."""
    print(f"\nsoak figures: {json.dumps(figures, ensure_ascii=False)}")
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("soak") if cache else request.config.rootpath / ".pytest_cache/d/soak"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "figures.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def test_plan_is_deterministic_and_meets_every_fault() -> None:
    """The same seed draws the same plan, and even a short one has every kind of fault."""
    first, again = plan(20, SEED), plan(20, SEED)
    assert first == again
    assert {kind for p in first for kind in p.faults} >= SHORT_KINDS
    assert {kind for p in plan(20, SEED, frozenset(RATES)) for kind in p.faults} == set(RATES)


async def test_soak_short(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """SOAK_QUESTIONS (60) questions under faults: all acknowledged, answered, logged once."""
    caplog.set_level(logging.WARNING)
    count = int(os.environ.get("SOAK_QUESTIONS", "60"))
    await soak(world, count, SHORT_KINDS, monkeypatch, caplog, request)


@pytest.mark.soak
async def test_soak_long(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """The same with SOAK_QUESTIONS (2000) questions, for `make soak`."""
    caplog.set_level(logging.WARNING)
    count = int(os.environ.get("SOAK_QUESTIONS", "2000"))
    await soak(world, count, frozenset(RATES), monkeypatch, caplog, request)
