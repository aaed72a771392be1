"""A task file reads only below its own folder, --data-dir and --allow-path folders; never /proc, a device or a FIFO.

The hostile tasks in tests/fixtures/hostile_tasks try every escape; the run is a real process, so that
/proc/self/environ holds the canary planted in its environment.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from harness.results import read_result
from tests.conftest import REPO

HOSTILE = REPO / "tests" / "fixtures" / "hostile_tasks"
NAMES = sorted(p.stem for p in HOSTILE.glob("*.yaml"))


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, str]:
    """tmp/tasks (the hostile folder, ready), tmp/outside (the secret), tmp/data (the data dir); the secret text."""
    secret = f"outside-secret-{uuid.uuid4().hex}"
    outside = tmp_path / "outside"
    (outside / "default").mkdir(parents=True)
    for path in (outside / "secret.jsonl", outside / "default" / "test.jsonl"):
        path.write_text(json.dumps({"text": secret}) + "\n", encoding="utf-8")
    (outside / "lines.txt").write_text(secret + "\n", encoding="utf-8")
    tasks = tmp_path / "tasks"
    shutil.copytree(HOSTILE, tasks)
    for yaml_file in tasks.glob("*.yaml"):
        yaml_file.write_text(yaml_file.read_text().replace("@OUTSIDE@", str(outside)))
    (tasks / "link.jsonl").symlink_to(outside / "secret.jsonl")
    os.mkfifo(tasks / "pipe.jsonl")
    (tmp_path / "data").mkdir()
    return tmp_path, secret


def evalh(tmp_path: Path, canary: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EVALH_CANARY_SECRET": canary, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    code = "import sys; from harness.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "run", "-m", "fake", "--output-dir", str(tmp_path / "runs"),
                           "--cache", "--cache-dir", str(tmp_path / "cache"), "--data-dir", str(tmp_path / "data"),
                           "--include-path", str(tmp_path / "tasks"), *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_hostile_tasks_fail_one_by_one_and_leak_nothing(planted):
    tmp_path, secret = planted
    canary = f"canary-{uuid.uuid4().hex}"
    done = evalh(tmp_path, canary, "-t", ",".join([*NAMES, "starter_mc"]))
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    [run_dir] = (tmp_path / "runs").iterdir()
    result = read_result(run_dir)
    assert set(result.tasks) == {"starter_mc"}
    assert sorted(e.name for e in result.errors) == NAMES
    messages = {e.name: e.message for e in result.errors}
    for name in ("abs_files", "dotdot_files", "link_files", "abs_data_dir_files", "dotdot_data_dir_files",
                 "dotdot_parallel", "hub_mirror_escape"):
        assert "is outside the folders a task may read" in messages[name], messages[name]
        assert "--allow-path" in messages[name]
    assert "secret.jsonl" in messages["abs_files"] and "../outside/secret.jsonl" in messages["dotdot_files"]
    for name in ("env_parallel", "proc_files", "proc_data_dir_files"):
        assert "/proc/self/environ is under /proc" in messages[name], messages[name]
    assert "pipe.jsonl is not a regular file" in messages["fifo_files"]
    written = [p for folder in ("runs", "cache") for p in (tmp_path / folder).rglob("*") if p.is_file()]
    assert written
    for path in written:
        data = path.read_bytes()
        assert canary.encode() not in data and secret.encode() not in data, path
    assert canary not in output and secret not in output


def test_allow_path_widens_what_a_task_may_read(planted):
    tmp_path, secret = planted
    done = evalh(tmp_path, "unused", "-t", "abs_files,dotdot_files", "--allow-path", str(tmp_path / "outside"))
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = (tmp_path / "runs").iterdir()
    assert set(read_result(run_dir).tasks) == {"abs_files", "dotdot_files"}


def test_allow_path_never_opens_proc(planted):
    tmp_path, _ = planted
    done = evalh(tmp_path, "unused", "-t", "proc_files", "--allow-path", "/")
    assert done.returncode == 2
    assert "/proc/self/environ is under /proc" in done.stderr
