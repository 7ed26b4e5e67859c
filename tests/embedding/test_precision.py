"""Device resolution, thread choice and the precision's place in the cache identity."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bot.embedding import precision


def test_auto_device_is_cuda_when_torch_sees_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DEVICE=auto picks CUDA when an NVIDIA driver is loaded and torch reports a GPU."""
    driver = tmp_path / "version"
    driver.write_text("NVRM version: 1\n")
    monkeypatch.setattr(precision, "NVIDIA_DRIVER", driver)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert precision.resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert precision.resolve_device("auto") == "cpu"


def test_auto_device_without_a_driver_is_the_cpu_without_asking_torch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No NVIDIA driver: the CPU at once (torch is not asked, so need not be imported)."""
    monkeypatch.setattr(precision, "NVIDIA_DRIVER", tmp_path / "absent")

    def asked() -> bool:
        raise AssertionError("torch was asked")

    monkeypatch.setattr(torch.cuda, "is_available", asked)
    assert precision.resolve_device("auto") == "cpu"


def test_cuda_without_gpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """DEVICE=cuda on a host without a GPU fails at load with a message naming DEVICE."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="DEVICE"):
        precision.resolve_device("cuda")


def test_cpu_is_honoured_even_with_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """DEVICE=cpu stays on the CPU although a GPU is present."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert precision.resolve_device("cpu") == "cpu"


def test_unknown_device_is_refused() -> None:
    """A misspelt DEVICE is an error, not a silent CPU."""
    with pytest.raises(ValueError, match="DEVICE"):
        precision.resolve_device("gpu")


@pytest.mark.parametrize(("cores", "threads"), [(None, 1), (1, 1), (2, 1), (4, 2), (16, 8)])
def test_auto_threads_is_half_the_cores(cores: int | None, threads: int) -> None:
    """Automatic threads: half the cores, never fewer than one."""
    assert precision.auto_threads(cores) == threads


def test_int8_identity_differs_from_fp32() -> None:
    """int8 vectors get their own cache identity; fp32 keeps the model's own."""
    assert precision.identity_for("m@1", "fp32") == "m@1"
    assert precision.identity_for("m@1", "int8") != "m@1"
    torch_int8 = precision.identity_for("m@1", "int8", "torch")
    assert precision.identity_for("m@1", "int8", "onnx") not in {"m@1", torch_int8}


def test_int8_quantizes_linear_layers_on_cpu() -> None:
    """int8 on the CPU swaps every Linear for its dynamically quantized version."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    applied = precision.apply_precision(model, "int8", "cpu")  # type: ignore[arg-type]
    assert applied == "int8"
    assert not any(type(m) is torch.nn.Linear for m in model.modules())


def test_int8_on_gpu_stays_fp32() -> None:
    """Dynamic quantization has no CUDA kernels: on a GPU the model stays fp32."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert precision.apply_precision(model, "int8", "cuda") == "fp32"  # type: ignore[arg-type]
    assert type(model[0]) is torch.nn.Linear
