"""Hugging Face transformers adapter: hub ids, local folders and GGUF files.

Scoring follows lm-eval's `hf` model exactly (tokenisation of context/continuation pairs, the prefix
token for empty contexts, left truncation, greedy check), so the same items give the same numbers.
torch and transformers are imported here only, when a model is really loaded.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import ModelError
from harness.models.base import ModelInfo, Progress
from harness.requests import Generate, Loglikelihood, Rolling

DTYPES = {"auto": "auto", "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
          "half": "float16", "fp32": "float32", "float32": "float32", "float": "float32"}
_DEFAULT_MAX_LENGTH = 2048
SCORING_VERSION = "2"
"""Part of the fingerprint: bump it when scoring code changes numbers, so cached responses are not reused."""
_TOKENIZER_INFINITY = 1000000000000000019884624838656


def _resolve_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _resolve_dtype(dtype: str, device: str):
    import torch

    name = DTYPES.get(dtype.lower())
    if name is None:
        raise ModelError(f"--dtype {dtype}: unknown dtype (choose from {', '.join(sorted(DTYPES))})")
    if name == "auto":  # bf16 is several times faster than fp32 on CPUs with AMX/AVX512-BF16, and on GPUs
        name = "bfloat16" if device.startswith("cpu") or torch.cuda.is_bf16_supported() else "float16"
    return getattr(torch, name)


class HFModel:
    """A causal LM loaded with transformers' Auto classes."""

    def __init__(self, name: str, source: str, *, gguf_file: Path | None = None, device: str = "auto",
                 dtype: str = "auto", batch_size: int | str = 16, revision: str | None = None,
                 local_files_only: bool = False, size_label: str | None = None, shared_prefix: bool = True) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = name
        self.shared_prefix = shared_prefix
        self.device = _resolve_device(device)
        self.dtype = _resolve_dtype(dtype, self.device)
        self._source, self._gguf_sha, self._size_label = source, None, size_label
        load_from = source
        if gguf_file is not None:
            from harness.models.gguf_cache import converted_folder

            folder, self._gguf_sha = converted_folder(gguf_file)
            load_from = str(folder)
            meta = json.loads((folder / "evalh-source.json").read_text())
            self._size_label = self._size_label or meta.get("size_label")
        kwargs: dict[str, Any] = {"revision": revision, "local_files_only": local_files_only}
        self.tokenizer = AutoTokenizer.from_pretrained(load_from, **kwargs)
        self.model = AutoModelForCausalLM.from_pretrained(load_from, dtype=self.dtype, **kwargs).to(self.device).eval()
        self._revision = getattr(self.model.config, "_commit_hash", None) or revision
        self.max_length = self._max_length()
        if batch_size == "auto":
            from harness.models.batching import auto_batch_size

            batch_size = auto_batch_size(self.model, min(self.max_length, 2048), self.device)
        self.batch_size = max(1, int(batch_size))
        torch.set_grad_enabled(False)

    # -- identity --------------------------------------------------------------------------------
    def _max_length(self) -> int:
        cfg = getattr(self.model.config, "text_config", None) or self.model.config
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            if getattr(cfg, attr, None) is not None:
                return int(getattr(cfg, attr))
        limit = getattr(self.tokenizer, "model_max_length", None)
        return int(limit) if limit and limit != _TOKENIZER_INFINITY else _DEFAULT_MAX_LENGTH

    def info(self) -> ModelInfo:
        dtype = str(self.dtype).removeprefix("torch.")
        if self._gguf_sha:
            base = f"gguf-sha256:{self._gguf_sha}"
        else:
            base = f"{self._source}@{self._revision or 'local'}:{_folder_digest(self._source)}"
        fingerprint = hashlib.sha256(
            f"{base}|{dtype}|{type(self.tokenizer).__name__}|scoring-{SCORING_VERSION}".encode()).hexdigest()[:32]
        return ModelInfo(
            name=self.name, adapter="hf", source=self._source,
            parameters=sum(p.numel() for p in self.model.parameters()), size_label=self._size_label,
            fingerprint=fingerprint, dtype=dtype, device=self.device, context_length=self.max_length,
            revision=self._revision, extra={"architecture": type(self.model).__name__,
                                            **({"gguf_sha256": self._gguf_sha} if self._gguf_sha else {})},
        )

    # -- tokenisation (lm-eval's rules) ------------------------------------------------------------
    @property
    def prefix_token_id(self) -> int:
        tok = self.tokenizer
        return tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id

    def _encode(self, text: str) -> list[int]:
        bos = self.tokenizer.bos_token
        return self.tokenizer.encode(text, add_special_tokens=not (bos and text.startswith(bos)))

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Token ids of context and continuation, split the way lm-eval splits them."""
        if context == "":
            cont = self.tokenizer.encode(continuation, add_special_tokens=False)
            if cont and cont[0] == self.prefix_token_id:
                return cont[:1], cont[1:]
            return [self.prefix_token_id], cont
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = self._encode(context + continuation)
        ctx = self._encode(context)
        return ctx, whole[len(ctx):]

    def chat_prompt(self, text: str) -> str:
        """`text` as one user turn in the tokenizer's chat template, ready for the assistant's answer."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"model {self.name} has no chat template; run without --apply-chat-template")
        return self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                  add_generation_prompt=True)

    def chat_conversation(self, messages: Sequence[dict[str, str]]) -> str:
        """A whole conversation (`[{"role": "user", "content": ...}, {"role": "assistant", ...}, ...]`) in the
        tokenizer's chat template, ready for the assistant's next turn. A template that rejects the system
        role gets the system text at the top of the first user turn instead."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"model {self.name} has no chat template; it cannot hold a conversation")
        messages = [dict(m) for m in messages]
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # jinja2 TemplateError raised by the template itself ("System role not supported")
            if not messages or messages[0]["role"] != "system" or len(messages) < 2:
                raise
            system, first = messages[0], messages[1]
            merged = [{"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}, *messages[2:]]
            return self.tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)

    # -- scoring ---------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        encoded = [self.encode_pair(r.context, r.continuation) for r in requests]
        return self.score_tokens(encoded, progress)

    def score_tokens(self, encoded: Sequence[tuple[list[int], list[int]]], progress: Progress = None) -> list[tuple[float, bool]]:
        """Sum of log-probabilities of each continuation given its context, and whether it is greedy.

        Pairs that fit the context window go through shared-prefix scoring (hf_scoring.packed) unless it is
        switched off; pairs that need lm-eval's left truncation are scored plainly.
        """
        from harness.models import hf_scoring

        if any(not cont for _, cont in encoded):
            raise ModelError("a continuation encoded to no tokens; nothing to score")
        fits = [i for i, (ctx, cont) in enumerate(encoded) if len(ctx) + len(cont) <= self.max_length]
        rest = [i for i in range(len(encoded)) if i not in set(fits)] if len(fits) < len(encoded) else []
        results: list = [None] * len(encoded)
        if not self.shared_prefix:
            fits, rest = [], list(range(len(encoded)))
        if fits:
            window = getattr(getattr(self.model.config, "text_config", None) or self.model.config, "sliding_window", None)
            for i, r in zip(fits, hf_scoring.packed(self.model, [encoded[i] for i in fits], self.batch_size,
                                                   self.device, window, progress)):
                results[i] = r
        if rest:
            for i, r in zip(rest, hf_scoring.plain(self.model, [encoded[i] for i in rest], self.max_length,
                                                  self.batch_size, self.device, progress)):
                results[i] = r
        return results

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        """Total log-likelihood of each text, as lm-eval's `HFLM.loglikelihood_rolling`.

        The text is encoded as lm-eval's `tok_encode`, cut into `rolling_windows` of at most `max_length`
        scored tokens (the first conditioned on the prefix token), and each window scored the plain lm-eval
        way; a text's windows are summed. Batches hold as many full windows as ~`_LOGITS_BUDGET` logits allow.
        """
        from harness.models import hf_scoring

        windows: list[tuple[list[int], list[int]]] = []
        owners: list[int] = []
        for number, request in enumerate(requests):
            for window in rolling_windows(self._encode(request.text), self.prefix_token_id, self.max_length):
                windows.append(window)
                owners.append(number)
        vocab = int(self.model.config.get_text_config().vocab_size)
        rows = max(1, min(self.batch_size, _LOGITS_BUDGET // (self.max_length * vocab)))
        totals = [0.0] * len(requests)
        scored = hf_scoring.plain(self.model, windows, self.max_length, rows, self.device) if windows else []
        for owner, (logprob, _greedy) in zip(owners, scored):
            totals[owner] += logprob
        if progress:
            progress(len(requests))
        return totals

    # -- generation ------------------------------------------------------------------------------
    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        """Greedy continuations, cut at each request's first stop string (harness.models.hf_generate)."""
        from harness.models import hf_generate

        jobs = [hf_generate.Job(self._encode(r.prompt)[-max(1, self.max_length - r.max_tokens):], r.max_tokens,
                                tuple(s for s in r.until if s)) for r in requests]
        if getattr(self, "_continuous", None) is None:  # decided once per loaded model
            self._continuous = hf_generate.supports_continuous(self.model)
        run = hf_generate.greedy if self._continuous else hf_generate.batched
        return run(self.model, self.tokenizer, jobs, self.batch_size, self.device, progress)


