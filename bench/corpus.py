"""Synthetic Jekyll blogs of any size, recombined from the sample articles.

Sentences and headings come from corpus/_posts; each article mixes sections from
different posts, and sentences get new numbers, names and a running counter, so every
passage is distinct (the content-hash cache and tied vectors would otherwise flatter
the figures). The same seed always writes the same blog.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from bot.corpus.passages import blocks
from bot.corpus.reader import load_corpus

SAMPLE = Path(__file__).resolve().parents[1] / "corpus"
NAMES = [
    *("Meta", "OpenAI", "Google", "Anthropic", "NVIDIA", "Microsoft", "Apple", "Amazon"),
    *("ソフトバンク", "トヨタ", "ソニー", "楽天", "富士通", "NEC", "日立", "パナソニック"),
]
CATEGORIES = ["AI", "ビジネス", "技術", "投資", "政策", "研究"]
TAGS = ["llama", "gpu", "生成AI", "半導体", "クラウド", "スタートアップ", "規制", "OSS"]
_NUMBER = re.compile(r"\d+")
_NAME = re.compile("|".join(map(re.escape, NAMES)))


@dataclass(frozen=True, slots=True)
class Material:
    headings: list[str]
    paragraphs: list[list[str]]  # sentences of each sample paragraph


def material() -> Material:
    corpus = load_corpus(SAMPLE, "http://localhost:4000", "Asia/Tokyo")
    headings: set[str] = set()
    paragraphs: list[list[str]] = []
    for article in corpus.articles:
        for block in blocks(article):
            if block.heading:
                headings.add(block.heading)
            paragraphs.append([s.text for s in block.sentences])
    return Material(sorted(headings), paragraphs)


class Writer:
    """Writes article i of a blog; deterministic for (seed, i)."""

    def __init__(self, stuff: Material, seed: int) -> None:
        self.stuff = stuff
        self.seed = seed

    def article(self, i: int, edit: int = 0) -> str:
        rng = random.Random(self.seed * 1_000_003 + i)
        title = rng.choice(self.stuff.headings)  # drawn first: an edit keeps the title
        counter = [i * 10_000]
        sections = [self._section(rng, counter) for _ in range(rng.randint(3, 6))]
        if edit:
            sections.append(f"### 追記 {edit}\n\n" + self._paragraph(rng, counter))
        day = 1 + i % 28
        front = (
            f'---\ntitle: "{title} その{i}"\n'
            f"date: {2015 + i % 11}-{1 + i % 12:02d}-{day:02d} 10:00:00 +0900\n"
            f"categories: [{rng.choice(CATEGORIES)}]\n"
            f"tags: [{', '.join(rng.sample(TAGS, 2))}]\n---\n\n"
        )
        return front + "\n\n".join(sections) + "\n"

    def _section(self, rng: random.Random, counter: list[int]) -> str:
        heading = f"### {rng.choice(self.stuff.headings)}"
        paragraphs = [self._paragraph(rng, counter) for _ in range(rng.randint(2, 4))]
        return heading + "\n\n" + "\n\n".join(paragraphs)

    def _paragraph(self, rng: random.Random, counter: list[int]) -> str:
        source = rng.choice(self.stuff.paragraphs)
        count = rng.randint(3, 7)
        start = rng.randrange(max(1, len(source) - count + 1))
        picked = source[start : start + count]
        while len(picked) < count:
            picked += rng.choice(self.stuff.paragraphs)[: count - len(picked)]
        return "".join(self._perturb(rng, s, counter) for s in picked)

    def _perturb(self, rng: random.Random, sentence: str, counter: list[int]) -> str:
        sentence = _NUMBER.sub(lambda _: str(rng.randint(2, 9999)), sentence)
        sentence = _NAME.sub(lambda _: rng.choice(NAMES), sentence)
        counter[0] += 1
        if counter[0] % 3 == 0:  # a running number keeps every passage's text unique
            sentence = f"第{counter[0]}の論点として、{sentence}"
        return sentence if sentence.endswith(("。", "？", "！", "」")) else sentence + "。"


def path_of(root: Path, i: int) -> Path:
    return root / "_posts" / f"{2015 + i % 11}-{1 + i % 12:02d}-{1 + i % 28:02d}-{i:06x}{i:010x}.md"


def generate(root: Path, n: int, seed: int = 7) -> None:
    """Write n articles under root/_posts (existing ones with the same text are kept)."""
    writer = Writer(material(), seed)
    (root / "_posts").mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    for i in range(n):
        path_of(root, i).write_text(writer.article(i), encoding="utf-8")


def edit(root: Path, n: int, share: float, seed: int = 7) -> int:
    """Append a section to every 1/share-th article, as an author's edit would."""
    writer = Writer(material(), seed)
    step = max(1, round(1 / share))
    edited = 0
    for i in range(0, n, step):
        path_of(root, i).write_text(writer.article(i, edit=1), encoding="utf-8")
        edited += 1
    return edited
