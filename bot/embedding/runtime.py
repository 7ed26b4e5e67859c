"""Run the model's forward pass in ONNX Runtime on the CPU: the same vectors, twice as fast.

For a short question on one core, ONNX Runtime runs multilingual-e5-small in about half of
torch's time (13 ms against 25 ms), and the vectors agree to float rounding (cosine 1.0),
so both runtimes share one vector cache. The graph is exported once per model from the
loaded ``SentenceTransformer`` itself (transformer, pooling, any dense layer, then
normalisation), so any sentence-transformers model takes this path with the same
loading code; one that cannot be exported stays on torch with a warning.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import hashlib
import importlib.metadata
import importlib.util
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from filelock import FileLock

from bot.embedding.serving import MANIFEST_FILE, TOKENIZER_FILE, Manifest, write_manifest

if TYPE_CHECKING:
    import onnx
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")
# Bump when the exported folder changes for the same model (2: tokenizer and manifest).
EXPORT_VERSION = 4  # 3: token states are an output too; 4: licence notices beside the graph
OPSET = 17
OUTPUT = "sentence_embedding"
TOKENS = "token_embeddings"  # the last layer's token states, before pooling
GRAPH_FILE = "model.onnx"
# Weights beside the graph, not inside it: ONNX Runtime then maps the file instead of
# copying it, so only the pages a question touches are resident (the 250 000-row token
# table is mostly never read): 150 MB instead of 580 MB for the embedded model.
WEIGHTS_FILE = "model.onnx.data"
# What the graph was exported from (model identity and folder): a newer export of the same
# source supersedes it, and the older folder (hundreds of MB) is removed.
SOURCE_FILE = "source.txt"


class ExportFailed(RuntimeError):
    """The model's forward pass could not be turned into an ONNX graph."""


def onnx_available() -> bool:
    """ONNX Runtime runs the graph; the onnx package is what torch writes it with."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def resolve_runtime(setting: str, device: str, precision: str) -> str:
    """``auto`` is ONNX Runtime on the CPU when it is installed, else torch.

    int8 on ONNX Runtime is its own dynamic quantization of the exported graph
    (:func:`quantize_graph`); on torch, torch's.
    """
    if setting not in RUNTIMES:
        raise ValueError(f"EMBEDDING_RUNTIME must be one of {', '.join(RUNTIMES)}, not {setting!r}")
    if setting == "torch":
        return "torch"
    fits = device == "cpu"
    if setting == "onnx" and not fits:
        raise ValueError(
            "EMBEDDING_RUNTIME=onnx runs on the CPU; set DEVICE=cpu, or EMBEDDING_RUNTIME=auto"
        )
    if setting == "onnx" and not onnx_available():
        raise ValueError("EMBEDDING_RUNTIME=onnx needs the onnxruntime and onnx packages")
    return "onnx" if fits and onnx_available() else "torch"


def session_threads(setting: int, cores: int | None) -> int:
    """EMBEDDING_THREADS for ONNX Runtime; 0 means every core.

    Unlike torch's, its idle threads sleep instead of spinning (`open_session`), so a second
    thread speeds a question up (13 -> 9 ms on two cores) without taking a core from the
    bot between questions.
    """
    return setting if setting > 0 else max(1, cores or 1)


def graph_path(
    cache_dir: Path, identity: str, folder: Path | None, precision: str = "fp32"
) -> Path:
    """Where the model's graph is kept: named by the model and the files it was built from.

    A local folder's identity is its path, so its files' sizes and times are part of the
    name too: replaced weights get a new graph, never a stale one. ``folder`` None: the
    identity pins the files (the embedded model), so the graph is found without them.
    Nothing here imports torch: finding a graph is the start of every question's process.
    """
    stamps = _file_stamps(folder) if folder is not None else []
    digest = hashlib.sha256()
    for part in (identity, str(EXPORT_VERSION), _torch_version(), precision, *stamps):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return cache_dir / "models" / "onnx" / digest.hexdigest()[:24] / GRAPH_FILE


def _torch_version() -> str:
    """The installed torch's version, read from its metadata (importing it takes seconds)."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def graph_complete(path: Path) -> bool:
    """An export renamed into place whole: the graph and its serving manifest are there."""
    return path.is_file() and (path.parent / MANIFEST_FILE).is_file()


def _file_stamps(folder: Path) -> list[str]:
    stamps = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            stamps.append(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}")
    return stamps


def graph_source(identity: str, folder: Path) -> str:
    return f"{identity}\n{folder.resolve()}\n"


ModelLoader = Callable[[], "tuple[SentenceTransformer, Path]"]  # the model and its folder
LICENCE_FILES = ("NOTICE*", "LICENSE*", "LICENCE*")  # travel with the model's graph


