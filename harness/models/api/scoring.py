"""Reading OpenAI-compatible responses: log-likelihoods from `echo` + `logprobs`, and generated text.

A completions request with `echo=True, logprobs=1` returns, for every token of the prompt, its text, its
character offset in the prompt (`text_offset`), its log-probability (`token_logprobs`, null for the first
token) and the most likely alternatives (`top_logprobs`). The continuation is scored without a local
tokenizer: its tokens are those whose offset lies in [len(context), len(context + continuation)).
A token that straddles the boundary counts as context, as lm-eval's API models do.

Example: context "The capital of France is", continuation " Paris", tokens
["The", " capital", " of", " France", " is", " Paris", "."] with offsets [0, 3, 11, 14, 21, 24, 30]:
only " Paris" (offset 24 = len(context)) is scored; "." (offset 30) is the one generated token.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import ModelError

GREEDY_TOLERANCE = 1e-4


def _logprobs_block(response: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        block = response["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError):
        block = None
    if not isinstance(block, Mapping) or not block.get("text_offset") or "token_logprobs" not in block:
        raise ModelError("the server returned no prompt logprobs for an echo request "
                         "(it does not support log-likelihood scoring through /v1/completions)")
    return block


def offset_shift(tokens: Sequence[str] | None, prompt: str, prefix: str) -> int:
    """How far the server's offsets lie from our prompt's: 0, or -len(prefix) when the server left out the prefix.

    llama.cpp, for instance, drops a leading BOS token (sent as text) from the echoed tokens and offsets.
    """
    if not prefix or not tokens:
        return 0
    echoed = "".join(t or "" for t in tokens)
    if echoed.startswith(prompt):
        return 0
    return -len(prefix) if echoed.startswith(prompt[len(prefix):]) else 0


def check_alignment(response: Mapping[str, Any], block: Mapping[str, Any], prompt: str, shift: int) -> None:
    """Refuse logprobs that are visibly shifted by one token.

    llama-cpp-python (0.3.x), serving a model that adds no BOS token, pairs each echoed token with the
    distribution for the *next* one; the tell is that the token it generated is missing from the logprobs.
    """
    try:
        text = response["choices"][0]["text"] or ""
    except (KeyError, IndexError, TypeError):
        return
    echoed = next((p for p in (prompt, prompt[-shift:] if shift else None) if p and text.startswith(p)), None)
    generated = echoed is not None and len(text) > len(echoed)
    if generated and max(block["text_offset"]) < len(prompt) + shift:
        raise ModelError("the server's echo logprobs look shifted by one token (llama-cpp-python does this for "
                         "models that add no BOS token): set the model option bos=<the model's BOS token text>, "
                         "e.g. bos=<|im_start|> for SmolLM2")


def span_indices(offsets: Sequence[int], start: int, end: int) -> range:
    """Indices of the tokens whose offset lies in [start, end)."""
    first = next((i for i, off in enumerate(offsets) if off >= start), len(offsets))
    last = next((i for i, off in enumerate(offsets) if off >= end), len(offsets))
    return range(first, max(first, last))


def is_top(logprob: float, top: Mapping[str, float] | None) -> bool:
    """Whether `logprob` is the best of the alternatives the server listed (True when it listed none)."""
    if not top:
        return True
    return logprob >= max(top.values()) - GREEDY_TOLERANCE


def score_continuation(response: Mapping[str, Any], context: str, continuation: str,
                       prefix: str = "") -> tuple[float, bool]:
    """(log P(continuation | context), is_greedy) from an echo response for `prefix + context + continuation`."""
    block = _logprobs_block(response)
    prompt = prefix + context + continuation
    shift = offset_shift(block.get("tokens"), prompt, prefix)
    check_alignment(response, block, prompt, shift)
    start = len(prefix) + len(context) + shift
    span = span_indices(block["text_offset"], start, start + len(continuation))
    if not span:
        raise ModelError(f"the server returned no tokens for the continuation {continuation[:40]!r}")
    logprobs, tops = block["token_logprobs"], block.get("top_logprobs") or [None] * len(block["text_offset"])
    total, greedy = 0.0, True
    for i in span:
        value = logprobs[i]
        if value is None:  # the first token of the text is unconditioned; only an empty context gets here
            raise ModelError("the server gives no log-probability for the first token of the prompt, so a "
                             "continuation with an empty context cannot be scored; set the model option "
                             "bos=<the model's BOS token text> (e.g. bos=<|im_start|>), unless the server also "
                             "drops that token's log-probability (llama-cpp-python does)")
        total += float(value)
        greedy = greedy and is_top(float(value), tops[i])
    if not math.isfinite(total):
        raise ModelError(f"the server returned a non-finite log-probability for {continuation[:40]!r}")
    return total, greedy


def score_rolling(response: Mapping[str, Any], text: str, prefix: str = "") -> float:
    """Total log-likelihood of `text` from an echo response; the unconditioned first token (if any) is skipped."""
    block = _logprobs_block(response)
    shift = offset_shift(block.get("tokens"), prefix + text, prefix)
    check_alignment(response, block, prefix + text, shift)
    start = len(prefix) + shift
    span = span_indices(block["text_offset"], start, start + len(text))
    return float(sum(block["token_logprobs"][i] or 0.0 for i in span))


def completion_text(response: Mapping[str, Any]) -> str:
    """The generated text of a /v1/completions response."""
    try:
        text = response["choices"][0]["text"]
    except (KeyError, IndexError, TypeError):
        raise ModelError(f"unexpected /v1/completions response: {str(response)[:200]}") from None
    return text or ""


def chat_text(response: Mapping[str, Any]) -> str:
    """The assistant's message of a /v1/chat/completions response."""
    try:
        text = response["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ModelError(f"unexpected /v1/chat/completions response: {str(response)[:200]}") from None
    return text or ""
