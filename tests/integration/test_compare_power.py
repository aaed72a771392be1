"""`evalh compare` prints an interval and a verdict that agree, the minimum detectable effect, and flags
underpowered comparisons; `evalh plan` sizes a comparison by the closed-form McNemar formula."""
import hashlib
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from scipy import stats

from harness.cli import main
from harness.metrics import get_metric
from harness.metrics.base import mean_value
from harness.models.base import ModelInfo
from harness.results import DatasetInfo, RunResult, SampleRecord, TaskResult, write_result


def evalh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def write_run(folder: Path, model: str, task: str, metric: str, scores: list[float]) -> Path:
    """A run folder whose results are computed from `scores` by the real metric (same items in every run)."""
    folder.mkdir(parents=True)
    samples = [SampleRecord(task=task, sample_id=f"{task}-{i:03d}", index=i, prompt=f"item {i}",
                            prompt_hash=hashlib.sha256(f"{task}|{i}".encode()).hexdigest()[:16],
                            choices=["a", "b"], logprobs=[-1.0, -2.0], scores={metric: s}, row={"id": i})
               for i, s in enumerate(scores)]
    fingerprint = hashlib.sha256(json.dumps(len(scores)).encode()).hexdigest()[:16]
    value = mean_value(scores, get_metric(metric).semantics, seed=0)
    result = RunResult(run_id=folder.name, created_at="2025-01-01T00:00:00+00:00", evalh_version="test",
                       config={}, model=ModelInfo(name=model, adapter="test", source="test", fingerprint=model),
                       tasks={task: TaskResult(name=task, version="1", output_type="multiple_choice",
                                               groups=["bias"] if metric == "pct_stereotype" else [],
                                               metrics={metric: value},
                                               dataset=DatasetInfo(source="test", fingerprint=fingerprint,
                                                                   rows_total=len(scores), rows_used=len(scores)),
                                               seconds=1.0)})
    (folder / "samples.jsonl").write_text("\n".join(s.model_dump_json() for s in samples) + "\n")
    write_result(folder, result)
    return folder


def table_row(text: str, task: str) -> dict[str, str]:
    """The compare table's row of `task`, by column name (columns are separated by two or more spaces)."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("model "))
    names = [c for c in lines[head].split("  ") if c.strip()]
    row = next(line for line in lines[head + 1:] if f"  {task}  " in line)
    return dict(zip([n.strip() for n in names], [c.strip() for c in row.split("  ") if c.strip()]))


def interval(cell: str) -> tuple[float, float]:
    low, high = cell.strip("[]").split(", ")
    return float(low), float(high)


def test_compare_48_items_drop_of_half_interval_verdict_and_mde_agree(tmp_path):
    base = write_run(tmp_path / "base", "m", "mc", "acc", [1.0] * 48)
    cand = write_run(tmp_path / "cand", "m", "mc", "acc", [0.0] * 24 + [1.0] * 24)
    code, text = evalh("compare", str(base), str(cand))
    assert code == 1, text
    row = table_row(text, "mc")
    assert row["delta"] == "-0.5000" and row["test"] == "mcnemar-exact" and row["verdict"] == "REGRESSION"
    low, high = interval(row["95% CI"])
    # exact: Clopper-Pearson for 0 gained of 24 discordant, mapped to 24/48 * (2q - 1)
    q_high = 1 - 0.025 ** (1 / 24)
    assert (low, high) == (pytest.approx(-0.5, abs=1e-4), pytest.approx(0.5 * (2 * q_high - 1), abs=1e-4))
    assert high < 0  # the interval excludes 0, as the verdict says
    assert float(row["p"]) == pytest.approx(2 * 0.5**24, rel=1e-2)
    # minimum detectable effect at 80% power for n = 48 and discordance 1/2 (Connor's formula solved for delta)
    mde = float(row["MDE (80%)"])
    z_a, z_b = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    assert math.sqrt(48) * mde == pytest.approx(z_a * math.sqrt(0.5) + z_b * math.sqrt(0.5 - mde**2), abs=1e-2)
    assert "underpowered" not in text


def test_compare_10_items_is_flagged_underpowered_and_its_interval_includes_0(tmp_path):
    base = write_run(tmp_path / "base", "m", "mc", "acc", [1.0] * 10)
    cand = write_run(tmp_path / "cand", "m", "mc", "acc", [0.0] * 5 + [1.0] * 5)
    code, text = evalh("compare", str(base), str(cand))
    assert code == 0, text
    row = table_row(text, "mc")
    assert row["delta"] == "-0.5000" and float(row["p"]) == pytest.approx(0.0625)
    assert row["verdict"] == "no detectable change (underpowered)"
    low, high = interval(row["95% CI"])
    assert low < 0 <= high  # no verdict, and an interval that does not exclude 0 either
    assert "underpowered: 10 item(s) cannot detect" in text


def test_plan_prints_the_closed_form_number_of_items():
    code, text = evalh("plan", "--baseline-acc", "0.6", "--drop", "0.02", "--power", "0.8")
    assert code == 0, text
    # Connor (1987): n = (z_{1-a/2} sqrt(psi) + z_power sqrt(psi - d^2))^2 / d^2, with the discordance psi of
    # independent errors at accuracies 0.6 and 0.58
    psi = 0.6 * (1 - 0.58) + 0.58 * (1 - 0.6)
    z_a, z_b = stats.norm.ppf(1 - 0.05 / 2), stats.norm.ppf(0.8)
    expected = math.ceil((z_a * math.sqrt(psi) + z_b * math.sqrt(psi - 0.02**2)) ** 2 / 0.02**2)
    assert text.splitlines()[0] == f"items needed: {expected}"
    code, text = evalh("plan", "--discordance", "0.1", "--drop", "0.02")
    expected = math.ceil((z_a * math.sqrt(0.1) + z_b * math.sqrt(0.1 - 0.02**2)) ** 2 / 0.02**2)
    assert code == 0 and text.splitlines()[0] == f"items needed: {expected}"


@pytest.mark.parametrize("args,message", [
    (["--drop", "0.02"], "give --baseline-acc or --discordance"),
    (["--baseline-acc", "0.01", "--drop", "0.02"], "--drop 0.02 is larger than --baseline-acc 0.01"),
    (["--discordance", "0.01", "--drop", "0.02"], "discordance 0.01 must be at least the drop 0.02"),
])
def test_plan_bad_input_names_the_value(args, message):
    code, text = evalh("plan", *args)
    assert code == 2 and message in text
