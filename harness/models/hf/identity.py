"""What the transformers adapter reports about a model, read from its files instead of a loaded model.

`HFModel` builds its ModelInfo (fingerprint, parameters, context length, architecture, dtype, device) from
config.json, safetensors headers and tokenizer files, so a run whose responses are all in the response cache
never loads weights. Nothing here imports transformers; torch is imported only when a GPU could be present.
Where the files do not answer plainly (no safetensors, no context length in config.json, ...),
`read_folder` returns None and the adapter loads the model to find out, as it does for hub models.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ModelError

DTYPES = {"auto": "auto", "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
          "half": "float16", "fp32": "float32", "float32": "float32", "float": "float32"}
CONTEXT_ATTRIBUTES = ("n_positions", "max_position_embeddings", "n_ctx")
"""Config attributes that hold the context length, in the order they are tried."""
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "spiece.model", "vocab.json",
                   "vocab.txt", "merges.txt", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja",
                   "chat_template.json")
"""Files AutoTokenizer reads from a folder; their contents are the tokenizer's part of the fingerprint."""
_TOKENIZER_CORE = ("tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json", "vocab.txt")


@dataclass(frozen=True)
class FolderFacts:
    """What a loaded model would report, read from a transformers folder's files."""

    parameters: int
    context_length: int
    architecture: str


def resolve_device(device: str) -> str:
    """`auto` -> `cuda` when torch sees a GPU, else `cpu`; anything else as given."""
    if device != "auto":
        return device
    if _cpu_only_torch():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str) -> tuple[str, str]:
    """The torch dtype name for `--dtype`, and why `auto` chose it ("" for an explicit dtype).

    `auto` picks what the hardware computes natively: bfloat16 on GPUs that support it (else float16), and
    on CPUs with AMX or AVX512-BF16; float32 on other CPUs, where torch emulates bf16 (slower than float32).
    """
    name = DTYPES.get(dtype.lower())
    if name is None:
        raise ModelError(f"--dtype {dtype}: unknown dtype (choose from {', '.join(sorted(DTYPES))})")
    if name != "auto":
        return name, ""
    if device.startswith("cpu"):
        from harness import hardware

        if hardware.native_bf16():
            return "bfloat16", "auto: the CPU computes bf16 natively (AMX or AVX512-BF16)"
        return "float32", "auto: the CPU has no AMX or AVX512-BF16, so bf16 would be emulated (slower than float32)"
    import torch

    if torch.cuda.is_bf16_supported():
        return "bfloat16", f"auto: {device} supports bf16"
    return "float16", f"auto: {device} has no bf16; float16 instead"


def _cpu_only_torch() -> bool:
    """True when the installed torch is a CPU-only build, read from torch/version.py without importing torch
    (over a second on a small CPU). Such a build never sees a GPU (`torch.cuda.is_available()` is False)."""
    if "torch" in sys.modules:
        return False  # already imported: asking it costs nothing
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    try:
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text(encoding="utf-8")
    except OSError:
        return False
    return all(re.search(rf"^{name}\b[^=]*=\s*None\s*$", text, re.MULTILINE) for name in ("cuda", "hip"))


def read_folder(folder: Path) -> FolderFacts | None:
    """Parameter count, context length and architecture of a transformers folder, without loading it.

    None when the files do not say plainly: weights not in safetensors, no context length or architecture
    in config.json, a composite (`text_config`) model, no tokenizer files, a header that cannot be read.
    """
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        tensors = _safetensors_shapes(folder)
    except (OSError, ValueError, struct.error):
        return None
    if not isinstance(config, dict) or "text_config" in config or tensors is None:
        return None
    if not any((folder / name).is_file() for name in _TOKENIZER_CORE):
        return None
    context = next((config[a] for a in CONTEXT_ATTRIBUTES if config.get(a) is not None), None)
    architectures = config.get("architectures") or []
    if not isinstance(context, int) or len(architectures) != 1:
        return None
    if "lm_head.weight" in tensors:  # tied weights are one parameter once loaded
        tied = config.get("tie_word_embeddings")
        if tied is None:
            return None
        if tied:
            tensors.pop("lm_head.weight")
    parameters = sum(math.prod(shape) for shape in tensors.values())
    return FolderFacts(parameters=parameters, context_length=context, architecture=str(architectures[0]))


