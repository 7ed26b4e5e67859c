"""The labelled evaluation sets stay valid: every evidence string is verbatim prose of its
article, kinds and languages are known, unanswerable rows carry no evidence."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

EVAL = ROOT / "tests" / "data" / "eval"


def test_every_labelled_set_passes_its_checker() -> None:
    """check_sets.py finds no error in any set (it exits 1 and names the row otherwise)."""
    sets = sorted(EVAL.glob("*.jsonl"))
    assert len(sets) >= 4
    checker = [sys.executable, str(EVAL / "check_sets.py"), *map(str, sets)]
    done = subprocess.run(checker, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
