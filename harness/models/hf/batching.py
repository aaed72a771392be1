"""`--batch-size auto`: the largest batch that fits memory, found without crashing.

On a GPU the candidate sizes are tried for real, largest first, on the longest sequence the run will see;
an out-of-memory error just moves to the next size. On a CPU an out-of-memory kill cannot be caught, so
the size comes from an estimate of a row's peak memory (logits plus activations) against a quarter of
the memory available now.
"""
from __future__ import annotations

import os

CANDIDATES = (64, 32, 16, 8, 4, 2, 1)


def row_bytes(seq_len: int, vocab: int, hidden: int, layers: int, dtype_bytes: int) -> int:
    """Peak bytes one row of `seq_len` tokens needs: fp32 logits and log-softmax, plus per-layer activations."""
    logits = seq_len * vocab * 4 * 2
    activations = seq_len * hidden * dtype_bytes * 12 * max(1, layers) // 4  # freed layer by layer; a margin
    return logits + activations


def available_cpu_bytes() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def cpu_batch_size(seq_len: int, vocab: int, hidden: int, layers: int, dtype_bytes: int,
                   available: int | None = None) -> int:
    """The largest candidate whose estimated peak fits a quarter of the available memory (pure)."""
    budget = (available if available is not None else available_cpu_bytes()) // 4
    per_row = row_bytes(seq_len, vocab, hidden, layers, dtype_bytes)
    return next((size for size in CANDIDATES if size * per_row <= budget), 1)


def gpu_batch_size(model, seq_len: int, device: str) -> int:
    """Try each candidate on a dummy batch; the first that runs without running out of memory wins."""
    import torch

    for size in CANDIDATES:
        try:
            with torch.no_grad():
                model(torch.zeros((size, seq_len), dtype=torch.long, device=device))
            return size
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
    return 1


def auto_batch_size(model, seq_len: int, device: str) -> int:
    """The batch size for `--batch-size auto` on this model and device."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if device.startswith("cuda"):
        return gpu_batch_size(model, seq_len, device)
    dtype_bytes = next(model.parameters()).element_size()
    return cpu_batch_size(seq_len, int(config.vocab_size), int(getattr(config, "hidden_size", 1024)),
                          int(getattr(config, "num_hidden_layers", 24)), dtype_bytes)
