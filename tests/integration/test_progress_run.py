"""`evalh run` outside a terminal (stderr to a pipe), with a real lazily loaded model (tiny-random's
transformers folder): loading is its own step, said and timed in model_load_s, progress lines count items,
other libraries' bars stay silent, and a run answered by the response cache says nothing about loading."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.models import packaged

pytestmark = pytest.mark.skipif(not packaged.is_installed(packaged.PACKAGED["tiny-random"]),
                                reason="tiny-random not installed: " + packaged.PACKAGED["tiny-random"].install_hint)
REPO = Path(__file__).resolve().parents[2]


def _evalh(model: str, out: Path, cache_dir: Path) -> tuple[str, dict]:
    done = subprocess.run(
        [sys.executable, "-c", "from harness.cli import main; main()", "run", "-m", model, "-t", "starter_mc",
         "--limit", "10", "--dtype", "float32", "--batch-size", "4", "--cache", "--cache-dir", str(cache_dir),
         "--output-dir", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    run_dir, = out.iterdir()
    return done.stderr, json.loads((run_dir / "results.json").read_text())


def test_load_is_its_own_timed_step_and_progress_counts_items(tmp_path):
    from harness.models.hf.gguf_cache import converted_folder

    source, _ = converted_folder(packaged.locate("tiny-random"))
    folder = Path(shutil.copytree(source, tmp_path / "tiny"))  # a plain folder: weights load on first use
    err, result = _evalh(str(folder), tmp_path / "cold", tmp_path / "cache")
    lines = err.splitlines()
    loaded = next(i for i, line in enumerate(lines) if re.fullmatch(r"model .+ loaded in [\d.]+s", line))
    assert lines[loaded - 1] == f"loading model {folder} ..."
    progress = [line for line in lines if line.startswith("starter_mc: ") and " items (" in line]
    assert progress and progress[-1].startswith("starter_mc: 10/10 items (100%")
    assert lines.index(progress[0]) > loaded  # the bar starts after the load
    assert "\r" not in err and "Loading weights" not in err and "/40" not in err  # 40 requests, 10 items
    reported = float(re.search(r"loaded in ([\d.]+)s", lines[loaded]).group(1))
    timings, task = result["timings"], result["tasks"]["starter_mc"]
    assert timings["model_load_s"] >= reported - 0.05  # the real load, not only opening the folder
    assert timings["model_load_s"] + task["seconds"] <= timings["total_s"] + 0.05  # not counted in the task

    warm_err, warm = _evalh(str(folder), tmp_path / "warm", tmp_path / "cache")
    assert "loading" not in warm_err and " items (" not in warm_err, warm_err
    assert warm["timings"]["cache_misses"] == 0
