"""Settings of the OpenAI-compatible adapter, read from the model spec and the run's options.

Spec: `openai-completions:<model>[?key=value&key=value...]` (or `openai-chat:`). Options:

| key | default | meaning |
|---|---|---|
| `base_url` | the run's `base_url` (`--base-url`, `EVALH_BASE_URL`), else `$OPENAI_BASE_URL` | the API root, e.g. `http://127.0.0.1:8000/v1` (a bare host gets `/v1`) |
| `max_concurrency` | the run's `max_concurrency` (`--max-concurrency`, `EVALH_MAX_CONCURRENCY`), else 4 | requests in flight at once |
| `timeout` | the run's `api_timeout` (`EVALH_API_TIMEOUT`), else 60 | seconds per request attempt (a hang past it is retried) |
| `max_retries` | 6 | retries per request on 429/5xx/timeouts/dropped connections |
| `backoff` | 0.5 | seconds before the first retry (doubling each time, with jitter, capped at 20 s) unless the server sends Retry-After |
| `api_key_env` | the run's `api_key_env` (`EVALH_API_KEY_ENV`), else `OPENAI_API_KEY` | the environment variable that holds the API key |
| `bos` | empty | text prepended to every scoring prompt (e.g. `<|im_start|>`): scores a continuation with an empty context, and works around servers that skip the first token |
| `echo_max_tokens` | 1 | `max_tokens` of scoring requests (0 where the server accepts it; llama.cpp reads 0 as "unlimited") |

The `&`-separated form is used because `evalh run --model` splits its values at commas. The API key itself
is never part of the spec: only the name of the variable that holds it, and it is never recorded.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from harness.errors import ModelError
from harness.models.api.http import RetryPolicy

KINDS = ("openai-completions", "openai-chat")
_KEYS = ("base_url", "max_concurrency", "timeout", "max_retries", "api_key_env", "bos", "echo_max_tokens",
         "backoff")


@dataclass(frozen=True)
class ApiSettings:
    """Everything the adapter needs to talk to one server about one model (the key excluded)."""

    kind: str
    model: str
    base_url: str
    max_concurrency: int = 4
    policy: RetryPolicy = RetryPolicy()
    api_key_env: str = "OPENAI_API_KEY"
    bos: str = ""
    echo_max_tokens: int = 1

    @property
    def public_url(self) -> str:
        """The base URL without credentials or query (safe to record)."""
        return public_url(self.base_url)

    @property
    def server(self) -> str:
        """host:port of the server."""
        parts = urlsplit(self.base_url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)

    @property
    def root_url(self) -> str:
        """scheme://host:port/ (for version probes outside /v1)."""
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The API key from the environment, or None."""
        return (os.environ if env is None else env).get(self.api_key_env) or None


def public_url(url: str) -> str:
    """`url` without user:password@ and without a query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def normalize_base_url(url: str, display: str) -> str:
    """Check the scheme and host; a URL without a path gets `/v1`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(f"model '{display}': base_url {public_url(url)!r} is not an http(s) URL with a host")
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _number(display: str, key: str, value: str, kind: type, minimum: float) -> float:
    try:
        number = kind(value)
    except ValueError:
        raise ModelError(f"model '{display}': option {key}={value!r} is not a {kind.__name__}") from None
    if number < minimum:
        raise ModelError(f"model '{display}': option {key}={value} must be at least {minimum}")
    return number


def parse_settings(kind: str, rest: str, display: str, env: Mapping[str, str] | None = None,
                   defaults: Mapping[str, object] | None = None) -> ApiSettings:
    """Build ApiSettings from `rest` (what follows `openai-...:`), then the run's options (`defaults`: base_url,
    max_concurrency, timeout, api_key_env), then OPENAI_BASE_URL for the server, in that order of precedence."""
    env = os.environ if env is None else env
    model, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_KEYS))
    if unknown:
        raise ModelError(f"model '{display}': unknown option(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})")
    for key, value in (defaults or {}).items():
        if value is not None:
            options.setdefault(key, str(value))
    base_url = options.get("base_url") or env.get("OPENAI_BASE_URL")
    if not base_url:
        raise ModelError(f"model '{display}': no server given: add ?base_url=http://HOST:PORT/v1 to the model, "
                         "or run with --base-url (or set EVALH_BASE_URL or OPENAI_BASE_URL)")
    concurrency = options.get("max_concurrency") or "4"
    timeout = options.get("timeout") or "60"
    policy = RetryPolicy(timeout=_number(display, "timeout", timeout, float, 0.001),
                         max_retries=int(_number(display, "max_retries", options.get("max_retries", "6"), int, 0)),
                         backoff=_number(display, "backoff", options.get("backoff", "0.5"), float, 0.0))
    return ApiSettings(
        kind=kind, model=model.strip(), base_url=normalize_base_url(base_url, display),
        max_concurrency=int(_number(display, "max_concurrency", concurrency, int, 1)), policy=policy,
        api_key_env=options.get("api_key_env") or "OPENAI_API_KEY",
        bos=options.get("bos", ""),
        echo_max_tokens=int(_number(display, "echo_max_tokens", options.get("echo_max_tokens", "1"), int, 0)),
    )