def open_graph(
    path: Path,
    threads: int,
    load_model: ModelLoader,
    source: str = "",
    finish: Callable[[Path], None] | None = None,
) -> onnxruntime.InferenceSession:
    """A session on the graph at ``path``, exported first when it is not there.

    ``load_model`` is called only to export, so serving an exported graph never imports
    torch; ``finish`` (e.g. quantization) turns the exported folder into the one served,
    under the same lock. A graph already exported is opened without the lock and without
    writing anything, so a read-only cache serves too; one ONNX Runtime cannot open is
    exported again once.
    """
    folder = path.parent
    if graph_complete(path):  # renamed into place whole: present means finished
        _remove_stale_parts(folder)  # and no export of it is running: they are a killed one's
        try:
            return open_session(path, threads)
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's errors have no common base
            log.debug("ONNX Runtime cannot load %s (%s); exporting it again", path, exc)
            shutil.rmtree(folder, ignore_errors=True)
    ensure_graph(path, load_model, source, finish)
    try:
        return open_session(path, threads)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's errors have no common base
        shutil.rmtree(folder, ignore_errors=True)  # exported again next time
        raise ExportFailed(f"ONNX Runtime cannot load {path}: {exc}") from None


def ensure_graph(
    path: Path,
    load_model: ModelLoader,
    source: str = "",
    finish: Callable[[Path], None] | None = None,
) -> None:
    """Export the graph at ``path`` (or make it with ``finish``) unless it is complete."""
    folder = path.parent
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{folder}.lock"):
            _remove_stale_parts(folder)
            if not graph_complete(path):
                log.info("exporting the embedding model to ONNX (once per model): %s", folder.name)
                (finish or _export_into(load_model, source))(folder)
                if finish is None:
                    drop_superseded(folder, source)
                release_freed_memory()
    except OSError as exc:
        raise ExportFailed(f"cannot write the graph under {folder.parent}: {exc}") from None


def release_freed_memory() -> None:
    """Hand what the export freed (torch's copy of the model, its tokenizer) back to the
    system before the session and the serving tokenizer load: the allocator would keep it,
    and the first start peaked 0.4 GB higher."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def quantize_graph(fp32: Path) -> Callable[[Path], None]:
    """Write ONNX Runtime's int8 version of the fp32 graph at ``fp32`` into a folder.

    Torch's exporter leaves each Linear weight behind a Transpose (the weights reach the
    trace as inputs), so the graph is first constant-folded by ONNX Runtime itself; then
    every MatMul with a constant weight and the token table (Gather) get int8 weights, one
    scale per output channel, and activations are quantized per pass (dynamic). The
    tokenizer and manifest are the fp32 graph's.
    """

    def quantize(folder: Path) -> None:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic

        temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"{folder.name}.part-"))
        try:
            folded = temporary / "folded.onnx"
            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.optimized_model_filepath = str(folded)
            for key, value in (
                ("session.optimized_model_external_initializers_file_name", "folded.onnx.data"),
                ("session.optimized_model_external_initializers_min_size_in_bytes", "1024"),
            ):
                options.add_session_config_entry(key, value)
            onnxruntime.InferenceSession(str(fp32), options, providers=["CPUExecutionProvider"])
            with warnings.catch_warnings(), _quiet_root_logger():
                warnings.simplefilter("ignore")
                quantize_dynamic(
                    folded,
                    temporary / GRAPH_FILE,
                    op_types_to_quantize=["MatMul", "Gather"],
                    per_channel=True,
                    weight_type=QuantType.QInt8,
                    use_external_data_format=True,
                    extra_options={"MatMulConstBOnly": True},
                )
            for name in ("folded.onnx", "folded.onnx.data"):
                (temporary / name).unlink()
            for name in (TOKENIZER_FILE, MANIFEST_FILE, SOURCE_FILE):
                shutil.copy2(fp32.parent / name, temporary / name)
            copy_licences(fp32.parent, temporary)
            temporary.rename(folder)
        except Exception as exc:  # noqa: BLE001 - the quantizer fails in many ways
            raise ExportFailed(f"int8 quantization: {type(exc).__name__}: {exc}") from None
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    return quantize


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantizer advises on the root logger ("consider pre-processing"): not for users."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _export_into(load_model: ModelLoader, source: str) -> Callable[[Path], None]:
    def export(folder: Path) -> None:
        model, model_folder = load_model()
        bundle = functools.partial(write_bundle, model, notices=model_folder)
        export_graph(model, folder, source, bundle=bundle)

    return export


def copy_licences(source: Path, target: Path) -> None:
    """The model's licence and notice files, so they stay with it wherever it is served."""
    for pattern in LICENCE_FILES:
        for found in source.glob(pattern):
            if found.is_file():
                shutil.copy2(found, target / found.name)


