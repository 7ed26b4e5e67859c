"""Where and how the model runs: device, numeric precision and CPU threads.

On a small CPU host the encoder's Linear layers are nearly all of its time; quantizing
them to int8 (opt-in: retrieval measurably worse) cuts it by 2.5x, and one intra-op thread
per process avoids the spin-waiting that makes two threads on two shared cores several
times slower than one when anything else runs.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PRECISIONS = ("int8", "fp32")
# Bumped when int8 vectors change for the same weights (1: one text per forward pass).
INT8_VERSION = 1
ONNX_INT8_VERSION = 1  # the same for ONNX Runtime's quantization (runtime.quantize_graph)
DEVICES = ("auto", "cpu", "cuda")


NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")


def resolve_device(setting: str) -> str:
    """``auto`` is CUDA when torch sees a GPU, else the CPU; ``cuda`` without one is an error.

    Without an NVIDIA driver there is no CUDA device to ask torch about, so ``auto`` is the
    CPU at once: importing torch takes seconds that a question's process does not have.
    """
    if setting not in DEVICES:
        raise ValueError(f"DEVICE must be one of {', '.join(DEVICES)}, not {setting!r}")
    if setting == "cpu" or (setting == "auto" and not NVIDIA_DRIVER.exists()):
        return "cpu"
    import torch

    available = bool(torch.cuda.is_available())
    if setting == "cuda" and not available:
        raise ValueError("DEVICE=cuda, but torch sees no CUDA device (set DEVICE=auto or cpu)")
    if setting == "auto":
        return "cuda" if available else "cpu"
    return setting


def auto_threads(cores: int | None) -> int:
    """Half the cores, at least one: indexing and questions share the host with the bot."""
    return max(1, (cores or 1) // 2)


def use_threads(threads: int) -> int:
    """Set torch's intra-op threads (0 = `auto_threads`); the number set."""
    import torch

    count = threads if threads > 0 else auto_threads(os.cpu_count())
    torch.set_num_threads(count)
    return count


def apply_precision(model: SentenceTransformer, precision: str, device: str) -> str:
    """Quantize the Linear layers in place for int8 on the CPU; the precision in effect.

    Dynamic quantization has CPU kernels only, so on a GPU the model stays fp32.
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"EMBEDDING_PRECISION must be one of {', '.join(PRECISIONS)}")
    if precision == "fp32" or device != "cpu":
        return "fp32"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch announces the eager API's future move
        torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
    log.info("embedding model quantized to int8")
    return "int8"


def identity_for(identity: str, precision: str, runtime: str = "torch") -> str:
    """The vector caches' name: int8 vectors differ from fp32 ones, and ONNX Runtime's int8
    from torch's, so they never mix."""
    if precision == "fp32":
        return identity
    if runtime == "onnx":
        return f"{identity}+{precision}-onnx.{ONNX_INT8_VERSION}"
    return f"{identity}+{precision}.{INT8_VERSION}"
