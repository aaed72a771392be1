"""Context/continuation tokens are split exactly as lm-eval splits them, encoded in batches."""
import pytest

from harness.models.resolve import LoadOptions, load_model

PAIRS = [("", " Paris"), ("   ", "x"), ("Question: a?\nAnswer:", " yes"), ("Q: b \n", "no"),
         ("The capital of France is ", "Paris"), ("Émile  ", " naïve café"), ("a\n\n", "\n b"),
         *[(f"shared few-shot block {i % 3} " * 4 + "Answer:", f" choice {i}") for i in range(12)]]


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny-random", LoadOptions(dtype="float32"))


def test_encode_pairs_equal_lm_evals_split(tiny):
    from lm_eval.models.huggingface import HFLM

    class Instance:  # what lm-eval's loglikelihood reads from a request
        def __init__(self, args):
            self.args = args

    lm = HFLM(pretrained=tiny.model, tokenizer=tiny.tokenizer, backend="causal", batch_size=1)
    seen = []
    lm._loglikelihood_tokens = lambda reqs, disable_tqdm=False: seen.extend((c, x) for _, c, x in reqs)
    lm.loglikelihood([Instance(pair) for pair in PAIRS], disable_tqdm=True)
    assert tiny.encode_pairs(PAIRS) == seen
    assert [tiny.encode_pair(*pair) for pair in PAIRS] == seen


def test_each_distinct_text_is_encoded_once(tiny, monkeypatch):
    calls = []
    encode_many = tiny._encode_many
    monkeypatch.setattr(tiny, "_encode_many", lambda texts: calls.append(list(texts)) or encode_many(texts))
    tiny.encode_pairs(PAIRS)
    texts, = calls
    assert len(texts) == len(set(texts))
    assert len([t for t in texts if t.startswith("shared few-shot block")]) == 3 + 12  # 3 contexts, 12 wholes
