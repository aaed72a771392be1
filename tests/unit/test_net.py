"""Hub reachability goes through huggingface_hub's HTTP client, so it sees what real downloads see: proxies."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

import pytest
from huggingface_hub.utils import close_session

from harness.net import hub_reachable
from tests.fixtures.loopback import LoopbackServer


class Proxy(LoopbackServer):
    """A forward proxy that answers every request itself: 200 (or `status`) for plain HTTP; CONNECT refused."""

    def __init__(self, status: int = 200) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, code: int) -> None:
                with proxy.lock:
                    proxy.seen.append(f"{self.command} {self.path}")
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self) -> None:
                self._answer(status)

            def do_CONNECT(self) -> None:
                self._answer(502)

        self._serve(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def fresh(monkeypatch):
    """No cached answer, no shared client from before, and no proxy exemptions from the environment."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                 "all_proxy", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    hub_reachable.cache_clear()
    close_session()
    yield monkeypatch
    hub_reachable.cache_clear()
    close_session()


def test_a_hub_behind_a_proxy_is_reachable_through_it(fresh):
    """The host does not resolve here; only the proxy can reach it, as behind a corporate proxy."""
    with Proxy() as proxy:
        fresh.setenv("HF_ENDPOINT", "http://hub.example.invalid")
        fresh.setenv("HTTP_PROXY", proxy.url)
        assert hub_reachable() is True
    assert proxy.seen == ["HEAD http://hub.example.invalid"] or proxy.seen == ["HEAD http://hub.example.invalid/"]


def test_https_proxy_is_used_for_an_https_hub(fresh):
    with Proxy() as proxy:
        fresh.setenv("HF_ENDPOINT", "https://hub.example.invalid")
        fresh.setenv("HTTPS_PROXY", proxy.url)
        assert hub_reachable() is False  # this proxy refuses the tunnel
    assert proxy.seen == ["CONNECT hub.example.invalid:443"]


def test_a_proxy_that_cannot_reach_the_hub_means_unreachable(fresh):
    with Proxy(status=502) as proxy:
        fresh.setenv("HF_ENDPOINT", "http://hub.example.invalid")
        fresh.setenv("HTTP_PROXY", proxy.url)
        assert hub_reachable() is False
    assert len(proxy.seen) == 1
