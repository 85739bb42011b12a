"""Helpers for a user's tests: boot in a test, capture events, inject faults, verify gates.

Example:
    with capture_events() as events, inject_fault("database", error=ConnectionError("down")):
        with pytest.raises(BootAborted):
            await boot.run_once(sinks=[])
    assert [e.phase for e in events if isinstance(e, PhaseBlocked)] == ["api"]

    async with booted(boot.override(settings=TEST_SETTINGS)) as running:
        ...  # it started cleanly (READY); leaving the block asserts it stopped cleanly

The pytest plugin (`orchestrator.pytest_plugin`, registered when smd is
installed) offers the same as the fixtures `smd_running` and `smd_events`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from ._model._diagnostic import Diagnostic
from ._model._errors import BootAborted
from ._model._events import Event, EventSink
from ._model._report import BootReport
from ._model._status import BootState, TeardownOutcome
from ._model._verification import GateVerdict, Verification
from ._runtime._attached import ACTIVE_FAULTS, EXTRA_SINKS
from ._runtime._faults import Fault, FaultMoment

if TYPE_CHECKING:
    from ._boot import Boot
    from ._runtime._running import RunningBoot


class BootTestFailure(AssertionError):
    """A boot under test did not start, or did not stop, cleanly; the message says why.

    Attributes:
        diagnostic: the boot's diagnostic, when it has one.
        report: the boot's report as it ended.
    """

    def __init__(
        self, message: str, *, diagnostic: Diagnostic | None, report: BootReport | None
    ) -> None:
        super().__init__(message)
        self.diagnostic = diagnostic
        self.report = report


@asynccontextmanager
async def booted(
    boot: Boot,
    *,
    faults: Iterable[Fault] = (),
    allow_degraded: bool = False,
    sinks: Iterable[EventSink] = (),
    **start_options: Any,
) -> AsyncIterator[RunningBoot]:
    """Boot `boot` around a block of a test; fail the test unless it starts and stops cleanly.

    fx's `RequireStart` and `RequireStop` in one block: entering requires the
    boot to reach READY (or DEGRADED with `allow_degraded=True`), leaving
    requires every teardown to complete. Either failure raises
    `BootTestFailure` whose message is the diagnostic, not a traceback.

    Args:
        boot: the boot to run (often `boot.override(...)` or `boot.replace(...)`).
        faults: `Fault`s to inject into named phases of this boot.
        allow_degraded: accept a DEGRADED start.
        sinks: receivers of the boot's events (none by default: tests stay quiet).
        **start_options: passed to `Boot.start` (max_concurrency, deadline...).

    Raises:
        BootTestFailure: the boot did not start or did not stop cleanly.
    """
    __tracebackhide__ = True
    token = ACTIVE_FAULTS.set((*ACTIVE_FAULTS.get(), *faults))
    holding = True
    stage = "start"
    try:
        async with boot.start(sinks=sinks, **start_options) as running:
            ACTIVE_FAULTS.reset(token)  # the boot holds its faults; later boots get none
            holding = False
            _require_started(running, allow_degraded=allow_degraded)
            stage = "body"
            yield running
            stage = "stop"
    except BootAborted as aborted:
        if stage == "body":  # the test's own, or a failure in service while it ran
            raise
        what = "did not start" if stage == "start" else "failed in service"
        raise BootTestFailure(
            f"boot '{boot.name}' {what}:\n{aborted.diagnostic}",
            diagnostic=aborted.diagnostic,
            report=aborted.report,
        ) from None
    finally:
        if holding:
            ACTIVE_FAULTS.reset(token)
    _require_stopped(running.report)


def _require_started(running: RunningBoot, *, allow_degraded: bool) -> None:
    __tracebackhide__ = True
    report = running.report
    if running.state is BootState.READY or (allow_degraded and running.state is BootState.DEGRADED):
        return
    degraded = [
        f"  {record.name}: {record.status.value}"
        + (f" ({record.error['type']}: {record.error['message']})" if record.error else "")
        for record in report.phases
        if record.status.value in ("failed", "timed_out", "blocked")
    ]
    raise BootTestFailure(
        f"boot '{report.boot}' started {running.state.value}, not ready:\n"
        + "\n".join(degraded)
        + "\n(pass allow_degraded=True if a degraded start is what this test expects)",
        diagnostic=None,
        report=report,
    )


def _require_stopped(report: BootReport) -> None:
    __tracebackhide__ = True
    failed = [r for r in report.phases if r.teardown is TeardownOutcome.TEARDOWN_FAILED]
    if report.state is BootState.STOPPED and not failed:
        return
    lines = [
        f"  {record.name}: "
        + (
            f"{record.teardown_error['type']}: {record.teardown_error['message']}"
            if record.teardown_error
            else "teardown failed"
        )
        for record in failed
    ]
    raise BootTestFailure(
        f"boot '{report.boot}' did not stop cleanly ({report.state.value}):\n" + "\n".join(lines),
        diagnostic=None,
        report=report,
    )


async def verify_gates(
    boot: Boot, *, deadline: float | None = None, stop_timeout: float | None = None
) -> Verification:
    """Run every gate of `boot` with only what the gates need, as `smd verify` does.

    Failures are described by the boot's failure analyzers, as in a real boot.

    Args:
        boot: the boot whose gates to verify.
        deadline: seconds for the whole verification run.
        stop_timeout: seconds for its teardown.

    Returns:
        The verification: a `GateVerdict` per gate, `exit_code`, the run's report.

    Raises:
        GraphError: the declaration is invalid.
    """
    from ._runtime._verify import verify_gates as run_gates

    return await run_gates(
        boot.plan(),
        deadline=deadline,
        stop_timeout=stop_timeout,
        analyzers=tuple(boot._analyzers),
    )


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


__all__ = [
    "BootTestFailure",
    "Fault",
    "GateVerdict",
    "Verification",
    "booted",
    "capture_events",
    "inject_fault",
    "verify_gates",
]
