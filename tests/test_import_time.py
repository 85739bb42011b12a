"""Import time is boot time: the report, blame and the critical chain include it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import BootReport, BootState, blame, critical_chain
from orchestrator.cli import main

BOOTS = Path(__file__).parent / "boots"
SMD = [sys.executable, "-m", "orchestrator.cli"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import-time") / "report.json"
    subprocess.run(
        [*SMD, "run", "--once", f"{BOOTS}/ok.py", "--report", str(path)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return path


def test_smd_run_records_the_time_from_process_start_to_the_target_imported(
    report_file: Path,
) -> None:
    report = BootReport.from_json(report_file.read_text())
    assert report.import_duration is not None
    assert report.import_duration > 0


def test_a_report_written_before_import_time_existed_is_read() -> None:
    report = BootReport("b", "f", BootState.READY, "2026-01-01T00:00:00+00:00", 1.0)
    data = report.to_dict()
    del data["import_duration"]
    assert BootReport.from_json(json.dumps(data)).import_duration is None


def test_blame_and_the_critical_chain_carry_the_import_time() -> None:
    report = BootReport("b", "f", BootState.READY, "2026-01-01T00:00:00+00:00", 1.0)
    report = dataclasses.replace(report, import_duration=0.25)
    assert blame(report).to_dict()["import_duration"] == 0.25
    assert critical_chain(report).to_dict()["import_duration"] == 0.25


def test_smd_analyze_blame_shows_the_import(
    report_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(report_file), "blame"]) == 0
    out = capsys.readouterr().out
    assert "(import of the target)" in out
    assert "import " in out.splitlines()[0]


def test_smd_analyze_critical_chain_starts_from_the_import(
    report_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(report_file), "critical-chain"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "@" in line or "+" in line]
    chain_end = max(i for i, line in enumerate(lines) if "(import of the target)" in line)
    assert all("(import of the target)" not in line for line in lines[:chain_end])
    assert "before the boot started" in lines[chain_end]
