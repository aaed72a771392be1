"""What this machine computes natively, named beside every figure and test run.

bf16 speed and bf16 rounding both depend on the CPU: with AMX or AVX512-BF16, bf16 matrix work is several
times faster than float32; without them torch emulates it (slower than float32). The kernels' rounding can
also depend on the thread count. Reads /proc/cpuinfo only; torch is never imported here.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f", "avx2")
"""The CPU flags that decide which bf16/float32 kernels torch runs."""
NATIVE_BF16 = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The flags of the first processor in `cpuinfo` (empty where the file does not exist)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's model name, or the platform's word for it."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU does bf16 matrix work in hardware (AMX or AVX512-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in NATIVE_BF16)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), which can be fewer than the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads() -> int:
    """The torch threads evalh uses unless told: OMP_NUM_THREADS when it is set (the user's choice for
    this process), else the usable cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else usable_cores()


def describe(threads: int | None = None) -> str:
    """One line: the CPU, its bf16-relevant flags (yes/no each), usable cores and torch's thread count."""
    flags = cpu_flags()
    named = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in FLAGS)
    line = f"CPU {cpu_model()}: {named}; {usable_cores()} usable cores"
    if threads is not None:
        line += f"; torch threads {threads}"
    omp = os.environ.get("OMP_NUM_THREADS")
    return line + (f"; OMP_NUM_THREADS={omp}" if omp else "")
