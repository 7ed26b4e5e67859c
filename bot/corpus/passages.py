"""Split articles into passages a reader can quote.

Headings start a new passage; inside a section, whole Japanese sentences are packed up
to a target length with a small overlap, so an answer is never cut mid-sentence and
each passage knows its article, heading, anchor and character span.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.corpus.articles import Article
from bot.corpus.heading_ids import HeadingIds
from bot.corpus.html_text import html_blocks
from bot.corpus.markdown import document_blocks, tame_html
from bot.corpus.textblock import TextBlock

_OPENERS = "「『（(【〔〈《“‘"
_CLOSERS = "」』）)】〕〉》”’"
_TERMINATORS = "。！？!?"
MAX_QUOTE_CHARS = 160
_QUOTE_PARTICLES = ("と", "っ")  # 「…！」と言った / 「…？」って: the quote continues the sentence
_FULL_STOP = re.compile(r"\.(?=\s|$)|…+(?=\s|$)")  # Latin full stop or an ellipsis before a space


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int  # offsets into the article body
    end: int


@dataclass(frozen=True, slots=True)
class Passage:
    """A quotable span of one article."""

    id: str  # "<article key>:<n>"
    source: str  # the article's path relative to the corpus folder
    heading: str | None
    anchor: str | None  # the heading's id as kramdown generates it
    text: str  # plain text, sentences joined
    start: int
    end: int
    sentences: tuple[Sentence, ...]
    title: str = ""  # the article's: embedded and indexed with each of its passages

    @property
    def content_hash(self) -> str:
        """Keys the vector cache: unchanged text is never embedded twice.

        The cached value is the passage vector and one vector per sentence, so the key
        covers the sentence boundaries too: the same words split at other line breaks
        (a footer repeated across posts) are another entry, not a wrong row count.
        """
        sentences = "\x1f".join(s.text for s in self.sentences)
        payload = f"{self.embedding_text}\n\x1e{sentences}".encode()
        return hashlib.blake2b(payload, digest_size=16).hexdigest()

    @property
    def embedding_text(self) -> str:
        """What the passage vector and its BM25 terms are made of: the article's title and
        the heading above the text, so a question that names only the title (a price in
        a headline) finds the article, and a passage is read in its context."""
        heading = self.heading if self.heading and self.heading != self.title else None
        return "\n".join(part for part in (self.title, heading, self.text) if part)


@dataclass(frozen=True, slots=True)
class Block:
    heading: str | None
    anchor: str | None
    sentences: tuple[Sentence, ...]
    section: int = 0  # counts headings: passages never join two sections


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Japanese-aware sentence split of one paragraph; line breaks also end sentences.

    `。！？` end a sentence only outside brackets, so 「すごい！」と言った。 stays whole,
    and closing brackets after a terminator stay with their sentence.
    """
    sentences: list[Sentence] = []
    for line_start, line in _lines(text):
        cursor = 0
        for end in _sentence_ends(line):
            _append(sentences, line, cursor, end, offset + line_start)
            cursor = end
        _append(sentences, line, cursor, len(line), offset + line_start)
    return sentences


def _sentence_ends(line: str) -> Iterator[int]:
    depth, opened, i = 0, 0, 0
    while i < len(line):
        ch = line[i]
        if ch in _OPENERS:
            depth, opened = depth + 1, i
        elif ch in _CLOSERS and depth > 0:
            depth -= 1
        if depth > 0 and i - opened > MAX_QUOTE_CHARS:
            depth = 0  # an unclosed bracket must not swallow the rest of the paragraph
        full_stop = _FULL_STOP.match(line, i) if depth == 0 else None
        if depth == 0 and (ch in _TERMINATORS or full_stop):
            i = full_stop.end() if full_stop else i + 1
            while i < len(line) and (line[i] in _TERMINATORS or line[i] in _CLOSERS):
                i += 1
            if not (line[i - 1] in _CLOSERS and line[i : i + 1] in _QUOTE_PARTICLES):
                yield i
            continue
        i += 1


def _lines(text: str) -> Iterator[tuple[int, str]]:
    position = 0
    for line in text.split("\n"):
        yield position, line
        position += len(line) + 1


def _append(out: list[Sentence], line: str, start: int, end: int, base: int) -> None:
    raw = line[start:end]
    stripped = raw.strip()
    if not stripped or all(ch in _CLOSERS for ch in stripped):
        return
    lead = len(raw) - len(raw.lstrip())
    out.append(Sentence(stripped, base + start + lead, base + start + lead + len(stripped)))


