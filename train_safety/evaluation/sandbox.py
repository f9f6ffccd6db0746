"""Run untrusted model-written Python (for pass@1) in a contained subprocess.

What is enforced, for every run:

- a throwaway working folder (deleted afterwards) as the current directory and ``HOME``;
- an isolated environment (a fixed, minimal ``env``; ``python -I``: no user site, no
  ``PYTHONPATH``);
- a wall-clock timeout after which the whole process group is killed (``SIGKILL``);
- resource limits: ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_AS`` (address space, ``memory_mb``),
  ``RLIMIT_NPROC`` (processes, so a fork bomb stalls), ``RLIMIT_FSIZE`` (largest file written,
  also caps captured stdout/stderr), ``RLIMIT_CORE`` = 0;
- an audit hook that refuses to create internet sockets (defence in depth; ``ctypes`` could get
  around it, the namespace below cannot be).

And, where Linux namespaces are available (checked once per process, see :func:`isolation`):

- a new network namespace (no interfaces but loopback: no network at all);
- a new PID namespace whose init is killed with the run, so no descendant survives it
  (even one that left the process group with ``setsid``);
- a new mount namespace in which ``/`` is read-only except the working folder, and ``/dev/shm``
  is a private tmpfs: writing outside the working folder fails;
- when started as root, the program runs as ``nobody`` (``setpriv``), because root ignores
  ``RLIMIT_NPROC``; unprivileged callers get the same through a user namespace.

Without namespaces (``isolation() == "plain"``) only the first list holds: writes are limited by
file permissions only and the network by the audit hook only.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NOBODY = 65534
MAX_PROCESSES = 32  # beyond those the user already runs
MAX_FILE_MB = 16
OUTPUT_CHARS = 10_000

# Runs first inside the sandbox: block internet sockets, then run the program as __main__.
_BOOTSTRAP = """\
import runpy, socket, sys

def _no_network(event, args):
    if event == "socket.__new__" and args[1] not in (socket.AF_UNIX,):
        raise PermissionError("network access is disabled in the sandbox")
    if event in ("socket.connect", "socket.bind", "socket.getaddrinfo") and not (
        event != "socket.getaddrinfo" and args[0].family == socket.AF_UNIX
    ):
        raise PermissionError("network access is disabled in the sandbox")

sys.addaudithook(_no_network)
del _no_network
sys.argv = ["program.py"]
runpy.run_path("program.py", run_name="__main__")
"""


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one run. ``passed`` = exited 0 within the time limit."""

    passed: bool
    returncode: int | None
    timed_out: bool
    stdout: str
    stderr: str


def run_python(
    code: str,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    python: str | None = None,
) -> SandboxResult:
    """Run ``code`` as a Python program in the sandbox and report how it ended.

    Args:
        code: the program's source.
        timeout_s: wall-clock seconds before the whole process tree is killed.
        memory_mb: address-space limit per process.
        python: interpreter to run; defaults to this one (``sys.executable``).
    """
    python = python or sys.executable
    mode = isolation()
    with tempfile.TemporaryDirectory(prefix="mts-sandbox-") as root:
        work = Path(root) / "work"
        work.mkdir()
        (work / "program.py").write_text(code, encoding="utf-8")
        (work / "_bootstrap.py").write_text(_BOOTSTRAP, encoding="utf-8")
        if _is_root():
            os.chmod(root, 0o711)  # nobody may pass through to work/, not list stdout/stderr
            os.chown(work, NOBODY, NOBODY)
            for child in work.iterdir():
                os.chown(child, NOBODY, NOBODY)
        command = _command(mode, work, [python, "-I", "-B", "_bootstrap.py"])
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        out_path, err_path = Path(root) / "stdout", Path(root) / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            process = subprocess.Popen(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=_limits(timeout_s, memory_mb, as_nobody=mode == "plain" and _is_root()),
            )
            timed_out = False
            try:
                returncode: int | None = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(process.pid)
                returncode = process.wait()
            # Anything left in the group (plain mode) goes too, even after a normal exit.
            _kill_group(process.pid)
        return SandboxResult(
            passed=returncode == 0 and not timed_out,
            returncode=returncode,
            timed_out=timed_out,
            stdout=_tail(out_path),
            stderr=_tail(err_path),
        )


