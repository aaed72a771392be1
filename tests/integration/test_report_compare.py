"""`evalh compare` end to end with the fake model: no change, a planted 20% degradation, and mismatches."""
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from scipy import stats

from harness.cli import main
from harness.models.fake import create, fake_logprob, unit_hash
from harness.paths import builtin_tasks_dir
from harness.report.compare import compare_runs
from harness.report.loading import load_runs
from harness.results import read_result
from harness.requests import Loglikelihood

TASKS = "starter_mc,starter_bias_pairs,starter_translation_en_de,starter_summarization"


def mc_rows() -> list[dict]:
    path = builtin_tasks_dir() / "starter" / "data" / "mc.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_answers(path: Path) -> Path:
    """context -> correct continuation for starter_mc (its prompt and target delimiter)."""
    answers = {f"Question: {r['question']}\nAnswer:": " " + r["choices"][r["answer"]] for r in mc_rows()}
    path.write_text(json.dumps(answers), encoding="utf-8")
    return path


def planted(wrong: float) -> list[str]:
    """The sample ids the knowing fake gets wrong on purpose (computed independently of the fake)."""
    return [r["id"] for r in mc_rows() if unit_hash("0", "wrong", f"Question: {r['question']}\nAnswer:") < wrong]


def evalh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    answers = write_answers(root / "answers.json")
    out = {}
    for name, model, extra in (("base", f"fake:answers={answers}", []), ("again", f"fake:answers={answers}", []),
                               ("worse", f"fake:answers={answers};wrong=0.2", []),
                               ("limited", f"fake:answers={answers}", ["--limit", "20"])):
        code, text = evalh("run", "-m", model, "-t", TASKS, "--output-dir", str(root / name), *extra)
        assert code == 0, text
        out[name], = (root / name).iterdir()
    return out


def test_knowing_fake_option(tmp_path):
    fake = create(f"answers={write_answers(tmp_path / 'answers.json')};wrong=0.2")
    context = "Question: What is the capital of France?\nAnswer:"
    (paris, greedy), (berlin, _) = fake.loglikelihood([Loglikelihood(context, " Paris"), Loglikelihood(context, " Berlin")])
    assert (paris, greedy) == ((-50.0, False) if fake.answers_wrong(context) else (-0.01, True))
    assert berlin == fake_logprob(context, " Berlin")[0] - 1.0
    plain = create("")
    assert plain.loglikelihood([Loglikelihood(context, " Paris")])[0] == fake_logprob(context, " Paris")
    assert plain.info().fingerprint == "fake:seed=0" and "wrong=0.2" in fake.info().fingerprint
    with pytest.raises(Exception, match="bad fake option 'wrong=2'"):
        create("wrong=2")


def test_planted_degradation_is_exact(runs):
    wrong = planted(0.2)
    assert 5 <= len(wrong) <= 15  # ~20% of 48
    base, worse = read_result(runs["base"]), read_result(runs["worse"])
    assert base.tasks["starter_mc"].metrics["acc"].value == 1.0
    assert worse.tasks["starter_mc"].metrics["acc"].value == pytest.approx(1 - len(wrong) / 48)


def test_same_model_twice_is_no_regression(runs):
    code, text = evalh("compare", str(runs["base"]), str(runs["again"]))
    assert code == 0, text
    assert "verdict: no regression (0 improvement(s), 4 unchanged)" in text
    assert text.count("no detectable change") == 4 and "changed items" not in text


def test_planted_regression_exits_1_and_lists_the_flips(runs, tmp_path):
    wrong = planted(0.2)
    code, text = evalh("compare", str(runs["base"]), str(runs["worse"]), "--markdown", str(tmp_path / "c.md"),
                       "--junit", str(tmp_path / "c.xml"))
    assert code == 1, text
    assert "verdict: REGRESSION in 1 task(s): starter_mc" in text
    assert "starter_mc (fake:answers=" in text and f"{len(wrong)} item(s) worse, 0 better" in text
    listed = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  mc-")]
    assert sorted(listed) == wrong
    suite = ET.parse(tmp_path / "c.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")
    failed, = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed.get("name") == "starter_mc.acc" and sorted(
        line.split(":")[0] for line in failed.find("failure").text.splitlines()) == wrong
    assert "❌ regression" in (tmp_path / "c.md").read_text()


def test_p_values_match_the_binomial_reference(runs):
    result = compare_runs(load_runs([str(runs["base"])]), load_runs([str(runs["worse"])]))
    mc = next(r for r in result.rows if r.task == "starter_mc")
    k = len(planted(0.2))
    assert mc.result.test == "mcnemar-exact" and mc.lost == k and mc.gained == 0
    assert mc.result.p_value == pytest.approx(stats.binomtest(0, k, 0.5).pvalue) == pytest.approx(2 * 0.5**k)
    assert mc.p_holm == pytest.approx(min(1.0, 4 * 2 * 0.5**k))  # 4 tasks; the others are identical (p = 1)
    assert mc.result.delta == pytest.approx(-k / 48)
    others = [r for r in result.rows if r.task != "starter_mc"]
    # pct_stereotype is best at 0.5: its test is of the change in distance to 0.5
    assert [r.result.test for r in others] == ["paired-bootstrap-distance-to-0.5", "paired-bootstrap-corpus",
                                               "paired-bootstrap-mean"]
    assert all(r.result.p_value == 1.0 and r.result.delta == 0 and r.note == "" for r in others)
    assert others[1].metric == "bleu" and others[1].base_value == read_result(runs["base"]).tasks[
        "starter_translation_en_de"].metrics["bleu"].value  # recomputed from samples: identical, so no note


def test_max_drop_tolerates_a_small_drop(runs):
    code, text = evalh("compare", str(runs["base"]), str(runs["worse"]), "--max-drop", "0.5")
    assert code == 0 and "significant drop within --max-drop 0.5" in text


def test_different_data_is_an_error_not_a_comparison(runs):
    code, text = evalh("compare", str(runs["base"]), str(runs["limited"]))
    assert code == 2 and "dataset fingerprint" in text and "48 vs 20 rows used" in text


def test_changed_prompts_and_versions_are_errors(runs, tmp_path):
    edited = shutil.copytree(runs["again"], tmp_path / "edited")
    lines = (edited / "samples.jsonl").read_text().splitlines()
    record = json.loads(lines[3])
    record["prompt_hash"] = "0" * 16
    lines[3] = json.dumps(record)
    (edited / "samples.jsonl").write_text("\n".join(lines) + "\n")
    code, text = evalh("compare", str(runs["base"]), str(edited))
    assert code == 2 and "1 item(s) were asked differently" in text and record["sample_id"] in text
    result = json.loads((edited / "results.json").read_text())
    result["tasks"]["starter_mc"]["version"] = "2"
    (edited / "results.json").write_text(json.dumps(result))
    code, text = evalh("compare", str(runs["base"]), str(edited), "-t", "starter_mc")
    assert code == 2 and "task starter_mc" in text and "task version 1 vs 2" in text
    (edited / "samples.jsonl").unlink()
    code, text = evalh("compare", str(runs["base"]), str(edited))
    assert code == 2 and "no samples.jsonl" in text
    code, text = evalh("compare", str(runs["base"]), str(tmp_path / "missing"))
    assert code == 2 and "no evalh run found" in text
