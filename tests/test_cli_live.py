"""The live view of `smd run` on a terminal."""

from __future__ import annotations

import io
import json
import sys

import pytest
import structlog
from rich.console import Console

from orchestrator import Boot, PhaseCompleted, PhaseFailed, PhaseStarted
from orchestrator.cli._live import LiveView
from orchestrator.cli._output import configure_logging


def board(events: list[object]) -> str:
    boot = Boot("live")
    boot.add(lambda: None, name="settings")
    boot.add(lambda settings: None, name="database")
    boot.add(lambda settings: None, name="cache")
    console = Console(record=True, width=80, force_terminal=False)
    view = LiveView(boot.plan(), console)
    for event in events:
        view(event)  # type: ignore[arg-type]
    console.print(view._render())
    return console.export_text()


def test_board_shows_pending_running_and_done_phases_with_counts() -> None:
    text = board(
        [
            PhaseStarted(boot="live", at=0.0, phase="settings", attempt=1),
            PhaseCompleted(boot="live", at=0.1, phase="settings", attempts=1, duration=0.1),
            PhaseStarted(boot="live", at=0.1, phase="database", attempt=1),
        ]
    )
    assert "completed 1" in text
    assert "running 1" in text
    assert "pending 1" in text
    lines = {line.split()[1]: line.split()[0] for line in text.splitlines()[1:] if line.strip()}
    assert lines == {"settings": "completed", "database": "running", "cache": "pending"}


def test_board_marks_failures() -> None:
    text = board(
        [
            PhaseStarted(boot="live", at=0.0, phase="settings", attempt=1),
            PhaseFailed(
                boot="live",
                at=0.1,
                phase="settings",
                attempts=1,
                duration=0.1,
                error="x",
                timed_out=True,
                critical=True,
            ),
        ]
    )
    assert "timed_out 1" in text


def test_log_lines_go_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("json")
    try:
        captured = io.StringIO()
        monkeypatch.setattr(sys, "stderr", captured)  # what rich's live view does
        structlog.get_logger("smd.test").info("above the live view", password="hunter2")
    finally:
        structlog.reset_defaults()
    line = json.loads(captured.getvalue())
    assert line["event"] == "above the live view"
    assert line["password"] == "***"
