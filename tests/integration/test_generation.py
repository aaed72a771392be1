"""Greedy decoding of several lm-eval batches at once (hf_generate.greedy) gives exactly transformers' generate()
output on those batches, and so lm-eval's; `--match-batching lm-eval` generates that way. The default,
batch-invariant decoding is checked in test_batch_invariance.py."""
import pytest

from harness.models.hf import attention as hf_attention

from harness.models.hf import generate as hf_generate
from harness.models.hf.plan import TaskPlan
from harness.models.resolve import LoadOptions, load_model
from harness.requests import Generate

PROMPTS = ["Question: What is the capital of Italy?\nAnswer:", "The first three letters are",
           "Translate English to French.\nEnglish: Good morning.\nFrench:", "1, 2, 3,",
           "A long prompt " + "that repeats itself " * 12 + "ends here:", "Hi", "Name a colour:",
           "English phrase: The cat sleeps on the mat.\nGerman phrase:", "Once upon a time", "def add(a, b):"]


def jobs(model, budgets, stops):
    return [hf_generate.Job(model._encode(p), n, s) for p, n, s in zip(PROMPTS, budgets, stops)]


def count_rows(model):
    """Wrap the torch model's forward to count the rows it computes."""
    seen = {"rows": 0, "calls": 0}
    forward = model.model.forward

    def counted(*args, **kwargs):
        ids = args[0] if args else kwargs["input_ids"]
        seen["rows"] += ids.shape[0]
        seen["calls"] += 1
        return forward(*args, **kwargs)

    model.model.forward = counted
    return seen, lambda: setattr(model.model, "forward", forward)


@pytest.mark.parametrize("max_positions", [None, 1])
@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_greedy_equals_generate_on_an_untrained_model(batch_size, max_positions):
    """Every batch size, all batches at once or one at a time, budgets from 1 token up, with and without
    stop strings (fp32)."""
    model = load_model("tiny-random", LoadOptions(dtype="float32"))
    assert hf_generate.supports_greedy(model.model)
    budgets = [1, 7, 20, 3, 12, 30, 5, 16, 2, 9]
    stops = [(), ("e",), (), ("\n", " the"), (), ("a",), (), ("\n",), (), ("zz",)]
    expected = hf_generate.batched(model.model, model.tokenizer, jobs(model, budgets, stops), batch_size, "cpu")
    got = hf_generate.greedy(model.model, model.tokenizer, jobs(model, budgets, stops), batch_size, "cpu",
                             max_positions=max_positions)
    assert got == expected


@pytest.mark.slow
def test_greedy_equals_generate_on_smollm2_and_skips_finished_rows():
    """Real prompts, batch of 4 for 10 prompts (fp32): identical texts, and fewer rows computed."""
    model = load_model("smollm2", LoadOptions(dtype="float32"))
    budgets, stops = [32] * len(PROMPTS), [("\n",)] * len(PROMPTS)
    seen, restore = count_rows(model)
    try:
        expected = hf_generate.batched(model.model, model.tokenizer, jobs(model, budgets, stops), 4, "cpu")
        padded_rows, seen["rows"] = seen["rows"], 0
        ours = jobs(model, budgets, stops)
        got = hf_generate.greedy(model.model, model.tokenizer, ours, 4, "cpu")
    finally:
        restore()
    assert got == expected
    assert "bonjour" in got[2].lower() and "\n" not in "".join(got)
    assert seen["rows"] < padded_rows
    # every row computed is a prompt (prefill) or a token some job still needed
    assert seen["rows"] <= len(PROMPTS) + sum(len(j.tokens) for j in ours)


def test_model_generate_uses_greedy_and_keeps_request_order():
    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size=2))
    requests = [Generate(p, ("\n",), 6) for p in PROMPTS[:5]]
    together = model.generate(requests)
    assert model._greedy is True
    from tests.integration.test_batch_invariance import same_texts

    same_texts(together, [model.generate([r])[0] for r in requests], "one request a call")


def test_empty_prompt_and_zero_budget():
    """An empty prompt is continued from the prefix token (as lm-eval scores an empty context); a zero
    token budget gives an empty output without running the model on that prompt."""
    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size=4))
    out = model.generate([Generate("", (), 5), Generate("Hello", (), 0), Generate("Hello", (), 3)])
    assert out[1] == "" and out[0] and out[2]
    assert out[0] == hf_generate.batched(model.model, model.tokenizer,
                                         [hf_generate.Job([model.prefix_token_id], 5, ())], 4, "cpu")[0]


@pytest.mark.slow
def test_bf16_keeps_generates_layout_and_outputs():
    """In bf16 rounding follows each row's padding and its batch's mask: outputs equal generate()'s bit for bit."""
    model = load_model("smollm2", LoadOptions(dtype="bfloat16", batch_size=4, match_batching="lm-eval"))
    budgets, stops = [32] * len(PROMPTS), [("\n",)] * len(PROMPTS)
    expected = hf_generate.batched(model.model, model.tokenizer, jobs(model, budgets, stops), 4, "cpu")
    got = hf_generate.greedy(model.model, model.tokenizer, jobs(model, budgets, stops), 4, "cpu")
    assert got == expected
    requests = [Generate(p, ("\n",), 32) for p in PROMPTS]
    assert model.generate(requests) == expected


