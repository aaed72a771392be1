"""lm-eval's command-line spellings accepted by `evalh run`: --model hf --model_args, --num_fewshot,
--output_path, --log_samples, --batch_size and a fractional --limit."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.results import read_result, read_samples

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    return CliRunner().invoke(main, ["run", *args])


def test_lm_eval_flags_with_the_fake_model(tmp_path):
    out = run("--model", "fake", "--tasks", "starter_mc", "--num_fewshot", "0", "--batch_size", "4",
              "--output_path", str(tmp_path / "out"), "--log_samples", "--limit", "0.1")
    assert out.exit_code == 0, out.output
    run_dir = next((tmp_path / "out").iterdir())
    result = read_result(run_dir)
    task = result.tasks["starter_mc"]
    assert task.dataset.rows_total == 48 and task.metrics["acc"].n == 5  # ceil(48 * 0.1), as lm-eval
    assert (result.config["batch_size"], result.config["num_fewshot"], result.config["limit"]) == (4, 0, 0.1)
    assert len(read_samples(run_dir)) == 5


@pytest.mark.parametrize("args, message", [
    (["--model_args", "pretrained=x,colour=blue"], "model_args: unknown key 'colour'"),
    (["--model_args", "max_length=long"], "model_args: max_length='long' is not a positive whole number"),
    (["--model_args", "trust_remote_code=maybe"], "model_args: trust_remote_code='maybe' is not true or false"),
    (["-m", "fake", "--model-args", "pretrained=x"], "model_args pretrained=x needs --model hf (got --model fake)"),
    (["-m", "hf", "--model_args", "pretrained=x,dtype=float32", "--dtype", "bfloat16"],
     "model_args dtype=float32 conflicts with --dtype bfloat16"),
    (["-m", "fake", "--limit", "1.5"], "option 'limit' (from command line)"),
    (["-m", "fake", "--model_args", "revision=main"],
     "model 'fake': --model_args (revision) apply to transformers (hf) models only"),
])
def test_bad_lm_eval_spellings_are_named(tmp_path, args, message):
    out = run(*args, "-t", "starter_mc", "--output-dir", str(tmp_path))
    assert out.exit_code == 2 and message in out.output, out.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_peft_adapter_without_the_peft_package_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real_find_spec(name, *a))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    out = run("--model", "hf", "--model_args", f"pretrained={folder},peft={tmp_path / 'adapter'}", "-t", "starter_mc",
              "--output-dir", str(tmp_path / "runs"))
    assert out.exit_code == 2
    assert f"peft={tmp_path / 'adapter'} needs the 'peft' package, which is not installed" in out.output


def test_a_peft_adapter_scores_as_the_model_with_the_adapter_merged(tmp_path):
    """tiny-random plus a LoRA adapter with non-zero weights: evalh with `peft=ADAPTER` gives the
    log-likelihoods of the model whose weights have the adapter merged in (computed by peft itself), not the
    base model's, and has another fingerprint than the base model."""
    peft = pytest.importorskip("peft")
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    from harness.models import packaged
    from harness.models.hf.gguf_cache import converted_folder
    from harness.models.resolve import LoadOptions, load_model
    from harness.requests import Loglikelihood

    if not packaged.is_installed(packaged.PACKAGED["tiny-random"]):
        pytest.skip("tiny-random not installed: " + packaged.PACKAGED["tiny-random"].install_hint)
    base = Path(shutil.copytree(converted_folder(packaged.locate("tiny-random"))[0], tmp_path / "base"))
    torch.manual_seed(0)
    lora = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32),
                               peft.LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                                               init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    lora.merge_and_unload().save_pretrained(tmp_path / "merged")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (base / name).is_file():
            shutil.copy(base / name, tmp_path / "merged" / name)

    requests = [Loglikelihood("The capital of France is", " Paris"), Loglikelihood("One, two,", " three")]
    options = LoadOptions(dtype="float32", batch_size=2)
    adapted = load_model(str(base), replace_args(options, peft=str(tmp_path / "adapter")))
    plain, merged = load_model(str(base), options), load_model(str(tmp_path / "merged"), options)
    with_adapter, without, reference = (m.loglikelihood(requests) for m in (adapted, plain, merged))
    assert adapted.info().fingerprint != plain.info().fingerprint
    assert all(abs(a[0] - b[0]) > 1e-3 for a, b in zip(with_adapter, without))  # the adapter changes the numbers
    assert all(abs(a[0] - r[0]) < 1e-4 for a, r in zip(with_adapter, reference)), (with_adapter, reference)


def replace_args(options, **model_args):
    from dataclasses import replace

    return replace(options, model_args=tuple(sorted(model_args.items())))
