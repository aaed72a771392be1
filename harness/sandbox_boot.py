"""Start-up of a sandboxed program: `python -I sandbox_boot.py LIMITS_JSON PROGRAM`, run by harness.sandbox.

Before the program's first line it sets the process's rlimits and installs an audit hook (PEP 578), which
no Python code can remove afterwards. The hook refuses, with a PermissionError naming what was refused:

- processes: os.system, os.fork/forkpty, os.exec*, os.spawn*, os.posix_spawn*, subprocess.Popen, os.kill;
- network: socket connect, bind, sendto and sendmsg (also when the sandbox has no network namespace);
- files: opening for writing, creating, removing, renaming, linking, chmod/chown/truncate/utime of a path
  outside the working directory (paths are resolved, so `..` and symlinks do not escape);
- reading another process's /proc entries (a parent's environment holds what the clean one leaves out);
- ctypes and _ctypes, through which C calls would skip the hook.

This is a Python-level guard: it holds for Python code, not for a C extension that makes system calls
itself. harness.sandbox adds what the kernel enforces (rlimits, a wall-clock kill of the process group,
a network namespace where `unshare` is permitted).
"""
import json
import os
import resource
import sys

_PROC_EVENTS = {"os.system", "os.fork", "os.forkpty", "os.exec", "os.spawn", "os.posix_spawn",
                "subprocess.Popen", "os.kill", "os.killpg", "pty.spawn"}
_NET_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"}
_PATH_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.symlink", "os.link", "os.chmod",
                "os.chown", "os.truncate", "os.utime", "shutil.rmtree", "os.chflags", "os.lchflags"}
_BLOCKED_IMPORTS = {"ctypes", "_ctypes"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _install(workdir: str) -> None:
    realpath, fspath = os.path.realpath, os.fspath
    root = realpath(workdir)
    self_proc = (f"/proc/{os.getpid()}/", "/proc/self/", "/proc/thread-self/")

    def inside(path) -> bool:
        if isinstance(path, int):  # a file descriptor the program already holds
            return True
        try:
            full = realpath(fspath(path) if not isinstance(path, bytes) else os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return full == root or full.startswith(root + os.sep)

    def refuse(what: str) -> None:
        raise PermissionError(f"sandbox: {what} refused")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and not inside(path):
                refuse(f"writing {path!r} outside the working directory")
            if isinstance(path, str) and path.startswith("/proc/") and path[6:7].isdigit() \
                    and not path.startswith(self_proc):
                refuse(f"reading another process's {path!r}")
        elif event in _PROC_EVENTS:
            refuse(f"starting or signalling a process ({event})")
        elif event in _NET_EVENTS:
            refuse(f"network access ({event})")
        elif event in _PATH_EVENTS:
            paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))] or [args[0]]
            outside = [p for p in paths if not inside(p)]
            if outside:
                refuse(f"{event} of {outside[0]!r} outside the working directory")
        elif event == "import" and args[0] in _BLOCKED_IMPORTS:
            refuse(f"importing {args[0]}")

    sys.addaudithook(hook)


def _limit(limits: dict) -> None:
    for name, value in limits.items():
        kind = getattr(resource, name)
        hard = resource.getrlimit(kind)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        # CPU: SIGXCPU at the soft limit (a reason the result can name), SIGKILL a second later.
        ceiling = value + 1 if kind == resource.RLIMIT_CPU else value
        resource.setrlimit(kind, (value, ceiling if hard == resource.RLIM_INFINITY else min(ceiling, hard)))


def main() -> None:
    limits, program = json.loads(sys.argv[1]), sys.argv[2]
    with open(program, encoding="utf-8") as f:
        source = f.read()
    _limit(limits)
    _install(os.getcwd())
    code = compile(source, program, "exec")
    sys.argv = [program]
    exec(code, {"__name__": "__main__", "__file__": program, "__builtins__": __builtins__})


if __name__ == "__main__":
    main()
