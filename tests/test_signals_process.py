"""Rule 6 in real processes: signals never kill smd nor skip a teardown; rule 5: exit after a
stuck thread. Each test runs `smd run` (or a script) on asyncio and on trio."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SMD = [sys.executable, "-m", "orchestrator.cli"]
BACKENDS = ["asyncio", "trio"]


class Process:
    """A child process whose merged output is read line by line with a deadline."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output = ""

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        """Read raw output (no Python buffer hides a line from select) until `text` appears."""
        assert self.popen.stdout is not None
        descriptor = self.popen.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(descriptor, selectors.EVENT_READ)
        end = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > end or not selector.select(end - time.monotonic()):
                self.popen.kill()
                raise AssertionError(f"never saw {text!r}; output so far: {self.output}")
            chunk = os.read(descriptor, 65536)
            if not chunk:
                raise AssertionError(f"exited before {text!r}; output: {self.output}")
            self.output += chunk.decode(errors="replace")

    def send(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        try:
            rest, _ = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise
        return self.popen.returncode, self.output + rest.decode(errors="replace")


def run_slow_stop(tmp_path: Path, backend: str, *extra: str, delay: float = 0) -> Process:
    log = tmp_path / "teardowns.log"
    return Process(
        [
            *SMD,
            "run",
            "tests/boots/slow_stop.py",
            "--backend",
            backend,
            "--log-format",
            "json",
            "--report",
            str(tmp_path / "report.json"),
            *extra,
        ],
        {"SMD_TEST_LOG": str(log), "SMD_TEST_BOOT_DELAY": str(delay)},
    )


def teardowns(tmp_path: Path) -> list[str]:
    return (tmp_path / "teardowns.log").read_text().split()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_as_soon_as_the_boot_is_ready_stops_it_in_order(
    tmp_path: Path, backend: str
) -> None:
    process = run_slow_stop(tmp_path, backend)
    process.wait_for("is ready")
    process.send(signal.SIGTERM)
    code, output = process.finish()
    assert code == 0, output
    assert teardowns(tmp_path) == ["server", "cache", "database"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["state"] == "stopped"
    assert "Traceback" not in output


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("count", [2, 5])
def test_more_signals_during_a_slow_stop_never_skip_a_teardown(
    tmp_path: Path, backend: str, count: int
) -> None:
    process = run_slow_stop(tmp_path, backend)
    process.wait_for("is ready")
    process.send(signal.SIGTERM)
    process.wait_for("stopping")  # the cache's teardown has begun
    for index in range(count - 1):
        process.send(signal.SIGINT if index % 2 else signal.SIGTERM)
        time.sleep(0.02)
    code, output = process.finish()
    assert code == 0, output
    assert teardowns(tmp_path) == ["server", "cache", "database"]
    assert json.loads((tmp_path / "report.json").read_text())["state"] == "stopped"
    assert "Traceback" not in output


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_boot_aborts_it_as_interrupted_and_writes_the_report(
    tmp_path: Path, backend: str, signum: int, expected: int
) -> None:
    process = run_slow_stop(tmp_path, backend, delay=30)
    process.wait_for("booting")
    process.send(signum)
    time.sleep(0.05)
    process.send(signum)  # a second one changes nothing
    code, output = process.finish()
    assert code == expected, output
    assert teardowns(tmp_path) == ["cache", "database"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["diagnostic"]["kind"] == "interrupted"
    assert "Traceback" not in output


@pytest.mark.parametrize("backend", BACKENDS)
def test_boot_serve_stops_in_order_on_sigint_without_a_traceback(
    tmp_path: Path, backend: str
) -> None:
    script = (
        "import sys\n"
        "from tests.boots.slow_stop import boot\n"
        "print('is ready', flush=True)\n"
        f"sys.exit(boot.serve(backend={backend!r}, sinks=[]))\n"
    )
    log = tmp_path / "teardowns.log"
    process = Process([sys.executable, "-c", script], {"SMD_TEST_LOG": str(log)})
    process.wait_for("is ready")
    time.sleep(0.3)  # the boot itself prints nothing: give it time to be in service
    process.send(signal.SIGINT)
    process.wait_for("stopping")
    process.send(signal.SIGINT)
    code, output = process.finish()
    assert code == 0, output
    assert teardowns(tmp_path) == ["server", "cache", "database"]
    assert "Traceback" not in output


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_process_exits_after_a_sync_phase_was_abandoned_in_its_thread(backend: str) -> None:
    script = (
        "import anyio, sys\n"
        "from orchestrator import BootAborted\n"
        "from tests.boots.stuck_thread import boot\n"
        "async def main():\n"
        "    try:\n"
        "        await boot.run_once(sinks=[])\n"
        "    except BootAborted as aborted:\n"
        "        return aborted.exit_code\n"
        "    return 0\n"
        f"sys.exit(anyio.run(main, backend={backend!r}))\n"
    )
    process = Process([sys.executable, "-c", script], {})
    code, output = process.finish(timeout=30)
    assert code == 75, output


@pytest.mark.parametrize("backend", BACKENDS)
def test_smd_run_exits_after_a_sync_phase_was_abandoned_in_its_thread(backend: str) -> None:
    process = Process(
        [*SMD, "run", "--once", "tests/boots/stuck_thread.py", "--backend", backend], {}
    )
    code, output = process.finish(timeout=30)
    assert code == 75, output
