"""The one owner of a boot's life: its state, its transitions, its signals and its stop."""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus

from .._model._events import (
    BootFailed,
    BootReady,
    BootStarted,
    BootStateChanged,
    BootStopped,
    BootStopping,
    BudgetExceeded,
    Event,
    EventSink,
    PhaseFailed,
    SignalReceived,
    SinkGroup,
)
from .._model._plan import BootPlan, declares_budget
from .._model._report import BootReport, DegradedInterval, PhaseRecord
from .._model._status import BootState, PhaseStatus, TeardownOutcome
from ._attached import ACTIVE_FAULTS, EXTRA_SINKS
from ._interrupt import BootInterrupt
from ._invoke import start_phase
from ._phase_run import PhaseRun, error_info
from ._recovery import Recovery, degraded_phases
from ._scheduler import Engine
from ._services import Services, spent_diagnostic
from ._teardown import Teardowns
from ._workers import Spawner, loop_clock

if TYPE_CHECKING:
    from .._model._analyzers import FailureAnalyzer
    from .._model._diagnostic import Diagnostic
    from .._model._snapshot import RunSnapshot

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that abort a boot in progress and stop a boot in service."""

TRANSITIONS: Mapping[BootState, frozenset[BootState]] = {
    BootState.STARTING: frozenset({BootState.READY, BootState.DEGRADED, BootState.FAILED}),
    BootState.READY: frozenset({BootState.DEGRADED, BootState.FAILED, BootState.STOPPING}),
    BootState.DEGRADED: frozenset({BootState.READY, BootState.FAILED, BootState.STOPPING}),
    BootState.FAILED: frozenset({BootState.STOPPING}),
    BootState.STOPPING: frozenset({BootState.STOPPED}),
    BootState.STOPPED: frozenset(),
}
"""Every transition of the lifecycle (DESIGN.md, Boot states); nothing else is allowed."""

IN_SERVICE = (BootState.READY, BootState.DEGRADED)


def _before_start() -> float:
    return 0.0


class BootClock:
    """Seconds since the boot started, on the event loop's clock; 0 before it starts."""

    __slots__ = ("_read", "_t0")

    def __init__(self) -> None:
        self._read: Callable[[], float] = _before_start
        self._t0 = 0.0

    def start(self) -> None:
        """The boot starts now."""
        self._read = loop_clock()
        self._t0 = self._read()

    def __call__(self) -> float:
        return self._read() - self._t0


def _stopping() -> bool:
    return True


async def _spent_after_the_stop(run: PhaseRun, error: BaseException, restarts: int) -> None:
    """Nothing left to fail once the boot has stopped."""


def _nothing() -> None:
    """Nothing left to do once the boot has stopped."""


class LifecycleError(RuntimeError):
    """A transition the lifecycle does not have was asked for (a bug in the caller)."""