def rolling_windows(tokens: list[int], prefix_token: int, max_length: int) -> list[tuple[list[int], list[int]]]:
    """(context, continuation) token windows that score every token of `tokens` exactly once.

    lm-eval's `get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len=1)` followed by
    `make_disjoint_window`: the first window predicts the first `max_length` tokens after the prefix token;
    each later one predicts the next (up to) `max_length` tokens, conditioned on the tokens before them, so
    that context + continuation is `max_length + 1` tokens (the model sees `max_length`).
    """
    if not tokens:
        return []
    first = min(max_length, len(tokens))
    windows = [([prefix_token], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        count = min(len(tokens) - predicted, max_length)
        end = predicted + count
        window = tokens[end - max_length - 1:end - 1]
        windows.append((window[:len(window) - (count - 1)], tokens[end - count:end]))
        predicted = end
    return windows


_LOGITS_BUDGET = 400_000_000
"""Logits (tokens x vocabulary) one rolling batch may hold: 1.6 GB in float32."""


def _folder_digest(source: str) -> str:
    """Cheap identity of a local model folder: config/tokenizer contents plus weight file names and sizes."""
    folder = Path(source)
    if not folder.is_dir():
        return "hub"
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".txt", ".model"):
            digest.update(path.name.encode() + path.read_bytes())
        elif path.is_file():
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]
