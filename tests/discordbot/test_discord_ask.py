"""/ask end to end: a real discord.py bot answering through the loopback Discord."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import pytest

from bot.discordbot.translations import JA
from tests.discordbot.discord_world import World, reply
from tests.loopback import Perm, User

ASK_OPTIONS = {"question", "category", "tag", "since", "until", "private"}


async def test_startup_syncs_localized_commands_with_admin_defaults(world: World) -> None:
    """Commands reach the development guild, admin ones hidden behind Manage Server, with ja."""
    await world.start()
    commands = {c["name"]: c for c in world.server.commands[world.guild.id]}
    assert set(commands) == {"ask", "reindex", "export", "forget-me"}
    for admin in ("reindex", "export"):
        assert int(commands[admin]["default_member_permissions"]) == Perm.MANAGE_GUILD
        assert commands[admin]["contexts"] == [0]
    assert commands["ask"]["default_member_permissions"] is None
    assert commands["ask"]["name_localizations"] == {"ja": JA["ask"]}
    assert commands["ask"]["description_localizations"]["ja"]
    options = {o["name"]: o for o in commands["ask"]["options"]}
    assert set(options) == ASK_OPTIONS
    assert all(o["name_localizations"]["ja"] for o in options.values())
    assert options["category"]["autocomplete"] and options["tag"]["autocomplete"]
    assert world.server.command_syncs == [world.guild.id]


@pytest.mark.parametrize(
    ("locale", "question", "title", "said"),
    [
        ("ja", "Jekyllのテーマを変えるには？", "Jekyllのテーマを変える方法", "ブログの記事"),
        ("en-US", "How is the Discord bot deployed?", "Discord bot for blog readers", "blog says"),
    ],
)
async def test_ask_answers_with_linked_excerpts(
    world: World, locale: str, question: str, title: str, said: str
) -> None:
    """Deferred at once, then an embed per article: title link, date, excerpt, confidence."""
    await world.start()
    handle, message = await world.ask(question, locale=locale)
    assert handle.ack is not None and handle.ack.type == 5
    assert not message.ephemeral and said in message.content
    first = message.embeds[0]
    assert first["title"] == title
    assert first["url"].startswith("http://localhost:4000/")
    assert "**" in first["description"]
    assert first["footer"]["text"].startswith(("2024-05-01", "2024-06-10"))
    assert message.custom_ids() == [f"vote:up:{handle.id}", f"vote:down:{handle.id}"]
    await world.flush()
    rows = world.rows("SELECT guild_id, channel_id, user_hash, tier FROM questions WHERE id = ?",
                      str(handle.id))  # fmt: skip
    assert rows == [
        (str(world.guild.id), str(handle.channel_id), world.hasher.hash(world.reader.id), "answer")
    ]


async def test_uncovered_question_is_answered_kindly_and_noted(world: World) -> None:
    """A none-tier question gets a kind sentence, no excerpts, and is logged for editors."""
    await world.start(answer_threshold=2.0, related_threshold=2.0)
    handle, message = await world.ask("量子コンピュータの値段はいくら？", locale="ja")
    assert message.embeds == [] and "編集部に届けました" in message.content
    await world.flush()
    assert world.rows("SELECT tier FROM questions WHERE id = ?", str(handle.id)) == [("none",)]


async def test_related_tier_says_the_match_is_uncertain(world: World) -> None:
    """Below the answer threshold the articles are shown as related, marked uncertain."""
    await world.start(answer_threshold=2.0, related_threshold=0.0)
    _, message = await world.ask("How is the Discord bot deployed?")
    assert "uncertain" in message.content and message.embeds
    assert "low (related)" in message.embeds[0]["footer"]["text"]


async def test_mentions_and_markdown_in_a_question_are_inert(world: World) -> None:
    """@everyone and role pings are echoed escaped, and no message allows any mention."""
    await world.start()
    question = "@everyone <@&123> **Jekyll** テーマ [x](https://evil.example)"
    _, message = await world.ask(question)
    assert "@everyone" not in message.content and "<@&123>" not in message.content
    assert "**Jekyll**" not in message.content and "[x](" not in message.content
    assert message.allowed_mentions == {"parse": []}


async def test_autocomplete_offers_corpus_categories_and_tags(world: World) -> None:
    """Choices come from front matter, filtered by the typed prefix, never more than 25."""
    await world.start()
    categories = await world.server.autocomplete("ask", "category", "ブ")
    assert [c["value"] for c in categories] == ["ブログ運営"]
    tags = await world.server.autocomplete("ask", "tag", "")
    assert len(tags) == 25
    assert [c["value"] for c in await world.server.autocomplete("ask", "tag", "disc")] == [
        "Discord"
    ]


async def test_filters_restrict_the_articles(world: World) -> None:
    """Category and date options narrow the search to matching articles."""
    await world.start()
    _, by_category = await world.ask("Jekyll", category="Programming")
    assert {e["title"] for e in by_category.embeds} <= {"Discord bot for blog readers"}
    _, by_date = await world.ask("Jekyllのプラグイン", since="2024-01-01", until="2024-12-31")
    assert "Jekyllのプラグイン入門" not in {e["title"] for e in by_date.embeds}


async def test_bad_date_is_a_private_user_error(world: World) -> None:
    """A malformed date is refused privately before any work, and nothing is logged."""
    await world.start()
    handle, message = await world.ask("テーマ", since="2024-13-45", locale="ja")
    assert handle.ack is not None and handle.ack.type == 4
    assert message.ephemeral and "YYYY-MM-DD" in message.content
    await world.flush()
    assert world.rows("SELECT count(*) FROM questions") == [(0,)]


async def test_cooldown_is_per_user_and_polite(world: World) -> None:
    """A second question within the cooldown gets a private wait message; others may ask."""
    await world.start(ask_cooldown_seconds=60)
    await world.ask("Jekyllのテーマ")
    handle, message = await world.ask("もう一つ質問", user=world.reader)
    assert message.ephemeral and "s left" in message.content
    assert handle.ack is not None and handle.ack.type == 4
    _, other = await world.ask("Jekyllのテーマ", user=world.editor)
    assert not other.ephemeral and other.embeds


async def test_twenty_concurrent_questions_are_all_acknowledged_in_time(
    world: World, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Twenty readers at once: every interaction acknowledged within Discord's deadline."""
    await world.start()
    readers = [User(f"reader{n}") for n in range(20)]
    for user in readers:
        world.guild.add_member(user)
    handles = await asyncio.gather(
        *(
            world.server.invoke_command("ask", {"question": f"Jekyllのテーマ {n}"}, user=u)
            for n, u in enumerate(readers)
        )
    )
    acks = await asyncio.gather(*(h.wait_acknowledged() for h in handles))
    replies = await asyncio.gather(*(reply(h, within=20) for h in handles))
    assert all(a.type == 5 for a in acks) and all(r.embeds for r in replies)
    latencies = sorted(a.latency * 1000 for a in acks)
    report = {
        "questions": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(statistics.quantiles(latencies, n=100, method="inclusive")[98], 1),
        "max_ms": round(latencies[-1], 1),
    }
    print(f"\n/ask acknowledgement latency under 20 concurrent questions: {report}")
    cache = getattr(request.config, "cache", None)
    path = (cache.mkdir("discord") if cache else tmp_path) / "ask-ack-latency.json"
    path.write_text(json.dumps(report) + "\n", encoding="utf-8")


async def test_gateway_disconnect_is_resumed(world: World) -> None:
    """After the gateway drops, the bot resumes its session and keeps answering."""
    await world.start()
    await world.server.disconnect(4000)
    await world.server.wait_resumed()
    assert len(world.server.gateway.identifies) == 1
    _, message = await world.ask("Jekyllのテーマ")
    assert message.embeds


async def test_rate_limited_followup_is_retried(world: World) -> None:
    """A 429 with retry_after on the followup is waited out and the answer still arrives."""
    await world.start()
    world.server.rate_limit_next("POST /webhooks/*", retry_after=0.2)
    _, message = await world.ask("Jekyllのテーマ")
    assert message.embeds
    assert [f for f in world.server.faults_fired if f.startswith("429 POST /webhooks/")]
