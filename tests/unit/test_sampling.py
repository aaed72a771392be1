"""Sampling settings: --gen-kwargs parsing, repeats, seeded draws through the runner, maj@k and pass@k from n."""
from __future__ import annotations

from collections.abc import Sequence

import pytest
from click.testing import CliRunner

from harness.config import load_config
from harness.errors import ConfigError, TaskError
from harness.models.base import ModelAdapter, ModelInfo
from harness.models.fake import FakeModel
from harness.requests import Generate
from harness.runner import Runner
from harness.tasks.loader import build_index
from harness.tasks.sampling import GenerationOptions, apply_overrides, parse_gen_kwargs


@pytest.mark.parametrize("text,parsed", [
    ("temperature=0.8,top_p=0.95,max_gen_toks=512", {"temperature": 0.8, "top_p": 0.95, "max_tokens": 512}),
    ("do_sample=true,top_k=40", {"do_sample": True, "top_k": 40}),
    ('until=["Q:","\\n\\n"],temperature=0', {"until": ["Q:", "\n\n"], "temperature": 0.0}),
    ("until=</s>", {"until": ["</s>"]}),
    ("", {}),
])
def test_gen_kwargs_parse_as_lm_eval_spells_them(text, parsed):
    assert parse_gen_kwargs(text) == parsed


@pytest.mark.parametrize("text,message", [
    ("temp=0.8", "unknown key 'temp'"), ("temperature=hot", "bad value for 'temperature'"),
    ("top_p=0", "bad value for 'top_p'"), ("max_gen_toks=0", "bad value for 'max_gen_toks'"),
    ("temperature", "expected key=value"),
])
def test_bad_gen_kwargs_are_clear_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"gen_kwargs": text}, env={})


def test_overrides_follow_lm_evals_do_sample_rules():
    spec = build_index().tasks["gsm8k_cot"]
    assert apply_overrides(spec, {"do_sample": True}).generation.temperature == 1.0
    assert apply_overrides(spec, {"do_sample": False, "temperature": 0.7}).generation.temperature == 0.0
    changed = apply_overrides(spec, {"temperature": 0.8, "max_tokens": 12}, samples=3, think_end_token="</think>")
    assert (changed.generation.temperature, changed.generation.max_tokens, changed.repeats) == (0.8, 12, 3)
    assert changed.generation.until == spec.generation.until and changed.think_end_token == "</think>"
    mc = build_index().tasks["starter_mc"]
    assert apply_overrides(mc, {"temperature": 0.8}, samples=3) is mc  # nothing to generate


def _run(seed: int, **options) -> list[list[str]]:
    model = FakeModel()
    spec = build_index().tasks["starter_extractive_qa"]
    _, samples = Runner(model, limit=3, seed=seed, generation=GenerationOptions(**options)).run_task(spec)
    return [s.responses for s in samples], model


def test_seeded_repeats_are_reproducible_and_differ_between_seeds_and_repeats():
    first, model = _run(1, gen_kwargs={"temperature": 1.0}, samples=4)
    again, _ = _run(1, gen_kwargs={"temperature": 1.0}, samples=4)
    other, _ = _run(2, gen_kwargs={"temperature": 1.0}, samples=4)
    assert first == again and first != other
    assert all(len(item) == 4 and len(set(item)) > 1 for item in first)
    assert [(r.sampling.seed, r.sampling.index) for r in model.calls[:4]] == [(1, 0), (1, 1), (1, 2), (1, 3)]


def test_greedy_repeats_are_one_request_each():
    responses, model = _run(1, samples=3)
    assert all(len(set(item)) == 1 for item in responses) and len(model.calls) == 3


