"""A task that declares `cluster:` gets clustered standard errors in results.json and a cluster bootstrap in
`evalh compare`; the numbers equal statsmodels' cluster-robust OLS on the written per-sample scores."""
import json
import shutil

import numpy as np
import pytest
import statsmodels.api as sm
from click.testing import CliRunner

from harness.cli import main
from harness.paths import builtin_tasks_dir
from harness.report.compare import compare_runs
from harness.report.loading import load_runs


def clustered_task(folder):
    """starter_mc with its 48 questions in clusters of four consecutive ids."""
    (folder / "data").mkdir(parents=True)
    shutil.copy(builtin_tasks_dir() / "starter" / "data" / "mc.jsonl", folder / "data" / "mc.jsonl")
    spec = (builtin_tasks_dir() / "starter" / "starter_mc.yaml").read_text()
    spec = spec.replace("name: starter_mc", "name: clustered_mc").replace("metrics: [acc, acc_norm]",
                                                                        "metrics: [acc, acc_norm]\ncluster: "
                                                                        "\"{{id[3:5]}}\"\nbreakdown: "
                                                                        "\"{{id[4] in '02468'}}\"")
    (folder / "clustered_mc.yaml").write_text(spec)
    return folder


def test_clustered_errors_in_results_and_compare(tmp_path):
    tasks = clustered_task(tmp_path / "tasks")
    for name in ("a", "b"):
        result = CliRunner().invoke(main, ["run", "-m", "fake" if name == "a" else "fake:seed=3", "-t", "clustered_mc",
                                           "--include-path", str(tasks), "--output-dir", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    run, = (tmp_path / "a").iterdir()
    value = json.loads((run / "results.json").read_text())["tasks"]["clustered_mc"]["metrics"]["acc"]
    samples = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    y = np.array([s["scores"]["acc"] for s in samples])
    groups = np.array([int(s["row"]["id"][3:5]) for s in samples])
    fit = sm.OLS(y, np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    naive = sm.OLS(y, np.ones((len(y), 1))).fit()
    assert value["stderr"] == pytest.approx(float(fit.bse[0]), rel=1e-9)
    assert value["stderr_naive"] == pytest.approx(float(naive.bse[0]), rel=1e-9)
    assert value["design_effect"] == pytest.approx(float(fit.bse[0] / naive.bse[0]) ** 2, rel=1e-9)
    assert value["method"] == "wilson+cluster" and value["details"]["clusters"] == len(set(groups))
    assert 0.0 <= value["ci_low"] <= value["value"] <= value["ci_high"] <= 1.0
    breakdown = json.loads((run / "results.json").read_text())["tasks"]["clustered_mc"]["breakdown"]
    assert sorted(breakdown) == ["False", "True"]
    for group, metrics in breakdown.items():  # subgroups (even and odd ids) get clustered errors too
        assert metrics["acc"]["method"] == "wilson+cluster" and metrics["acc"]["stderr_naive"] is not None, group
    result = compare_runs(load_runs([str(tmp_path / "a")]), load_runs([str(tmp_path / "b")]))
    row, = result.rows
    assert row.result.test == "paired-bootstrap-clustered"
    assert (row.result.ci_low <= 0 <= row.result.ci_high) == (row.verdict == "no detectable change")
