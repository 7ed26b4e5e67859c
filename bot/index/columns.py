"""Passages and their lexical terms as columns that load in milliseconds.

A snapshot of a large blog holds hundreds of thousands of passages, but a question only
ever reads three of them. So each passage is one compact JSON row in a byte blob with an
offsets array, decoded only when read; content hashes are a fixed-width array; the terms
are integer ids into one vocabulary. Loading is a few `np.load` calls and one file read,
and a reindex copies the rows of unchanged articles as raw bytes without decoding them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from bot.corpus.passages import Passage, Sentence, join_sentences
from bot.index.mapped import load_mapped

log = logging.getLogger(__name__)

HASH_BYTES = 16  # Passage.content_hash is a 16-byte blake2b digest in hex


def _encode(passage: Passage) -> bytes:
    sentences = [[s.text, s.start, s.end] for s in passage.sentences]
    joined = join_sentences(s.text for s in passage.sentences)
    text = None if passage.text == joined else passage.text  # usually implied: halves the blob
    row: list[object] = [passage.id, passage.source, passage.heading, passage.anchor, text]
    row += [passage.start, passage.end, sentences]
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()


def _decode(raw: bytes) -> Passage:
    pid, source, heading, anchor, text, start, end, rows = json.loads(raw)
    sentences = tuple(Sentence(*s) for s in rows)
    if text is None:
        text = join_sentences(s.text for s in sentences)
    return Passage(pid, source, heading, anchor, text, start, end, sentences)


class PassageTable(Sequence[Passage]):
    """Read-only passages backed by a blob of JSON rows; rows decode on access."""

    def __init__(self, blob: bytes | mmap.mmap, offsets: np.ndarray, hashes: np.ndarray) -> None:
        if len(offsets) != len(hashes) + 1 or hashes.shape[1:] != (HASH_BYTES,):
            raise ValueError("passage columns disagree")
        self._blob = blob
        self.offsets = offsets
        self.hashes = hashes  # (n, 16) uint8 content-hash digests

    @classmethod
    def from_passages(cls, passages: Sequence[Passage]) -> PassageTable:
        builder = TableBuilder()
        builder.add_passages(passages)
        return builder.passages()

    def __len__(self) -> int:
        return len(self.hashes)

    @overload
    def __getitem__(self, row: int) -> Passage: ...
    @overload
    def __getitem__(self, row: slice) -> list[Passage]: ...
    def __getitem__(self, row: int | slice) -> Passage | list[Passage]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        return _decode(self.raw(row, row + 1))

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))

    def raw(self, start: int, stop: int) -> bytes:
        """The encoded rows start..stop as one byte string (copied verbatim on reindex)."""
        return self._blob[int(self.offsets[start]) : int(self.offsets[stop])]

    def content_hash(self, row: int) -> str:
        return bytes(self.hashes[row]).hex()

    def hex_hashes(self) -> list[str]:
        text = self.hashes.tobytes().hex()
        width = 2 * HASH_BYTES
        return [text[i : i + width] for i in range(0, len(text), width)]

    def save(self, folder: Path) -> None:
        (folder / "passages.bin").write_bytes(self._blob)
        np.save(folder / "passage_offsets.npy", self.offsets, allow_pickle=False)
        np.save(folder / "passage_hashes.npy", self.hashes, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> PassageTable:
        with (folder / "passages.bin").open("rb") as file:
            size = file.seek(0, 2)
            blob = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        offsets = np.load(folder / "passage_offsets.npy", allow_pickle=False)
        hashes = np.load(folder / "passage_hashes.npy", allow_pickle=False)
        if int(offsets[-1]) != size:
            raise ValueError("passages.bin does not match its offsets")
        return cls(blob, offsets, hashes)


class TermTable(Sequence[list[str]]):
    """Each passage's lexical terms as ids into one vocabulary, kept for reindexing."""

    def __init__(self, vocabulary: list[str], ids: np.ndarray, offsets: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.ids = ids
        self.offsets = offsets

    @classmethod
    def from_lists(cls, terms: Sequence[Sequence[str]]) -> TermTable:
        builder = TableBuilder()
        builder.add_terms(terms)
        return builder.terms()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, row: int) -> list[str]: ...
    @overload
    def __getitem__(self, row: slice) -> list[list[str]]: ...
    def __getitem__(self, row: int | slice) -> list[str] | list[list[str]]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        ids = self.ids[int(self.offsets[row]) : int(self.offsets[row + 1])]
        return [self.vocabulary[i] for i in ids.tolist()]

    def all_lists(self) -> list[list[str]]:
        """Every row decoded at once, for rebuilding the BM25 index."""
        words = np.asarray(self.vocabulary, dtype=object)[self.ids]
        return [part.tolist() for part in np.split(words, self.offsets[1:-1])]

    def save(self, folder: Path) -> None:
        (folder / "terms.json").write_text(
            json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8"
        )
        np.save(folder / "term_ids.npy", self.ids, allow_pickle=False)
        np.save(folder / "term_offsets.npy", self.offsets, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> TermTable:
        """Only the vocabulary is parsed; the ids stay memory-mapped until a reindex."""
        vocabulary = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        ids = load_mapped(folder / "term_ids.npy")
        offsets = load_mapped(folder / "term_offsets.npy")
        return cls(vocabulary, ids, offsets)


class TableBuilder:
    """Assembles new passage and term tables from copied row ranges and fresh rows."""

    def __init__(self, vocabulary: Sequence[str] = ()) -> None:
        self._chunks: list[bytes] = []
        self._lengths: list[np.ndarray] = []
        self._hashes: list[np.ndarray] = []
        self._vocabulary = list(vocabulary)  # append-only, so old ids stay valid
        self._term_ids = {term: i for i, term in enumerate(self._vocabulary)}
        self._ids: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    def copy_rows(self, passages: PassageTable, terms: TermTable, start: int, stop: int) -> None:
        """Rows start..stop of an older index, verbatim (its vocabulary must be our prefix)."""
        self._chunks.append(passages.raw(start, stop))
        self._lengths.append(np.diff(passages.offsets[start : stop + 1]))
        self._hashes.append(np.asarray(passages.hashes[start:stop]))
        begin, end = int(terms.offsets[start]), int(terms.offsets[stop])
        self._ids.append(np.asarray(terms.ids[begin:end], np.int32))
        self._counts.append(np.diff(terms.offsets[start : stop + 1]))

    def add_passages(self, passages: Sequence[Passage]) -> None:
        rows = [_encode(p) for p in passages]
        self._chunks.append(b"".join(rows))
        self._lengths.append(np.fromiter(map(len, rows), np.int64, len(rows)))
        digests = b"".join(bytes.fromhex(p.content_hash) for p in passages)
        self._hashes.append(np.frombuffer(digests, np.uint8).reshape(-1, HASH_BYTES))

    def add_terms(self, terms: Sequence[Sequence[str]]) -> None:
        ids = [self._term_ids.setdefault(t, len(self._term_ids)) for row in terms for t in row]
        self._vocabulary.extend(list(self._term_ids)[len(self._vocabulary) :])
        self._ids.append(np.asarray(ids, np.int32))
        self._counts.append(np.fromiter(map(len, terms), np.int64, len(terms)))

    def passages(self) -> PassageTable:
        offsets = _offsets(self._lengths)
        hashes = np.concatenate(self._hashes) if self._hashes else np.zeros((0, HASH_BYTES))
        return PassageTable(b"".join(self._chunks), offsets, hashes.astype(np.uint8))

    def terms(self) -> TermTable:
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int32)
        return TermTable(self._vocabulary, ids.astype(np.int32), _offsets(self._counts))


def _offsets(lengths: list[np.ndarray]) -> np.ndarray:
    sizes = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def as_passage_table(passages: Sequence[Passage]) -> PassageTable:
    return passages if isinstance(passages, PassageTable) else PassageTable.from_passages(passages)


def as_term_table(terms: Sequence[Sequence[str]]) -> TermTable:
    return terms if isinstance(terms, TermTable) else TermTable.from_lists(terms)


def digest_of(hashes: np.ndarray, model: str) -> str:
    """The index version: the model and every passage's content hash, in order."""
    digest = hashlib.blake2b(model.encode(), digest_size=6)
    digest.update(hashes.tobytes().hex().encode())
    return digest.hexdigest()