class Draws(ModelAdapter):
    """Answers sampled request k of the n-th distinct prompt with table[n][k]."""

    def __init__(self, table: Sequence[Sequence[str]]) -> None:
        self.table, self.prompts = table, []

    def info(self) -> ModelInfo:
        return ModelInfo(name="draws", adapter="draws", source="test", fingerprint="draws")

    def loglikelihood(self, requests, progress=None):  # pragma: no cover - not used
        raise NotImplementedError

    def generate(self, requests: Sequence[Generate], progress=None) -> list[str]:
        out = []
        for r in requests:
            if r.prompt not in self.prompts:
                self.prompts.append(r.prompt)
            out.append(self.table[self.prompts.index(r.prompt)][r.sampling.index])
        return out


def test_maj_at_k_on_gsm8k_self_consistency(shared_data):
    answers = [[" The answer is 17.", " The answer is 18."] + [" The answer is 17."] * 3 + [" The answer is 18."] * 5,
               [" The answer is 3."] * 3 + [" The answer is 4."] * 4 + [" No idea."] * 3]  # gold: 18, 3
    spec = build_index().tasks["gsm8k_cot_self_consistency"]
    result, samples = Runner(Draws(answers), data_dir=shared_data, limit=2,
                             generation=GenerationOptions(samples=10)).run_task(spec)
    filtered = [s.details["filtered"] for s in samples]
    assert [f["score-first"] for f in filtered] == ["17", "3"]
    assert [f["maj@64"] for f in filtered] == ["18", "4"]  # 6 of 10 say 18; 4 say 4, 3 say 3, 3 nothing
    assert [f["maj@8"] for f in filtered] == ["17", "4"]  # the first 8: four 17s tie four 18s; 17 came first
    assert [s.responses for s in samples] == answers
    values = {name: result.metrics[f"exact_match,{name}"].value for name in ("score-first", "maj@64", "maj@8")}
    assert values == {"score-first": 0.5, "maj@64": 0.5, "maj@8": 0.0}


def test_pass_at_k_from_n_samples_on_humaneval(shared_data):
    right = "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
    table = [[right] * 3 + ["    return None\n"] * 7]  # HumanEval/0: 3 of 10 pass
    spec = build_index().tasks["humaneval"]
    spec = spec.model_copy(update={"metrics": ["pass@1", "pass@10"],
                                   "metric_options": {"pass@1": {"prefix": "{{prompt}}"}, "pass@10": {"prefix": "{{prompt}}"}}})
    result, samples = Runner(Draws(table), data_dir=shared_data, limit=1,
                             generation=GenerationOptions(gen_kwargs={"temperature": 0.8}, samples=10)).run_task(spec)
    assert samples[0].scores == {"pass@1": pytest.approx(0.3), "pass@10": 1.0}
    assert samples[0].details["pass@1"]["passed"] == 3 and len(samples[0].details["pass@1"]["reasons"]) == 10
    with pytest.raises(TaskError, match=r"pass@10 needs at least 10 completions per problem, got 4"):
        Runner(Draws(table), data_dir=shared_data, limit=1,
               generation=GenerationOptions(gen_kwargs={"temperature": 0.8}, samples=4)).run_task(spec)


def test_cli_records_the_seed_and_the_generation_settings(tmp_path):
    from harness.cli import main
    from harness.results import read_result, read_samples

    args = ["run", "--model", "fake", "--tasks", "starter_extractive_qa", "--limit", "2", "--no-cache",
            "--gen_kwargs", "temperature=0.9,max_gen_toks=8", "--samples", "2", "--seed", "7",
            "--output-dir", str(tmp_path)]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    run_dir = next(tmp_path.iterdir())
    config = read_result(run_dir / "results.json").config
    assert (config["seed"], config["gen_kwargs"], config["samples"]) == (7, {"temperature": 0.9, "max_tokens": 8}, 2)
    assert all(len(s.responses) == 2 for s in read_samples(run_dir))


def test_fewshot_as_multiturn_needs_the_chat_template():
    with pytest.raises(ConfigError, match=r"^--fewshot-as-multiturn needs --apply-chat-template"):
        load_config({"fewshot_as_multiturn": True}, env={})
    assert load_config({"fewshot_as_multiturn": True, "apply_chat_template": True}, env={}).fewshot_as_multiturn