class Lifecycle:
    """A boot from its start to its stop, owned in one place.

    It holds the state and allows only the transitions in `TRANSITIONS`, each
    one an event; it hears SIGINT/SIGTERM (or a `BootInterrupt`) for the whole
    life of the boot and turns each into the right effect for the moment; it
    starts the phases through the `Engine` and stops them through `Teardowns`.
    In service it hears from the `Services` it supervises and the `Recovery`
    of failed phases, and moves between READY, DEGRADED and FAILED accordingly.
    Everyone else gets a read-only view (`RunningBoot`) or a frozen
    `RunSnapshot`.
    """

    def __init__(
        self,
        plan: BootPlan,
        *,
        max_concurrency: int | None,
        deadline: float | None,
        stop_timeout: float | None,
        sinks: Iterable[EventSink],
    ) -> None:
        self.plan = plan
        self.state = BootState.STARTING
        self.outcome = BootState.STARTING
        self.stop_timeout = stop_timeout
        self.clock = BootClock()
        self._sinks = SinkGroup([*sinks, *EXTRA_SINKS.get()], boot=plan.boot, now=self.clock)
        emit = self._sinks if self._sinks else None
        self.started_at = ""
        self.duration = 0.0
        self.stopped_at: float | None = None
        self.stop_duration: float | None = None
        self.signals: list[int] = []
        self.stop_signal: int | None = None
        self.internal_error: BaseException | None = None
        self.diagnostic: Diagnostic | None = None
        self.in_service_failure: Diagnostic | None = None
        self.analyzers: tuple[FailureAnalyzer, ...] = ()  # the user's, asked in diagnosis
        self._stop_requested = False
        self._service_scope: anyio.CancelScope | None = None
        faults = {(f.phase, f.during): f for f in ACTIVE_FAULTS.get()}
        self.engine = Engine(
            plan,
            max_concurrency=max_concurrency,
            deadline=deadline,
            emit=emit,
            now=self.clock,
            faults=faults,
        )
        self.services = Services(
            plan,
            {run.spec.name: run for run in self.engine.runs},
            emit=emit,
            now=self.clock,
            stopping=lambda: self._stop_requested,
            on_spent=self._service_spent,
        )
        self.engine.start_phase = self.services.start
        self.recovery = Recovery(
            self.engine,
            emit=emit,
            now=self.clock,
            on_settled=self._recovery_settled,
        )
        self.degraded: list[DegradedInterval] = []
        self._group: Spawner | None = None
        self._serving: anyio.Event | None = None
        self.teardowns = Teardowns(
            plan,
            self.engine.runs,
            limit=self.engine.limit,
            stop_timeout=stop_timeout,
            emit=emit,
            now=self.clock,
            faults=faults,
        )

    def close(self) -> None:
        """After the stop: drop what the parts hold of the lifecycle.

        They hold it only through these callbacks, so a finished boot nobody
        holds any more is freed at once, without waiting for the collector.
        """
        self.services.stopping = _stopping
        self.services.on_spent = _spent_after_the_stop
        self.recovery.on_settled = _nothing
        self.engine.start_phase = start_phase

    # -- clock, events, transitions -------------------------------------------------

    def now(self) -> float:
        """Seconds since the boot started, on the event loop's clock."""
        return self.clock()

    def emit(self, event: Event) -> None:
        """Hand `event` to every sink; a sink that raises is detached and reported."""
        self._sinks(event)

    def _move(self, to: BootState, event: Event) -> None:
        if to not in TRANSITIONS[self.state]:
            raise LifecycleError(
                f"boot '{self.plan.boot}' cannot go from {self.state.value} to {to.value}"
            )
        if self.state is BootState.DEGRADED and self.degraded:
            self.degraded[-1] = dataclasses.replace(self.degraded[-1], end=event.at)
        if to is BootState.DEGRADED:
            self.degraded.append(DegradedInterval(event.at, None, self._degraded_reason()))
        self.state = to
        if to in (BootState.READY, BootState.DEGRADED, BootState.FAILED):
            self.outcome = to
        if self._sinks:
            self.emit(event)

    def degrade(self, reason: str) -> None:
        """READY -> DEGRADED while in service (a non-critical service or phase gave out)."""
        self._change_in_service(BootState.DEGRADED, reason)

    def recover(self, reason: str) -> None:
        """DEGRADED -> READY while in service (nothing is degraded any more)."""
        self._change_in_service(BootState.READY, reason)

    def _change_in_service(self, to: BootState, reason: str) -> None:
        previous = self.state
        if previous not in IN_SERVICE:
            raise LifecycleError(
                f"boot '{self.plan.boot}' is {previous.value}, not in service: it cannot "
                f"become {to.value}"
            )
        event = BootStateChanged(
            boot=self.plan.boot, at=self.now(), previous=previous, state=to, reason=reason
        )
        self._move(to, event)

    def _degraded_reason(self) -> str:
        """What degrades the boot: each failed or blocked phase and its status."""
        return ", ".join(
            f"'{run.spec.name}' {run.status.value}"
            for run in self.engine.runs
            if run.spec.name in degraded_phases(self.engine)
        )

    def fail_in_service(self, diagnostic: Diagnostic) -> None:
        """READY/DEGRADED -> FAILED (a critical service gave out); the stop follows."""
        diagnostic = dataclasses.replace(diagnostic, in_service=True)
        self.in_service_failure = diagnostic
        self._move(
            BootState.FAILED, BootFailed(boot=self.plan.boot, at=self.now(), diagnostic=diagnostic)
        )
        self.request_stop()

    # -- signals --------------------------------------------------------------------

    async def watch_signals(self, *, task_status: TaskStatus[None]) -> None:
        """Hear SIGINT/SIGTERM from the boot's start until its teardown has ended."""
        with anyio.open_signal_receiver(*STOP_SIGNALS) as received:
            task_status.started()
            async for signum in received:
                self.on_signal(int(signum))

    async def watch_interrupt(self, interrupt: BootInterrupt) -> None:
        """A host's `BootInterrupt` has the effect a signal would have."""
        self.on_signal(await interrupt.wait())

    def on_signal(self, signum: int) -> None:
        """Abort a boot in progress, stop one in service; later signals change nothing."""
        self.signals.append(signum)
        if self.state is BootState.STARTING and not self.engine.aborted:
            self.engine.interrupt(signum)
            effect = "the boot is aborted; what started is torn down"
        elif self.state in IN_SERVICE and not self._stop_requested:
            self.stop_signal = signum
            self.request_stop()
            effect = "the service stops in order"
        else:
            effect = "already stopping; every teardown still runs"
        if self._sinks:
            self.emit(
                SignalReceived(
                    boot=self.plan.boot,
                    at=self.now(),
                    signal=signal.Signals(signum).name,
                    effect=effect,
                )
            )

    def request_stop(self) -> None:
        """Begin the orderly stop: the service's block is cancelled, teardown follows."""
        self._stop_requested = True
        if self._service_scope is not None:
            self._service_scope.cancel()

    @contextmanager
    def in_service(self) -> Iterator[None]:
        """The span in which the service runs; a stop request cancels it."""
        with anyio.CancelScope() as scope:
            self._service_scope = scope
            if self._stop_requested:
                scope.cancel()
            try:
                yield
            finally:
                self._service_scope = None

    # -- in service: services and recovery ---------------------------------------------

    def host(self, group: Spawner) -> None:
        """The task group, open until the stop has ended, that services and recovery run in."""
        self._group = group
        self.services.host(group)

    async def _service_spent(self, run: PhaseRun, error: BaseException, restarts: int) -> None:
        """A service stopped for good: a critical one fails the boot, another degrades it."""
        assert self._serving is not None
        await self._serving.wait()  # decided once the boot is in service (or never)
        if self.state not in IN_SERVICE or self._stop_requested:
            return
        now = self.now()
        run.status = PhaseStatus.FAILED
        run.exception = error
        run.error = error_info(error)
        spec = run.spec
        if self._sinks:
            self.emit(
                PhaseFailed(
                    boot=self.plan.boot,
                    at=now,
                    phase=spec.name,
                    attempts=run.attempts + restarts,
                    duration=now - (run.start or 0.0),
                    error=str(run.error["type"]) + ": " + str(run.error["message"]),
                    timed_out=False,
                    critical=spec.critical,
                )
            )
        if spec.critical:
            self.fail_in_service(spent_diagnostic(self.snapshot(), run, restarts))
            return
        if self.state is BootState.READY:
            self.degrade(f"service '{spec.name}' stopped and its restarts are spent")
        self.recovery.recover_due()

    def _recovery_settled(self) -> None:
        """A recovery started what it unblocked: FAILED, READY or still DEGRADED."""
        if self.state not in IN_SERVICE or self._stop_requested:
            return
        if self.engine.failures:  # a critical phase it unblocked failed
            from .._model._root_cause import diagnose

            self.fail_in_service(diagnose(self.snapshot()))
        elif self.state is BootState.DEGRADED and not degraded_phases(self.engine):
            recovered = ", ".join(self.recovery.recovered_at)
            self.recover(f"recovered: {recovered}")

    # -- start and stop -------------------------------------------------------------

    async def start(self) -> None:
        """STARTING -> READY | DEGRADED | FAILED; a failed start is rolled back here."""
        self._serving = anyio.Event()
        self.clock.start()
        self.started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self._sinks:
            self.emit(
                BootStarted(
                    boot=self.plan.boot,
                    at=0.0,
                    fingerprint=self.plan.fingerprint,
                    phases=len(self.plan.phases),
                )
            )
        try:
            await self.engine.start()
            # Phases swallow the caller's cancellation to settle as CANCELLED; raise it here.
            await anyio.lowlevel.checkpoint_if_cancelled()
        except anyio.get_cancelled_exc_class():
            await self.teardowns.run()  # cancelled from outside: roll back, then go on
            raise
        except BaseException as exc:  # a bug of smd's own: still diagnosed, still rolled back
            self.internal_error = exc
        self.duration = self.now()
        if self.internal_error is None and not self.engine.aborted:
            state = BootState.DEGRADED if self.engine.degraded else BootState.READY
            self._move(
                state,
                BootReady(
                    boot=self.plan.boot, at=self.duration, state=state, duration=self.duration
                ),
            )
            # Over budget is a warning in service, never a failure.
            if declares_budget(self.plan):  # the budget check loads only for a boot with one
                from .._model._budget import budget_overruns

                overruns = budget_overruns(self.report())
                if overruns:
                    self.emit(
                        BudgetExceeded(boot=self.plan.boot, at=self.duration, overruns=overruns)
                    )
            self._serving.set()
            if self._group is not None:
                self.recovery.begin(self._group)
            return
        await self.teardowns.run()
        from .._model._root_cause import diagnose

        self.diagnostic = diagnose(self.snapshot())
        self._move(
            BootState.FAILED,
            BootFailed(boot=self.plan.boot, at=self.now(), diagnostic=self.diagnostic),
        )

    async def stop(self) -> None:
        """READY | DEGRADED | FAILED -> STOPPING -> STOPPED, every teardown run once."""
        self.stopped_at = self.now()
        self._stop_requested = True  # no service restarts and no recovery from here on
        self._move(BootState.STOPPING, BootStopping(boot=self.plan.boot, at=self.stopped_at))
        await self.recovery.stop()
        await self.teardowns.run()
        self.stop_duration = self.now() - self.stopped_at
        self._move(
            BootState.STOPPED,
            BootStopped(boot=self.plan.boot, at=self.now(), duration=self.now()),
        )

    @property
    def stop_failed(self) -> bool:
        """Whether a teardown failed or the stop budget ran out (exit 1 after a stop)."""
        return self.teardowns.budget_spent or any(
            run.teardown_outcome is TeardownOutcome.TEARDOWN_FAILED for run in self.engine.runs
        )

    # -- views ------------------------------------------------------------------------

    def snapshot(self) -> RunSnapshot:
        """A frozen picture of the run, for diagnosis."""
        from .._model._snapshot import RunSnapshot  # only a diagnosis or a verification needs it

        engine = self.engine
        return RunSnapshot(
            plan=self.plan,
            records=tuple(run.record() for run in engine.runs),
            exceptions={
                run.spec.name: run.exception for run in engine.runs if run.exception is not None
            },
            stuck={run.spec.name: run.stuck for run in engine.runs if run.stuck is not None},
            failures=tuple(sorted(run.position for run in engine.failures)),
            interrupted_by=engine.interrupted_by,
            boot_timed_out=engine.boot_timed_out,
            deadline=engine.deadline,
            internal_error=self.internal_error,
            teardown_order=tuple(self.teardowns.order),
            analyzers=self.analyzers,
        )

    def report(self, *, diagnostic: dict[str, Any] | None = None) -> BootReport:
        """The report as it stands now."""
        starting = self.state is BootState.STARTING
        return BootReport(
            boot=self.plan.boot,
            fingerprint=self.plan.fingerprint,
            state=self.state,
            started_at=self.started_at,
            duration=self.now() if starting else self.duration,
            phases=self._records(),
            diagnostic=diagnostic,
            outcome=None if starting else self.outcome,
            stopped_at=self.stopped_at,
            stop_duration=self.stop_duration,
            degraded=tuple(self.degraded),
            overrides=self.plan.overrides,
            left_out=self.plan.left_out,
            budget=self.plan.budget,
        )

    def _records(self) -> tuple[PhaseRecord, ...]:
        runs = self.engine.runs
        if not (self.services.restarts or self.recovery.recovered_at):
            return tuple([run.record() for run in runs])
        return tuple([self._record(run) for run in runs])

    def _record(self, run: PhaseRun) -> PhaseRecord:
        record = run.record()
        name = run.spec.name
        restarts = self.services.restarts.get(name)
        recovered_at = self.recovery.recovered_at.get(name)
        if restarts is None and recovered_at is None:
            return record
        return dataclasses.replace(
            record, restarts=tuple(restarts or ()), recovered_at=recovered_at
        )
