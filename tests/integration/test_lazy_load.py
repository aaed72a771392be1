"""Lazy loading of transformers models: a run answered by the response cache never loads the weights.

Uses the packaged `tiny-random` model (1M parameters, a GGUF converted once under evalh's cache), so each
test loads transformers once and a model in about a second.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.errors import ModelError
from harness.evaluation import evaluate
from harness.models import packaged
from harness.models.hf import identity as hf_identity
from harness.models.resolve import LoadOptions, load_model
from harness.requests import Loglikelihood

pytestmark = pytest.mark.skipif(not packaged.is_installed(packaged.PACKAGED["tiny-random"]),
                                reason="tiny-random not installed: " + packaged.PACKAGED["tiny-random"].install_hint)
OPTIONS = LoadOptions(dtype="float32", batch_size=4)
REQUESTS = [Loglikelihood("The capital of France is", " Paris"), Loglikelihood("", "Hello there")]


def _identity_from_loaded(model) -> dict:
    """What today's eager adapter read from the loaded model, for comparison with the files' answer."""
    return {"parameters": sum(p.numel() for p in model.model.parameters()), "context_length": model._max_length(),
            "architecture": type(model.model).__name__, "revision": getattr(model.model.config, "_commit_hash", None)}


def _tiny_folder(tmp_path: Path) -> Path:
    """A plain transformers folder: a copy of tiny-random's converted folder."""
    from harness.models.hf.gguf_cache import converted_folder

    source, _ = converted_folder(packaged.locate("tiny-random"))
    return Path(shutil.copytree(source, tmp_path / "tiny"))


@pytest.mark.parametrize("spec", ["tiny-random", "folder"])
def test_info_is_the_same_before_and_after_load_and_matches_the_loaded_model(tmp_path, spec):
    name = str(_tiny_folder(tmp_path)) if spec == "folder" else spec
    model = load_model(name, OPTIONS)
    before = model.info()
    assert not model.weights_loaded
    scores = model.loglikelihood(REQUESTS)
    assert model.weights_loaded and model.info() == before
    loaded = _identity_from_loaded(model)
    assert (before.parameters, before.context_length, before.extra["architecture"], before.revision) == (
        loaded["parameters"], loaded["context_length"], loaded["architecture"], loaded["revision"])
    assert load_model(name, OPTIONS).loglikelihood(REQUESTS) == scores


def test_eager_load_reports_the_same_info(tmp_path, monkeypatch):
    """A folder the files cannot describe loads at once; its identity, read from the model, is the same."""
    folder = _tiny_folder(tmp_path)
    lazy = load_model(str(folder), OPTIONS)
    monkeypatch.setattr(hf_identity, "read_folder", lambda folder: None)
    eager = load_model(str(folder), OPTIONS)
    assert eager.weights_loaded and eager.info() == lazy.info()


def test_batch_size_auto_is_measured_when_the_weights_load():
    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size="auto"))
    assert not model.weights_loaded
    assert model.batch_size >= 1 and model.weights_loaded


def test_a_folder_that_cannot_load_fails_with_a_model_error_at_first_use(tmp_path):
    folder = _tiny_folder(tmp_path)
    (folder / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes()[:4096])
    model = load_model(str(folder), OPTIONS)
    with pytest.raises(ModelError, match=f"model '{folder}': loading {folder} failed"):
        model.loglikelihood(REQUESTS)


class _Loader:
    """load_model, remembering every model it returned."""

    def __init__(self) -> None:
        self.models: list = []

    def __call__(self, name: str, options: LoadOptions):
        self.models.append(load_model(name, options))
        return self.models[-1]


def _run(tmp_path: Path, label: str, limit: int, cache_dir: Path) -> tuple[dict, list[dict], object]:
    loader = _Loader()
    config = RunConfig(models=["tiny-random"], tasks=["starter_mc"], limit=limit, dtype="float32", batch_size=4,
                       cache=True, cache_dir=str(cache_dir), output_dir=str(tmp_path / label))
    evaluation = evaluate(config, load=loader)
    assert evaluation.ok, evaluation.errors
    (run_dir, _result), = evaluation.runs
    result = json.loads((run_dir / "results.json").read_text())
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return result, samples, loader.models[0]


def test_warm_cache_run_loads_nothing_and_gives_the_cold_results(tmp_path):
    cold, cold_samples, cold_model = _run(tmp_path, "cold", 8, tmp_path / "cache")
    warm, warm_samples, warm_model = _run(tmp_path, "warm", 8, tmp_path / "cache")
    assert cold_model.weights_loaded and cold["timings"]["cache_misses"] > 0
    assert not warm_model.weights_loaded and warm_model._tokenizer is None
    assert warm["timings"]["cache_misses"] == 0 and warm["timings"]["cache_hits"] == cold["timings"]["cache_misses"]
    assert warm["model"] == cold["model"]
    assert warm["tasks"]["starter_mc"]["metrics"] == cold["tasks"]["starter_mc"]["metrics"]
    assert warm_samples == cold_samples


def test_one_new_item_loads_the_model_and_computes_only_its_requests(tmp_path):
    first, _, _ = _run(tmp_path, "first", 4, tmp_path / "cache")
    grown, grown_samples, model = _run(tmp_path, "grown", 5, tmp_path / "cache")
    reference, reference_samples, _ = _run(tmp_path, "reference", 5, tmp_path / "fresh-cache")
    new_item = grown_samples[4]
    assert model.weights_loaded
    assert grown["timings"]["cache_hits"] == first["timings"]["cache_misses"]
    assert grown["timings"]["cache_misses"] == len(new_item["choices"])  # one request per choice of item 5
    assert grown_samples == reference_samples
    assert grown["tasks"]["starter_mc"]["metrics"] == reference["tasks"]["starter_mc"]["metrics"]


def test_a_gguf_file_is_converted_at_first_use_not_when_the_adapter_is_built(tmp_path):
    options = LoadOptions(dtype="float32", batch_size=4, cache_dir=str(tmp_path / "cache"))
    model = load_model("tiny-random", options)
    assert not (tmp_path / "cache" / "converted").exists()  # identity from the file's header alone
    before = model.info()
    scores = model.loglikelihood(REQUESTS)
    assert [p.name for p in (tmp_path / "cache" / "converted").iterdir()] == [before.extra["gguf_sha256"][:32]]
    assert model.info() == before and load_model("tiny-random", options).info() == before
    assert scores == load_model("tiny-random", OPTIONS).loglikelihood(REQUESTS)


@pytest.mark.parametrize("alias", [a for a in ("smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b")
                                   if packaged.is_installed(packaged.PACKAGED[a])])
def test_a_gguf_header_gives_the_converted_models_identity(alias):
    """Parameters, context length and class from the header equal the converted folder's (one per GGUF
    architecture evalh reads headers of: llama, gemma3, qwen2). Converts once, into the shared cache."""
    from harness.models.hf.gguf_cache import converted_folder

    gguf = packaged.locate(alias)
    facts, label = hf_identity.read_gguf(gguf)
    folder, _ = converted_folder(gguf)
    assert facts == hf_identity.read_folder(folder) and label == packaged.PACKAGED[alias].size_label
