"""Run untrusted generated programs (a model's code and a benchmark's tests), each in its own process.

What each program gets, and what enforces it:

- its own process, started with `python -I` (no user site, no PYTHON* variables, no cwd on sys.path),
  in a new session, so the whole process group is killed when it ends or runs out of time;
- a wall-clock limit (`timeout`, seconds): the process group is killed with SIGKILL at the limit;
- rlimits set before the program's first line: CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS, so a
  10 GB allocation fails with MemoryError), size of a written file (RLIMIT_FSIZE), open files, and, for a
  user other than root (the kernel does not apply it to root), the number of processes (RLIMIT_NPROC);
- a fresh temporary working directory, removed afterwards;
- a clean environment: PATH, LANG, HOME (the working directory unless given), TMPDIR (the working
  directory), PYTHONHASHSEED and nothing else, so no API keys or other secrets of the caller's environment
  reach the program;
- no network: where `unshare --net` is permitted (root, or unprivileged user namespaces), the program runs
  in a network namespace of its own (no interface but a loopback that is down; unshare then execs
  Python, so the process group and exit status are Python's own); everywhere, the audit hook of harness/sandbox_boot.py also refuses socket connect/bind/send;
- no writes outside the working directory, no new processes, no ctypes: refused by that audit hook, a
  Python-level guard (see its docstring); it does not stop a C extension that makes system calls itself.
  This is not a container: the program can read any file its user can read.

Programs run in parallel, up to the usable cores. A program that fails, times out or is killed is a
result with a reason (`SandboxResult.reason`), never an exception of the caller.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from harness.hardware import usable_cores

BOOT = Path(__file__).with_name("sandbox_boot.py")
OUTPUT_CHARS = 2000
"""How much of a program's stdout and stderr (each, the end of it) a result keeps."""


@dataclass(frozen=True)
class Limits:
    """What one program may use. `timeout` is wall-clock seconds; `cpu_seconds` defaults to it (+1)."""

    timeout: float = 10.0
    memory_bytes: int = 2 * 1024 ** 3
    file_bytes: int = 64 * 1024 ** 2
    open_files: int = 256
    processes: int = 64
    cpu_seconds: int | None = None

    def rlimits(self) -> dict[str, int]:
        cpu = self.cpu_seconds if self.cpu_seconds is not None else int(self.timeout) + 1
        limits = {"RLIMIT_CPU": cpu, "RLIMIT_AS": self.memory_bytes, "RLIMIT_FSIZE": self.file_bytes,
                  "RLIMIT_NOFILE": self.open_files}
        if os.geteuid() != 0:
            limits["RLIMIT_NPROC"] = self.processes
        return limits


@dataclass(frozen=True)
class SandboxResult:
    """How one program ended: `passed` when it exited 0 within its limits, else `reason` says why not."""

    passed: bool
    reason: str
    returncode: int | None
    seconds: float
    stdout: str = ""
    stderr: str = ""
    isolation: tuple[str, ...] = field(default=())


@lru_cache(maxsize=1)
def namespace_prefix() -> tuple[str, ...]:
    """`unshare` arguments for a network namespace where this machine permits them, else ()."""
    tool = shutil.which("unshare")
    if tool is None:
        return ()
    for args in ((tool, "--net"), (tool, "--user", "--map-root-user", "--net")):
        try:
            if subprocess.run([*args, "true"], capture_output=True, timeout=10).returncode == 0:
                return args
        except (OSError, subprocess.SubprocessError):
            continue
    return ()


def clean_env(home: str, workdir: str) -> dict[str, str]:
    """The whole environment a program sees; TMPDIR is the working directory, where it may write."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "TMPDIR": workdir,
            "PYTHONHASHSEED": "0"}


def run_program(source: str, limits: Limits = Limits(), home: str | None = None) -> SandboxResult:
    """Run one Python program under `limits` in a fresh working directory (module docstring).

    `home` sets HOME (default: the working directory), e.g. to show that `rm -rf ~` is refused.
    """
    workdir = tempfile.mkdtemp(prefix="evalh-sandbox-")
    try:
        return _run_in(Path(workdir), source, limits, home or workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_programs(sources: Sequence[str], limits: Limits = Limits(), workers: int | None = None) -> list[SandboxResult]:
    """Run every program (each as run_program does), up to `workers` at a time (default: the usable
    cores); results in the order of `sources`."""
    workers = max(1, workers or usable_cores())
    if not sources:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(sources))) as pool:
        return list(pool.map(lambda s: run_program(s, limits), sources))


def _run_in(workdir: Path, source: str, limits: Limits, home: str) -> SandboxResult:
    program = workdir / "program.py"
    program.write_text(source, encoding="utf-8")
    prefix = namespace_prefix()
    command = [*prefix, sys.executable, "-I", str(BOOT), json.dumps(limits.rlimits()), str(program)]
    isolation = ("netns",) if prefix else ()
    started = time.perf_counter()
    with open(workdir / ".stdout", "wb+") as out, open(workdir / ".stderr", "wb+") as err:
        proc = subprocess.Popen(command, cwd=workdir, env=clean_env(home, str(workdir)), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(proc.pid)
        proc.wait()
        seconds = time.perf_counter() - started
        stdout, stderr = _tail(out), _tail(err)
    reason = _reason(proc.returncode, timed_out, limits, stderr)
    return SandboxResult(passed=reason == "", reason=reason, returncode=proc.returncode,
                         seconds=round(seconds, 3), stdout=stdout, stderr=stderr, isolation=isolation)


def _kill_group(pid: int) -> None:
    """Kill what is left of the program's process group (children it started, a fork bomb's copies)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(f) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - OUTPUT_CHARS * 4))
    return f.read().decode("utf-8", "replace")[-OUTPUT_CHARS:]


def _reason(returncode: int, timed_out: bool, limits: Limits, stderr: str) -> str:
    """'' for a pass; else why the program failed, in one line."""
    if timed_out:
        return f"timed out after {limits.timeout:g} s (wall clock)"
    if returncode == 0:
        return ""
    if returncode < 0:  # killed by a signal
        number = -returncode
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        why = {"SIGXCPU": "CPU time limit", "SIGKILL": "killed", "SIGXFSZ": "file size limit",
               "SIGSEGV": "crashed"}.get(name, "killed by a signal")
        return f"{why} ({name})"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exited with status {returncode}"
