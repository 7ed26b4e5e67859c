"""Japanese analysis for the lexical side of retrieval: normalisation and content terms.

Why this shape:

* Readers type exact tokens ("GPT-4o", "$50B", "Llama 4.5") that embeddings blur, so Latin and
  digit runs are kept whole as compound terms, plus their inner parts ("gpt", "4o").
* Japanese has no spaces; SudachiPy (core dictionary) segments it. SplitMode.C keeps compounds
  and names whole (precise), and each C unit's SplitMode.A parts are added as extra terms so a
  question about "生成" still finds "生成AI" (the Elasticsearch-Sudachi "search" mode idea).
  Terms are Sudachi's normalized form, so 使える/使えた/使う and 打合せ/打ち合わせ share a term.
* English words are reduced to their Snowball stems ("released", "releases" → "releas"), so
  an English question finds an English post however the verb is inflected; digits,
  versions and mixed compounds ("gpt-4o") are kept as written.
* `normalize` runs before Sudachi and keeps a map back to the original text, so offsets point at
  what the reader or author actually wrote (for highlighting).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from sudachipy import Dictionary, Morpheme, SplitMode, Tokenizer

log = logging.getLogger(__name__)

_KEEP_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞"})
_DROP_SUBPOS = frozenset({"助動詞語幹"})  # よう, そう: grammar, not content
# Word lists read better as text than as long list literals.
_JA_STOP = frozenset(
    "こと 事 もの 物 よう 様 ため 為 ところ 所 ほう 方 とき 時 わけ 訳 はず 筈 つもり 積もり"  # noqa: SIM905
    " 為る する 有る ある 居る いる 成る なる 言う いう 呉れる くれる 貰う もらう 仕舞う しまう"
    " 出来る できる 来る くる つく よる おく 対する 通じる 教える 思う 知る 分かる".split()
)
_EN_STOP = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in"  # noqa: SIM905
    " into is it its me my no not of on or our should so such than that the their them then there"
    " these they this to us was we were what when where which who whom why will with would you"
    " your".split()
)
_MAX_CHUNK = 4000  # Sudachi refuses inputs over 49 149 bytes; 4 000 chars is always below
_LATIN = "0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_COMPOUND = re.compile(rf"[$€£¥]?[{_LATIN}](?:[{_LATIN}.\-+_/&'#%]*[{_LATIN}+#%])?")
_PART = re.compile(rf"[{_LATIN}]+(?:\.[0-9]+)*")
_CLUSTER = re.compile(
    "(?s).[\u0300-\u036f\u1160-\u11ff\u20d0-\u20ff\u3099\u309a\ufe00-\ufe0f\uff9e\uff9f]*"
)
_MARKS = re.compile("[-‐‑‒–—―−─━〜]")
_BOX_MARKS = "─━"
_HYPHENS = "‐‑‒–−"


_STEM_LOCK = threading.Lock()
_STEMMER = snowballstemmer.stemmer("english")
_WORD = re.compile(r"[a-z]{4,}")


@lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """An English word's Snowball stem; anything else (digits, versions, kana) unchanged."""
    if not _WORD.fullmatch(term):
        return term
    with _STEM_LOCK:  # a Snowball stemmer keeps state between calls
        return str(_STEMMER.stemWord(term))


