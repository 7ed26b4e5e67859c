"""Read a whole site in a worker process that a hostile file cannot stall or exhaust.

A blog's repository is untrusted: Liquid runs on every post, and one file can loop,
backtrack or allocate without end. Every file is therefore read (front matter, Liquid,
Markdown, and its passages when asked) in a separate process with an address-space cap,
and the parent gives each file a time allowance. A file that overruns either is skipped
with one line, the worker is replaced, and reading goes on with the next file; the
bot's own process never runs a file's Liquid, so its event loop and memory are untouched.

The worker runs the same generator as the in-process mode (`isolated=False`), so both
paths read identically: settings, then one message per file in discovery order.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.corpus.articles import MEMORY_REASON, Article, Corpus, Skipped, read_file
from bot.corpus.discovery import SiteFile, site_files
from bot.corpus.errors import SiteReadFailed
from bot.corpus.passages import Passage, split_article
from bot.corpus.site import SiteConfig, first_line, read_site_config
from bot.corpus.sitelinks import LinkTable

log = logging.getLogger(__name__)

__all__ = [
    "Read",
    "ReadLimits",
    "Reading",
    "SiteReadFailed",
    "Unchanged",
    "load_corpus",
    "read_site",
    "stop",
]

FileState = tuple[int, int, str]  # size, mtime_ns, the site identity it was read under


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What one file may cost to read. `isolated=False` reads in this process, unguarded
    (for callers that already run in a sandbox, and where processes cannot be started)."""

    seconds_per_file: float = 60.0  # a 5 MB post, the largest read, needs about as long
    memory_mb: int = 1024  # address space the worker may add to its own while reading
    seconds_for_settings: float = 120.0  # start-up, `_config.yml`, `_data/` (5 MB of YAML)
    isolated: bool = True


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A file whose size, mtime and site identity match what the caller already has."""

    source: str


@dataclass(frozen=True, slots=True)
class Read:
    article: Article
    passages: tuple[Passage, ...] = ()


Outcome = Read | Unchanged | Skipped


@dataclass(frozen=True, slots=True)
class Reading:
    """The site's settings and each file's outcome, in discovery order (files Jekyll
    would not publish are absent)."""

    site: SiteConfig
    outcomes: tuple[Outcome, ...]

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(o.article for o in self.outcomes if isinstance(o, Read))

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, Skipped))


@dataclass(frozen=True, slots=True)
class _Request:
    root: Path
    site_url: str
    timezone: str
    now: datetime | None
    known: dict[str, FileState] = field(default_factory=dict)
    split: tuple[int, int] | None = None  # passage_chars, overlap


def load_corpus(
    root: Path,
    site_url: str,
    timezone: str,
    now: datetime | None = None,
    limits: ReadLimits | None = None,
) -> Corpus:
    """Every publishable article under `root`, the bad ones skipped and named."""
    reading = read_site(root, site_url, timezone, now=now, limits=limits)
    return Corpus(reading.articles, reading.skipped, reading.site)


def read_site(
    root: Path,
    site_url: str,
    timezone: str,
    *,
    now: datetime | None = None,
    known: dict[str, FileState] | None = None,
    split: tuple[int, int] | None = None,
    limits: ReadLimits | None = None,
) -> Reading:
    """Read the site; files in `known` whose state still matches come back `Unchanged`,
    and with `split` each article comes with its passages (then without its body)."""
    limits = limits or ReadLimits()
    request = _Request(root, site_url, timezone, now, dict(known or {}), split)
    if not limits.isolated:
        return _collect(_messages(request, 0))
    return _read_isolated(request, limits)


# --- what is read, one message at a time ------------------------------------------------

Message = tuple[str, Any]


def _messages(request: _Request, start: int) -> Iterator[Message]:
    """("site", SiteConfig), then ("begin", (i, source)) and ("file", (i, outcome)) per
    file from the `start`-th on (None for a file Jekyll would not publish), then ("end")."""
    site = read_site_config(request.root, request.site_url, request.timezone)
    yield "site", site
    now = request.now or datetime.now(site.tz)
    links = LinkTable(request.root, site)
    for i, found in enumerate(site_files(request.root, site)):
        if i < start:
            continue
        if isinstance(found, SiteFile) and _unchanged(found, request.known, site):
            yield "file", (i, Unchanged(found.source))
            continue
        yield "begin", (i, found.source)
        yield "file", (i, _outcome(read_file(found, site, links, now), request.split))
    yield "end", None


def _unchanged(found: SiteFile, known: dict[str, FileState], site: SiteConfig) -> bool:
    state = known.get(found.source)
    if state is None or state[2] != site.identity:
        return False
    try:
        stat = found.path.stat()
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == state[:2]


def _outcome(read: Article | Skipped | None, split: tuple[int, int] | None) -> Outcome | None:
    if not isinstance(read, Article) or split is None:
        return Read(read) if isinstance(read, Article) else read
    passages: tuple[Passage, ...] | None = None
    try:
        passages = tuple(split_article(read, *split))
    except MemoryError:
        reason = MEMORY_REASON  # logged once the handler has let go of the parse's memory
    except (RecursionError, ValueError) as exc:
        reason = f"cannot be split into passages ({type(exc).__name__})"
    if passages is None:
        log.warning("skipped %s: %s", read.source, reason)
        return Skipped(read.source, reason)
    return Read(replace(read, body=""), passages)  # the passages hold the text


def _collect(messages: Iterator[Message]) -> Reading:
    site: SiteConfig | None = None
    outcomes: list[Outcome] = []
    for kind, value in messages:
        if kind == "site":
            site = value
        elif kind == "file" and value[1] is not None:
            outcomes.append(value[1])
    assert site is not None
    return Reading(site, tuple(outcomes))


# --- the worker process and its guard -------------------------------------------------


def _read_isolated(request: _Request, limits: ReadLimits) -> Reading:
    """Run `_messages` in the worker process; a file past its allowance is skipped and a
    fresh worker goes on from the next one."""
    site: SiteConfig | None = None
    outcomes: list[Outcome] = []
    start = 0
    generation = _STOPS[0]
    with _WORKER_LOCK:
        while True:
            if _STOPS[0] != generation:
                raise SiteReadFailed("reading was stopped: the bot is shutting down")
            current: tuple[int, str] | None = None
            worker = _worker()
            for kind, value in worker.run(request, start, limits):
                if kind == "site":
                    site = site or value
                elif kind == "begin":
                    current = value
                elif kind == "file":
                    current = None
                    if value[1] is not None:
                        outcomes.append(value[1])
                elif kind == "end":
                    assert site is not None
                    return Reading(site, tuple(outcomes))
            reason = worker.failure
            _discard(worker)
            if current is None:
                raise SiteReadFailed(f"reading the site's settings and files stopped: {reason}")
            index, source = current
            log.warning("skipped %s: %s", source, reason)
            outcomes.append(Skipped(source, reason))
            start = index + 1


class _Worker:
    """A reading process (`python -m bot.corpus.reader`), kept for the next read while it
    behaves; `run` yields one read's messages until it ends, dies, runs out of memory or
    overruns a file's allowance (then `failure` says which, and the caller discards it)."""

    def __init__(self) -> None:
        self.failure = ""
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_environment(),
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.send = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.receive = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, request: _Request, start: int, limits: ReadLimits) -> Iterator[Message]:
        self.failure = ""
        try:
            self.send.send((request, start, limits.memory_mb))
        except OSError:
            self.failure = self._death()
            return
        allowance = limits.seconds_for_settings
        while True:
            if not self.receive.poll(allowance):
                self.failure = f"took over {allowance:g} s to read"
                return
            try:
                kind, value = self.receive.recv()
            except (EOFError, OSError):
                self.failure = self._death()
                return
            if kind == "log":
                logging.getLogger(value[1]).log(value[0], "%s", value[2])
            elif kind == "memory":
                self.failure = f"needs over {limits.memory_mb} MB to read"
                return
            elif kind == "error":
                self.failure = f"cannot be read ({value})"
                return
            else:
                allowance = limits.seconds_per_file
                yield kind, value

    def close(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self.send.close()
        self.receive.close()

    def _death(self) -> str:
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            return "the reader stopped answering"
        if code < 0:
            return f"the reader was stopped by signal {-code}"
        return f"the reader stopped (exit code {code})"


_WORKER_LOCK = threading.Lock()  # one read at a time per process; a second waits
_CURRENT: list[_Worker] = []
_STOPS = [0]  # bumped by `stop`: a read that began before gives up


def stop() -> None:
    """End the read in progress, if any, at once (it raises SiteReadFailed); later reads
    work as usual. For shutting down without waiting out a file's allowance."""
    _STOPS[0] += 1
    for worker in list(_CURRENT):
        with contextlib.suppress(OSError):
            worker.process.kill()


def _worker() -> _Worker:
    if _CURRENT and not _CURRENT[0].alive():
        _discard(_CURRENT[0])
    if not _CURRENT:
        _CURRENT.append(_Worker())
    return _CURRENT[0]


def _discard(worker: _Worker) -> None:
    worker.close()
    if worker in _CURRENT:
        _CURRENT.remove(worker)


@atexit.register
def _stop_worker() -> None:
    for worker in list(_CURRENT):
        _discard(worker)


_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY", "SALT")


def _worker_environment() -> dict[str, str]:
    """The worker reads untrusted files: it gets no secrets, even though nothing it runs
    can read the environment."""
    return {k: v for k, v in os.environ.items() if not any(w in k.upper() for w in _SECRET_WORDS)}


class _Forward(logging.Handler):
    """The worker's log lines, sent to the parent to be logged there."""

    def __init__(self, send: Connection) -> None:
        super().__init__(logging.INFO)
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send.send(("log", (record.levelno, record.name, record.getMessage())))


def serve(receive: Connection, send: Connection) -> None:
    """The worker's loop: one request at a time, each message sent as it comes. A request
    runs under an address-space cap; memory exhausted or an unexpected error ends the
    worker (the parent starts another)."""
    root = logging.getLogger()
    root.handlers[:] = [_Forward(send)]
    root.setLevel(logging.INFO)
    while True:
        try:
            request, start, memory_mb = receive.recv()
        except (EOFError, OSError):
            return
        _cap_address_space(memory_mb)
        last: Message | None = None
        try:
            for message in _messages(request, start):
                send.send(message)
        except MemoryError:
            last = ("memory", None)  # sent once the handler has let go of the memory
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - a reader bug: that file is skipped
            last = ("error", f"{type(exc).__name__}: {first_line(exc)}")
        if last is not None:
            _send_last(send, last)
            return


def _send_last(send: Connection, message: Message) -> None:
    with contextlib.suppress(OSError, MemoryError):
        send.send(message)


def _cap_address_space(memory_mb: int) -> None:
    """Allow the worker `memory_mb` more address space than it holds now: past it an
    allocation fails with MemoryError instead of growing the host's memory."""
    try:
        import resource

        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[0])
        current = pages * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = current + memory_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no rlimits here: the time allowance still applies


if __name__ == "__main__":  # the worker: its messages must pickle as bot.corpus.reader's
    from bot.corpus import reader

    reader.serve(Connection(os.dup(0), writable=False), Connection(os.dup(1), readable=False))
