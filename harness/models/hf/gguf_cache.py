"""Convert a GGUF file to a transformers folder once, keyed by the file's sha256, so later loads take seconds.

transformers dequantizes GGUF tensors and converts the tokenizer on every load (25-95 s on 2 cores); a
folder saved with save_pretrained loads in a few seconds.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from harness.paths import cache_root


def file_sha256(path: Path, cache_dir: str | Path | None = None) -> str:
    """sha256 of a file, remembered in the cache by (path, size, mtime) so big files hash once."""
    stat = path.stat()
    memo_file = cache_root(cache_dir) / "gguf" / "sha256.json"
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    memo[key] = digest.hexdigest()
    memo_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(memo, indent=1))
    os.replace(tmp, memo_file)
    return memo[key]


def converted_folder(gguf_path: Path, cache_dir: str | Path | None = None) -> tuple[Path, str]:
    """A transformers folder for the GGUF file (converted on first use, kept under the cache root) and the
    file's sha256."""
    sha = file_sha256(gguf_path, cache_dir)
    folder = cache_root(cache_dir) / "converted" / sha[:32]
    if (folder / "config.json").is_file() and (folder / "evalh-source.json").is_file():
        return folder, sha
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    staging = folder.with_name(folder.name + f".{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "evalh-source.json").write_text(json.dumps(
        {"gguf": str(gguf_path), "sha256": sha}
    ))
    del model
    if folder.exists():  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    else:
        os.replace(staging, folder)
    return folder, sha
