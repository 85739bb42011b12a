"""One instance of every event a boot emits, for feeding each consumer the whole union."""

from __future__ import annotations

from orchestrator._model._diagnostic import Diagnostic
from orchestrator._model._events import (
    AnyEvent,
    BootFailed,
    BootReady,
    BootStarted,
    BootStateChanged,
    BootStopped,
    BootStopping,
    BudgetExceeded,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRecovered,
    PhaseRestarting,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
    SignalReceived,
    SinkFailed,
    TeardownCompleted,
    TeardownFailed,
    TeardownStarted,
)
from orchestrator._model._status import BootState

BOOT = "samples"


def every_event() -> list[AnyEvent]:
    """One event of each type, in an order a boot could emit them."""
    diagnostic = Diagnostic(
        boot=BOOT, fingerprint="0" * 12, kind="phase_failed", phase="cache", summary="down"
    )
    return [
        BootStarted(boot=BOOT, at=0.0, fingerprint="0" * 12, phases=3),
        PhaseStarted(boot=BOOT, at=0.1, phase="database", attempt=1),
        PhaseRetrying(boot=BOOT, at=0.2, phase="database", attempt=1, delay=0.5, error="E: x"),
        PhaseCompleted(boot=BOOT, at=0.8, phase="database", attempts=2, duration=0.7),
        PhaseSkipped(boot=BOOT, at=0.8, phase="metrics", reason="when= was false"),
        PhaseStarted(boot=BOOT, at=0.8, phase="cache", attempt=1),
        PhaseFailed(
            boot=BOOT,
            at=0.9,
            phase="cache",
            attempts=1,
            duration=0.1,
            error="OSError: down",
            timed_out=False,
            critical=False,
        ),
        PhaseBlocked(boot=BOOT, at=0.9, phase="web", reason="cache failed"),
        PhaseStarted(boot=BOOT, at=0.9, phase="queue", attempt=1),
        PhaseCancelled(boot=BOOT, at=1.0, phase="queue"),
        BootReady(boot=BOOT, at=1.0, state=BootState.DEGRADED, duration=1.0),
        BudgetExceeded(boot=BOOT, at=1.0, overruns=(("(boot)", 0.5, 1.0), ("database", 0.2, 0.7))),
        PhaseRestarting(
            boot=BOOT, at=1.5, phase="consumer", restart=1, delay=0.5, error="OSError: reset"
        ),
        PhaseRecovered(boot=BOOT, at=2.0, phase="cache", attempts=2),
        BootStateChanged(
            boot=BOOT,
            at=2.0,
            previous=BootState.DEGRADED,
            state=BootState.READY,
            reason="cache recovered",
        ),
        BootFailed(boot=BOOT, at=2.5, diagnostic=diagnostic),
        SignalReceived(
            boot=BOOT,
            at=3.0,
            signal="SIGTERM",
            effect="already stopping; every teardown still runs",
        ),
        SinkFailed(boot=BOOT, at=3.0, sink="<broken>", error="RuntimeError: sink down"),
        BootStopping(boot=BOOT, at=3.0),
        TeardownStarted(boot=BOOT, at=3.0, phase="database"),
        TeardownFailed(boot=BOOT, at=3.5, phase="database", duration=0.5, error="E: y"),
        TeardownStarted(boot=BOOT, at=3.5, phase="settings"),
        TeardownCompleted(boot=BOOT, at=3.6, phase="settings", duration=0.1),
        BootStopped(boot=BOOT, at=3.6, duration=3.6),
    ]
