"""The live view of `smd run` on a terminal."""

from __future__ import annotations

import io
import json
import sys

import pytest
import structlog
from event_samples import every_event
from rich.console import Console

from orchestrator import Boot, BudgetExceeded, PhaseCompleted, PhaseFailed, PhaseStarted
from orchestrator._model._events import SignalReceived, SinkFailed
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


def test_board_takes_every_event_of_the_union() -> None:
    text = board(every_event())
    assert "SIGTERM: already stopping; every teardown still runs" in text
    assert "sink failed, detached: <broken>: RuntimeError: sink down" in text


def test_board_shows_a_signal_with_its_effect() -> None:
    text = board(
        [
            PhaseStarted(boot="live", at=0.0, phase="settings", attempt=1),
            SignalReceived(
                boot="live",
                at=0.1,
                signal="SIGINT",
                effect="the boot is aborted; what started is torn down",
            ),
        ]
    )
    assert "SIGINT: the boot is aborted; what started is torn down" in text


def test_board_names_what_is_over_budget() -> None:
    text = board([BudgetExceeded(boot="live", at=1.0, overruns=(("database", 0.5, 0.75),))])
    assert "over budget: database 0.75s > 0.5s" in text


def test_board_shows_a_failed_sink_in_red() -> None:
    console = Console(width=120, force_terminal=True)
    boot = Boot("live")
    boot.add(lambda: None, name="settings")
    view = LiveView(boot.plan(), console)
    view(SinkFailed(boot="live", at=0.0, sink="<broken>", error="RuntimeError: down"))
    (line,) = [s for s in console.render(view._render()) if "sink failed" in s.text]
    assert line.text == "sink failed, detached: <broken>: RuntimeError: down"
    assert line.style is not None
    assert line.style.color is not None
    assert line.style.color.name == "red"


def test_after_the_board_closes_a_signal_is_printed_as_it_comes() -> None:
    console = Console(record=True, width=80, force_terminal=False)
    boot = Boot("live")
    boot.add(lambda: None, name="settings")
    with LiveView(boot.plan(), console) as view:
        pass
    console.export_text()  # forget the board
    view(SignalReceived(boot="live", at=9.0, signal="SIGTERM", effect="the service stops"))
    assert console.export_text() == "SIGTERM: the service stops\n"
