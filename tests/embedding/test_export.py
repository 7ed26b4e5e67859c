"""The ONNX export writes each weight once, beside the graph, and gives torch's vectors.

A tiny stand-in for a SentenceTransformer (what `export_graph` uses of one: ``preprocess``
and ``forward``) keeps this fast; tests/embedding/test_runtime.py exports the real model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from bot.embedding.runtime import (
    GRAPH_FILE,
    OUTPUT,
    TOKENS,
    WEIGHTS_FILE,
    ExportFailed,
    export_graph,
    open_session,
)


class TinyEncoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(50, 16)
        self.mix = torch.nn.Linear(16, 16)
        self.head = torch.nn.Linear(16, 50, bias=False)
        self.head.weight = self.embed.weight  # tied: one weight in two modules
        self.unused = torch.nn.Linear(16, 4)  # a weight the forward pass never reads

    def preprocess(self, texts: list[str]) -> dict[str, torch.Tensor]:
        rows = [[1 + ord(char) % 48 for char in text] for text in texts]
        width = max(len(row) for row in rows)
        ids = [row + [0] * (width - len(row)) for row in rows]
        mask = [[1] * len(row) + [0] * (width - len(row)) for row in rows]
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hidden = torch.tanh(self.mix(self.embed(features["input_ids"])))
        hidden = hidden + self.head(hidden)[..., :16]
        mask = features["attention_mask"].unsqueeze(-1).float()
        return {OUTPUT: (hidden * mask).sum(1) / mask.sum(1), TOKENS: hidden}


def exported(tmp_path: Path) -> tuple[TinyEncoder, Path]:
    model = TinyEncoder().eval()
    folder = tmp_path / "graph"
    export_graph(model, folder, "source\n")  # type: ignore[arg-type]
    return model, folder


def test_exported_graph_gives_torchs_vectors(tmp_path: Path) -> None:
    model, folder = exported(tmp_path)
    session = open_session(folder / GRAPH_FILE, 1)
    texts = ["a", "a much longer text than the probe", "query: mid-sized"]
    features = model.preprocess(texts)
    feed = {name: value.numpy() for name, value in features.items()}
    (vectors,) = session.run([OUTPUT], feed)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(model(features)[OUTPUT], dim=-1).numpy()
    assert float(np.abs(vectors - expected).max()) < 1e-5


def test_weights_are_written_once_beside_the_graph(tmp_path: Path) -> None:
    """Each weight the graph reads is an initializer in WEIGHTS_FILE (a tied one once),
    none is a graph input, one never read is left out, and the model keeps its own."""
    model, folder = exported(tmp_path)
    original = model.embed.weight
    proto = onnx.load(str(folder / GRAPH_FILE), load_external_data=False)
    assert [value.name for value in proto.graph.input] == ["input_ids", "attention_mask"]
    initializers = {tensor.name: tensor for tensor in proto.graph.initializer}
    assert "unused.weight" not in initializers and "head.weight" not in initializers
    for name in ("embed.weight", "mix.weight"):
        tensor = initializers[name]
        assert tensor.data_location == onnx.TensorProto.EXTERNAL
        assert {entry.key: entry.value for entry in tensor.external_data}["location"] == (
            WEIGHTS_FILE
        )
    table = original.detach().numpy().tobytes()
    assert table not in (folder / GRAPH_FILE).read_bytes()
    assert (folder / WEIGHTS_FILE).read_bytes().count(table) == 1
    assert model.embed.weight is original and model.head.weight is original
    assert isinstance(model.mix.weight, torch.nn.Parameter)


def test_failed_export_restores_the_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = TinyEncoder().eval()
    weights = dict(model.named_parameters())

    def broken(features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(model, "forward", broken)
    with pytest.raises(ExportFailed, match="unsupported operator"):
        export_graph(model, tmp_path / "graph", "")  # type: ignore[arg-type]
    assert all(model.get_parameter(name) is weight for name, weight in weights.items())
    assert not list(tmp_path.iterdir())
