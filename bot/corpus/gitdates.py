"""When each file of a site folder was last committed, from one `git log` of its clone.

A page without a date in its front matter or file name is dated by its last commit: the
modification time of a checkout is the time of the clone, so it would date every page
today. One `git log` pass lists every commit newest first with the files it touched; the
first commit that names a path is the last one that changed it. Git is optional: no git,
a folder outside a clone, a slow or failing log all give no dates (logged once), never an
error, and the pages then show no date.

The folder may be untrusted, so git runs with nothing that could start another program
(no fsmonitor, no signature checks, no external diff or text conversion) and without the
environment variables that would point it at another repository.
"""

from __future__ import annotations

import logging
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

GIT_SECONDS = 20.0
_SAFE_CONFIG = (
    "core.quotepath=off",
    "core.fsmonitor=false",
    "log.showSignature=false",
    "log.showRoot=true",
    "diff.relative=false",
)
_LOG_ARGS = (
    "log",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--format=%x00%ct",
    "--name-only",
    "-z",
    "--relative",
    "--",
    ".",
)
# Variables that would make git read another repository than the folder's own.
_REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
    }
)


def commit_dates(root: Path, timeout: float = GIT_SECONDS) -> dict[str, datetime]:
    """Each file under `root` that git knows, by its path relative to `root` (forward
    slashes), to the commit time (UTC) of the last commit that changed it; {} when `root`
    is not in a git clone or git cannot tell."""
    command = ["git", "--no-pager", "-C", str(root)]
    for setting in _SAFE_CONFIG:
        command += ["-c", setting]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed git command, no shell
            [*command, *_LOG_ARGS],
            capture_output=True,
            timeout=timeout,
            env=git_environment(),
            check=False,
        )
    except FileNotFoundError:
        log.info("no commit dates for undated pages: git is not installed")
        return {}
    except subprocess.TimeoutExpired:
        log.info("no commit dates for undated pages: git log took over %g s", timeout)
        return {}
    except (OSError, ValueError, MemoryError) as exc:
        log.info("no commit dates for undated pages: git could not run (%s)", exc)
        return {}
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        log.info(
            "no commit dates for undated pages: %s",
            reason[0] if reason else f"git log exited with {done.returncode}",
        )
        return {}
    return parse_log(done.stdout)


def parse_log(output: bytes) -> dict[str, datetime]:
    """`git log --format=%x00%ct --name-only -z`: each commit is an empty field, its time,
    then the paths it touched (the first after a newline); the first time a path is seen
    wins, the log being newest first."""
    dates: dict[str, datetime] = {}
    fields = output.split(b"\0")
    when: datetime | None = None
    first = False
    i = 0
    while i < len(fields):
        field = fields[i]
        i += 1
        if not field:
            stamp = fields[i] if i < len(fields) else b""
            i += 1
            when = _time(stamp)
            first = True
            continue
        if first:
            field = field.removeprefix(b"\n")
            first = False
        if when is not None and field:
            path = field.decode("utf-8", "surrogateescape")
            dates.setdefault(path, when)
    return dates


def _time(stamp: bytes) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def git_environment() -> dict[str, str]:
    """The environment every git command on the blog runs with: the blog's own folder,
    never a prompt."""
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return env