def test_bf16_batches_are_cut_from_the_tasks_list_with_duplicates_as_lm_eval_cuts_them(one_thread):
    """lm-eval keeps a duplicate prompt in its batch; the runner dedupes, so the adapter cuts its batches
    from the planned list (duplicates included) and its outputs stay equal to lm-eval's."""
    from lm_eval.models.huggingface import HFLM

    model = load_model("smollm2", LoadOptions(dtype="bfloat16", batch_size=4, match_batching="lm-eval"))
    full = [Generate(p, ("\n",), 24) for p in [PROMPTS[0], *PROMPTS, PROMPTS[3], PROMPTS[5]]]
    unique = list(dict.fromkeys(full))

    class Instance:  # what lm-eval's generate_until reads from a request
        def __init__(self, request):
            self.args = (request.prompt, {"until": list(request.until), "max_gen_toks": request.max_tokens,
                                          "do_sample": False})

    lm = HFLM(pretrained=model.model, tokenizer=model.tokenizer, backend="causal", batch_size=4)
    theirs = dict(zip(full, lm.generate_until([Instance(r) for r in full], disable_tqdm=True)))
    with model.open(full) as session:
        assert session.generate(unique[:5]) + session.generate(unique[5:]) == [theirs[r] for r in unique]
    def layout(requests):  # the prompts of each batch
        return [sorted({requests[i].prompt for i in cohort}) for cohort in hf_generate.batches(model._jobs(TaskPlan(requests), requests), 4)]

    assert layout(full) != layout(unique)  # the duplicates do move the batch boundaries


def test_a_cohort_keeps_its_mask_after_its_padded_rows_leave(monkeypatch):
    """lm-eval keeps a finished row in its batch, so a batch that had padding passes a mask to every step;
    without one, sdpa takes another kernel (1 in 936 head rows differed in bf16, measured). A cohort
    keeps its mask when only unpadded rows remain, and has none when lm-eval's batch had no padding."""
    model = load_model("tiny-random", LoadOptions(dtype="float32"))
    long, short = model._encode(PROMPTS[4]), model._encode(PROMPTS[5])
    cohort = hf_generate._Cohort(model.model, [0, 1], [long, short], 4, "cpu")
    assert cohort.padding is not None and not bool(cohort.padding[1, 0])
    cohort.keep([0])
    assert cohort.jobs == [0] and bool(cohort.padding.all())  # only the unpadded row: the mask stays
    assert cohort.length == len(long) and cohort.keys[0].shape[0] == 1
    from transformers.integrations import sdpa_attention

    masks, sdpa = [], sdpa_attention.sdpa_attention_forward
    monkeypatch.setattr(sdpa_attention, "sdpa_attention_forward",
                        lambda module, q, k, v, mask, **kw: masks.append(mask) or sdpa(module, q, k, v, mask, **kw))
    with hf_attention.installed(model.model):
        hf_generate._step(model.model, [cohort], "cpu")
    assert masks and all(m is not None and m.shape[-1] == len(long) + 1 for m in masks)
    assert cohort.length == len(long) + 1
    assert hf_generate._Cohort(model.model, [0, 1], [short, short], 4, "cpu").padding is None


@pytest.mark.slow
def test_a_cached_run_computes_each_prompt_once_and_a_resumed_run_generates_the_same(shared_data, tmp_path):
    """With a response cache the runner asks in calls of `flush_every` requests. A row's numbers do not
    depend on its batch mates, so each call decodes its own prompts (no prompt runs twice) and a run
    resumed after a kill decodes only the rest: the same texts as one uninterrupted call."""
    from harness.cache import ResponseCache
    from harness.runner import Runner
    from harness.tasks.loader import build_index
    from tests.integration.test_batch_invariance import same_texts

    model = load_model("tiny-random", LoadOptions(dtype="bfloat16", batch_size=4))  # untrained: rounding shows
    spec = build_index().tasks["wmt22_en_de"]
    whole = Runner(model, data_dir=shared_data, limit=12).run_task(spec)[1]
    calls, generate = [], model._generate

    from harness.models.hf.scoring import split_head

    split_head(model.model)  # its one-off check runs the decoder: not a prompt
    decoder = model.model.get_decoder()

    def counted(task, requests, progress=None):
        seen, forward = {"rows": 0}, decoder.forward

        def rows(*args, **kwargs):
            ids = args[0] if args else kwargs["input_ids"]
            if ids.shape[1] > 1:  # prompts run (prefill passes), not the empty rows that fill a pass
                seen["rows"] += int((ids != 0).any(dim=1).sum())
            return forward(*args, **kwargs)

        decoder.forward = rows
        try:
            if len(calls) == crash_at:
                raise KeyboardInterrupt
            return generate(task, requests, progress)
        finally:
            decoder.forward = forward
            calls.append((len(requests), seen["rows"]))

    model._generate = counted  # what the task's session calls
    crash_at = -1
    with ResponseCache.open(tmp_path / "responses.sqlite") as cache:
        split = Runner(model, data_dir=shared_data, limit=12, cache=cache, flush_every=4).run_task(spec)[1]
        same_texts([s.response for s in split], [s.response for s in whole], "calls of 4")
        assert split == whole
        assert [asked for asked, _ in calls] == [4, 4, 4] and sum(run for _, run in calls) == 12, calls
        cache.clear()
        calls.clear()
        crash_at = 2  # the third call dies: two calls' texts are in the cache
        with pytest.raises(KeyboardInterrupt):
            Runner(model, data_dir=shared_data, limit=12, cache=cache, flush_every=4).run_task(spec)
        calls.clear()
        crash_at = -1
        resumed = Runner(model, data_dir=shared_data, limit=12, cache=cache, flush_every=4)
        again = resumed.run_task(spec)[1]
        same_texts([s.response for s in again], [s.response for s in whole], "resumed")
        assert again == whole
        assert resumed.cache_stats == {"hits": 8, "misses": 4}
        assert sum(run for _, run in calls) == 4, calls  # only the missing prompts ran
