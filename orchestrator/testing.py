"""Helpers for a user's tests: capture a boot's events, inject faults into named phases.

Example:
    with capture_events() as events, inject_fault("database", error=ConnectionError("down")):
        with pytest.raises(BootAborted):
            await boot.run_once(sinks=[])
    assert [e.phase for e in events if isinstance(e, PhaseBlocked)] == ["api"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._model._events import Event, EventSink
from ._runtime._faults import ACTIVE_FAULTS, EXTRA_SINKS, Fault, FaultMoment


@contextmanager
def capture_events() -> Iterator[list[Event]]:
    """Collect every event of every boot started inside the block, in order."""
    events: list[Event] = []
    sink: EventSink = events.append
    token = EXTRA_SINKS.set((*EXTRA_SINKS.get(), sink))
    try:
        yield events
    finally:
        EXTRA_SINKS.reset(token)


@contextmanager
def inject_fault(
    phase: str,
    *,
    error: BaseException | None = None,
    delay: float | None = None,
    hang: bool = False,
    during: FaultMoment = "start",
    attempts: int | None = None,
) -> Iterator[Fault]:
    """Make `phase` fail, stall or hang in every boot started inside the block.

    Args:
        phase: the phase's name.
        error: raised instead of running the phase (at start or at teardown).
        delay: seconds to sleep before the phase runs.
        hang: never return (until the attempt's timeout or the boot's abort).
        during: "start" or "teardown".
        attempts: affect only the first N attempts (to test retries).
    """
    if error is None and delay is None and not hang:
        raise ValueError("inject_fault needs error=, delay= or hang=True")
    fault = Fault(phase, during, error, delay, hang, attempts)
    token = ACTIVE_FAULTS.set((*ACTIVE_FAULTS.get(), fault))
    try:
        yield fault
    finally:
        ACTIVE_FAULTS.reset(token)


__all__ = ["Fault", "capture_events", "inject_fault"]