@lru_cache(maxsize=65536)
def _normalize_cluster(cluster: str) -> str:
    """NFKC + casefold one base character with its combining marks; invisibles vanish."""
    if cluster.isspace():
        return " "
    cluster = cluster.replace("～", "〜")  # NFKC would turn it into ASCII "~"
    cleaned = "".join(c for c in cluster if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    return unicodedata.normalize("NFKC", cleaned).casefold()


def _is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa" or ch == "ー" or "\u31f0" <= ch <= "\u31ff"


def _unify_marks(chars: list[str]) -> None:
    """Dash look-alikes become ー between katakana and "-" between Latin letters or digits."""
    for match in _MARKS.finditer("".join(chars)):
        k = match.start()
        prev = chars[k - 1] if k else ""
        nxt = chars[k + 1] if k + 1 < len(chars) else ""
        if _is_katakana(prev) and (_is_katakana(nxt) or chars[k] in _BOX_MARKS):
            chars[k] = "ー"
        elif chars[k] in _HYPHENS and (prev + nxt).isascii() and prev.isalnum() and nxt.isalnum():
            chars[k] = "-"


def _normalize_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """Normalized text plus, per output character, the original [start, end) it came from."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for match in _CLUSTER.finditer(text):
        for ch in _normalize_cluster(match.group()):
            if ch.isspace() and (not chars or chars[-1] == " "):
                continue
            chars.append(" " if ch.isspace() else ch)
            starts.append(match.start())
            ends.append(match.end())
    if chars and chars[-1] == " ":
        del chars[-1], starts[-1], ends[-1]
    _unify_marks(chars)
    return "".join(chars), starts, ends


def normalize(text: str) -> str:
    """NFKC, casefold, unified long-vowel marks and dashes, collapsed whitespace."""
    return _normalize_with_map(text)[0]


@dataclass(frozen=True, slots=True)
class Token:
    """A normalized term and where it sits in the original text."""

    term: str
    start: int
    end: int


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Cut text below Sudachi's input limit, preferably after a sentence end or space."""
    begin = 0
    while begin < len(text):
        end = min(begin + _MAX_CHUNK, len(text))
        if end < len(text):
            cut = max(text.rfind(sep, begin, end) for sep in "。!?. ")
            end = cut + 1 if cut > begin else end
        yield begin, text[begin:end]
        begin = end


def _compound_terms(norm: str, covered: bytearray) -> Iterator[tuple[str, int, int]]:
    """Latin/digit compounds whole ("gpt-4o", "$50b", "4.5") and inner parts; marks `covered`."""
    for match in _COMPOUND.finditer(norm):
        whole = match.group()
        covered[match.start() : match.end()] = b"\x01" * len(whole)
        if whole not in _EN_STOP:
            yield stem(whole), match.start(), match.end()
        for part in _PART.finditer(whole):
            term = part.group()
            if term != whole and len(term) > 1 and term not in _EN_STOP:
                yield stem(term), match.start() + part.start(), match.start() + part.end()


def _content_term(morpheme: Morpheme) -> str | None:
    """The morpheme's normalized form if it carries content, else None."""
    pos = morpheme.part_of_speech()
    if pos[0] not in _KEEP_POS or pos[1] in _DROP_SUBPOS:
        return None
    term = morpheme.normalized_form().casefold()
    if term in _JA_STOP or morpheme.dictionary_form() in _JA_STOP:
        return None
    return term if any(c.isalnum() for c in term) else None


class JapaneseAnalyzer:
    """Turns text into content terms; safe to share between threads."""

    def __init__(self, cache_size: int = 8192) -> None:
        self._lock = threading.Lock()
        self._dictionary: Dictionary | None = None
        self._local = threading.local()
        # Excerpt sentences are analysed again and again (emphasis, answer types, popular
        # passages); a bounded memo keeps that off the question's critical path.
        self._memo = functools.lru_cache(maxsize=cache_size)(self._analyse)

    def _tokenizer(self) -> Tokenizer:
        """One Sudachi tokenizer per thread over one shared, lazily loaded dictionary."""
        tokenizer: Tokenizer | None = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            with self._lock:
                if self._dictionary is None:
                    self._dictionary = Dictionary(dict="core")
                    log.debug("loaded Sudachi core dictionary")
                tokenizer = self._dictionary.tokenizer(SplitMode.C)
            self._local.tokenizer = tokenizer
        return tokenizer

    def _sudachi_terms(self, norm: str, covered: bytearray) -> Iterator[tuple[str, int, int]]:
        """Mode C content terms and their mode A parts, skipping spans owned by compounds."""
        for offset, chunk in _chunks(norm):
            for unit in self._tokenizer().tokenize(chunk):
                term = _content_term(unit)
                if term is None:
                    continue
                parts = unit.split(SplitMode.A, add_single=False) if len(unit) > 1 else []
                for m in (unit, *parts):
                    start, end = offset + m.begin(), offset + m.end()
                    sub = term if m is unit else _content_term(m)
                    if sub is not None and covered.find(0, start, end) != -1:
                        yield sub, start, end

    def tokens(self, text: str) -> list[Token]:
        """Content terms in text order, with offsets into the original `text`."""
        return list(self._memo(text))

    def _analyse(self, text: str) -> tuple[Token, ...]:
        norm, starts, ends = _normalize_with_map(text)
        covered = bytearray(len(norm))
        found = list(_compound_terms(norm, covered))
        found.extend(self._sudachi_terms(norm, covered))
        found.sort(key=lambda item: (item[1], item[2]))
        return tuple(Token(term, starts[a], ends[b - 1]) for term, a, b in found)

    def terms(self, text: str) -> list[str]:
        """Just the terms of `tokens(text)`."""
        return [t.term for t in self.tokens(text)]
