"""Credentials out of everything evalh writes or prints: results.json, error messages, console lines.

`redact` hides the password of a URL (`http://user:***@host`), the value of an Authorization header or a
bearer token, the value of a key/token/password/secret field (`api_key=...`, `"token": "..."`), OpenAI-style
keys (`sk-...`), and any text equal to an environment variable whose name says it holds a secret
(`OPENAI_API_KEY`, `HF_TOKEN`, `*_PASSWORD`, ...). The patterns stop at quotes and backslashes, so a
redacted JSON document stays valid JSON.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
_STOP = r"""\s"'\\<>,;&}\]"""  # a secret value ends at any of these (JSON, headers, query strings)
_URL_PASSWORD = re.compile(rf"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^{_STOP}/@:]*:)[^{_STOP}/@]*@")
_URL_TOKEN = re.compile(rf"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://)[^{_STOP}/@:]+@")
_SCHEME_VALUE = re.compile(rf"(?P<head>\b(?:Bearer|Basic|Token)\s+)[^{_STOP}]+", re.IGNORECASE)
_HEADER_VALUE = re.compile(
    rf"""(?P<head>\b(?:proxy-)?authorization\\?["']?\s*[:=]\s*\\?["']?)(?!(?:Bearer|Basic|Token)\s)[^{_STOP}]+""",
    re.IGNORECASE)
_FIELD_VALUE = re.compile(
    rf"""(?P<head>\b(?:x-)?(?:api[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|password|passwd|"""
    rf"""secret|client[_-]?secret)\\?["']?\s*[:=]\s*\\?["']?)[^{_STOP}]+""",
    re.IGNORECASE)
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$|^(AWS|HF|HUGGING_?FACE)_.*TOKEN",
                          re.IGNORECASE)
_MIN_SECRET = 8  # shorter values (e.g. "1", "true") would mask ordinary text


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with every credential it holds replaced by ***."""
    if not text:
        return text
    for value in _secret_values(os.environ if env is None else env):
        text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)
    text = _URL_TOKEN.sub(rf"\g<head>{MASK}@", text)
    text = _SCHEME_VALUE.sub(rf"\g<head>{MASK}", text)
    text = _HEADER_VALUE.sub(rf"\g<head>{MASK}", text)
    text = _FIELD_VALUE.sub(rf"\g<head>{MASK}", text)
    return _OPENAI_KEY.sub(f"sk-{MASK}", text)


def redact_value(value: Any, env: Mapping[str, str] | None = None) -> Any:
    """`value` (str, list, tuple, dict, nested) with every string passed through `redact`."""
    if isinstance(value, str):
        return redact(value, env)
    if isinstance(value, dict):
        return {key: redact_value(item, env) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(item, env) for item in value)
    return value


def _secret_values(env: Mapping[str, str]) -> list[str]:
    values = {value for name, value in env.items() if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET}
    return sorted(values, key=len, reverse=True)  # a longer secret first, in case one contains another
