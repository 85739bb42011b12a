"""The live view and the summary of `smd run` say each retry and a non-critical error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

from orchestrator import (
    AttemptRecord,
    Boot,
    BootReport,
    BootState,
    PhaseFailed,
    PhaseRecord,
    PhaseRetrying,
    PhaseStatus,
    Retry,
    RetryPause,
)
from orchestrator.cli._live import LiveView
from orchestrator.cli._run import outcome_notes

BOOTS = Path(__file__).parent / "boots"


def board(*events: object) -> str:
    boot = Boot("live")
    boot.add(lambda: None, name="database", retry=Retry(attempts=3, delay=0.2))
    boot.add(lambda: None, name="metrics", critical=False)
    console = Console(record=True, width=200, force_terminal=False)
    view = LiveView(boot.plan(), console)
    for event in events:
        view(event)  # type: ignore[arg-type]
    console.print(view._render())
    return console.export_text()


def test_each_retry_shows_attempt_n_of_m_the_error_and_the_pause() -> None:
    text = board(
        PhaseRetrying(
            boot="live", at=0.1, phase="database", attempt=1, delay=0.2, error="OSError: refused"
        )
    )
    assert "'database' attempt 1 of 3 failed: OSError: refused; next attempt in 0.2s" in text


def test_a_failed_non_critical_phase_shows_its_error() -> None:
    failed = PhaseFailed(
        boot="live",
        at=0.1,
        phase="metrics",
        attempts=1,
        duration=0.1,
        error="ConnectionError: statsd unreachable",
        timed_out=False,
        critical=False,
    )
    assert (
        "'metrics' failed (non-critical, the boot goes on degraded): ConnectionError: statsd "
        "unreachable" in board(failed)
    )


def test_the_summary_after_a_degraded_boot_shows_the_error_and_the_retries() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "run", "--once", f"{BOOTS}/degraded.py"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "'metrics' failed: ConnectionError: statsd unreachable" in result.stdout
    assert "'database' took 2 attempts:" in result.stdout
    assert (
        "  attempt 1 of 2 failed: ConnectionRefusedError: first attempt refused; paused"
        in result.stdout
    )
    assert "  attempt 2 of 2 completed\n" in result.stdout


def test_escape_sequences_in_a_retry_error_are_shown_not_obeyed_in_the_live_view() -> None:
    console = Console(record=True, width=200, force_terminal=True)
    boot = Boot("live")
    boot.add(lambda: None, name="database", retry=Retry(attempts=3, delay=0.2))
    view = LiveView(boot.plan(), console)
    view(
        PhaseRetrying(
            boot="live", at=0.1, phase="database", attempt=1, delay=0.2, error="OSError: x\x1b[2J"
        )
    )
    console.print(view._render())
    text = console.export_text()
    assert "OSError: x\\x1b[2J" in text
    assert "\x1b[2J" not in text


def test_escape_sequences_in_error_text_are_shown_not_obeyed_in_the_summary() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "run", "--once", f"{BOOTS}/hostile_error.py"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    assert "'metrics' failed: ConnectionError: down\\x1b]0;pwned\\x07" in result.stdout
    assert "attempt 1 of 2 failed: ConnectionRefusedError: refused\\x1b[2J" in result.stdout


def test_the_summary_counts_attempts_out_of_what_the_retry_allows() -> None:
    boot = Boot("summary")
    boot.add(lambda: None, name="database", retry=Retry(attempts=5, delay=0.1))
    report = BootReport(
        "summary",
        "f" * 12,
        BootState.READY,
        "2024-01-01T00:00:00Z",
        1.0,
        (
            PhaseRecord(
                "database",
                "phase",
                PhaseStatus.COMPLETED,
                attempts=2,
                start=0.0,
                end=1.0,
                attempt_log=(
                    AttemptRecord(1, 0.0, 0.2, "failed", "OSError: refused"),
                    AttemptRecord(2, 0.3, 1.0, "completed"),
                ),
                retry_pauses=(RetryPause(1, 0.2, 0.3),),
            ),
        ),
    )
    assert outcome_notes(report, boot.plan()) == [
        "'database' took 2 attempts:",
        "  attempt 1 of 5 failed: OSError: refused; paused 100.0 ms",
        "  attempt 2 of 5 completed",
    ]
