"""Which files a task definition may read: its own folder, --data-dir, and folders the user allows.

A task file is data, not code, and it must not become a way to read the user's secrets: a path it names
is resolved (symlinks included) and must lie under one of the allowed folders, must not lie under the
kernel's pseudo-file systems (/proc, /sys, /dev) whatever is allowed, and must be a regular file, so a
device or a FIFO can neither leak nor hang a run.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DataError

SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True)
class DataAccess:
    """Folders a task may read below: `data_dir` (--data-dir) and `allowed` (--allow-path), besides the
    folder of the task file itself."""

    data_dir: Path | None = None
    allowed: tuple[Path, ...] = ()

    def roots(self, task_folder: Path) -> list[Path]:
        found = [task_folder, *([self.data_dir] if self.data_dir is not None else []), *self.allowed]
        return [Path(os.path.realpath(Path(root).expanduser())) for root in found]


def confine(path: Path, roots: Sequence[Path], where: str) -> Path:
    """`path` resolved, when it is inside one of `roots` (already resolved); else a DataError naming it.

    A path that does not exist passes (the caller reports it as not found); one that exists must be a
    regular file.
    """
    real = Path(os.path.realpath(path))
    system = next((folder for folder in SYSTEM_FOLDERS if real.is_relative_to(folder)), None)
    if system is not None:
        raise DataError(f"{where}: {path} is under {system}; task data must be plain files")
    if not any(real.is_relative_to(root) for root in roots):
        shown = ", ".join(str(root) for root in roots)
        raise DataError(f"{where}: {path} is outside the folders a task may read ({shown}); "
                        f"to allow it, pass --allow-path DIR with a folder that holds it")
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise DataError(f"{where}: {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise DataError(f"{where}: {path} is not a regular file (a folder, device or FIFO); task data must be plain files")
    return path
