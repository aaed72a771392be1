"""The transformers adapter's identity read from files: no weights loaded, no transformers imported."""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from harness.errors import ModelError
from harness.models.hf import model as hf
from harness.models.hf import identity as hf_identity
from harness.models.resolve import LoadOptions, load_model

CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "max_position_embeddings": 512,
          "tie_word_embeddings": True, "vocab_size": 10, "hidden_size": 4}
TENSORS = {"model.embed_tokens.weight": [10, 4], "model.norm.weight": [4], "model.layers.0.mlp.weight": [4, 8]}


def write_safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    """A valid safetensors file of zeros (float32): u64 header length, JSON header, data."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        size = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))


def make_folder(root: Path, config: dict | None = None, shapes: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(config or CONFIG))
    (root / "tokenizer.json").write_text('{"model": {"vocab": {"a": 0}}}')
    (root / "tokenizer_config.json").write_text('{"bos_token": "<s>"}')
    write_safetensors(root / "model.safetensors", shapes or TENSORS)
    return root


def test_read_folder_counts_parameters_from_safetensors_headers(tmp_path):
    facts = hf_identity.read_folder(make_folder(tmp_path / "m"))
    assert facts == hf_identity.FolderFacts(parameters=40 + 4 + 32, context_length=512, architecture="LlamaForCausalLM")


def test_read_folder_counts_tied_head_once_and_untied_head_twice(tmp_path):
    with_head = {**TENSORS, "lm_head.weight": [10, 4]}
    tied = hf_identity.read_folder(make_folder(tmp_path / "tied", shapes=with_head))
    untied = hf_identity.read_folder(make_folder(tmp_path / "untied", {**CONFIG, "tie_word_embeddings": False},
                                                 with_head))
    assert (tied.parameters, untied.parameters) == (76, 116)


def test_read_folder_sums_sharded_weights(tmp_path):
    folder = make_folder(tmp_path / "m")
    (folder / "model.safetensors").unlink()
    write_safetensors(folder / "model-00001-of-00002.safetensors", {"a": [10, 4]})
    write_safetensors(folder / "model-00002-of-00002.safetensors", {"b": [4, 8]})
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    assert hf_identity.read_folder(folder).parameters == 72


@pytest.mark.parametrize("change", ["no context length", "composite", "bin weights", "untold tie", "bad header",
                                    "no tokenizer"])
def test_read_folder_says_none_when_files_do_not_say_plainly(tmp_path, change):
    config = {k: v for k, v in CONFIG.items() if not (change == "no context length" and k == "max_position_embeddings")}
    if change == "composite":
        config["text_config"] = {"max_position_embeddings": 512}
    if change == "untold tie":
        config.pop("tie_word_embeddings")
    folder = make_folder(tmp_path / "m", config, {**TENSORS, "lm_head.weight": [10, 4]})
    if change == "bin weights":
        (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    if change == "bad header":
        (folder / "model.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{nope")
    if change == "no tokenizer":
        (folder / "tokenizer.json").unlink()
    assert hf_identity.read_folder(folder) is None


def test_auto_device_is_what_torch_says():
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert hf_identity.resolve_device("auto") == device
    assert hf_identity.resolve_device("cpu") == "cpu"
    assert hf_identity.resolve_dtype("fp32", device) == ("float32", "")
    with pytest.raises(ModelError, match="unknown dtype"):
        hf_identity.resolve_dtype("int3", device)


@pytest.mark.parametrize("flags, expected", [
    ("fpu avx2 avx512f avx512_bf16", "bfloat16"),          # Cooper Lake and later: native bf16
    ("fpu avx2 avx512f amx_bf16 amx_tile", "bfloat16"),      # Sapphire Rapids: AMX
    ("fpu avx2 avx512f avx512_vnni", "float32"),             # AVX-512 without bf16: emulated
    ("fpu avx avx2 fma", "float32"),                        # AVX2 only
    ("", "float32"),                                        # unknown CPU
])
def test_auto_dtype_on_a_cpu_is_bf16_only_where_it_is_native(monkeypatch, flags, expected):
    from harness import hardware

    monkeypatch.setattr(hardware, "cpu_flags", lambda *args: frozenset(flags.split()))
    name, reason = hf_identity.resolve_dtype("auto", "cpu")
    assert name == expected
    assert ("natively" in reason) == (expected == "bfloat16") and reason.startswith("auto: ")
    assert hf_identity.resolve_dtype("bfloat16", "cpu") == ("bfloat16", "")  # an explicit dtype is kept


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    from harness import hardware

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu amx_bf16 avx2\n\n"
                       "processor\t: 1\nflags\t\t: fpu\n")
    assert hardware.cpu_flags(cpuinfo) == {"fpu", "amx_bf16", "avx2"}
    assert hardware.cpu_model(cpuinfo) == "Test CPU"
    assert hardware.native_bf16(hardware.cpu_flags(cpuinfo)) and not hardware.native_bf16(frozenset({"avx2"}))
    assert hardware.cpu_flags(tmp_path / "missing") == frozenset()


def test_auto_dtype_on_a_gpu_follows_torch(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert hf_identity.resolve_dtype("auto", "cuda")[0] == "bfloat16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert hf_identity.resolve_dtype("auto", "cuda")[0] == "float16"


def test_revision_of_a_hub_cache_snapshot_folder(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert hf_identity.folder_revision(tmp_path / "snapshots" / commit) == commit
    assert hf_identity.folder_revision(tmp_path / "snapshots" / "main") is None
    assert hf_identity.folder_revision(tmp_path / "model") is None


def _fingerprint(folder: Path, dtype: str = "float32") -> str:
    model = load_model(str(folder), LoadOptions(dtype=dtype))
    assert not model.weights_loaded and model._tokenizer is None
    return model.info().fingerprint


def test_local_folder_identity_without_loading(tmp_path):
    """A synthetic folder is never loadable, so this also proves that nothing was loaded."""
    folder = make_folder(tmp_path / "m")
    model = load_model(str(folder), LoadOptions(dtype="float32", batch_size=4))
    info = model.info()
    assert not model.weights_loaded
    assert (info.parameters, info.context_length, info.extra["architecture"]) == (76, 512, "LlamaForCausalLM")
    assert (info.dtype, info.device, info.source, info.revision) == ("float32", "cpu", str(folder), None)
    assert model.batch_size == 4 and model.max_length == 512 and len(info.fingerprint) == 32


def test_fingerprint_moves_with_weights_tokenizer_dtype_and_scoring(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "m")
    base = _fingerprint(folder)
    assert _fingerprint(folder) == base
    assert _fingerprint(folder, "bfloat16") != base
    monkeypatch.setattr(hf, "SCORING_VERSION", "test")
    assert _fingerprint(folder) != base
    monkeypatch.undo()
    (folder / "tokenizer_config.json").write_text('{"bos_token": "<|s|>"}')
    tokenizer_changed = _fingerprint(folder)
    assert tokenizer_changed != base
    write_safetensors(folder / "model.safetensors", {**TENSORS, "extra": [3]})
    assert _fingerprint(folder) != tokenizer_changed


def test_hub_cache_snapshot_folder_reports_its_commit(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    model = load_model(str(make_folder(tmp_path / "snapshots" / commit)), LoadOptions(dtype="float32"))
    assert model.info().revision == commit and not model.weights_loaded


def test_bad_paths_fail_when_load_model_is_called(tmp_path):
    with pytest.raises(ModelError, match="GGUF file not found"):
        load_model(str(tmp_path / "missing.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        load_model(str(tmp_path / "empty"))
