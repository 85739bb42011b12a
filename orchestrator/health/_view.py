"""What the probes look at: one frozen picture of a boot, from whatever can describe it.

Before a boot yields its `RunningBoot`, the probes still have something to say:
the plan (known before the first phase starts) and the boot's progress, which
`BootProgress` follows from the boot's own events. Once the boot is running,
the `RunningBoot` is the authority.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._model._events import (
    BootFailed,
    BootReady,
    BootStateChanged,
    BootStopped,
    BootStopping,
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
)
from .._model._plan import BootPlan
from .._model._status import BootState, PhaseStatus
from .._runtime._running import RunningBoot

_BOOTED = (BootState.READY, BootState.DEGRADED)
_HEALTHY = (PhaseStatus.COMPLETED, PhaseStatus.SKIPPED)


@dataclass(frozen=True, slots=True)
class PhaseHealth:
    """One phase as the probes see it.

    Attributes:
        name: the phase.
        status: where its start stands.
        critical: whether its failure stops the boot (False: it degrades it).
        reason: why it is not healthy (its error, or what it waits for), or None.
    """

    name: str
    status: PhaseStatus
    critical: bool = True
    reason: str | None = None

    @property
    def healthy(self) -> bool:
        """Completed, or skipped as its declaration says."""
        return self.status in _HEALTHY


@dataclass(frozen=True, slots=True)
class BootHealth:
    """A boot at one moment, as every probe reads it.

    Attributes:
        boot: the boot's name, or None when nothing is known yet.
        fingerprint: the plan's fingerprint, or None when nothing is known yet.
        state: where the boot is in its lifecycle.
        booted: whether it reached READY or DEGRADED (it stays true while draining).
        draining: whether shutdown has begun.
        phases: each phase, in plan order.
    """

    boot: str | None
    fingerprint: str | None
    state: BootState
    booted: bool = False
    draining: bool = False
    phases: tuple[PhaseHealth, ...] = ()

    def named(self, status: PhaseStatus) -> list[str]:
        """The phases with `status`, in plan order."""
        return [phase.name for phase in self.phases if phase.status is status]

    @property
    def degraded(self) -> list[str]:
        """Once booted, the phases that did not come up (failed, blocked or cancelled)."""
        if not self.booted:
            return []
        waiting = (PhaseStatus.PENDING, PhaseStatus.RUNNING)
        return [p.name for p in self.phases if not p.healthy and p.status not in waiting]


class BootProgress:
    """An event sink that follows a boot's phases, for the probes to read while it boots.

    Every phase starts PENDING, so a probe answers with the plan's fingerprint
    and the whole list of phases from the first moment, before any event.

    Args:
        plan: the plan the boot runs.
    """

    def __init__(self, plan: BootPlan) -> None:
        self.plan = plan
        self.state = BootState.STARTING
        self.booted = False
        self._critical = {spec.name: spec.critical for spec in plan.phases}
        self._phases: dict[str, tuple[PhaseStatus, str | None]] = {
            spec.name: (PhaseStatus.PENDING, None) for spec in plan.phases
        }

    def __repr__(self) -> str:
        return f"<BootProgress {self.plan.boot!r} {self.state.value}>"

    def __call__(self, event: Event) -> None:
        """Record what `event` changes: a phase's status or the boot's state."""
        if isinstance(event, BootReady):
            self.state, self.booted = event.state, True
        elif isinstance(event, BootStateChanged):
            self.state = event.state
        elif isinstance(event, BootFailed):
            self.state = BootState.FAILED
        elif isinstance(event, BootStopping | BootStopped):
            self.state = (
                BootState.STOPPING if isinstance(event, BootStopping) else BootState.STOPPED
            )
        elif event.phase is not None and event.phase in self._phases:
            self._record(event, event.phase)

    def _record(self, event: Event, phase: str) -> None:
        if isinstance(event, PhaseStarted):
            self._phases[phase] = (PhaseStatus.RUNNING, None)
        elif isinstance(event, PhaseRetrying):
            why = f"retrying after attempt {event.attempt}: {event.error}"
            self._phases[phase] = (PhaseStatus.RUNNING, why)
        elif isinstance(event, PhaseCompleted):
            self._phases[phase] = (PhaseStatus.COMPLETED, None)
        elif isinstance(event, PhaseFailed):
            status = PhaseStatus.TIMED_OUT if event.timed_out else PhaseStatus.FAILED
            self._phases[phase] = (status, event.error)
        elif isinstance(event, PhaseSkipped | PhaseBlocked):
            status = PhaseStatus.SKIPPED if isinstance(event, PhaseSkipped) else PhaseStatus.BLOCKED
            self._phases[phase] = (status, event.reason)
        elif isinstance(event, PhaseCancelled):
            self._phases[phase] = (PhaseStatus.CANCELLED, "cancelled")

    def observe(self) -> BootHealth:
        """The boot as it stands now."""
        phases = tuple(
            PhaseHealth(name, status, self._critical[name], reason)
            for name, (status, reason) in self._phases.items()
        )
        return BootHealth(
            self.plan.boot, self.plan.fingerprint, self.state, booted=self.booted, phases=phases
        )


HealthSource = RunningBoot | BootProgress | BootPlan | None
"""Anything the probes can read: a running boot, a boot's progress, a plan, or nothing yet."""


def observe(source: HealthSource) -> BootHealth:
    """A frozen picture of `source` for the probes.

    Args:
        source: the running boot; its progress while it boots; its plan before
            it starts (every phase pending); or None when nothing is known.
    """
    if source is None:
        return BootHealth(None, None, BootState.STARTING)
    if isinstance(source, BootPlan):
        return BootProgress(source).observe()
    if isinstance(source, BootProgress):
        return source.observe()
    phases = tuple(
        PhaseHealth(
            record.name,
            record.status,
            record.critical,
            _reason(record.status, record.error),
        )
        for record in source.report.phases
    )
    return BootHealth(
        source.plan.boot,
        source.plan.fingerprint,
        source.state,
        booted=source.state in _BOOTED or source.draining,
        draining=source.draining,
        phases=phases,
    )


def _reason(status: PhaseStatus, error: dict[str, str] | None) -> str | None:
    if status in _HEALTHY:
        return None
    if error is not None:
        message = error.get("message", "")
        return f"{error.get('type', 'Error')}: {message}" if message else error.get("type")
    return status.value
