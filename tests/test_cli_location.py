"""`smd run` says where: import errors with file and line, --traceback, interrupted imports."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import BootReport
from orchestrator.cli._output import flush_by_line

BOOTS = Path(__file__).parent / "boots"
SMD = [sys.executable, "-m", "orchestrator.cli"]


def smd(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMD, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SMD_TRACEBACK": "", **env},
    )


def test_an_import_error_names_the_file_and_line_in_the_users_code() -> None:
    result = smd("run", "--once", f"{BOOTS}/raises_on_import.py")
    assert result.returncode == 64
    assert f"Location:    {BOOTS}/raises_on_import.py:3 in <module>" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_file_that_imports_a_missing_module_says_which_import_failed() -> None:
    result = smd("run", "--once", f"{BOOTS}/imports_missing.py")
    assert result.returncode == 64
    assert "imports 'smd_module_that_is_not_installed', which cannot be found" in result.stderr
    assert f"{BOOTS}/imports_missing.py:3 in <module>" in result.stderr
    assert "does not exist" not in result.stderr


def test_traceback_flag_prints_the_chained_traceback_after_the_diagnostic() -> None:
    result = smd("run", "--once", "--traceback", f"{BOOTS}/failing.py:phase_fails")
    assert result.returncode == 69
    diagnostic_end = result.stderr.index("Exit code:   69")
    traceback_start = result.stderr.index("Traceback (most recent call last):")
    assert diagnostic_end < traceback_start
    assert "ConnectionError" in result.stderr[traceback_start:]
    assert "s3cr3t" not in result.stderr


def test_smd_traceback_environment_variable_prints_the_traceback() -> None:
    result = smd("run", "--once", f"{BOOTS}/failing.py:phase_fails", SMD_TRACEBACK="1")
    assert "Traceback (most recent call last):" in result.stderr


def test_without_the_flag_no_traceback_is_printed() -> None:
    result = smd("run", "--once", f"{BOOTS}/failing.py:phase_fails")
    assert "Traceback (most recent call last)" not in result.stderr
    assert f"Location:    {BOOTS}/failing.py:" in result.stderr


def test_traceback_flag_prints_an_import_errors_traceback() -> None:
    result = smd("run", "--once", "--traceback", f"{BOOTS}/raises_on_import.py")
    assert result.returncode == 64
    assert "Traceback (most recent call last):" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_targets_import_is_an_interrupted_boot(
    tmp_path: Path, signal_number: int, code: int
) -> None:
    report, termination = tmp_path / "report.json", tmp_path / "termination-log"
    result = smd(
        "run",
        f"{BOOTS}/signalled_on_import.py",
        "--report",
        str(report),
        "--termination-log",
        str(termination),
        SMD_TEST_SIGNAL=str(int(signal_number)),
    )
    assert result.returncode == code
    assert "BOOT INTERRUPTED" in result.stderr
    assert "KeyboardInterrupt" not in result.stderr
    assert "Traceback" not in result.stderr
    assert BootReport.from_json(report.read_text()).diagnostic["kind"] == "interrupted"
    logged = json.loads(termination.read_text())
    assert (logged["kind"], logged["phase"], logged["exit_code"]) == ("interrupted", None, code)


def test_the_termination_log_carries_the_location(tmp_path: Path) -> None:
    termination = tmp_path / "termination-log"
    smd("run", "--once", f"{BOOTS}/failing.py:phase_fails", "--termination-log", str(termination))
    logged = json.loads(termination.read_text())
    assert logged["location"].startswith(f"{BOOTS}/failing.py:")
    assert logged["traceback"][-1]["function"] == "cache"


def test_output_is_flushed_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdout", piped)
    flush_by_line()
    assert piped.line_buffering
