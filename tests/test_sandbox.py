"""The pass@1 sandbox: ordinary programs run; hostile ones are each contained."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time

import pytest

from train_safety.evaluation.sandbox import isolation, pass_at_1, run_python

NAMESPACES = pytest.mark.skipif(
    isolation() == "plain", reason="this machine allows no Linux namespaces (plain mode)"
)


def _live_processes(marker: str) -> list[str]:
    """Command lines of live (non-zombie) processes that contain ``marker``."""
    rows = subprocess.run(
        ["ps", "-eo", "stat=,args="], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [r for r in rows if marker in r and not r.lstrip().startswith("Z")]


def _wait_until_gone(marker: str, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while (alive := _live_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def test_ordinary_program_passes_and_captures_output():
    result = run_python("import sys\nprint('hello')\nprint('warn', file=sys.stderr)")
    assert result.passed and result.returncode == 0 and not result.timed_out
    assert result.stdout == "hello\n"
    assert "warn" in result.stderr


def test_failing_assertion_fails():
    result = run_python("assert 1 + 1 == 3")
    assert not result.passed and result.returncode == 1
    assert "AssertionError" in result.stderr


def test_infinite_loop_is_killed_at_the_timeout():
    started = time.monotonic()
    result = run_python("while True:\n    pass\n", timeout_s=1.5)
    assert result.timed_out and not result.passed
    assert time.monotonic() - started < 6


def test_fork_bomb_is_contained():
    bomb = (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        print('fork refused', flush=True)\n"
        "        time.sleep(0.05)\n"
    )
    result = run_python(bomb, timeout_s=2.0)
    assert not result.passed
    assert "fork refused" in result.stdout  # RLIMIT_NPROC (as a non-root user) stopped it
    assert _wait_until_gone("_bootstrap.py") == []


@NAMESPACES
def test_descendant_that_leaves_the_process_group_dies_with_the_run():
    escapee = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    os.execv('/bin/sleep', ['sleep', '71.2345'])\n"
        "time.sleep(0.5)\n"
    )
    result = run_python(escapee, timeout_s=5.0)
    assert result.passed
    assert _wait_until_gone("sleep 71.2345") == []


def test_huge_allocation_fails_inside_the_memory_limit():
    result = run_python("block = bytearray(8 * 1024**3)\nprint('allocated')", memory_mb=256)
    assert not result.passed
    assert "MemoryError" in result.stderr and "allocated" not in result.stdout


@NAMESPACES
def test_writing_outside_the_working_folder_fails(tmp_path):
    target = tmp_path / "escaped.txt"
    shared_tmp = f"/tmp/mts-sandbox-escape-{time.time_ns()}.txt"
    program = (
        "import pathlib\n"
        "pathlib.Path('inside.txt').write_text('ok')\n"
        f"for path in [{str(target)!r}, {shared_tmp!r}]:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print('blocked', type(error).__name__)\n"
    )
    result = run_python(program)
    assert result.passed, result.stderr
    assert "wrote" not in result.stdout and result.stdout.count("blocked") == 2
    assert not target.exists()
    assert not __import__("os").path.exists(shared_tmp)


def test_large_file_is_cut_by_the_file_size_limit():
    result = run_python("open('big.bin', 'wb').write(b'0' * (64 * 1024 * 1024))")
    assert not result.passed  # SIGXFSZ or an OSError, never a 64 MB file


def _listening_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    accepted = []

    def accept():
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return server, thread, accepted


def test_opening_a_socket_is_refused():
    server, thread, accepted = _listening_server()
    port = server.getsockname()[1]
    result = run_python(
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
    )
    thread.join()
    server.close()
    assert not result.passed and "connected" not in result.stdout
    assert accepted == []


@NAMESPACES
def test_network_is_absent_even_when_the_audit_hook_is_bypassed():
    server, thread, accepted = _listening_server()
    port = server.getsockname()[1]
    # Raw libc calls through ctypes raise no audit event; only the network namespace stops them.
    program = (
        "import ctypes, socket, struct\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)\n"
        f"address = struct.pack('!HH4s8x', socket.AF_INET, {port}, socket.inet_aton('127.0.0.1'))\n"
        "address = struct.pack('=H', socket.AF_INET) + address[2:]\n"
        "rc = libc.connect(fd, address, len(address))\n"
        "print('socket', fd, 'connect', rc, 'errno', ctypes.get_errno())\n"
    )
    result = run_python(program)
    thread.join()
    server.close()
    assert result.passed, result.stderr
    assert "connect -1" in result.stdout
    assert accepted == []


def test_environment_and_folder_are_isolated(monkeypatch):
    monkeypatch.setenv("MTS_SECRET_TOKEN", "do-not-leak")
    result = run_python(
        "import os\nprint(sorted(os.environ))\nprint(os.getcwd() == os.environ['HOME'])\n"
        "open('left.txt', 'w').write('x')\nprint(os.getcwd())"
    )
    assert result.passed, result.stderr
    assert "MTS_SECRET_TOKEN" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[1] == "True"
    assert not __import__("os").path.exists(lines[2])  # the working folder is thrown away


def test_pass_at_1_counts_programs_whose_tests_pass():
    programs = [
        "def add(a, b):\n    return a + b",
        "def add(a, b):\n    return a - b",
        "while True: pass",
    ]
    tests = ["assert add(2, 3) == 5"] * 3
    assert pass_at_1(programs, tests, timeout_s=1.5) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        pass_at_1(programs, tests[:2])
