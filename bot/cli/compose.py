"""Where every command gets its parts: settings → embedder → index → engine.

Each command asks :func:`root` for what it needs, so the model is chosen in one place
and a test hands in its own (:func:`embedders`, or ``main(argv, embedder=...)``)
without patching the modules that use it.

Two ways to get an engine:

* :meth:`Root.serving_engine`, for the commands that answer (``ask``, ``eval``): the
  current snapshot as the last reindex saved it, without reading the corpus, embedding
  a passage or waiting on a reindex in another process. Only when there is no snapshot
  yet is it built, and the command says so on stderr.
* :meth:`Root.refreshed_engine`, for ``reindex`` and ``run``: the index brought up to
  date with the corpus first (under the cache's reindex lock), with a progress bar
  while passages are embedded.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from bot.cli import printable
from bot.cli.errors import UserError
from bot.embedding.models import Embedder, LoadedEmbedder, ModelNotFound, load_embedder
from bot.index.refresh import ReindexReport
from bot.retrieval.engine import Engine, EngineConfig
from bot.settings import Settings

EmbedderFactory = Callable[[Settings], Embedder]

REINDEX_HINT = "python -m bot reindex does this ahead"


def embedder_for(settings: Settings) -> LoadedEmbedder:
    """The model the settings name, on their device and precision, or one clear error."""
    try:
        return load_embedder(
            settings.embedding_model,
            settings.cache_dir,
            settings.embedding_batch_size,
            precision=settings.embedding_precision,
            device=settings.device,
            threads=settings.embedding_threads,
            runtime=settings.embedding_runtime,
            pooled_sentences=settings.sentence_vectors == "pooled",
        )
    except ModelNotFound as exc:
        raise UserError(str(exc)) from None


def _configured_embedder(settings: Settings) -> Embedder:
    return embedder_for(settings)


_embedders: list[EmbedderFactory] = [_configured_embedder]  # the last one is used


@contextlib.contextmanager
def embedders(factory: EmbedderFactory) -> Iterator[None]:
    """Every root made inside, in any thread, builds its embedder with `factory` instead
    of loading the configured model."""
    _embedders.append(factory)
    try:
        yield
    finally:
        _embedders.remove(factory)


@dataclass
class Root:
    """One command's parts, each built on first use and then shared (one model per command)."""

    settings: Settings
    make_embedder: EmbedderFactory
    _embedder: Embedder | None = field(default=None, init=False, repr=False)

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.make_embedder(self.settings)
        return self._embedder

    def engine_config(
        self, corpus_dir: Path | None = None, cache_dir: Path | None = None
    ) -> EngineConfig:
        """The engine's settings for CORPUS_DIR, or for another corpus kept in its own cache."""
        settings = self.settings
        if corpus_dir is not None:
            settings = settings.model_copy(update={"corpus_dir": corpus_dir})
        config = EngineConfig.from_settings(settings)
        return config if cache_dir is None else replace(config, cache_dir=cache_dir)

    def serving_engine(self, config: EngineConfig | None = None) -> Engine:
        """The engine on the current snapshot; built first only when there is none yet."""
        configured = config is None
        if config is None:
            config = self._checked(self.engine_config())
        engine = Engine.load(config, self.embedder())
        if engine is not None:
            return engine
        hint = f" ({REINDEX_HINT})" if configured else ""
        corpus = printable(str(config.spec.root))
        print(f"no index yet for {corpus}: building it{hint}", file=sys.stderr)
        return self.refreshed_engine(config)[0]

    def refreshed_engine(self, config: EngineConfig | None = None) -> tuple[Engine, ReindexReport]:
        """The engine after bringing the index up to date with the corpus (the writer's
        path), showing progress while embedding."""
        if config is None:
            config = self._checked(self.engine_config())
        embedder = self.embedder()
        with tqdm(
            total=0,
            desc="embedding passages",
            unit="passage",
            file=sys.stderr,
            disable=None,
            leave=False,
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            return Engine.open(config, embedder, progress)

    def _checked(self, config: EngineConfig) -> EngineConfig:
        """CORPUS_DIR must be a folder: said before the model is loaded."""
        if not config.spec.root.is_dir():
            raise UserError(f"setting CORPUS_DIR: {config.spec.root} is not a folder")
        return config


def root(settings: Settings) -> Root:
    """The parts of one command, with the embedder of :func:`embedders` if one is set."""
    return Root(settings, _embedders[-1])


def open_engine(settings: Settings) -> Engine:
    """The engine of `run`: the current snapshot (built first only when there is none);
    the running bot's follower brings it up to date (REFRESH)."""
    return root(settings).serving_engine()
