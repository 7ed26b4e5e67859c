"""Keep a running engine up to date with the blog, without a restart.

Three ways a new post reaches the index while the bot runs, whatever REFRESH says:

- `watch`: file events in the corpus folder (watchfiles, inotify on Linux), debounced,
  start a reindex;
- `git`: the corpus folder is a clone; every REFRESH_MINUTES it is pulled
  (`git pull --ff-only`) and reindexed when its HEAD moved;
- always: a snapshot another process saved (`python -m bot reindex`, a cron job, a CI
  step after publishing) is noticed within seconds and switched to.

Questions keep being answered from the index in use until the new one is ready; a failed
pull or reindex keeps it and is logged once (and once more when it works again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.corpus.gitdates import git_environment
from bot.index.refresh import ReindexReport
from bot.retrieval.engine import Engine, ReindexFailed, ReindexInProgress

log = logging.getLogger(__name__)

CHECK_SNAPSHOT_S = 5.0  # how often a snapshot saved by another process is looked for
WATCH_QUIET_MS = 3_000  # file events are gathered until the folder is quiet this long
GIT_TIMEOUT_S = 300.0
BUSY_RETRY_S = 1.0  # a reindex already running: this one waits for it, then runs
_NOT_CONTENT = ("_site", ".jekyll-cache", ".sass-cache", ".jekyll-metadata")

Announce = Callable[[ReindexReport], Awaitable[None]]


class Follower:
    """Runs until cancelled; `reindexes` counts the reindexes it started (for tests)."""

    def __init__(
        self,
        engine: Engine,
        mode: str,
        minutes: float = 10.0,
        announce: Announce | None = None,
        check_s: float = CHECK_SNAPSHOT_S,
    ) -> None:
        self.engine = engine
        self.mode = mode
        self.period_s = minutes * 60
        self.announce = announce
        self.check_s = check_s
        self.reindexes = 0
        self._trouble: dict[str, str] = {}  # what failed last, per activity: logged once

    @property
    def root(self) -> Path:
        return self.engine.config.spec.root

    async def run(self) -> None:
        """Follow until cancelled. The bot starts on the snapshot it has; with `watch` or
        `git`, a first reindex then catches up with what changed while it was stopped."""
        loops = [self._adopt_loop()]
        if self.mode == "git":
            loops.append(self._pull_loop())
        elif self.mode == "watch":
            loops.append(self._watch_loop())
        log.info("following %s: REFRESH=%s", self.root, self.mode)
        if self.mode in ("git", "watch"):
            loops.append(self._catch_up())
        await asyncio.gather(*loops)

    async def _catch_up(self) -> None:
        if self.mode == "git":
            await asyncio.to_thread(self.pull)
        await self.reindex("start-up")

    # -- a snapshot saved elsewhere ------------------------------------------------------

    async def _adopt_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            try:
                await self.engine.adopt_newer()
            except (OSError, ValueError) as exc:
                self._failed("snapshot", f"could not load the newer index: {exc}")
            else:
                self._worked("snapshot")

    # -- git ------------------------------------------------------------------------------

    async def _pull_loop(self) -> None:
        while True:
            await asyncio.sleep(self.period_s)
            moved = await asyncio.to_thread(self.pull)
            if moved:
                await self.reindex(f"git pull moved HEAD to {moved[:12]}")

    def pull(self) -> str | None:
        """`git pull --ff-only` in the corpus; the new HEAD if it moved, else None."""
        try:
            before = _git(self.root, "rev-parse", "HEAD")
            _git(self.root, "pull", "--ff-only", "--quiet")
            after = _git(self.root, "rev-parse", "HEAD")
        except GitFailed as exc:
            self._failed("git", f"git pull in {self.root} failed: {exc}")
            return None
        self._worked("git")
        return after if after != before else None

    # -- file events ----------------------------------------------------------------------

    async def _watch_loop(self) -> None:
        from watchfiles import DefaultFilter, awatch

        ignored = (*DefaultFilter.ignore_dirs, *_NOT_CONTENT)
        changes = awatch(
            self.root,
            watch_filter=DefaultFilter(ignore_dirs=ignored),
            debounce=WATCH_QUIET_MS,
            step=200,
            recursive=True,
        )
        async with contextlib.aclosing(changes):  # the watcher thread ends with the loop
            async for batch in changes:
                await self.reindex(f"{len(batch)} file changes")

    # -- reindexing -----------------------------------------------------------------------

    async def reindex(self, why: str) -> ReindexReport | None:
        """Reindex now (questions keep the old index meanwhile); announce what was added."""
        self.reindexes += 1
        while True:
            try:
                report = await self.engine.reindex()
                break
            except ReindexInProgress:  # it may have read the files before these changes
                await asyncio.sleep(BUSY_RETRY_S)
            except ReindexFailed as exc:
                message = f"reindex after {why} failed, the index in use stays: {exc}"
                self._failed("reindex", message)
                return None
        self._worked("reindex")
        log.info("reindexed after %s: %s", why, report.summary())
        if self.announce is not None and report.added:
            await self.announce(report)
        return report

    def _failed(self, activity: str, message: str) -> None:
        if self._trouble.get(activity) != message:
            log.warning("%s", message)
        self._trouble[activity] = message

    def _worked(self, activity: str) -> None:
        if self._trouble.pop(activity, None) is not None:
            log.info("%s works again", activity)


class GitFailed(RuntimeError):
    pass


def _git(root: Path, *args: str) -> str:
    """One git command in `root`, never prompting; its output, or GitFailed in one line."""
    environment = {**git_environment(), "GIT_ASKPASS": "true"}
    command = ["git", "-c", "core.fsmonitor=false", "-C", str(root), *args]
    try:
        done = subprocess.run(  # noqa: S603 - git, with fixed arguments
            command,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=environment,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitFailed(str(exc)) from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise GitFailed(lines[-1] if lines else f"exit code {done.returncode}")
    return done.stdout.strip()
