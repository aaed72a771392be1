"""The wheel carries the task files, and the CLI's light paths never import torch or transformers."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["--help"], ["list", "tasks"], ["list", "models"], ["run", "--help"],
                                  ["report", "--help"], ["compare", "--help"], ["cache", "--help"]])
def test_light_commands_do_not_import_heavy_libraries(args):
    code = ("import sys; from harness.cli import main\n"
            f"try: main({args!r})\nexcept SystemExit as e: assert e.code in (0, None), e.code\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'lm_eval', 'scipy', 'matplotlib', 'ray',"
            " 'wandb', 'mlflow')"
            " if m in sys.modules]\n"
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_non_editable_install_ships_the_tasks(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("evalh-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "harness/_tasks/starter/starter_mc.yaml" in names
    assert "harness/_tasks/starter/data/mc.jsonl" in names and "harness/_tasks/qa/arc_easy.yaml" in names
    for asset in ("leaderboard.html.j2", "leaderboard.css", "leaderboard.js"):
        assert f"harness/_reports/{asset}" in names
    for module in ("harness/report/compare.py", "harness/bridge/lm_eval_run.py", "harness/executors/ray_backend.py",
                   "harness/tracking/mlflow_tracker.py"):
        assert module in names
    assert not any(n.startswith(("tasks/", "tests/", "reports/")) for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("from pathlib import Path\n"
            "from harness.paths import builtin_tasks_dir; from harness.tasks.loader import build_index\n"
            "from synthetic_runs import write_synthetic_runs; from harness.report.writer import write_report\n"
            "d = builtin_tasks_dir(); i = build_index()\n"
            "assert not i.broken and len(i.groups['starter']) == 6\n"
            "write_synthetic_runs(Path('runs'), models={'a-1m': 10**6, 'b-10m': 10**7}, tasks=2, samples=5)\n"
            "files = write_report(['runs'], Path('out'), plots=False)\n"
            "assert 'id=\"report-data\"' in files.html.read_text(); print(d)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": os.pathsep.join([str(target), str(REPO / "tests" / "fixtures")]),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target / "harness" / "_tasks")
