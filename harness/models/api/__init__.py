"""The OpenAI-compatible server backend (vLLM, llama.cpp's server, OpenAI): model.py is the adapter,
http.py the transport with its retries, scoring.py the logprob arithmetic, settings.py its options."""
from harness.models.api.model import create_chat, create_completions

__all__ = ["create_chat", "create_completions"]
