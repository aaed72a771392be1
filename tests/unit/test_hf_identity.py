"""The transformers adapter's identity read from files: no weights loaded, no transformers imported."""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from harness.errors import ModelError
from harness.models import hf, hf_identity
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


def test_auto_device_and_dtype_are_what_torch_says():
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert hf_identity.resolve_device("auto") == device
    assert hf_identity.resolve_device("cpu") == "cpu"
    expected = "bfloat16" if device == "cpu" or torch.cuda.is_bf16_supported() else "float16"
    assert hf_identity.resolve_dtype("auto", device) == expected
    assert hf_identity.resolve_dtype("fp32", device) == "float32"
    with pytest.raises(ModelError, match="unknown dtype"):
        hf_identity.resolve_dtype("int3", device)


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
