"""gsm8k_cot: lm-eval's prompt, filters and exact match; on SmolLM2 the same generations and scores."""
from __future__ import annotations

import os

import pytest
import yaml

from harness.models.resolve import LoadOptions, load_model
from harness.runner import Runner
from harness.tasks.loader import build_index
from harness.tasks.schema import GenerationSpec
from tests.fixtures.scripted import ScriptedModel

METRICS = ("exact_match,strict-match", "exact_match,flexible-extract")


def _lm_eval_config() -> dict:
    import lm_eval

    path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k", "gsm8k-cot.yaml")
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_gsm8k_cot_scores_each_filter_and_keeps_what_it_extracted(shared_data):
    answers = iter([" 16 - 3 - 4 = 9. 9 * 2 = 18. The answer is 18.",  # right, both filters
                    " 2 + 1 = 3",  # right for flexible-extract only
                    " The answer is 1,200.",  # wrong (70000)
                    "",  # 0 tokens
                    " I cannot tell."])  # no number at all
    result, samples = Runner(ScriptedModel(lambda p: next(answers)), data_dir=shared_data, limit=5).run_task(
        build_index().tasks["gsm8k_cot"])
    assert [s.scores[METRICS[0]] for s in samples] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [s.scores[METRICS[1]] for s in samples] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert [s.details["filtered"]["strict-match"] for s in samples] == ["18", "[invalid]", "1,200", "[invalid]",
                                                                        "[invalid]"]
    assert [s.details["filtered"]["flexible-extract"] for s in samples] == ["18.", "3", "1,200.", "[invalid]",
                                                                            "[invalid]"]
    assert samples[0].response.endswith("The answer is 18.")  # the raw output is kept
    assert result.metrics[METRICS[0]].value == pytest.approx(0.2)
    assert result.metrics[METRICS[1]].value == pytest.approx(0.4)


def test_gsm8k_cot_prompt_is_lm_evals(shared_data):
    from jinja2 import Environment

    config = _lm_eval_config()
    model = ScriptedModel(lambda p: "")
    Runner(model, data_dir=shared_data, limit=2).run_task(build_index().tasks["gsm8k_cot"])
    env = Environment()
    text, target = env.from_string(config["doc_to_text"]), env.from_string(config["doc_to_target"])
    shots = "".join(text.render(**s) + " " + target.render(**s) + "\n\n" for s in config["fewshot_config"]["samples"])
    import json

    rows = [json.loads(line) for line in (shared_data / "openai/gsm8k/main/test.jsonl").open()][:2]
    assert model.prompts == [shots + text.render(**row) for row in rows]


@pytest.mark.slow
def test_gsm8k_cot_equals_lm_eval_on_smollm2(shared_data, tmp_path, monkeypatch):
    """Five items with a 96-token budget (lm-eval's task YAML with only max_gen_toks changed): identical
    generations, filtered answers and scores. The 50-item, full-budget run is benchmarks/compare_lm_eval.py."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    budget, limit = 96, 5
    model = load_model("smollm2", LoadOptions(dtype="float32", device="cpu", batch_size=8))
    spec = build_index().tasks["gsm8k_cot"]
    spec = spec.model_copy(update={"generation": GenerationSpec(until=spec.generation.until, max_tokens=budget)})
    result, samples = Runner(model, data_dir=shared_data, limit=limit).run_task(spec)

    config = {k: v for k, v in _lm_eval_config().items() if k not in ("dataset_path", "dataset_name", "tag")}
    config.update(task="evalh_gsm8k_cot_short", dataset_path="json", test_split="test",
                  dataset_kwargs={"data_files": {"test": str(shared_data / "openai/gsm8k/main/test.jsonl")}})
    config["generation_kwargs"] = {**config["generation_kwargs"], "max_gen_toks": budget}
    (tmp_path / "gsm8k_short.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # lm-eval runs `git describe` in the working directory
    lm = HFLM(pretrained=model.model, tokenizer=model.tokenizer, backend="causal", batch_size=8)
    output = lm_eval.simple_evaluate(model=lm, tasks=["evalh_gsm8k_cot_short"], limit=limit, log_samples=True,
                                     task_manager=TaskManager(include_path=str(tmp_path)))
    # lm-eval logs a document once per filter set; its raw generation is the same in each
    theirs = {t["doc_id"]: t["resps"][0][0] for t in output["samples"]["evalh_gsm8k_cot_short"]}
    assert [s.response for s in samples] == [theirs[k] for k in range(limit)]
    for metric in METRICS:
        assert result.metrics[metric].value == pytest.approx(output["results"]["evalh_gsm8k_cot_short"][metric])
    print({m: result.metrics[m].value for m in METRICS}, [s.details["filtered"] for s in samples])


def test_minerva_math500_prompt_is_lm_evals(shared_data):
    from harness.tasks.build import FewshotSampler, build_items
    from harness.tasks.datasets import load_rows

    spec = build_index().tasks["minerva_math500"]
    rows = load_rows(spec, data_dir=shared_data)[:3]
    sampler = FewshotSampler(list(spec.fewshot.examples), 4, 1234, "first_n", same_split=False)
    text = "Problem:\n{}\n\nSolution:".format  # lm-eval's minerva doc_to_text
    shots = "".join(text(s["problem"]) + " " + s["solution"] + "\n\n" for s in spec.fewshot.examples)
    items = build_items(spec, rows, sampler)
    assert [i.prompt for i in items] == [shots + text(row["problem"]) for row in rows]
    assert items[0].requests[0].until == ("Problem:",)
    assert len(rows) == 3 and items[0].references == (rows[0]["answer"],)


def test_minerva_math500_without_its_packages_is_a_clear_task_error(shared_data):
    import importlib.util

    from harness.errors import TaskError

    if importlib.util.find_spec("antlr4") and importlib.util.find_spec("math_verify"):
        pytest.skip("evalh[math] is installed")
    with pytest.raises(TaskError, match=r"evalh\[math\]"):
        Runner(ScriptedModel(lambda p: ""), data_dir=shared_data, limit=1).run_task(build_index().tasks["minerva_math500"])


def test_malformed_math_output_scores_zero_with_its_reason_and_the_run_goes_on(shared_data):
    """No number, unbalanced braces (in a box and in the final answer), 0 tokens, and LaTeX that does not parse:
    each item scores 0 on both metrics, samples.jsonl says what was extracted, and the task finishes."""
    pytest.importorskip("math_verify")
    outputs = iter(["I do not know.",
                    "So the answer is $\\boxed{\\frac{14}{3}$.",
                    "Final Answer: The final answer is $\\frac{1}{2$. I hope it is correct.",
                    "",
                    "Final Answer: The final answer is $\\sqrt{{}$. I hope it is correct."])
    result, samples = Runner(ScriptedModel(lambda p: next(outputs)), data_dir=shared_data, limit=5).run_task(
        build_index().tasks["minerva_math500"])
    assert [s.scores["exact_match"] for s in samples] == [0.0] * 5
    assert [s.scores["math_verify"] for s in samples] == [0.0] * 5
    extracted = [s.details["exact_match"]["extracted"] for s in samples]
    assert extracted[:2] + extracted[3:4] == ["[invalidanswer]"] * 3
    assert extracted[2] == "\\frac{1}{2" and samples[2].details["math_verify"]["extracted"] == ["\\frac{1}{2"]
    assert all("extracted" in s.details["math_verify"] for s in samples)
    assert result.metrics["exact_match"].n == 5 and result.metrics["math_verify"].value == 0.0
