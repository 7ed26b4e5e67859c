"""Shared fixtures: tiny corpora written as Jekyll posts, the fake and the real embedder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.embedding.models import LoadedEmbedder, SentenceTransformerEmbedder, load_embedder
from bot.index.refresh import CorpusSpec
from bot.retrieval.engine import Engine, EngineConfig
from bot.settings import EMBEDDED_MODEL
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = ROOT / "corpus"
SITE_URL = "http://localhost:4000"

PostWriter = Callable[..., Path]


def write_post(
    root: Path,
    name: str,
    body: str,
    front: dict[str, Any] | str | None = None,
    folder: str = "_posts",
) -> Path:
    """Write one article; `front` as a dict is dumped as YAML, a str is written verbatim."""
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if front is None:
        front = {"title": name, "date": "2025-01-01 10:00:00 +0900", "categories": ["news"]}
    header = front if isinstance(front, str) else yaml.safe_dump(front, allow_unicode=True)
    path.write_text(f"---\n{header}---\n\n{body}", encoding="utf-8")
    return path


@pytest.fixture
def post(tmp_path: Path) -> PostWriter:
    """Write posts under tmp_path/site; returns the writer (the site root is its parent's)."""
    root = tmp_path / "site"

    def writer(name: str, body: str, front: dict[str, Any] | str | None = None, **kw: Any) -> Path:
        return write_post(root, name, body, front, **kw)

    return writer


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder(64)


def engine_for(root: Path, cache: Path, embedder: Any, **config: Any) -> Engine:
    spec = CorpusSpec(root, SITE_URL, "Asia/Tokyo")
    engine, _ = Engine.open(EngineConfig(spec=spec, cache_dir=cache, **config), embedder)
    return engine


@pytest.fixture(scope="session")
def real_embedder() -> LoadedEmbedder:
    """The embedded default model, built once into the project's cache (as `make setup` does)."""
    return load_embedder(EMBEDDED_MODEL, ROOT / "cache")


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The embedded default model with its forward pass on torch (EMBEDDING_RUNTIME=torch)."""
    embedder = load_embedder(EMBEDDED_MODEL, ROOT / "cache", runtime="torch")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


@pytest.fixture(scope="session")
def real_engine(real_embedder: LoadedEmbedder) -> Iterator[Engine]:
    """The sample corpus with the real model; the project's cache makes reruns fast."""
    yield engine_for(SAMPLE_CORPUS, ROOT / "cache", real_embedder)