def write_bundle(
    model: SentenceTransformer, folder: Path, inputs: Sequence[str], notices: Path | None = None
) -> None:
    """Put what serving needs beside the graph: the model's fast tokenizer, a manifest
    (prompts, truncation, inputs), so questions are answered without torch, and the
    model's licence notices (from `notices`, its folder)."""
    if notices is not None:
        copy_licences(notices, folder)
    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportFailed("the model's tokenizer has no tokenizer.json (not a fast tokenizer)")
    backend.save(str(folder / TOKENIZER_FILE))
    prompts = getattr(model, "prompts", {}) or {}
    first = next(iter(model.children()), None)
    write_manifest(
        folder,
        Manifest(
            dimension=int(model.get_embedding_dimension() or 0),
            max_tokens=int(model.max_seq_length or 512),
            query_prompt=str(prompts.get("query", "")),
            document_prompt=str(prompts.get("document", "")),
            inputs=tuple(inputs),
            lower_case=bool(getattr(first, "do_lower_case", False)),
            pad_id=int(getattr(tokenizer, "pad_token_id", 0) or 0),
        ),
    )


def _remove_stale_parts(folder: Path) -> None:
    """Remove what killed exports of `folder` left; call under its lock or once it exists."""
    for stale in folder.parent.glob(f"{folder.name}.part-*"):
        shutil.rmtree(stale, ignore_errors=True)


def drop_superseded(folder: Path, source: str) -> None:
    """Remove the graphs exported earlier from the same source (its files have changed)."""
    for other in folder.parent.iterdir():
        marker = other / SOURCE_FILE
        if other == folder or not source or not marker.is_file():
            continue
        if marker.read_text(encoding="utf-8") == source:
            log.info("removing the superseded ONNX graph %s", other.name)
            shutil.rmtree(other, ignore_errors=True)


