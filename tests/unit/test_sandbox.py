"""The sandbox holds: each hostile program is contained, reported as a failure with its reason, and the
programs after it still run. Every test runs a real process; none needs the network."""
from __future__ import annotations

import socket
import time

import pytest

from harness.sandbox import Limits, namespace_prefix, run_program, run_programs

FAST = Limits(timeout=5.0)


def test_a_good_program_passes_and_sees_only_a_clean_environment():
    result = run_program("import os\nprint(sorted(os.environ))\nprint(os.getcwd())", FAST)
    assert result.passed and result.reason == ""
    assert result.stdout.splitlines()[0] == "['HOME', 'LANG', 'PATH', 'PYTHONHASHSEED', 'TMPDIR']"
    assert "evalh-sandbox-" in result.stdout.splitlines()[1]


def test_an_infinite_loop_is_killed_at_the_wall_clock_limit_and_the_run_goes_on():
    started = time.perf_counter()
    loop, after = run_programs(["while True:\n    pass", "print('next')"], Limits(timeout=2.0), workers=1)
    assert not loop.passed and loop.reason == "timed out after 2 s (wall clock)"
    assert after.passed and after.stdout == "next\n"
    assert time.perf_counter() - started < 15


def test_an_infinite_loop_is_stopped_by_the_cpu_limit_before_the_wall_clock():
    result = run_program("while True:\n    pass", Limits(timeout=20.0, cpu_seconds=1))
    assert not result.passed and result.reason == "CPU time limit (SIGXCPU)"
    assert result.seconds < 15


def test_a_fork_bomb_is_refused():
    bomb = "import os\nwhile True:\n    os.fork()"
    result, after = run_programs([bomb, "print(1)"], FAST, workers=1)
    assert not result.passed
    assert result.reason == "PermissionError: sandbox: starting or signalling a process (os.fork) refused"
    assert after.passed


def test_a_subprocess_bomb_is_refused():
    result = run_program("import subprocess\nwhile True:\n    subprocess.Popen(['sleep', '100'])", FAST)
    assert not result.passed and "subprocess.Popen" in result.reason


def test_a_10_gb_allocation_fails_with_memory_error():
    result = run_program("x = bytearray(10 * 1024 ** 3)\nprint(len(x))", FAST)
    assert not result.passed and result.reason == "MemoryError"


def test_a_write_outside_the_working_directory_is_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    programs = [f"open({str(target)!r}, 'w').write('x')",
                "open('../escaped.txt', 'w').write('x')",
                f"import os\nos.symlink({str(tmp_path)!r}, 'link')\nopen('link/escaped.txt', 'w').write('x')",
                "open('inside.txt', 'w').write('ok')\nprint(open('inside.txt').read())",
                "import tempfile\nwith tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\nprint('tmp ok')"]
    outside, relative, via_link, inside, temporary = run_programs(programs, FAST)
    assert not target.exists()
    assert not outside.passed and outside.reason.startswith("PermissionError: sandbox: writing")
    assert "outside the working directory refused" in outside.reason
    assert not relative.passed and "outside the working directory" in relative.reason
    assert not via_link.passed and "outside the working directory" in via_link.reason
    assert inside.passed and inside.stdout == "ok\n"
    assert temporary.passed and temporary.stdout == "tmp ok\n"  # TMPDIR is the working directory


def test_a_secret_in_the_callers_environment_does_not_reach_the_program(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    direct = run_program("import os\nprint(os.environ['OPENAI_API_KEY'])", FAST)
    assert not direct.passed and direct.reason == "KeyError: 'OPENAI_API_KEY'"
    assert "sk-secret" not in direct.stdout + direct.stderr
    via_parent = run_program("import os\nprint(open(f'/proc/{os.getppid()}/environ').read())", FAST)
    assert not via_parent.passed and "reading another process's" in via_parent.reason
    assert "sk-secret" not in via_parent.stdout + via_parent.stderr


def test_a_socket_to_localhost_is_refused():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    try:
        result = run_program(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)", FAST)
        with pytest.raises(socket.timeout):
            server.accept()  # nothing ever reached the listener
    finally:
        server.close()
    assert not result.passed
    assert result.reason == "PermissionError: sandbox: network access (socket.connect) refused"


@pytest.mark.skipif(not namespace_prefix(), reason="unshare --net is not permitted on this machine")
def test_where_unshare_is_permitted_the_program_has_no_network_interface_up():
    # The audit hook aside: a namespace of its own, whose loopback is down.
    result = run_program("print(open('/proc/net/dev').read())", FAST)
    assert result.passed and result.isolation == ("netns",)
    interfaces = [line.split(":")[0].strip() for line in result.stdout.splitlines()[2:] if ":" in line]
    assert interfaces == ["lo"]


def test_rm_rf_home_is_refused_and_the_throwaway_home_survives(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "precious.txt").write_text("keep")
    programs = ['import os\nassert os.system("rm -rf ~") == 0',
                "import shutil, os\nshutil.rmtree(os.path.expanduser('~'))",
                "import os\nos.remove(os.path.expanduser('~/precious.txt'))"]
    results = [run_program(p, FAST, home=str(home)) for p in programs]
    assert (home / "precious.txt").read_text() == "keep"
    assert [r.passed for r in results] == [False, False, False]
    assert results[0].reason == "PermissionError: sandbox: starting or signalling a process (os.system) refused"
    assert "shutil.rmtree" in results[1].reason and "os.remove" in results[2].reason


def test_code_that_does_not_parse_fails_with_the_syntax_error():
    result = run_program("def f(:\n    return 1", FAST)
    assert not result.passed and result.reason.startswith("SyntaxError")


def test_ctypes_is_refused():
    result = run_program("import ctypes", FAST)
    assert not result.passed and result.reason == "PermissionError: sandbox: importing ctypes refused"


def test_programs_run_in_parallel_up_to_the_workers_given():
    started = time.perf_counter()
    results = run_programs(["import time\ntime.sleep(1.5)"] * 2, FAST, workers=2)
    assert all(r.passed for r in results)
    assert time.perf_counter() - started < 2.9