def _safetensors_shapes(folder: Path) -> dict[str, list[int]] | None:
    """Tensor name -> shape over the folder's safetensors weights (one file or an indexed set), or None."""
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        files = [single]
    elif index.is_file():
        files = [folder / name for name in sorted(set(json.loads(index.read_text())["weight_map"].values()))]
    else:
        return None
    shapes: dict[str, list[int]] = {}
    for path in files:
        with path.open("rb") as handle:  # a little-endian u64 header length, then the header as JSON
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        header.pop("__metadata__", None)
        shapes.update({name: entry["shape"] for name, entry in header.items()})
    return shapes


def read_gguf(path: Path) -> tuple[FolderFacts | None, str | None]:
    """What the transformers model converted from a GGUF file will report, and the file's nominal size
    (`general.size_label`), read from the file's header without converting it.

    Facts are None for an architecture whose transformers class is not known here (the adapter then converts
    the file to learn them). The parameter count is the header's tensor sizes: a file without `output.weight`
    ties the output layer to the embeddings, which a loaded model counts once as well.
    """
    from harness.models.hf.gguf_header import CAUSAL_LM_CLASSES, read_header

    try:
        header = read_header(path)
    except (OSError, ValueError, struct.error):
        return None, None
    meta = header.metadata
    label = meta.get("general.size_label")
    label = label if isinstance(label, str) and label else None
    architecture = meta.get("general.architecture")
    context = meta.get(f"{architecture}.context_length")
    name = str(meta.get("general.name", "")).lower()
    if architecture not in CAUSAL_LM_CLASSES or not isinstance(context, int) or "mistral" in name:
        return None, label  # transformers converts "llama" files named mistral into another class
    return FolderFacts(parameters=sum(header.tensor_elements.values()), context_length=context,
                       architecture=CAUSAL_LM_CLASSES[architecture]), label


def folder_revision(folder: Path) -> str | None:
    """The commit hash of a folder inside the Hugging Face cache (`.../snapshots/<hash>/`), as transformers
    reads it from the config file's path (`utils.hub.extract_commit_hash`); None for any other folder."""
    match = re.search(r"snapshots/([^/]+)/", (folder / "config.json").as_posix())
    return match.group(1) if match and re.fullmatch(r"[0-9a-f]{40}", match.group(1)) else None


def folder_digest(source: str) -> str:
    """Cheap identity of a local model folder: config/tokenizer contents plus weight file names and sizes."""
    folder = Path(source)
    if not folder.is_dir():
        return "hub"
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".txt", ".model"):
            digest.update(path.name.encode() + path.read_bytes())
        elif path.is_file():
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def tokenizer_digest(folder: Path | None) -> str:
    """sha256 over the tokenizer files of the folder that is loaded (a few ms even for a 30 MB tokenizer.json);
    `hub` for a hub model, whose commit hash (the revision) already pins its tokenizer."""
    if folder is None:
        return "hub"
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        if (folder / name).is_file():
            digest.update(f"{name}:{hashlib.sha256((folder / name).read_bytes()).hexdigest()};".encode())
    return digest.hexdigest()[:16]


def fingerprint(weights: str, dtype: str, tokenizer: str, scoring_version: str) -> str:
    """The response cache key of a model: changes with weights, tokenizer, revision, dtype and scoring code."""
    return hashlib.sha256(f"{weights}|{dtype}|tokenizer-{tokenizer}|scoring-{scoring_version}".encode()).hexdigest()[:32]


def check_peft(name: str, adapter: str | None) -> str | None:
    """The PEFT adapter to load on top of the model, checked before anything loads."""
    if adapter is None:
        return None
    if importlib.util.find_spec("peft") is None:
        raise ModelError(f"model '{name}': model_args peft={adapter} needs the 'peft' package, which is not "
                         "installed (pip install 'evalh[peft]')")
    return adapter
