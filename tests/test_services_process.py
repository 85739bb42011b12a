"""Services and recovery under `smd run`, in real processes, on asyncio and on trio."""

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


def smd_run(target: str, backend: str, report: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *SMD,
            "run",
            target,
            "--backend",
            backend,
            "--log-format",
            "json",
            "--report",
            str(report),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def read_until(process: subprocess.Popen[bytes], text: str, timeout: float = 20.0) -> str:
    """The process's output up to the first line holding `text`."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(descriptor, selectors.EVENT_READ)
    output = ""
    end = time.monotonic() + timeout
    while text not in output:
        if time.monotonic() > end or not selector.select(end - time.monotonic()):
            process.kill()
            raise AssertionError(f"never saw {text!r}; output so far: {output}")
        chunk = os.read(descriptor, 65536)
        if not chunk:
            raise AssertionError(f"exited before {text!r}; output: {output}")
        output += chunk.decode(errors="replace")
    return output


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_critical_service_whose_restarts_are_spent_exits_69_after_an_orderly_stop(
    tmp_path: Path, backend: str
) -> None:
    report_path = tmp_path / "report.json"
    process = smd_run("tests/boots/spent_service.py", backend, report_path)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 69, output.decode(errors="replace")
    report = json.loads(report_path.read_text())
    assert (report["outcome"], report["state"]) == ("failed", "stopped")
    assert report["diagnostic"]["kind"] == "phase_failed"
    assert report["diagnostic"]["in_service"] is True
    assert b"BOOT FAILED IN SERVICE" in output
    assert report["diagnostic"]["summary"] == (
        "service 'consumer' stopped after it was restarted 2 times; its restarts are spent"
    )
    phases = {phase["name"]: phase for phase in report["phases"]}
    assert [restart["number"] for restart in phases["consumer"]["restarts"]] == [1, 2]
    assert phases["broker"]["teardown"] == "torn_down"
    assert b"Traceback" not in output


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_degraded_boot_heals_then_stops_on_sigterm(tmp_path: Path, backend: str) -> None:
    report_path = tmp_path / "report.json"
    process = smd_run("tests/boots/recovering.py", backend, report_path)
    output = read_until(process, '"event": "boot.state_changed"')
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output + rest.decode(errors="replace")
    assert '"state": "ready"' in output.splitlines()[-1]
    report = json.loads(report_path.read_text())
    (interval,) = report["degraded"]
    assert interval["reason"] == "'cache' failed, 'search' blocked"
    phases = {phase["name"]: phase for phase in report["phases"]}
    assert phases["cache"]["recovered_at"] is not None
    assert phases["search"]["status"] == "completed"
    assert interval["start"] < phases["cache"]["recovered_at"] <= interval["end"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_under_systemd_smd_run_notifies_and_pings_the_watchdog_from_its_loop(
    tmp_path: Path, backend: str
) -> None:
    import socket
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="smd-", dir="/tmp"))  # a short socket path
    address = str(directory / "notify")
    messages: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.settimeout(20)
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "100000"}
        env.pop("WATCHDOG_PID", None)
        process = subprocess.Popen(
            [*SMD, "run", "tests/boots/ok.py", "--backend", backend, "--log-format", "json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not ("READY=1" in messages and messages[-1] == "WATCHDOG=1"):
                messages += systemd.recv(65536).decode().splitlines()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            systemd.settimeout(0)
            while True:
                try:
                    messages += systemd.recv(65536).decode().splitlines()
                except BlockingIOError:
                    break
        finally:
            process.kill()
    Path(address).unlink()
    directory.rmdir()
    assert "STOPPING=1" in messages
    assert any(message.startswith("STATUS=booting cli-ok") for message in messages)