def open_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    """One intra-op thread per core given, never spinning: idle threads must not steal the
    bot's core while it waits for Discord or the database.

    No memory arena: ONNX Runtime's keeps the largest activations it has ever needed, so one
    batch of sixteen long passages during a reindex left 630 MB resident for the rest of
    the process's life; without it that memory is returned after each pass (24 MB stay).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its warnings are about graph fusions
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _sentence_embedding(
    model: SentenceTransformer, names: list[str], weights: list[str]
) -> torch.nn.Module:
    """The module exported: token tensors in (named ``names``), then the model's weights
    (named ``weights``), unit vectors out.

    The model is not a submodule (the tracer would take its weights as constants): it runs
    on the weights given (`_weights_given`), so they reach the graph as inputs and the
    exporter never copies one (see `export_graph`). Defined here, not at module level, so
    torch is imported only when a graph is exported.
    """
    import torch

    model.eval()

    class SentenceEmbedding(torch.nn.Module):
        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = dict(zip(names, inputs[: len(names)], strict=True))
            given = dict(zip(weights, inputs[len(names) :], strict=True))
            with _weights_given(model, given):
                out = model.forward(features)
            vectors = torch.nn.functional.normalize(out[OUTPUT], dim=-1)
            return vectors, out[TOKENS]

    return SentenceEmbedding().eval()


@contextmanager
def _weights_given(model: torch.nn.Module, given: Mapping[str, torch.Tensor]) -> Iterator[None]:
    """Run ``model`` on the tensors ``given`` (by parameter name) in place of its parameters.

    Swapped by identity in every module that holds one, so a weight shared by two modules
    (tied) is replaced in both. (`torch.func.functional_call` refuses to run under the tracer.)
    """
    named = dict(model.named_parameters())
    tensors = {id(named[name]): tensor for name, tensor in given.items()}
    swapped = []
    for module in model.modules():
        for leaf, parameter in list(module._parameters.items()):
            if parameter is not None and id(parameter) in tensors:
                module._parameters[leaf] = tensors[id(parameter)]  # type: ignore[assignment]
                swapped.append((module, leaf, parameter))
    try:
        yield
    finally:
        for module, leaf, parameter in swapped:
            module._parameters[leaf] = parameter


def export_graph(
    model: SentenceTransformer,
    folder: Path,
    source: str = "",
    bundle: Callable[[Path, Sequence[str]], None] | None = None,
) -> None:
    """Trace the model on a two-text probe (so padding is in the graph) into ``folder``.

    The weights go into the trace as inputs and are written once, straight from torch's
    tensors, into the weights file beside the graph (`_weights_beside`). Traced as
    constants, they were copied on the way there by the exporter's shape inference, its
    proto, that proto's bytes and their parse to move the weights out: 2.7 GB at the peak
    for the embedded model, against 0.9 GB to serve it (now 1.3 GB).

    Written in a temporary folder renamed at the end, so a killed export leaves nothing
    that looks finished.
    """
    import torch

    probe = model.preprocess(["query: probe", "passage: a longer probe, to pad the first"])
    names = [
        name
        for name, value in probe.items()
        if isinstance(value, torch.Tensor) and not value.is_floating_point()
    ]
    if "input_ids" not in names:
        raise ExportFailed("the model's tokenizer gives no input_ids")
    weights = {name: value.detach() for name, value in model.named_parameters()}
    if set(names) & set(weights):
        raise ExportFailed("a weight of the model has the name of a token input")
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {OUTPUT: {0: "batch"}}
    axes[TOKENS] = {0: "batch", 1: "tokens"}
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"{folder.name}.part-"))
    traced = temporary / "traced.onnx"
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow
            torch.onnx.export(
                _sentence_embedding(model, names, list(weights)),
                (*(probe[name].cpu() for name in names), *weights.values()),
                str(traced),
                input_names=[*names, *weights],
                output_names=[OUTPUT, TOKENS],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        _weights_beside(traced, temporary / GRAPH_FILE, weights)
        traced.unlink()
        (temporary / SOURCE_FILE).write_text(source, encoding="utf-8")
        if bundle is not None:
            bundle(temporary, names)
        temporary.rename(folder)
    except Exception as exc:  # noqa: BLE001 - the exporter fails in many ways; all mean one thing
        raise ExportFailed(f"{type(exc).__name__}: {exc}") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


# Tensors of this many bytes or more go to the weights file; smaller ones stay in the graph.
EXTERNAL_THRESHOLD = 1024


def _weights_beside(traced: Path, graph: Path, weights: Mapping[str, torch.Tensor]) -> None:
    """Turn the traced graph's weight inputs into initializers kept in WEIGHTS_FILE, each
    written from its torch tensor without a copy; a large constant the tracer kept in the
    graph goes there too. A weight the graph never reads is left out."""
    import onnx
    import torch

    proto = onnx.load(str(traced))  # small: the weights are inputs, not in it
    used = _consumed(proto.graph)
    inputs = [value for value in proto.graph.input if value.name not in weights]
    del proto.graph.input[:]
    proto.graph.input.extend(inputs)
    with (graph.parent / WEIGHTS_FILE).open("wb") as data:
        for initializer in proto.graph.initializer:
            if len(initializer.raw_data) >= EXTERNAL_THRESHOLD:
                _write_external(data, initializer, initializer.raw_data)
                initializer.ClearField("raw_data")
        for name, value in weights.items():
            if name not in used:
                continue
            tensor = proto.graph.initializer.add()
            tensor.name = name
            tensor.dims.extend(value.shape)
            tensor.data_type = _onnx_type(value)
            raw = value.cpu().contiguous().view(-1).view(torch.uint8).numpy()
            if len(raw) >= EXTERNAL_THRESHOLD:
                _write_external(data, tensor, raw.data)  # torch's memory, not a copy
            else:
                tensor.raw_data = raw.tobytes()
    onnx.save_model(proto, str(graph))


def _write_external(data: BinaryIO, tensor: onnx.TensorProto, raw: bytes | memoryview) -> None:
    """Append ``raw`` to the weights file and point ``tensor`` at it."""
    import onnx

    offset = data.tell()
    data.write(raw)
    tensor.data_location = onnx.TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", WEIGHTS_FILE), ("offset", offset), ("length", len(raw))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, str(value)


def _consumed(graph: onnx.GraphProto) -> set[str]:
    """The names the graph's nodes read, in subgraphs too (a weight nothing reads is left out)."""
    import onnx

    names: set[str] = set()
    for node in graph.node:
        names.update(node.input)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                names |= _consumed(attribute.g)
            for subgraph in attribute.graphs:
                names |= _consumed(subgraph)
    return names


def _onnx_type(value: torch.Tensor) -> int:
    """The ONNX element type of a weight; its raw bytes are written as torch holds them."""
    import onnx
    import torch

    types = {
        torch.float32: onnx.TensorProto.FLOAT,
        torch.float16: onnx.TensorProto.FLOAT16,
        torch.bfloat16: onnx.TensorProto.BFLOAT16,
        torch.float64: onnx.TensorProto.DOUBLE,
    }
    if value.dtype not in types:
        raise ExportFailed(f"a weight of type {value.dtype} cannot be written to the graph")
    return types[value.dtype]
