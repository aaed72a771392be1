"""Scoring runs the output head only on the rows it needs, when the head alone makes the model's logits."""
import torch

from harness.models.hf import scoring as hf_scoring
from harness.models.resolve import LoadOptions, load_model


class ScaledLogits(torch.nn.Module):
    """A causal LM that scales its logits after the head (as Granite or Cohere do)."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner, self.config = inner, inner.config

    def get_decoder(self):
        return self.inner.get_decoder()

    def get_output_embeddings(self):
        return self.inner.get_output_embeddings()

    def forward(self, ids, **kwargs):
        out = self.inner(ids, **kwargs)
        out.logits = out.logits * 0.5
        return out


def test_split_head_is_used_only_where_it_gives_the_models_logits():
    model = load_model("tiny-random", LoadOptions(dtype="float32")).model
    assert hf_scoring.split_head(model) == (model.get_decoder(), model.get_output_embeddings())
    assert hf_scoring.split_head(ScaledLogits(model)) is None


def test_packed_scores_equal_plain_with_and_without_the_split():
    """Same numbers through the split head, through a model that refuses it, and through plain scoring."""
    adapter = load_model("tiny-random", LoadOptions(dtype="float32"))
    prefix = "Here are some examples of questions and their answers, all about the same topic. "
    pairs = [adapter.encode_pair(prefix + f"Question {q}: which one?\nAnswer:", f" choice {c}")
             for q in range(5) for c in ("one", "two", "three and more")]
    plain = hf_scoring.plain(adapter.model, pairs, adapter.max_length, 4, "cpu")
    split = hf_scoring.packed(adapter.model, pairs, 4, "cpu", None)
    assert hf_scoring.shared_prefix_length([c for c, _ in pairs]) > 0
    assert max(abs(a[0] - b[0]) for a, b in zip(plain, split)) < 1e-4
    assert [a[1] for a in plain] == [b[1] for b in split]
    wrapped = ScaledLogits(adapter.model)
    whole = hf_scoring.packed(wrapped, pairs, 4, "cpu", None)  # scaled logits: different numbers, computed whole
    unscaled = hf_scoring.plain(wrapped, pairs, adapter.max_length, 4, "cpu")
    assert max(abs(a[0] - b[0]) for a, b in zip(whole, unscaled)) < 1e-4
    assert max(abs(a[0] - b[0]) for a, b in zip(whole, split)) > 1e-3