def blocks(article: Article) -> Iterator[Block]:
    """Paragraphs with the heading they sit under; the title repeated as text is dropped.

    A paragraph repeated by a copy-paste slip is dropped only within its own section: the
    same words under another heading are that section's text. Sentence offsets are the
    paragraph's place in the source plus the sentence's place in its text, kept strictly
    increasing so each sentence of an article has its own start.
    """
    ids = HeadingIds()
    section = 0
    current: tuple[str | None, str | None] = (None, None)
    seen: set[str] = set()
    last = -1
    for block in _text_blocks(article):
        if block.is_heading:
            current = (block.text or None, _anchor(ids, block))
            section, seen = section + 1, set()
            continue
        key = re.sub(r"\s+", "", block.text)
        if len(key) > 40 and key in seen:
            continue
        seen.add(key)
        sentences = _ordered(split_sentences(block.text, block.start), block, last)
        if sentences:
            last = sentences[-1].start
        if sentences and not _repeats_title(tuple(sentences), article.title):
            yield Block(current[0], current[1], tuple(sentences), section)


def heading_anchors(article: Article) -> list[str]:
    """The ids of the article's headings in order, as its HTML has them (none left out)."""
    ids = HeadingIds()
    anchors = (_anchor(ids, b) for b in _text_blocks(article) if b.is_heading)
    return [anchor for anchor in anchors if anchor]


def _text_blocks(article: Article) -> list[TextBlock]:
    if article.is_html:
        return list(html_blocks(tame_html(article.body), 0))
    return document_blocks(article.body)


def _anchor(ids: HeadingIds, block: TextBlock) -> str | None:
    """kramdown's id: explicit, generated from the Markdown, or none for an HTML heading."""
    if not block.generated:
        return block.explicit_id
    try:
        generated = ids.generate(block.source)
    except ValueError:
        return block.explicit_id
    return block.explicit_id or generated


def _ordered(sentences: list[Sentence], block: TextBlock, last: int) -> list[Sentence]:
    """Offsets within the block's source where possible, always after the previous one."""
    out: list[Sentence] = []
    for sentence in sentences:
        start = max(min(sentence.start, block.end - 1), last + 1)
        end = max(min(sentence.end, block.end), start + 1)
        out.append(Sentence(sentence.text, start, end))
        last = start
    return out


def _repeats_title(sentences: tuple[Sentence, ...], title: str) -> bool:
    joined = "".join(s.text for s in sentences)
    return _squash(joined) == _squash(title.rstrip("…"))


def _squash(text: str) -> str:
    return re.sub(r"[\s#]+", "", text)


def split_article(article: Article, target_chars: int = 320, overlap: int = 1) -> list[Passage]:
    """Pack sentences of each section into passages near `target_chars`, overlapping a little."""
    passages: list[Passage] = []
    for section in _sections(article):
        for chunk in _pack(section.sentences, target_chars, overlap):
            passages.append(_passage(article, len(passages), section, chunk))
    return passages


def _sections(article: Article) -> Iterator[Block]:
    """Merge consecutive paragraphs under one heading into one run of sentences."""
    pending: Block | None = None
    for block in blocks(article):
        if pending is not None and pending.section == block.section:
            merged = pending.sentences + block.sentences
            pending = Block(pending.heading, pending.anchor, merged, pending.section)
            continue
        if pending is not None:
            yield pending
        pending = block
    if pending is not None:
        yield pending


def _pack(sentences: tuple[Sentence, ...], target: int, overlap: int) -> Iterator[list[Sentence]]:
    chunk: list[Sentence] = []
    size = 0
    fresh = 0  # sentences in the chunk that did not come from the overlap
    for sentence in sentences:
        if chunk and fresh and size + len(sentence.text) > target:
            yield chunk
            chunk = chunk[-overlap:] if overlap else []
            size, fresh = sum(len(s.text) for s in chunk), 0
        chunk.append(sentence)
        size += len(sentence.text)
        fresh += 1
    if fresh:
        yield chunk


def join_sentences(sentences: Iterable[str]) -> str:
    """Japanese sentences join directly; Latin-script ones need a space between them."""
    out = ""
    for sentence in sentences:
        if out and out[-1].isascii() and out[-1] not in " \n" and sentence[:1].isascii():
            out += " "
        out += sentence
    return out


def _passage(article: Article, n: int, section: Block, chunk: list[Sentence]) -> Passage:
    return Passage(
        id=f"{article.key}:{n}",
        source=article.source,
        heading=section.heading,
        anchor=section.anchor,
        text=join_sentences(s.text for s in chunk),
        start=chunk[0].start,
        end=chunk[-1].end,
        sentences=tuple(chunk),
        title=article.title,
    )
