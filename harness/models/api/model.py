"""OpenAI-compatible adapter: evaluate models served by vLLM, TGI, SGLang, llama.cpp, ... over HTTP.

    evalh run --model 'openai-completions:smollm2?base_url=http://127.0.0.1:8000/v1&max_concurrency=8'
    evalh run --model openai-chat:my-model          # base URL from EVALH_BASE_URL or OPENAI_BASE_URL

- generation: /v1/completions (the prompt as is) or /v1/chat/completions (the prompt as one user message),
  greedy (temperature 0), `max_tokens`, `stop`, and cut at the stop strings here too; a sampled request
  sends its temperature, top_p, top_k (when set; an extension vLLM and llama.cpp accept) and a seed of
  its own (`api_seed`: from the run's seed and the repeat index), so a server that honours `seed` gives
  the same text on a rerun and other texts for the other repeats;
- log-likelihood: /v1/completions with `echo` and `logprobs` (see api_scoring), so no local tokenizer is
  needed; chat servers say "not supported";
- requests run concurrently (asyncio + httpx, `max_concurrency`), each with its own deadline and retries
  (see api_http); identical requests in one call are sent once and results come back in request order,
  so a response cache can sit in front of any call.

Options and environment variables: see api_settings. The API key is read from the environment, sent as a
bearer token, and never stored in ModelInfo, results or logs.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from harness.errors import ModelError
from harness.models.api.http import (ServerError, Transport, TransportStats, gather_ordered, make_client,
                                     run_sync)
from harness.models.api.scoring import chat_text, completion_text, score_continuation, score_rolling
from harness.models.api.settings import ApiSettings, parse_settings
from harness.models.base import ModelAdapter, ModelInfo, Progress, cut_at_stop
from harness.requests import Generate, Loglikelihood, Rolling, Sampling

R = TypeVar("R")
_VERSION_PROBES = (("version", "version"), ("info", "version"), ("props", "build_info"))


class OpenAIModel(ModelAdapter):
    """A model behind an OpenAI-compatible HTTP API (the ModelAdapter protocol)."""

    def __init__(self, settings: ApiSettings, display: str, *, probe: bool = True) -> None:
        self.settings, self.display = settings, display
        self.stats = TransportStats()
        self._rng = random.Random(0)
        self._server: dict[str, Any] = {}
        if probe:
            self._server = run_sync(self._probe)
        self.model = settings.model or self._server.get("default_model") or ""
        if not self.model:
            raise ModelError(f"model '{display}': name the model (openai-completions:NAME); the server lists none")

    # -- identity ------------------------------------------------------------------------------
    async def _probe(self) -> dict[str, Any]:
        """GET /v1/models (with retries) and the usual version endpoints (best effort, one try each)."""
        found: dict[str, Any] = {}
        async with self._client() as client:
            transport = self._transport(client)
            try:
                listing = await transport.request("GET", "models")
            except ServerError as exc:
                if exc.status in (404, 405, 501):  # a server without /v1/models may still serve completions
                    listing = {}
                else:  # unreachable after every retry, or a refused key: nothing will work
                    raise ModelError(f"model '{self.display}': {self.settings.public_url}: {exc}") from None
            entries = [e for e in (listing.get("data") or []) if isinstance(e, dict) and e.get("id")]
            found["models"] = [e["id"] for e in entries]
            found["default_model"] = entries[0]["id"] if entries else None
            found["entries"] = {e["id"]: e for e in entries}
            for path, key in _VERSION_PROBES:
                try:
                    body = await transport.request("GET", self.settings.root_url + path, retries=0)
                except ModelError:
                    continue
                if isinstance(body, dict) and body.get(key):
                    found["version"] = f"{path}:{body[key]}"
                    break
        self._check_model(found["models"])
        return found

    def _check_model(self, served: list[str]) -> None:
        name = self.settings.model
        if name and served and name not in served:
            raise ModelError(f"model '{self.display}': the server at {self.settings.public_url} serves "
                             f"{', '.join(served)}, not '{name}'")

    def info(self) -> ModelInfo:
        """Server (host), model, and the server's reported version; never the API key.

        The fingerprint (which keys the response cache) holds the server's address (scheme, host, port and
        path, without credentials) and what its /v1/models reports (every model it serves, and this model's
        entry less its `created` time), so two servers serving one model name never share cached answers.
        """
        entry = self._server.get("entries", {}).get(self.model, {})
        stable = {k: v for k, v in entry.items() if k not in ("created",)}
        identity = {"kind": self.settings.kind, "model": self.model, "version": self._server.get("version"),
                    "entry": stable, "bos": self.settings.bos, "server": self.settings.public_url,
                    "served": sorted(self._server.get("models", []))}
        fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:32]
        context = entry.get("max_model_len") or (entry.get("meta") or {}).get("n_ctx_train")
        return ModelInfo(
            name=f"{self.settings.kind}:{self.model}", adapter=self.settings.kind, source=self.settings.public_url,
            fingerprint=fingerprint, context_length=int(context) if context else None,
            revision=self._server.get("version"),
            extra={"server": self.settings.server, "base_url": self.settings.public_url, "served_model": self.model,
                   "server_version": self._server.get("version"), "owned_by": entry.get("owned_by"),
                   "max_concurrency": self.settings.max_concurrency, "timeout_s": self.settings.policy.timeout,
                   "max_retries": self.settings.policy.max_retries, "bos": self.settings.bos or None,
                   "echo_max_tokens": self.settings.echo_max_tokens},
        )

    # -- the three kinds of work ---------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        """log P(continuation | context) and is_greedy per request, from /v1/completions echo logprobs."""
        self._require_completions("log-likelihood")
        bos = self.settings.bos
        return self._run(requests, progress, lambda r: ("completions", self._echo_body(bos + r.context + r.continuation)),
                         lambda r, body: score_continuation(body, r.context, r.continuation, bos))

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        """Total log-likelihood of each text (one window: texts longer than the server's context fail)."""
        self._require_completions("rolling log-likelihood")
        bos = self.settings.bos
        return self._run(requests, progress, lambda r: ("completions", self._echo_body(bos + r.text)),
                         lambda r, body: score_rolling(body, r.text, bos))

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        """Greedy or sampled continuations (see the module docstring), cut at the first stop string."""
        return self._run(requests, progress, self._generate_body,
                         lambda r, body: cut_at_stop(self._text(body), r.until))

    # -- request bodies ------------------------------------------------------------------------
    def _echo_body(self, prompt: str) -> dict[str, Any]:
        return {"model": self.model, "prompt": prompt, "echo": True, "logprobs": 1, "temperature": 0.0,
                "max_tokens": self.settings.echo_max_tokens}

    def _generate_body(self, request: Generate) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens, "temperature": 0.0}
        sampling = request.sampling
        if sampling is not None:
            body.update(temperature=sampling.temperature, top_p=sampling.top_p, seed=api_seed(sampling))
            if sampling.top_k:
                body["top_k"] = sampling.top_k
        stops = [s for s in request.until if s]
        if stops:
            body["stop"] = stops
        if self.settings.kind == "openai-chat":
            return "chat/completions", {**body, "messages": [{"role": "user", "content": request.prompt}]}
        return "completions", {**body, "prompt": request.prompt}

    def _text(self, body: Mapping[str, Any]) -> str:
        return chat_text(body) if self.settings.kind == "openai-chat" else completion_text(body)

    def _require_completions(self, what: str) -> None:
        if self.settings.kind == "openai-chat":
            raise ModelError(f"model '{self.display}': {what} is not supported through the chat endpoint "
                             "(it returns no prompt logprobs); use openai-completions:NAME for this task")

    # -- fan-out -------------------------------------------------------------------------------
    def _run(self, requests: Sequence[Any], progress: Progress,
             make: Callable[[Any], tuple[str, dict[str, Any]]], parse: Callable[[Any, Any], R]) -> list[R]:
        """Send each distinct request once (concurrently), parse, and return results in request order."""
        unique = list(dict.fromkeys(requests))

        async def main() -> list[R]:
            async with self._client() as client:
                transport = self._transport(client)

                def job(request: Any) -> Callable[[], Any]:
                    async def send() -> R:
                        path, body = make(request)
                        return parse(request, await transport.request("POST", path, body))
                    return send

                return await gather_ordered([job(r) for r in unique], self.settings.max_concurrency, progress)

        try:
            results = dict(zip(unique, run_sync(main), strict=True))
        except ModelError as exc:
            raise ModelError(f"model '{self.settings.kind}:{self.model}' at {self.settings.public_url}: {exc}") from None
        if progress and len(requests) > len(unique):
            progress(len(requests) - len(unique))
        return [results[r] for r in requests]

    def _client(self) -> Any:
        headers = {"User-Agent": "evalh"}
        key = self.settings.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return make_client(self.settings.base_url, headers, self.settings.max_concurrency, self.settings.policy.timeout)

    def _transport(self, client: Any) -> Transport:
        return Transport(client, self.settings.policy, self.stats, self._rng)

    def __repr__(self) -> str:
        return f"OpenAIModel({self.settings.kind}:{self.model} at {self.settings.public_url})"


