"""HTTP plumbing of the OpenAI-compatible adapter: retries with backoff (tenacity), per-request deadlines,
ordered fan-out.

Everything here is transport: it knows nothing about completions or log-likelihoods. `httpx` is imported
lazily so that importing the adapter (e.g. for `evalh --help` or `evalh list`) costs nothing.

Retry rules (as the OpenAI and vLLM clients do):
- retried: 408, 409, 429 and 5xx responses, timeouts (including a server that hangs past the per-request
  deadline) and dropped or refused connections; at most `max_retries` retries per request;
- the wait is exponential backoff with jitter (`backoff * 2**attempt`, capped at `max_backoff`, scaled by a
  random factor in [0.5, 1]), or the server's `Retry-After` when it sends one (capped at `max_retry_after`);
- any other 4xx fails at once with the server's own error message.
"""
from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.errors import ModelError

T = TypeVar("T")
RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request. All times in seconds."""

    timeout: float = 60.0
    max_retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 20.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.max_backoff, self.backoff * 2**attempt) * rng.uniform(0.5, 1.0)


@dataclass
class TransportStats:
    """Counters of one adapter's traffic (thread-safe), for logs, ModelInfo-free diagnostics and tests."""

    requests: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, path: str, *, request: bool = False, attempt: bool = False, retry: str | None = None) -> None:
        """Count a request (once, however many attempts it takes), an attempt, or a retry and its reason."""
        with self._lock:
            for table, key, on in ((self.requests, path, request), (self.attempts, path, attempt),
                                   (self.retries, retry, retry is not None)):
                if on:
                    table[key] = table.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "attempts": dict(self.attempts), "retries": dict(self.retries)}


class ServerError(ModelError):
    """A request the server refused for good (a 4xx other than 429) or that failed after every retry."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_message(status: int, body: bytes) -> str:
    """The server's own error message from an error response (OpenAI, FastAPI or plain-text shape)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return f"HTTP {status}: {text[:500] or '(empty body)'}"
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or err
        if err is not None:
            return f"HTTP {status}: {err if isinstance(err, str) else json.dumps(err)[:500]}"
    return f"HTTP {status}: {text[:500]}"


class Transport:
    """Sends JSON requests to one base URL with the retry policy; one instance per event loop run."""

    def __init__(self, client: Any, policy: RetryPolicy, stats: TransportStats, rng: random.Random,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.client, self.policy, self.stats, self.rng, self.sleep = client, policy, stats, rng, sleep

    async def request(self, method: str, path: str, body: dict | None = None, *, retries: int | None = None) -> Any:
        """Send one request, retrying what is worth retrying (tenacity drives the attempts and the waits);
        return the decoded JSON body."""
        import tenacity

        limit = self.policy.max_retries if retries is None else retries
        self.stats.count(path, request=True)
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(limit + 1), retry=tenacity.retry_if_exception_type(_Retryable),
            wait=lambda state: self.policy.delay(state.attempt_number - 1, state.outcome.exception().retry_after,
                                                 self.rng),
            before_sleep=lambda state: self.stats.count(path, retry=state.outcome.exception().reason),
            sleep=self.sleep, reraise=True)
        try:
            return await retrying(self._attempt, method, path, body)
        except _Retryable as exc:
            raise ServerError(f"{method} {path}: gave up after {limit + 1} attempts (last: {exc.reason})") from None

    async def _attempt(self, method: str, path: str, body: dict | None) -> Any:
        """One attempt: the JSON body, a ServerError for good, or _Retryable with its reason."""
        import httpx

        self.stats.count(path, attempt=True)
        try:
            response = await asyncio.wait_for(self.client.request(method, path, json=body),
                                              timeout=self.policy.timeout)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise _Retryable("timeout") from None
        except httpx.TransportError as exc:  # refused, reset or dropped connections, truncated bodies
            raise _Retryable(f"connection ({type(exc).__name__})") from None
        if response.status_code < 400:
            return _json(response, path)
        message = error_message(response.status_code, response.content)
        if response.status_code not in RETRY_STATUS:
            raise ServerError(f"{method} {path}: {message}", response.status_code)
        raise _Retryable(str(response.status_code), retry_after_seconds(response.headers.get("retry-after")))


class _Retryable(Exception):
    """A failed attempt worth another: why (for the stats and the final error) and the server's Retry-After."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def _json(response: Any, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ServerError(f"{path}: the server answered with something that is not JSON: "
                          f"{response.text[:200]!r}") from None


def make_client(base_url: str, headers: dict[str, str], concurrency: int, timeout: float) -> Any:
    """An httpx.AsyncClient for `base_url` with a connection pool as large as the concurrency."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    verify = _ssl_context() if base_url.startswith("https:") else False  # plain http: skip loading certificates
    return httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", headers=headers, limits=limits,
                             timeout=httpx.Timeout(timeout), trust_env=False, verify=verify)


@functools.lru_cache(maxsize=1)
def _ssl_context() -> Any:
    """One certificate store per process (building it costs a few hundred ms)."""
    import httpx

    return httpx.create_ssl_context()


async def gather_ordered(jobs: Sequence[Callable[[], Awaitable[T]]], concurrency: int,
                         done: Callable[[int], None] | None = None) -> list[T]:
    """Run every job with at most `concurrency` in flight; results come back in job order.

    The first failure cancels the jobs still running and is raised.
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            result = await job()
        if done:
            done(1)
        return result

    tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # let them unwind before the client closes


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="evalh-api", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
