"""Run an embedding model's transformer through ONNX Runtime instead of PyTorch.

sentence-transformers' own ONNX backend needs `optimum-onnx`, which cannot be
installed beside the transformers this stack requires (README "Speed"). The model's
transformer is therefore exported here with `torch.onnx.export` (its dynamo
exporter, which handles EmbeddingGemma's bidirectional mask), once per model, and
cached; the model's tokenizer, prompts, pooling, dense layers and normalization
stay sentence-transformers' own, so vectors are the same model's.

Backends (`SANAD_EMBEDDING_BACKEND`):

- ``torch``: sentence-transformers as it is;
- ``onnx``: the same weights in ONNX Runtime (vectors equal to torch's within
  float rounding);
- ``onnx-int8``: weights quantized to 8 bits after export (dynamic quantization):
  faster, and its vectors differ from the model's, so an index built with it is
  marked as built with another model.

Exporting needs the `onnx` extra (``pip install 'sanad[onnx]'``); ONNX Runtime
itself comes with chromadb.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from retrieval.errors import ModelUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["Backend", "backend_model_name", "exported_transformer", "run_on_onnx"]

log = logging.getLogger(__name__)

Backend = Literal["torch", "onnx", "onnx-int8"]

#: The transformer's inputs the export accepts, in order (those the tokenizer makes).
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Bumped when the export changes, so that cached exports are made again.
_EXPORT_VERSION = 1


def backend_model_name(name: str, backend: Backend) -> str:
    """The name vectors are recorded under: int8 vectors are not the model's own."""
    return f"{name}#int8" if backend == "onnx-int8" else name


def run_on_onnx(model: SentenceTransformer, name: str, backend: Backend, cache: Path) -> None:
    """Make `model` run its transformer in ONNX Runtime (exporting it on first use)."""
    try:
        import onnxruntime
    except ImportError as e:  # pragma: no cover - chromadb depends on it
        raise ModelUnavailable(_missing("onnxruntime")) from e
    path = exported_transformer(model, name, backend, cache)
    transformer = model[0]
    _free_weights(transformer)  # before ONNX Runtime loads its copy: a lower peak
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:
        raise ModelUnavailable(
            f"ONNX Runtime cannot load {path} ({e}): delete that folder to export the "
            "model again, or set SANAD_EMBEDDING_BACKEND=torch."
        ) from e
    wanted = [i.name for i in session.get_inputs()]
    output = getattr(transformer, "module_output_name", "token_embeddings")

    def forward(features: dict[str, Any], **_: Any) -> dict[str, Any]:
        import torch

        inputs = {k: features[k].cpu().numpy() for k in wanted}
        (tokens,) = session.run(None, inputs)
        features[output] = torch.from_numpy(tokens)
        return features

    transformer.forward = forward


def _free_weights(module: Any) -> None:
    """Release a module's PyTorch weights (ONNX Runtime holds its own copy); the
    module stays on the CPU, where sentence-transformers puts its inputs."""
    import torch

    for tensor in [*module.parameters(), *module.buffers()]:
        tensor.data = torch.empty(0, dtype=tensor.dtype)


def exported_transformer(
    model: SentenceTransformer, name: str, backend: Backend, cache: Path
) -> Path:
    """The model's transformer as an ONNX file under `cache`, exported if needed.

    A file counts once its ``.done`` marker is written: an interrupted export is
    made again, never loaded half-written.
    """
    key = hashlib.sha256(f"{name}|{_EXPORT_VERSION}".encode()).hexdigest()[:16]
    folder = cache / f"{_slug(name)}-{key}"
    fp32, int8 = folder / "model.onnx", folder / "model.int8.onnx"
    target = int8 if backend == "onnx-int8" else fp32
    if _done(target).is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    if not _done(fp32).is_file():
        _export(model, fp32)
        _mark_done(fp32, name)
    if backend == "onnx-int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice on pre-processing is for model authors
        try:
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        _mark_done(int8, name)
    return target


def _done(path: Path) -> Path:
    return path.with_name(path.name + ".done")


def _mark_done(path: Path, name: str) -> None:
    _done(path).write_text(json.dumps({"model": name}), encoding="utf-8")


def _export(model: SentenceTransformer, path: Path) -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs both)
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise ModelUnavailable(_missing("onnx and onnxscript")) from e
    import torch

    started = time.perf_counter()
    log.warning("exporting the embedding model to ONNX, once (a minute for a large model)")
    sample = model.preprocess(["a short sentence", "a somewhat longer sentence to export with"])
    names = [k for k in _INPUTS if k in sample]
    transformer = model[0].auto_model

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            run: Any = self.transformer
            out = run(input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **extra)
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    batch, length = torch.export.Dim("batch", max=4096), torch.export.Dim("length", max=8192)
    try:
        # The exporter warns about every graph rewrite it makes: not the user's concern.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Wrapped().eval(),
                args=(),
                kwargs={k: sample[k] for k in names},
                f=str(path),
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_shapes={k: {0: batch, 1: length} for k in names},
                dynamo=True,
                external_data=True,
                verbose=False,
            )
    except Exception as e:
        raise ModelUnavailable(
            f"Cannot export the embedding model to ONNX ({type(e).__name__}: {e}); "
            "set SANAD_EMBEDDING_BACKEND=torch."
        ) from e
    log.warning("exported in %.0f s to %s", time.perf_counter() - started, path)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(name).name)[:60]


def _missing(what: str) -> str:
    return (
        f"The ONNX backend needs {what}: pip install 'sanad[onnx]', "
        "or set SANAD_EMBEDDING_BACKEND=torch."
    )
