"""Typed events, the structlog sink and `orchestrator.testing`."""

from __future__ import annotations

import pytest
import structlog

from orchestrator import (
    Boot,
    BootAborted,
    BootReady,
    BootStarted,
    BootStopped,
    BootStopping,
    PhaseCompleted,
    PhaseFailed,
    PhaseRetrying,
    PhaseStarted,
    Retry,
    StructlogSink,
    TeardownCompleted,
    TeardownStarted,
)
from orchestrator.testing import capture_events, inject_fault

pytestmark = pytest.mark.anyio


def small() -> Boot:
    boot = Boot("small")

    @boot.phase(retry=Retry(attempts=2, delay=0.001))
    async def database():  # type: ignore[no-untyped-def]
        yield "db"

    return boot


async def test_a_boot_emits_its_lifecycle_in_order() -> None:
    with capture_events() as events:
        await small().run_once(sinks=[])
    assert [type(e) for e in events] == [
        BootStarted,
        PhaseStarted,
        PhaseCompleted,
        BootReady,
        BootStopping,
        TeardownStarted,
        TeardownCompleted,
        BootStopped,
    ]
    assert {e.phase for e in events if e.phase} == {"database"}


async def test_retries_emit_phase_retrying_with_the_delay() -> None:
    with capture_events() as events, inject_fault("database", error=OSError("x"), attempts=1):
        await small().run_once(sinks=[])
    (retrying,) = [e for e in events if isinstance(e, PhaseRetrying)]
    assert (retrying.attempt, retrying.delay, retrying.error) == (1, 0.001, "OSError: x")


async def test_events_are_frozen() -> None:
    with capture_events() as events:
        await small().run_once(sinks=[])
    with pytest.raises(AttributeError):
        events[0].at = 1.0  # type: ignore[misc]


async def test_structlog_sink_writes_one_line_per_event() -> None:
    with structlog.testing.capture_logs() as logs:
        await small().run_once(sinks=[StructlogSink()])
    names = [entry["event"] for entry in logs]
    assert names[:3] == ["boot.started", "phase.started", "phase.completed"]
    completed = logs[2]
    assert completed["phase"] == "database"
    assert completed["duration_ms"] >= 0


async def test_a_failing_sink_never_breaks_the_boot() -> None:
    def broken_sink(event: object) -> None:
        raise RuntimeError("sink down")

    report = await small().run_once(sinks=[broken_sink])
    assert report.outcome is not None
    assert report.outcome.value == "ready"


async def test_injected_fault_fails_the_named_phase() -> None:
    with (
        capture_events() as events,
        inject_fault("database", error=OSError("injected")),
        pytest.raises(BootAborted),
    ):
        await small().run_once(sinks=[])
    failed = [e for e in events if isinstance(e, PhaseFailed)]
    assert [(e.phase, e.error, e.attempts) for e in failed] == [
        ("database", "OSError: injected", 2)
    ]


def test_inject_fault_needs_something_to_inject() -> None:
    with pytest.raises(ValueError, match="needs error="), inject_fault("x"):
        pass
