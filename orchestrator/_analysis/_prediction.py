"""The prediction a simulation returns: per-phase outcomes, totals, and what a failure does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._model._diagnostic import Diagnostic
from .._model._plan import BootPlan
from .._model._report import (
    AttemptRecord,
    BootReport,
    DegradedInterval,
    PhaseRecord,
    RetryPause,
)
from .._model._status import BootState, PhaseStatus, TeardownOutcome
from ._chain import CriticalChain, critical_chain


@dataclass(frozen=True, slots=True)
class SimulatedPhase:
    """One phase's predicted outcome; times are seconds since the boot started.

    `teardown` is how its teardown would end (NOT_NEEDED when none would run);
    `attempt_log` and `retry_pauses` time each attempt and pause, as a report does
    (an attempt's `error` stays None: what a phase would raise cannot be predicted);
    `recovered_at` is when a recovery in service would heal it (None: none would).
    """

    name: str
    kind: str
    status: PhaseStatus
    start: float | None
    end: float | None
    attempts: int
    teardown_start: float | None = None
    teardown_end: float | None = None
    teardown: TeardownOutcome = TeardownOutcome.NOT_NEEDED
    attempt_log: tuple[AttemptRecord, ...] = ()
    retry_pauses: tuple[RetryPause, ...] = ()
    recovered_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The prediction as plain data."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "start": self.start,
            "end": self.end,
            "attempts": self.attempts,
            "teardown_start": self.teardown_start,
            "teardown_end": self.teardown_end,
            "teardown": self._teardown_outcome().value,
            "attempt_log": [record.to_dict() for record in self.attempt_log],
            "retry_pauses": [pause.to_dict() for pause in self.retry_pauses],
            "recovered_at": self.recovered_at,
        }

    def _teardown_outcome(self) -> TeardownOutcome:
        # Built by hand with teardown times only (before `teardown` existed): it ran.
        if self.teardown is TeardownOutcome.NOT_NEEDED and self.teardown_start is not None:
            return TeardownOutcome.TORN_DOWN
        return self.teardown


@dataclass(frozen=True, slots=True)
class SimulatedBoot:
    """What a boot would do: per-phase times and outcomes, and how it would end.

    Attributes:
        plan: the plan simulated.
        phases: one prediction per phase, in plan order.
        duration: seconds until every phase settled (the failure moment if it aborts).
        outcome: READY, DEGRADED or FAILED.
        root_cause: the phase the diagnostic would name: the one whose failure
            aborts the boot, or, when the deadline passes first, the first still
            running; None if it does not abort.
        failure_kind: the diagnostic kind it would end with ("phase_failed",
            "gate_failed", "timed_out"), or None.
        exit_code: the process exit code: the diagnostic's if it aborts, else 0,
            or 1 when a simulated stop would have a teardown fail (rule 6).
        max_concurrency: the limit simulated (None: no limit).
        torn_down: phases torn down after an abort, in the order they would finish.
        stopped_at: when the orderly stop would begin (None unless it was
            simulated: `simulate(..., stop=True)` on a boot that becomes ready).
        stop_duration: seconds the teardowns would take, the rollback of an
            aborted boot or the orderly stop (None when neither was simulated).
        teardown_order: every teardown of the rollback or the stop, in the
            order it would finish, with its outcome.
        stop_timeout: the stop's budget simulated (None: no limit).
        deadline: the boot's deadline simulated (None: no limit).
        diagnostic: what the engine's diagnosis would say of the predicted
            run, for a boot that aborts (its cause is a stand-in: the real
            error is unknown); None otherwise.
    """

    plan: BootPlan
    phases: tuple[SimulatedPhase, ...]
    duration: float
    outcome: BootState
    root_cause: str | None
    failure_kind: str | None
    exit_code: int
    max_concurrency: int | None
    torn_down: tuple[str, ...]
    stopped_at: float | None = None
    stop_duration: float | None = None
    teardown_order: tuple[tuple[str, TeardownOutcome], ...] = ()
    stop_timeout: float | None = None
    deadline: float | None = None
    diagnostic: Diagnostic | None = None
    ready_at: float | None = None
    """When the boot would be READY or DEGRADED (None: it aborts, or not recorded)."""
    healed_at: float | None = None
    """When recoveries would make a DEGRADED boot READY again (None: they would not)."""
    degraded_reason: str = ""
    """What would degrade the boot when it becomes ready (its failed and blocked phases)."""

    def __getitem__(self, name: str) -> SimulatedPhase:
        return self.phases[self.plan.position(name)]

    def with_status(self, *statuses: PhaseStatus) -> tuple[str, ...]:
        """Names of the phases predicted to end in any of `statuses`, in plan order."""
        return tuple(phase.name for phase in self.phases if phase.status in statuses)

    @property
    def order(self) -> tuple[str, ...]:
        """Phases in the order they would start (ties in plan order)."""
        started = [(p.start, i, p.name) for i, p in enumerate(self.phases) if p.start is not None]
        return tuple(name for _, _, name in sorted(started))

    @property
    def blocked(self) -> tuple[str, ...]:
        """Phases that would never start because something they wait for failed."""
        return self.with_status(PhaseStatus.BLOCKED)

    @property
    def cancelled(self) -> tuple[str, ...]:
        """Phases in flight at the failure moment, which the abort would cancel."""
        return self.with_status(PhaseStatus.CANCELLED)

    @property
    def skipped(self) -> tuple[str, ...]:
        """Phases skipped by a `when=False` (or because they need a skipped value)."""
        return self.with_status(PhaseStatus.SKIPPED)

    @property
    def chain(self) -> CriticalChain:
        """The critical chain and slack of the predicted boot."""
        return critical_chain(self.to_report())

    def to_report(self) -> BootReport:
        """The prediction as a `BootReport`, so blame, the chain and the plot apply to it."""
        records = []
        for spec, phase in zip(self.plan.phases, self.phases, strict=True):
            records.append(
                PhaseRecord(
                    name=phase.name,
                    kind=phase.kind,
                    status=phase.status,
                    attempts=phase.attempts,
                    start=phase.start,
                    end=phase.end,
                    teardown=phase._teardown_outcome(),
                    depends_on=spec.waits_for,
                    critical=spec.critical,
                    budget=spec.budget,
                    teardown_start=phase.teardown_start,
                    teardown_end=phase.teardown_end,
                    attempt_log=phase.attempt_log,
                    retry_pauses=phase.retry_pauses,
                    recovered_at=phase.recovered_at,
                )
            )
        diagnostic = None
        if self.diagnostic is not None:
            diagnostic = {**self.diagnostic.to_dict(), "simulated": True}
        return BootReport(
            boot=self.plan.boot,
            fingerprint=self.plan.fingerprint,
            state=BootState.STOPPED if self.stopped_at is not None else self.outcome,
            started_at="simulated",
            duration=self.duration,
            phases=tuple(records),
            diagnostic=diagnostic,
            outcome=self.outcome,
            stopped_at=self.stopped_at,
            stop_duration=self.stop_duration if self.stopped_at is not None else None,
            degraded=self._degraded(),
            budget=self.plan.budget,
        )

    def _degraded(self) -> tuple[DegradedInterval, ...]:
        if self.outcome is not BootState.DEGRADED or self.ready_at is None:
            return ()
        end = self.healed_at if self.healed_at is not None else self.stopped_at
        return (DegradedInterval(self.ready_at, end, self.degraded_reason),)

    def to_dict(self) -> dict[str, Any]:
        """The prediction as plain data (schema `smd.simulation/1`)."""
        return {
            "schema": "smd.simulation/1",
            "boot": self.plan.boot,
            "fingerprint": self.plan.fingerprint,
            "max_concurrency": self.max_concurrency,
            "duration": self.duration,
            "outcome": self.outcome.value,
            "root_cause": self.root_cause,
            "failure_kind": self.failure_kind,
            "exit_code": self.exit_code,
            "critical_chain": list(self.chain.names),
            "blocked": list(self.blocked),
            "cancelled": list(self.cancelled),
            "skipped": list(self.skipped),
            "torn_down": list(self.torn_down),
            "stopped_at": self.stopped_at,
            "stop_duration": self.stop_duration,
            "healed_at": self.healed_at,
            "stop_timeout": self.stop_timeout,
            "deadline": self.deadline,
            "diagnostic": None if self.diagnostic is None else self.diagnostic.to_dict(),
            "teardown_order": [
                {"phase": name, "outcome": outcome.value} for name, outcome in self.teardown_order
            ],
            "phases": [phase.to_dict() for phase in self.phases],
        }
