"""No credential given to evalh (a URL's user:password@, an API key echoed by a server) reaches a file it
writes or a line it prints."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from harness.cli import main
from harness.results import read_result
from tests.fixtures.fake_openai import MODEL_ID, FakeOpenAIServer

PASSWORD, KEY = "pa55-w0rd-in-url", "key-4f9c1d2e7a"


def test_url_passwords_and_echoed_keys_are_redacted(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SERVER_PASS_VALUE", KEY)  # a variable name that does not say it holds a secret
    with FakeOpenAIServer() as fake:
        fake.faults = ["echo_auth"] * 20
        with_password = fake.base_url.replace("http://", f"http://evaluser:{PASSWORD}@")
        basic = f"openai-completions:{MODEL_ID}?base_url={with_password}&max_retries=0"  # httpx sends Basic auth
        bearer = f"openai-completions:{MODEL_ID}?base_url={fake.base_url}&api_key_env=SERVER_PASS_VALUE&max_retries=0"
        result = CliRunner().invoke(main, ["run", "-m", basic, "-m", bearer, "--base-url", with_password,
                                           "-t", "starter_extractive_qa", "--limit", "2",
                                           "--output-dir", str(tmp_path / "runs"),
                                           "--cache", "--cache-dir", str(tmp_path / "cache")])
        sent = {h["Authorization"].split()[-1] for h in fake.headers_seen if "Authorization" in h}
    assert KEY in sent and len(sent) == 2  # the key (Bearer) and user:password (Basic) went to the server
    assert result.exit_code == 2, result.output
    assert "Bearer ***" in result.output and "Basic ***" in result.output
    runs = [read_result(run_dir) for run_dir in (tmp_path / "runs").iterdir()]
    assert len(runs) == 2
    for run in runs:
        assert run.config["base_url"] == with_password.replace(PASSWORD, "***")
        assert run.config["models"] == [basic.replace(PASSWORD, "***"), bearer]
        [error] = run.errors
        assert "HTTP 400: bad request with headers" in error.message and "***" in error.message
    for text in (result.output, *(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())):
        assert PASSWORD not in text and not any(secret in text for secret in sent)