def pass_at_1(programs: Sequence[str], tests: Sequence[str], timeout_s: float = 10.0) -> float:
    """Fraction of programs whose tests pass: each program runs with its test code appended
    (one sample per problem, so this is pass@1)."""
    if len(programs) != len(tests):
        raise ValueError(f"{len(programs)} programs but {len(tests)} tests")
    if not programs:
        raise ValueError("no programs to run")
    # A sandbox that cannot run Python at all would report pass@1 = 0, silently.
    check = run_python("print('ok')", timeout_s=timeout_s)
    if check.stdout != "ok\n":
        raise RuntimeError(
            f"the sandbox cannot run Python here (isolation: {isolation()}): "
            f"{check.stderr.strip()[-300:] or check.returncode}"
        )
    passed = sum(
        run_python(f"{program}\n\n{test}\n", timeout_s=timeout_s).passed
        for program, test in zip(programs, tests, strict=True)
    )
    return passed / len(programs)


@cache
def isolation() -> str:
    """Which containment this machine allows: ``namespaces-as-nobody`` (root),
    ``namespaces-userns`` (unprivileged user namespaces) or ``plain`` (limits and audit hook
    only). Probed once by actually starting a contained ``true``."""
    if sys.platform != "linux" or not shutil.which("unshare"):
        return "plain"
    candidates = ["namespaces-as-nobody"] if os.geteuid() == 0 else []
    candidates.append("namespaces-userns")
    for mode in candidates:
        if mode == "namespaces-as-nobody" and not shutil.which("setpriv"):
            continue
        with tempfile.TemporaryDirectory(prefix="mts-sandbox-probe-") as root:
            if mode == "namespaces-as-nobody":
                os.chown(root, NOBODY, NOBODY)
            # The real interpreter, so a mode in which it cannot start (e.g. ``nobody`` may not
            # read it) is not chosen.
            write = "open('probe', 'w').close()"
            probe = _command(mode, Path(root), [sys.executable, "-I", "-c", write])
            try:
                done = subprocess.run(probe, cwd=root, capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0 and (Path(root) / "probe").exists():
                return mode
    return "plain"


def _command(mode: str, work: Path, program: list[str]) -> list[str]:
    if mode == "plain":
        return program
    folder = shlex.quote(str(work))
    inner = " ".join(shlex.quote(part) for part in program)
    if mode == "namespaces-as-nobody":
        inner = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --no-new-privs {inner}"
    setup = (
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro / && "
        f"{{ mount -t tmpfs -o size={MAX_FILE_MB}m tmpfs /dev/shm 2>/dev/null || true; }} && "
        f"cd {folder} && exec {inner}"
    )
    user = ["--user", "--map-root-user"] if mode == "namespaces-userns" else []
    return [
        "unshare",
        *user,
        "--mount",
        "--propagation",
        "private",
        "--net",
        "--pid",
        "--fork",
        "--kill-child",
        "/bin/sh",
        "-c",
        setup,
    ]


def _is_root() -> bool:
    return os.geteuid() == 0


def _processes_of(uid: int) -> int:
    """How many processes ``uid`` runs now: RLIMIT_NPROC counts them all, not just ours."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # the process ended meanwhile
                count += entry.stat().st_uid == uid
    return count


def _limits(timeout_s: float, memory_mb: int, as_nobody: bool):
    cpu = math.ceil(timeout_s) + 1
    memory = memory_mb * 1024 * 1024
    file_size = MAX_FILE_MB * 1024 * 1024
    # The program runs as nobody (root callers) or as the caller (user namespace / plain).
    runs_as = NOBODY if _is_root() else os.getuid()
    processes = _processes_of(runs_as) + MAX_PROCESSES if Path("/proc").is_dir() else MAX_PROCESSES

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if as_nobody:  # root ignores RLIMIT_NPROC; without setpriv, drop to nobody here
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    return apply


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _tail(path: Path) -> str:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return text[-OUTPUT_CHARS:]
