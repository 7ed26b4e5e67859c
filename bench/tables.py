"""What the synthetic report (:mod:`bench.report`) and the real sites' section
(:mod:`bench.sites`) share: latency cells and the markers of the sites' section."""

from __future__ import annotations

from typing import Any

START = "<!-- real sites: start -->"
END = "<!-- real sites: end -->"


def ms(values: dict[str, float], keys: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    return " / ".join(f"{values[k]:.1f}" for k in keys)


def stages_timed(runs: list[dict[str, Any]]) -> list[str]:
    """The stages the runs timed, in the order timed (the engine's stages may change)."""
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run["serve"]["latency_ms"]))
    return list(names)


def stage_cell(r: dict[str, Any], stage: str) -> str:
    latency = r["serve"]["latency_ms"]
    return ms(latency[stage]) if stage in latency else "–"
