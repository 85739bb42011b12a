"""The ready-queue scheduler: starts each phase once its dependencies are done."""

from __future__ import annotations

import heapq
import math
import signal
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ._context import PhaseContext
from ._diagnostic import describe_exception
from ._errors import PhaseTimeout
from ._events import (
    BootStarted,
    Event,
    EventSink,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
)
from ._faults import ACTIVE_FAULTS, EXTRA_SINKS, Fault, apply_fault
from ._gate import check_gate
from ._interrupt import BootInterrupt
from ._invoke import Teardown, start_phase
from ._phase import PhaseSpec
from ._phase_run import PhaseFailure, PhaseRun, caused_by_cancellation, error_info
from ._plan import BootPlan
from ._report import BootReport
from ._status import BootState, PhaseStatus

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that abort a boot in progress and stop a boot in service."""


class Engine:
    """Runs one boot of a plan; the single owner of everything that changes while it runs."""

    def __init__(
        self,
        plan: BootPlan,
        *,
        max_concurrency: int | None,
        deadline: float | None,
        sinks: Iterable[EventSink],
        handle_signals: bool,
        interrupt: BootInterrupt | None = None,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1 or None, got {max_concurrency}")
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be > 0 seconds, got {deadline}")
        self.plan = plan
        self.runs = [PhaseRun(spec, i) for i, spec in enumerate(plan.phases)]
        self.by_name = {run.spec.name: run for run in self.runs}
        self.dependents: dict[str, list[tuple[PhaseRun, bool]]] = {n: [] for n in self.by_name}
        for run in self.runs:
            for name in run.spec.waits_for:
                self.dependents[name].append((run, name in run.spec.requires))
        self.values: dict[str, Any] = {}
        self.state = BootState.STARTING
        self.outcome = BootState.STARTING
        self.limit = max_concurrency if max_concurrency is not None else math.inf
        self.deadline = deadline
        self.sinks = (*tuple(sinks), *EXTRA_SINKS.get())
        self.sink_errors: list[tuple[EventSink, Exception]] = []
        self.faults = {(f.phase, f.during): f for f in ACTIVE_FAULTS.get()}
        self.handle_signals = handle_signals
        self.interrupt = interrupt
        self.ready: list[int] = []
        self.in_flight = 0
        self.failures: list[PhaseRun] = []
        self.aborting = False
        self.interrupted_by: int | None = None
        self.boot_timed_out = False
        self.internal_error: BaseException | None = None
        self.degraded = False
        self.t0 = 0.0
        self.started_at = ""
        self.duration = 0.0
        self.teardown_order: list[tuple[str, str]] = []
        self._group: TaskGroup | None = None

    # -- clock and events ---------------------------------------------------------

    def now(self) -> float:
        """Seconds since the boot started (a monotonic clock)."""
        return time.perf_counter() - self.t0

    def emit(self, event: Event) -> None:
        """Hand `event` to every sink; a failing sink is recorded, never fatal."""
        for sink in self.sinks:
            try:
                sink(event)
            except Exception as exc:
                self.sink_errors.append((sink, exc))

    # -- boot ---------------------------------------------------------------------

    async def boot(self) -> None:
        """Start every phase in dependency order; returns once all have settled."""
        self.t0 = time.perf_counter()
        self.started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self.sinks:
            self.emit(
                BootStarted(
                    boot=self.plan.boot,
                    at=0.0,
                    fingerprint=self.plan.fingerprint,
                    phases=len(self.runs),
                )
            )
        limit = math.inf if self.deadline is None else anyio.current_time() + self.deadline
        try:
            with anyio.CancelScope(deadline=limit) as boot_scope:
                async with anyio.create_task_group() as outer:
                    if self.handle_signals:
                        await outer.start(self._watch_signals)
                    if self.interrupt is not None:
                        outer.start_soon(self._watch_interrupt, self.interrupt)
                    async with anyio.create_task_group() as group:
                        self._group = group
                        for run in self.runs:
                            if run.waiting == 0:
                                self.ready.append(run.position)
                        self._dispatch()
                    outer.cancel_scope.cancel()
            if boot_scope.cancelled_caught and not self.aborting:
                self.boot_timed_out = True
        except Exception as exc:
            self.internal_error = exc
        self.duration = self.now()
        for run in self.runs:
            if run.status is PhaseStatus.PENDING:
                self._settle_unstarted(run, PhaseStatus.BLOCKED, "the boot was aborted")
        if self.aborted:
            self.state = self.outcome = BootState.FAILED
        else:
            self.state = self.outcome = BootState.DEGRADED if self.degraded else BootState.READY

    @property
    def aborted(self) -> bool:
        """Whether the boot ended without reaching READY or DEGRADED."""
        return bool(
            self.failures or self.interrupted_by or self.boot_timed_out or self.internal_error
        )

    def abort(self) -> None:
        """Stop starting phases and cancel those in flight."""
        self.aborting = True
        if self._group is not None:
            self._group.cancel_scope.cancel()

    async def _watch_signals(self, *, task_status: TaskStatus[None]) -> None:
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            task_status.started()
            async for signum in signals:
                self.interrupted_by = int(signum)
                self.abort()
                return

    async def _watch_interrupt(self, interrupt: BootInterrupt) -> None:
        self.interrupted_by = await interrupt.wait()
        self.abort()

    # -- scheduling ---------------------------------------------------------------

    def _dispatch(self) -> None:
        assert self._group is not None
        while self.ready and self.in_flight < self.limit and not self.aborting:
            run = self.runs[heapq.heappop(self.ready)]
            spec = run.spec
            if spec.when is not None and not self._condition_holds(run):
                continue
            self.in_flight += 1
            run.status = PhaseStatus.RUNNING
            run.start = self.now()
            if self.sinks:  # emitted here, not in the task, so ties start in plan order
                self.emit(
                    PhaseStarted(boot=self.plan.boot, at=run.start, phase=spec.name, attempt=1)
                )
            self._group.start_soon(self._run, run, name=f"smd phase {spec.name}")

    def _condition_holds(self, run: PhaseRun) -> bool:
        when = run.spec.when
        try:
            holds = bool(when() if callable(when) else when)
        except Exception as exc:
            run.start = run.end = self.now()
            self._fail(run, PhaseFailure(exc, timed_out=False))
            return False
        if not holds:
            self._settle_unstarted(run, PhaseStatus.SKIPPED, "its when= condition is false")
        return holds

    async def _run(self, run: PhaseRun) -> None:
        try:
            value, teardown = await self._attempt_all(run)
        except PhaseFailure as failure:
            self.in_flight -= 1
            run.end = self.now()
            if self.aborting and not failure.timed_out and caused_by_cancellation(failure.error):
                self._cancelled(run)
                return
            self._fail(run, failure)
            self._dispatch()
            return
        except anyio.get_cancelled_exc_class():
            self.in_flight -= 1
            run.end = self.now()
            self._cancelled(run)
            raise
        self.in_flight -= 1
        run.end = self.now()
        run.status = PhaseStatus.COMPLETED
        run.teardown = teardown
        self.values[run.spec.name] = value
        if self.sinks:
            self.emit(
                PhaseCompleted(
                    boot=self.plan.boot,
                    at=run.end,
                    phase=run.spec.name,
                    attempts=run.attempts,
                    duration=run.end - (run.start or 0.0),
                )
            )
        self._release(run)
        self._dispatch()

    async def _attempt_all(self, run: PhaseRun) -> tuple[Any, Teardown | None]:
        spec = run.spec
        retry = spec.retry
        attempts = retry.attempts if retry is not None else 1
        arguments = {name: self.values[name] for name in spec.requires}
        fault = self.faults.get((spec.name, "start")) if self.faults else None
        for attempt in range(1, attempts + 1):
            run.attempts = attempt
            if self.sinks and attempt > 1:
                self.emit(
                    PhaseStarted(
                        boot=self.plan.boot, at=self.now(), phase=spec.name, attempt=attempt
                    )
                )
            scope: anyio.CancelScope | None = None
            try:
                if spec.timeout is None:
                    value, teardown = await self._attempt(spec, arguments, attempt, None, fault)
                else:
                    with anyio.fail_after(spec.timeout) as scope:
                        value, teardown = await self._attempt(
                            spec, arguments, attempt, scope.deadline, fault
                        )
                return value, teardown
            except Exception as exc:
                timed_out = scope is not None and scope.cancelled_caught
                error: BaseException = (
                    PhaseTimeout(spec.name, spec.timeout or 0.0) if timed_out else exc
                )
                if timed_out:
                    error.__cause__ = exc
                if retry is None or attempt == attempts or not retry.retries(error):
                    raise PhaseFailure(error, timed_out=timed_out) from exc
                delay = retry.delay_before(attempt + 1)
                if self.sinks:
                    self.emit(
                        PhaseRetrying(
                            boot=self.plan.boot,
                            at=self.now(),
                            phase=spec.name,
                            attempt=attempt,
                            delay=delay,
                            error=describe_exception(error),
                        )
                    )
                await anyio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(
        self,
        spec: PhaseSpec,
        arguments: dict[str, Any],
        attempt: int,
        deadline: float | None,
        fault: Fault | None,
    ) -> tuple[Any, Teardown | None]:
        if spec.wants_context:
            arguments["ctx"] = PhaseContext.create(self.plan.boot, spec.name, attempt, deadline)
        if fault is not None and (fault.attempts is None or attempt <= fault.attempts):
            await apply_fault(fault)
        value, teardown = await start_phase(spec, arguments)
        if spec.kind == "gate":
            await check_gate(spec, value, teardown)
        return value, teardown

    # -- settling -------------------------------------------------------------------

    def _fail(self, run: PhaseRun, failure: PhaseFailure) -> None:
        run.status = PhaseStatus.TIMED_OUT if failure.timed_out else PhaseStatus.FAILED
        run.exception = failure.error
        run.error = error_info(failure.error)
        if self.sinks:
            self.emit(
                PhaseFailed(
                    boot=self.plan.boot,
                    at=run.end or 0.0,
                    phase=run.spec.name,
                    attempts=run.attempts,
                    duration=(run.end or 0.0) - (run.start or 0.0),
                    error=describe_exception(failure.error),
                    timed_out=failure.timed_out,
                    critical=run.spec.critical,
                )
            )
        if run.spec.critical:
            self.failures.append(run)
            self.abort()
        else:
            self.degraded = True
            self._release(run)

    def _cancelled(self, run: PhaseRun) -> None:
        run.status = PhaseStatus.CANCELLED
        if self.sinks:
            self.emit(PhaseCancelled(boot=self.plan.boot, at=self.now(), phase=run.spec.name))

    def _settle_unstarted(self, run: PhaseRun, status: PhaseStatus, reason: str) -> None:
        self._mark_unstarted(run, status, reason)
        if not self.aborting:
            self._release(run)

    def _mark_unstarted(self, run: PhaseRun, status: PhaseStatus, reason: str) -> None:
        """Settle a phase that will never start as SKIPPED or BLOCKED (a block degrades)."""
        run.status = status
        if self.sinks:
            event_type = PhaseSkipped if status is PhaseStatus.SKIPPED else PhaseBlocked
            self.emit(
                event_type(boot=self.plan.boot, at=self.now(), phase=run.spec.name, reason=reason)
            )
        if status is PhaseStatus.BLOCKED and not self.aborting:
            self.degraded = True

    def _release(self, settled: PhaseRun) -> None:
        """Tell the dependents of `settled` it is done; queue or settle those now unblocked."""
        work = [settled]
        while work:
            run = work.pop()
            ok = run.status is PhaseStatus.COMPLETED
            for dependent, needs_value in self.dependents[run.spec.name]:
                if needs_value and not ok:
                    dependent.block = _worse(dependent.block, run)
                dependent.waiting -= 1
                if dependent.waiting:
                    continue
                if dependent.block is None:
                    heapq.heappush(self.ready, dependent.position)
                    continue
                self._mark_unstarted(dependent, *dependent.block)
                work.append(dependent)

    # -- reporting ------------------------------------------------------------------

    def report(self, *, diagnostic: dict[str, Any] | None = None) -> BootReport:
        """The report as it stands now."""
        running = self.state is BootState.STARTING
        return BootReport(
            boot=self.plan.boot,
            fingerprint=self.plan.fingerprint,
            state=self.state,
            started_at=self.started_at,
            duration=self.now() if running and self.t0 else self.duration,
            phases=tuple(run.record() for run in self.runs),
            diagnostic=diagnostic,
            outcome=None if running else self.outcome,
        )


def _worse(current: tuple[PhaseStatus, str] | None, cause: PhaseRun) -> tuple[PhaseStatus, str]:
    """Blocked beats skipped: a phase that needs a failed value is blocked, not skipped."""
    name = cause.spec.name
    if cause.status is PhaseStatus.SKIPPED:
        candidate = (PhaseStatus.SKIPPED, f"it needs the value of '{name}', which was skipped")
    else:
        candidate = (PhaseStatus.BLOCKED, f"it needs the value of '{name}', which {cause.status}")
    if current is None or (
        current[0] is PhaseStatus.SKIPPED and candidate[0] is PhaseStatus.BLOCKED
    ):
        return candidate
    return current
