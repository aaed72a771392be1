"""Chat prompts as lm-eval 0.4.x builds them (--apply-chat-template, --fewshot-as-multiturn,
--system-instruction), and a reasoning model's thinking stripped before scoring (think_end_token)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from harness.models.fake import FakeModel
from harness.runner import Runner
from harness.tasks.loader import build_index
from harness.tasks.sampling import GenerationOptions
from tests.fixtures.scripted import ScriptedModel

LIMIT = 2
SYSTEM = "You are a careful grade-school maths tutor."


class ChatScripted(ScriptedModel):
    """A scripted model with the fake's stand-in chat format."""

    chat_conversation = FakeModel.chat_conversation


@pytest.fixture(scope="module")
def lm_eval_task(shared_data, tmp_path_factory):
    """lm-eval's own gsm8k_cot task, reading the same rows offline."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    folder = tmp_path_factory.mktemp("lm_eval_tasks")
    path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k", "gsm8k-cot.yaml")
    with open(path, encoding="utf-8") as handle:
        config = {k: v for k, v in yaml.safe_load(handle).items() if k not in ("dataset_path", "dataset_name", "tag")}
    config.update(task="evalh_gsm8k_cot_chat", dataset_path="json", test_split="test",
                  dataset_kwargs={"data_files": {"test": str(shared_data / "openai/gsm8k/main/test.jsonl")}})
    (folder / "gsm8k_chat.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as patch:  # offline for this load only: later tests see the real setting
        patch.setenv("HF_DATASETS_OFFLINE", "1")
        manager = TaskManager(include_path=str(folder), include_defaults=False)
        task = manager.load_task_or_group(["evalh_gsm8k_cot_chat"])["evalh_gsm8k_cot_chat"]
    return task


@pytest.mark.parametrize("chat,multiturn,system", [
    (True, None, None), (True, None, SYSTEM), (True, False, SYSTEM), (False, None, SYSTEM)])
def test_prompts_equal_lm_evals_fewshot_context(shared_data, lm_eval_task, chat, multiturn, system):
    model = ChatScripted(lambda prompt: "")
    options = GenerationOptions(system_instruction=system, fewshot_as_multiturn=multiturn)
    Runner(model, data_dir=shared_data, limit=LIMIT, apply_chat_template=chat,
           generation=options).run_task(build_index().tasks["gsm8k_cot"])
    template = lambda messages, add_generation_prompt=True: model.chat_conversation(messages)  # noqa: E731
    as_multiturn = chat if multiturn is None else multiturn  # lm-eval: on by default with the chat template
    docs = list(lm_eval_task.test_docs())[:LIMIT]
    expected = [lm_eval_task.fewshot_context(doc, 8, system_instruction=system, apply_chat_template=chat,
                                             fewshot_as_multiturn=as_multiturn, chat_template=template)
                for doc in docs]
    assert model.prompts == expected
    if chat and as_multiturn:
        assert expected[0].count("<|assistant|>") == 9  # 8 answered examples, then the open turn


def test_think_end_token_strips_reasoning_before_extraction_and_keeps_the_raw_output(shared_data):
    outputs = ["<think>16 - 3 - 4 = 9, so The answer is 9.</think> The answer is 18.",  # right after stripping
               "<think>It is 2 + 1. The answer is 3.</think>",  # the answer was only thought: nothing to extract
               " The answer is 3.",  # no thinking block: kept whole
               "<think>I keep thinking and never stop"]  # unfinished: kept whole

    def run(options: GenerationOptions):
        answers = iter(outputs)
        return Runner(ScriptedModel(lambda p: next(answers)), data_dir=shared_data, limit=4,
                      generation=options).run_task(build_index().tasks["gsm8k_cot"])[1]

    samples = run(GenerationOptions(think_end_token="</think>"))
    assert [s.response for s in samples] == outputs  # samples.jsonl keeps the raw output
    assert [s.details["answer"] for s in samples] == ["The answer is 18.", "", " The answer is 3.", outputs[3]]
    assert [s.details["filtered"]["strict-match"] for s in samples] == ["18", "[invalid]", "3", "[invalid]"]
    assert [s.scores["exact_match,strict-match"] for s in samples] == [1.0, 0.0, 0.0, 0.0]
    plain = run(GenerationOptions())  # without it, the thought answers are extracted
    assert [s.details["filtered"]["strict-match"] for s in plain][:2] == ["9.", "3."]
    assert "answer" not in plain[0].details


CHATML = ("{%- for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{%- endfor %}"
          "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _lm_eval_yaml(name: str) -> dict:
    """One of lm-eval's own humaneval task files, its `!function` entries kept as their names."""
    import lm_eval

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "humaneval", name)
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=Loader)