def _run_options(options: object) -> dict[str, object]:
    """The run's API settings (--base-url, --max-concurrency, EVALH_API_TIMEOUT, ...) as spec defaults."""
    if options is None:
        from harness.config import load_config
        from harness.models.resolve import LoadOptions

        options = LoadOptions.from_config(load_config())
    return {"base_url": options.base_url, "max_concurrency": options.max_concurrency,
            "timeout": options.api_timeout, "api_key_env": options.api_key_env}


def create_completions(rest: str, options: object = None, display: str = "") -> OpenAIModel:
    """Entry point `openai-completions:NAME[?options]`."""
    display = display or f"openai-completions:{rest}"
    return OpenAIModel(parse_settings("openai-completions", rest, display, defaults=_run_options(options)), display)


def create_chat(rest: str, options: object = None, display: str = "") -> OpenAIModel:
    """Entry point `openai-chat:NAME[?options]`."""
    display = display or f"openai-chat:{rest}"
    return OpenAIModel(parse_settings("openai-chat", rest, display, defaults=_run_options(options)), display)


def api_seed(sampling: Sampling) -> int:
    """The `seed` sent for one draw: 31 bits of sha256(run seed, repeat index), so the repeats of a prompt
    get different seeds and a rerun the same ones (servers take a signed 32-bit seed)."""
    digest = hashlib.sha256(f"{sampling.seed}\x1f{sampling.index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1
