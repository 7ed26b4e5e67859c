"""An approximate index built before the model is loaded must not crash the process."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")


def test_the_model_runtime_loads_after_an_approximate_index() -> None:
    """Importing onnxruntime after usearch was a segmentation fault; the index imports
    them in the order that works. In a fresh interpreter, so a crash fails only this."""
    script = (
        "import numpy as np\n"
        "from bot.index.ann import AnnIndex\n"
        "AnnIndex.build(np.eye(8, dtype=np.float32))\n"
        "import onnxruntime\n"
        "print('loaded', onnxruntime.__version__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout.startswith("loaded")