@pytest.fixture(scope="module")
def humaneval_instruct(shared_data, tmp_path_factory):
    """lm-eval's humaneval_instruct prompt and answer prefix, on the same rows offline. Its scoring loads
    HF evaluate's code_eval from the hub, so the task is rebuilt here from its file's prompt fields with a
    stand-in metric: only the context is compared."""
    from lm_eval.tasks import TaskManager

    base, instruct = _lm_eval_yaml("humaneval.yaml"), _lm_eval_yaml("humaneval_instruct.yaml")
    config = {"task": "evalh_humaneval_instruct", "dataset_path": "json", "test_split": "test",
              "dataset_kwargs": {"data_files": {"test": str(shared_data / "openai/openai_humaneval/openai_humaneval/test.jsonl")}},
              "output_type": "generate_until", "doc_to_text": instruct["doc_to_text"],
              "gen_prefix": instruct["gen_prefix"], "doc_to_target": base["doc_to_target"],
              "generation_kwargs": base["generation_kwargs"], "metric_list": [{"metric": "exact_match"}]}
    folder = tmp_path_factory.mktemp("lm_eval_humaneval")
    (folder / "humaneval_instruct.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_DATASETS_OFFLINE", "1")
        manager = TaskManager(include_path=str(folder), include_defaults=False)
        return manager.load_task_or_group(["evalh_humaneval_instruct"])["evalh_humaneval_instruct"]


@pytest.fixture(scope="module")
def chat_tokenizer_model(tmp_path_factory):
    """tiny-random's transformers folder with a ChatML template, as evalh's adapter and as lm-eval's HFLM."""
    import shutil

    from harness.models import packaged
    from harness.models.hf.gguf_cache import converted_folder

    if not packaged.is_installed(packaged.PACKAGED["tiny-random"]):
        pytest.skip("tiny-random not installed: " + packaged.PACKAGED["tiny-random"].install_hint)
    source, _ = converted_folder(packaged.locate("tiny-random"))
    folder = Path(shutil.copytree(source, tmp_path_factory.mktemp("chat") / "tiny"))
    (folder / "chat_template.jinja").write_text(CHATML)
    return folder


@pytest.mark.parametrize("chat,multiturn,system", [(False, None, None), (True, None, None), (True, False, SYSTEM)])
def test_humaneval_instruct_prompts_equal_lm_evals_with_its_answer_prefix(shared_data, humaneval_instruct,
                                                                          chat_tokenizer_model, chat, multiturn,
                                                                          system):
    from lm_eval.models.huggingface import HFLM

    from harness.models.resolve import LoadOptions, load_model

    model = load_model(str(chat_tokenizer_model), LoadOptions(device="cpu", dtype="float32"))
    scripted = ChatScripted(lambda prompt: "")
    scripted.chat_conversation = model.chat_conversation
    options = GenerationOptions(system_instruction=system, fewshot_as_multiturn=multiturn)
    Runner(scripted, data_dir=shared_data, limit=LIMIT, apply_chat_template=chat,
           generation=options).run_task(build_index().tasks["humaneval_instruct"])
    lm = HFLM(pretrained=str(chat_tokenizer_model), device="cpu", dtype="float32")
    docs = list(humaneval_instruct.test_docs())[:LIMIT]
    expected = [humaneval_instruct.fewshot_context(doc, 0, system_instruction=system, apply_chat_template=chat,
                                                   fewshot_as_multiturn=chat if multiturn is None else multiturn,
                                                   chat_template=lm.apply_chat_template,
                                                   gen_prefix=humaneval_instruct.doc_to_prefix(doc))
                for doc in docs]
    assert scripted.prompts == expected
    opening = "Here is the completed function:\n```python\n" + docs[0]["prompt"] + "\n"
    assert expected[0].endswith(opening)  # the model continues the answer, not a new turn
    if chat:
        assert expected[0].count("<|im_start|>assistant") == 1 and not expected[0].endswith("<|im_end|>\n")
