"""The `smd` command: exit codes, diagnostics, no tracebacks, reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator import BootReport
from orchestrator.cli import main

BOOTS = Path(__file__).parent / "boots"
SMD = [sys.executable, "-m", "orchestrator.cli"]


def smd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMD, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_run_once_boots_tears_down_and_prints_timings(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = smd("run", "--once", f"{BOOTS}/ok.py", "--report", str(report_path))
    assert result.returncode == 0, result.stderr
    assert "database closed" in result.stdout
    assert "schema" in result.stdout
    report = BootReport.from_json(report_path.read_text())
    assert [r.name for r in report.phases] == ["settings", "database", "schema"]
    assert report.outcome is not None
    assert report.outcome.value == "ready"


def test_report_into_a_missing_folder_is_refused_before_booting(tmp_path: Path) -> None:
    result = smd("run", "--once", f"{BOOTS}/ok.py", "--report", str(tmp_path / "no" / "r.json"))
    assert result.returncode == 64
    assert "its folder does not exist" in result.stderr
    assert "database closed" not in result.stdout
    assert_no_traceback(result)


def test_unwritable_report_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = smd("run", "--once", f"{BOOTS}/ok.py", "--report", str(tmp_path))
    assert result.returncode == 73
    assert "cannot write the report" in result.stderr
    assert_no_traceback(result)


def test_run_logs_json_lines_when_not_on_a_terminal() -> None:
    result = smd("run", "--once", f"{BOOTS}/ok.py")
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines][:2] == ["boot.started", "phase.started"]


def test_failed_phase_prints_the_diagnostic_and_exits_69(tmp_path: Path) -> None:
    report_path = tmp_path / "failed.json"
    result = smd("run", "--once", f"{BOOTS}/failing.py:phase_fails", "--report", str(report_path))
    assert result.returncode == 69
    assert_no_traceback(result)
    assert "BOOT FAILED TO START" in result.stderr
    assert "Blocked:     api" in result.stderr
    assert "database (torn_down)" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    report = BootReport.from_json(report_path.read_text())
    assert report.diagnostic is not None
    assert report.diagnostic["kind"] == "phase_failed"


def test_aborted_boot_writes_the_termination_log(tmp_path: Path) -> None:
    log = tmp_path / "termination-log"
    result = smd("run", "--once", f"{BOOTS}/failing.py:gate_refuses", "--termination-log", str(log))
    assert result.returncode == 78
    message = json.loads(log.read_text())
    assert message["kind"] == "gate_failed"
    assert message["details"] == ["SECRET_KEY is not set"]


def test_unwritable_termination_log_is_a_warning_not_a_traceback(tmp_path: Path) -> None:
    log = tmp_path / "missing-dir" / "termination-log"
    result = smd("run", "--once", f"{BOOTS}/failing.py:gate_refuses", "--termination-log", str(log))
    assert result.returncode == 78
    assert "cannot write the termination log" in result.stderr
    assert_no_traceback(result)


def test_refusing_gate_exits_78() -> None:
    result = smd("run", "--once", f"{BOOTS}/failing.py:gate_refuses")
    assert result.returncode == 78
    assert "SECRET_KEY is not set" in result.stderr
    assert "export SECRET_KEY" in result.stderr


def test_stuck_sync_phase_does_not_keep_the_process_alive() -> None:
    result = smd("run", "--once", f"{BOOTS}/failing.py:stuck", timeout=30)  # hangs otherwise
    assert result.returncode == 75  # the stuck thread is a daemon: the process just exits


def test_sigterm_in_service_tears_down_and_exits_0() -> None:
    process = subprocess.Popen(
        [*SMD, "run", f"{BOOTS}/failing.py:serving"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("ready")
    time.sleep(0.3)  # the boot reports READY and installs its handlers after the phase yields
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "server stopped" in out


def test_check_lists_every_problem_and_exits_65(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", f"{BOOTS}/failing.py:invalid"])
    captured = capsys.readouterr()
    assert code == 65
    assert "dependency cycle: first -> second -> first" in captured.err
    assert "unknown phase 'missing_dependency'" in captured.err
    assert "2 problem(s)" in captured.out


def test_check_as_json_gives_every_diagnostic(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", f"{BOOTS}/failing.py:invalid", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 65
    assert (document["ok"], document["exit_code"]) == (False, 65)
    assert [d["schema"] for d in document["problems"]] == ["smd.diagnostic/1"] * 2


def test_check_as_json_has_one_shape_on_success_and_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["check", f"{BOOTS}/ok.py", "--format", "json"])
    valid = json.loads(capsys.readouterr().out)
    main(["check", f"{BOOTS}/failing.py:invalid", "--format", "json"])
    invalid = json.loads(capsys.readouterr().out)
    main(["check", f"{BOOTS}/nope.py", "--format", "json"])
    unloadable = json.loads(capsys.readouterr().out)
    assert valid.keys() == invalid.keys() == unloadable.keys()
    assert valid["schema"] == invalid["schema"] == unloadable["schema"] == "smd.check/1"
    assert (valid["ok"], valid["exit_code"], valid["problems"]) == (True, 0, [])
    assert (unloadable["ok"], unloadable["exit_code"]) == (False, 64)


def test_check_of_a_valid_boot_says_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"{BOOTS}/ok.py"]) == 0
    assert "OK: boot 'cli-ok' is valid: 3 phases (1 gates)" in capsys.readouterr().out


def test_plan_prints_the_order_and_fingerprint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", f"{BOOTS}/ok.py", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in plan["phases"]] == ["settings", "database", "schema"]
    assert len(plan["fingerprint"]) == 12


def test_plan_as_json_has_one_shape_on_success_and_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["plan", f"{BOOTS}/ok.py", "--format", "json"])
    valid = json.loads(capsys.readouterr().out)
    code = main(["plan", f"{BOOTS}/failing.py:invalid", "--format", "json"])
    invalid = json.loads(capsys.readouterr().out)
    main(["plan", f"{BOOTS}/nope.py", "--format", "json"])
    unloadable = json.loads(capsys.readouterr().out)
    assert valid.keys() == invalid.keys() == unloadable.keys()
    assert valid["schema"] == invalid["schema"] == unloadable["schema"] == "smd.plan/1"
    assert (valid["ok"], valid["exit_code"], valid["problems"]) == (True, 0, [])
    assert (code, invalid["ok"], invalid["exit_code"]) == (65, False, 65)
    assert (invalid["fingerprint"], invalid["phases"], invalid["edges"]) == (None, [], [])
    assert [d["schema"] for d in invalid["problems"]] == ["smd.diagnostic/1"] * 2
    assert (unloadable["ok"], unloadable["exit_code"]) == (False, 64)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests/boots/nope.py", "does not exist"),
        ("tests/boots/ok.py:missing", "has no attribute 'missing'"),
        ("tests/boots/failing.py:not_a_boot", "is a int, not a Boot"),
        ("no_such_module_anywhere", "cannot be found"),
        ("tests/boots/raises_on_import.py", "raised RuntimeError"),
    ],
)
def test_bad_target_is_a_diagnostic_with_exit_64(
    target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", target])
    err = capsys.readouterr().err
    assert code == 64
    assert message in err
    assert "hunter2" not in err


def test_module_target_is_resolved_from_the_working_directory() -> None:
    result = subprocess.run(
        [*SMD, "check", "tests.boots.ok:boot"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr
