"""`evalh rescore`: a run's metrics recomputed from samples.jsonl alone, with no model."""
from pathlib import Path

import pytest
import sacrebleu
import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.results import read_result, read_samples

REPO = Path(__file__).resolve().parents[2]

# one task per built-in metric family: choice (acc/acc_norm, mc2), extractive QA (EM/F1), BLEU/chrF, ROUGE,
# bias (pairs, BBQ, WinoBias, StereoSet), perplexity (rolling), code pass@k, filtered answers (gsm8k),
# classification (f1_macro, mcc)
TASKS = ("starter,wikitext,humaneval,bbq,gsm8k_cot,winobias,stereoset,truthfulqa_mc2,sst2")
FAMILIES = {"acc", "acc_norm", "mc2", "exact_match", "f1", "bleu", "chrf", "rouge1", "rougeL", "pct_stereotype",
            "likelihood_diff", "bbq_bias_ambig", "winobias_gap", "stereoset_icat", "word_perplexity",
            "bits_per_byte", "pass@1", "exact_match,flexible-extract", "f1_macro", "mcc"}


@pytest.fixture(autouse=True)
def no_model_loads(monkeypatch):
    """Rescoring never loads a model: every way to load one raises."""
    def refuse(*args, **kwargs):
        raise AssertionError("rescore loaded a model")

    monkeypatch.setattr("harness.models.resolve.load_model", refuse)
    monkeypatch.setattr("harness.models.resolve.create_hf", refuse)
    monkeypatch.setattr("harness.models.fake.FakeModel.__init__", refuse)


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(main, ["run", "-m", "fake", "-t", TASKS, "--data-dir", str(shared_data),
                                       "--limit", "4", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return next(out.iterdir())


def rescore(*args):
    return CliRunner().invoke(main, ["rescore", *map(str, args)])


def test_rescoring_a_run_reproduces_every_metric_exactly(fake_run, tmp_path):
    out = rescore(fake_run, "-o", tmp_path)
    assert out.exit_code == 0, out.output
    new_dir = next(tmp_path.iterdir())
    before, after = read_result(fake_run), read_result(new_dir)
    assert FAMILIES <= {m for task in before.tasks.values() for m in task.metrics}
    assert after.tasks.keys() == before.tasks.keys()
    for name, task in before.tasks.items():
        assert after.tasks[name].metrics == task.metrics, name  # values, stderrs, intervals, n, signatures
        assert after.tasks[name].breakdown == task.breakdown, name
    old_samples, new_samples = read_samples(fake_run), read_samples(new_dir)
    assert [(s.scores, s.details) for s in new_samples] == [(s.scores, s.details) for s in old_samples]
    assert after.config["rescored_from"]["run_id"] == before.run_id and after.run_id != before.run_id
    assert after.model == before.model


def test_a_changed_metric_option_gives_new_numbers_without_a_model(fake_run, tmp_path):
    task = yaml.safe_load((REPO / "tasks" / "starter" / "starter_translation_en_de.yaml").read_text())
    task["metric_options"] = {"bleu": {"trg_lang": "de"}, "chrf": {"char_order": 2, "word_order": 2}}
    task_file = tmp_path / "en_de_chrf_2.yaml"
    task_file.write_text(yaml.safe_dump(task))
    out = rescore(fake_run, "--task-file", task_file, "--metrics", "chrf", "-o", tmp_path / "out")
    assert out.exit_code == 0, out.output
    new_dir = next((tmp_path / "out").iterdir())
    before, after = read_result(fake_run), read_result(new_dir)
    # --metrics: only the tasks declaring chrf, with chrf alone
    assert {name: list(t.metrics) for name, t in after.tasks.items()} == {
        "starter_translation_en_de": ["chrf"], "starter_translation_en_fr": ["chrf"]}
    assert after.tasks["starter_translation_en_fr"].metrics["chrf"] == before.tasks["starter_translation_en_fr"].metrics["chrf"]
    samples = [s for s in read_samples(fake_run) if s.task == "starter_translation_en_de"]
    expected = sacrebleu.CHRF(char_order=2, word_order=2).corpus_score([s.response for s in samples],
                                                                       [[s.target[0] for s in samples]])
    chrf = after.tasks["starter_translation_en_de"].metrics["chrf"]
    assert chrf.value == pytest.approx(expected.score)
    assert chrf.value != pytest.approx(before.tasks["starter_translation_en_de"].metrics["chrf"].value)
    assert "|nc:2|nw:2|" in chrf.details["signature"]


def test_unknown_metric_is_named(fake_run, tmp_path):
    out = rescore(fake_run, "--metrics", "chrf,blue", "-o", tmp_path)
    assert out.exit_code == 1 and "--metrics blue: no task of run" in out.output


def test_rescore_of_a_folder_without_a_run_names_it(tmp_path):
    out = rescore(tmp_path)
    assert out.exit_code == 1 and f"{tmp_path / 'results.json'}: no such results file" in out.output
