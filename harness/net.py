"""Fail fast when the Hugging Face hub cannot be reached, instead of a minute of retries."""
from __future__ import annotations

import os
import socket
from functools import lru_cache
from urllib.parse import urlparse


def hub_offline_requested() -> bool:
    """True when the user asked the HF libraries to stay offline."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connect to the hub endpoint (HF_ENDPOINT or huggingface.co), cached for the process."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False
