"""Fail fast when the Hugging Face hub cannot be reached, instead of a minute of retries."""
from __future__ import annotations

import os
from functools import lru_cache


def hub_offline_requested() -> bool:
    """True when the user asked the HF libraries to stay offline."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub endpoint (HF_ENDPOINT, else huggingface_hub's) answers one HEAD request, cached for
    the process. The request goes through huggingface_hub's own HTTP client, so proxy settings (HTTPS_PROXY,
    HTTP_PROXY, NO_PROXY) and certificates apply exactly as they will to the downloads that follow. A 5xx
    answer (a proxy that cannot reach the hub, or the hub failing) counts as unreachable."""
    from huggingface_hub import constants  # imported here: `evalh --help` stays fast
    from huggingface_hub.utils import get_session

    endpoint = os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
    try:
        response = get_session().head(endpoint, timeout=timeout)
    except Exception:  # noqa: BLE001 - connection, proxy, TLS and offline-mode errors all mean "not reachable"
        return False
    return response.status_code < 500
