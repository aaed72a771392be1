"""The wheel ships the report templates (harness/_reports), and a non-editable install renders reports."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["report", "--help"], ["compare", "--help"]])
def test_report_commands_stay_light(args):
    code = ("import sys; from harness.cli import main\n"
            f"try: main({args!r})\nexcept SystemExit as e: assert e.code in (0, None), e.code\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'scipy', 'matplotlib') if m in sys.modules]\n"
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_wheel_ships_the_report_assets(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("evalh-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ("leaderboard.html.j2", "leaderboard.css", "leaderboard.js"):
        assert f"harness/_reports/{asset}" in names
    assert "harness/report/compare.py" in names and not any(n.startswith("reports/") for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("from pathlib import Path; from harness.paths import builtin_reports_dir\n"
            "from harness.report.synthetic import write_synthetic_runs; from harness.report.writer import write_report\n"
            "write_synthetic_runs(Path('runs'), models={'a-1m': 10**6, 'b-10m': 10**7}, tasks=2, samples=5)\n"
            "files = write_report(['runs'], Path('out'), plots=False)\n"
            "print(builtin_reports_dir()); assert 'id=\"report-data\"' in files.html.read_text()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target / "harness" / "_reports")
