"""--cache-dir (or EVALH_CACHE_DIR) holds every cache evalh writes: the response cache and the GGUF
models it assembles and converts; nothing lands in the default cache folder."""
from __future__ import annotations

from click.testing import CliRunner

from harness.cli import main


def test_cache_dir_holds_responses_and_converted_gguf_models(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "default"))
    monkeypatch.delenv("EVALH_CACHE_DIR", raising=False)
    monkeypatch.setenv("EVALH_CACHE", "1")  # the suite turns the response cache off by default
    cache = tmp_path / "chosen"
    out = CliRunner().invoke(main, ["run", "-m", "tiny-random", "-t", "starter_mc", "--limit", "2", "--dtype",
                                    "float32", "--cache-dir", str(cache), "--output-dir", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    assert (cache / "responses.sqlite").is_file()
    converted, = (cache / "converted").iterdir()
    assert (converted / "config.json").is_file() and (cache / "gguf" / "sha256.json").is_file()
    assert not (tmp_path / "default").exists()


def test_the_environment_names_the_cache_dir_too(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "default"))
    monkeypatch.setenv("EVALH_CACHE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("EVALH_CACHE", "1")
    out = CliRunner().invoke(main, ["run", "-m", "tiny-random", "-t", "starter_mc", "--limit", "1", "--dtype",
                                    "float32", "--output-dir", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "from-env" / "responses.sqlite").is_file() and (tmp_path / "from-env" / "converted").is_dir()
    assert not (tmp_path / "default").exists()
    info = CliRunner().invoke(main, ["cache", "info"])
    assert f"path: {tmp_path / 'from-env' / 'responses.sqlite'}" in info.output
