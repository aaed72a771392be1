"""A transformers attention function whose work the caller chooses for each forward pass.

Bit-equal scoring (`hf_aligned`), shared-prefix scoring (`hf_scoring.Packed`), cohort decoding
(`hf_generate`) and batch-invariant decoding (`hf_invariant`) run rows that attend differently (their own
cached keys, key counts and masks) through one forward pass: the linear layers see one batch, and the
attention runs per group of rows (as lm-eval's own batch would run it), per item or per row.
`installed(model)` points the model at the function registered here; `attending(fn)` makes `fn` do the
attention of the forward passes inside it.
Outside `attending` the function is transformers' sdpa, so other calls (a prefill) run as they always do.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

NAME = "evalh_sdpa"

_CURRENT: contextvars.ContextVar[Callable | None] = contextvars.ContextVar("evalh_attention", default=None)


def _dispatch(module, query, key, value, attention_mask, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    attend = _CURRENT.get()
    if attend is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    return attend(module, query, key, value, attention_mask, **kwargs)


@contextlib.contextmanager
def installed(model) -> Iterator[None]:
    """The model (and every sub-config) uses the dispatching function, with sdpa's masks, until exit."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, _dispatch)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    configs = {id(m.config): m.config for m in model.modules() if getattr(m, "config", None) is not None}
    saved = {key: config._attn_implementation for key, config in configs.items()}
    try:
        for config in configs.values():
            config._attn_implementation = NAME
        yield
    finally:
        for key, config in configs.items():
            config._attn_implementation = saved[key]


@contextlib.contextmanager
def attending(attend: Callable) -> Iterator[None]:
    """Forward passes inside run `attend(module, query, key, value, attention_mask, **kwargs)` for attention."""
    token = _CURRENT.set(attend)
    try:
        yield
    finally:
        _CURRENT.reset(token)
