"""The start of a boot: the scheduler core driven by worker tasks, one per phase that waits.

A worker runs the phases launched, in launch order, each in a context of its
own, until none is left; the first time a phase waits, the worker spawns
enough workers to begin every phase still launched. A phase that never waits
therefore costs no task at all, and phases that wait cost about one task per
phase waiting at the same time; every launched phase begins no later than its
own task would have.
"""

from __future__ import annotations

import contextvars
import functools
import heapq
import math
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from .._model._describe import describe_exception
from .._model._errors import GateFailed, PhaseTimeout
from .._model._events import (
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
)
from .._model._phase import PhaseSpec, PhaseStyle
from .._model._plan import BootPlan
from .._model._report import AttemptOutcome
from .._model._schedule import StartQueue
from .._model._status import PhaseStatus
from ._context import PhaseContext
from ._invoke import (
    CURRENT_ATTEMPT,
    AttemptTrace,
    Teardown,
    continued,
    in_context,
    stack_of,
    start_phase,
)
from ._phase_run import PhaseRun, caused_by_cancellation, error_info
from ._workers import Workers, cancel_scope_class, loop_clock, open_workers

if TYPE_CHECKING:
    from ._faults import Fault, FaultMoment


class _Failed(Exception):
    """Internal: the last attempt of a phase failed on its own (raised, refused, timed out)."""

    def __init__(self, error: BaseException, *, timed_out: bool) -> None:
        super().__init__(type(error).__qualname__)
        self.error = error
        self.timed_out = timed_out


def _gate_refusal(spec: PhaseSpec, value: object) -> GateFailed | None:
    """What a gate's value amounts to (None: the boot may go on).

    The gate module loads with the first gate that ends: a boot without gates never needs it.
    """
    from .._model._gate import gate_refusal

    return gate_refusal(spec, value)


async def _cancelled_from_outside() -> bool:
    """Whether a scope around the whole boot is cancelled (the caller gave up on it)."""
    try:
        await anyio.lowlevel.checkpoint_if_cancelled()
    except anyio.get_cancelled_exc_class():
        return True
    return False


def _by_cancellation(error: BaseException | None) -> bool:
    return error is not None and (
        isinstance(error, anyio.get_cancelled_exc_class()) or caused_by_cancellation(error)
    )


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    """A coroutine awaiting what a phase returned that is awaitable but not a coroutine."""
    return await awaitable


class _Stopped(Exception):
    """Internal: the engine itself cancelled this phase (an abort or the boot's deadline)."""


class _Outcome:
    """How one attempt ended: its value and teardown, or its error and why."""

    __slots__ = ("cancelled", "error", "teardown", "timed_out", "trace", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.teardown: Teardown | None = None
        self.error: BaseException | None = None
        self.cancelled = False
        self.timed_out = False
        self.trace = AttemptTrace()


class Engine:
    """Starts the phases of one boot in dependency order and records how each ended.

    Everything here changes only from the event loop's thread; the lifecycle
    that owns the engine reads the outcome once `start()` has returned.
    """

    def __init__(
        self,
        plan: BootPlan,
        *,
        max_concurrency: int | None,
        deadline: float | None,
        emit: Callable[[Event], None] | None,
        now: Callable[[], float],
        faults: dict[tuple[str, FaultMoment], Fault],
    ) -> None:
        self.plan = plan
        self.runs = [PhaseRun(spec, i) for i, spec in enumerate(plan.phases)]
        self.queue = StartQueue(plan.phases)
        self.values: dict[str, Any] = {}
        self.limit = max_concurrency if max_concurrency is not None else math.inf
        self.deadline = deadline
        self.emit = emit
        self.now = now
        self.faults = faults
        self.in_flight = 0
        self.failures: list[PhaseRun] = []
        self.halted = False
        self.aborting = False
        self.interrupted_by: int | None = None
        self.boot_timed_out = False
        self.degraded = False
        self._workers: Workers | None = None
        self._boot_scope = anyio.CancelScope()
        self.start_phase: Callable[..., Awaitable[tuple[Any, Teardown | None]]] = start_phase
        """How an attempt calls the phase; the lifecycle routes services to their supervisor."""
        self._clock: Callable[[], float] = anyio.current_time  # the loop's own, from `start`
        self._scope_class: Callable[..., anyio.CancelScope] = anyio.CancelScope  # idem
        self._launched: deque[PhaseRun] = deque()
        self._spares = 0  # workers spawned that have not begun yet

    async def start(self) -> None:
        """Start every phase in dependency order; return once every phase has settled."""
        self._clock = loop_clock()
        self._scope_class = cancel_scope_class()
        if self.deadline is not None:
            self._boot_scope.deadline = anyio.current_time() + self.deadline
        with self._boot_scope:
            try:
                async with open_workers() as workers:
                    self._workers = workers
                    self._dispatch()
                    await self._work()
                    await workers.wait()
            finally:
                self._workers = None  # they have all ended: nothing left to cancel
        if self._boot_scope.cancel_called and not self.aborting:
            self.boot_timed_out = True
        while self._launched:  # launched, but the abort came before any worker began it
            self._never_began(self._launched.popleft())
        for run in self.runs:
            if run.status is PhaseStatus.PENDING:
                self._mark_unstarted(run, PhaseStatus.BLOCKED, "the boot was aborted")

    @property
    def aborted(self) -> bool:
        """Whether the boot ended without reaching READY or DEGRADED."""
        return bool(self.failures or self.interrupted_by or self.boot_timed_out)

    def interrupt(self, signal_number: int) -> None:
        """Abort the start as SIGINT/SIGTERM would (only the first call counts)."""
        if self.interrupted_by is None and not self.aborted:
            self.interrupted_by = signal_number
            self.abort()

    def abort(self) -> None:
        """Start nothing more and cancel the phases in flight."""
        self.halted = self.aborting = True
        if self._workers is not None:
            self._workers.cancel()

    def _cancel_requested(self) -> bool:
        return self.aborting or self._boot_scope.cancel_called

    # -- scheduling ---------------------------------------------------------------

    def _dispatch(self, at: float | None = None) -> None:
        """Launch every phase that may start now, in plan order (a worker then runs them).

        Called only from a worker (or `start` before it works), which runs what it launched.
        `at` is the time now, when the caller has just read the clock.
        """
        ready, runs, launch = self.queue.ready, self.runs, self._launched.append
        while ready and self.in_flight < self.limit and not self.halted:
            run = runs[heapq.heappop(ready)]  # the ready phase earliest in plan order
            spec = run.spec
            if spec.when is not None:
                if not self._condition_holds(run):
                    continue
                at = None  # the condition took its time
            self.in_flight += 1
            run.status = PhaseStatus.RUNNING
            run.start = self.now() if at is None else at
            if self.emit:  # emitted here, not in the task, so ties start in plan order
                self.emit(
                    PhaseStarted(boot=self.plan.boot, at=run.start, phase=spec.name, attempt=1)
                )
            launch(run)

    async def _work(self, *, spare: bool = False) -> None:
        """Run launched phases until none is left; a spare takes over if one waits.

        A plain async phase (no timeout, retry, context or fault) is begun right
        here: its first step runs at once, in a context of its own, and only if
        it waits does it cost anything more than the call.
        """
        if spare:  # spawned by `_hand_on`: it has begun
            self._spares -= 1
        launched = self._launched
        values = self.values
        while launched:
            run = launched.popleft()
            if self.aborting:  # the abort came before it began: it never runs
                self._never_began(run)
                continue
            spec = run.spec
            context = contextvars.copy_context()
            if not (
                spec.style is PhaseStyle.ASYNC
                and spec.retry is None
                and spec.kind != "service"
                and not spec.wants_context
                and not (self.faults and (spec.name, "start") in self.faults)
            ):
                await in_context(context, self._run(run), self._hand_on)
                continue
            if spec.timeout is not None:
                await self._run_timed(run, context)
                continue
            run.attempts = 1
            value: Any = None
            error: BaseException | None = None
            try:
                arguments = {name: values[name] for name in spec.requires}
                phase = context.run(spec.target, **arguments)  # marked async, it may run code
                if type(phase) is not CoroutineType:
                    phase = _awaited(phase)
                step = context.run(phase.send, None)
            except StopIteration as done:
                value = done.value
            except BaseException as exc:  # any class: rule 7
                error = exc
            else:  # it waits: a spare takes the phases after it while it does
                self._hand_on()
                try:
                    value = await continued(context, phase, step)
                except BaseException as exc:  # any class: rule 7
                    error = exc
            end = self.now()
            if error is None and spec.kind == "gate":
                error = _gate_refusal(spec, value)
            if error is None:
                run.log_attempt(run.start or 0.0, end, "completed")
                self._completed(run, value, None, end)
            else:
                await self._plain_failed(run, error, end)

    async def _plain_failed(self, run: PhaseRun, error: BaseException, end: float) -> None:
        """A plain phase's one attempt raised (or its gate refused): failed, or cancelled."""
        started = run.start or 0.0
        if _by_cancellation(error) and (
            self._cancel_requested() or await _cancelled_from_outside()
        ):
            run.log_attempt(started, end, "cancelled")
            self.in_flight -= 1
            run.end = end
            self._cancelled(run)
            return
        run.log_attempt(started, end, "failed", error)
        await self._failed(run, _Failed(error, timed_out=False), end)

    def _hand_on(self) -> None:
        """A phase waits: spawn workers for every launched phase no spare will take."""
        assert self._workers is not None
        for _ in range(len(self._launched) - self._spares):
            self._spares += 1
            self._workers.spawn(functools.partial(self._work, spare=True))

    def _never_began(self, run: PhaseRun) -> None:
        self.in_flight -= 1
        run.attempts = 1
        run.end = self.now()
        run.log_attempt(run.end, run.end, "cancelled")
        self._cancelled(run)

    def _condition_holds(self, run: PhaseRun) -> bool:
        when = run.spec.when
        try:
            holds = bool(when() if callable(when) else when)
        except BaseException as exc:  # any class: rule 7
            run.start = run.end = self.now()
            self._fail(run, _Failed(exc, timed_out=False))
            return False
        if not holds:
            self._settle_unstarted(run, PhaseStatus.SKIPPED, "its when= condition is false")
        return holds

    async def _run_timed(self, run: PhaseRun, context: contextvars.Context) -> None:
        """A plain async phase with a `timeout=`: its one attempt, in `context`, bounded by a scope.

        Begun in this task like a phase without a timeout (see `_work`).
        """
        spec = run.spec
        timeout = spec.timeout or 0.0
        values = self.values
        arguments = {name: values[name] for name in spec.requires}
        run.attempts = 1
        stuck: traceback.StackSummary | None = None
        started = run.start or 0.0  # launched and begun in the same step of the loop
        deadline = self._clock() + timeout
        cancelled = anyio.get_cancelled_exc_class()
        value: Any = None
        error: BaseException | None = None
        try:
            with self._scope_class(deadline=deadline) as scope:
                try:
                    phase = context.run(spec.target, **arguments)
                    if type(phase) is not CoroutineType:
                        phase = _awaited(phase)
                    value = await in_context(context, phase, self._hand_on)
                except cancelled as exc:
                    stuck = stack_of(exc)
                    raise
        except BaseException as exc:  # any class: rule 7
            error = exc
        end = self.now()
        requested = self._cancel_requested()
        if not requested and not scope.cancel_called and _by_cancellation(error):
            requested = await _cancelled_from_outside()
        if requested and (scope.cancelled_caught or _by_cancellation(error)):
            run.log_attempt(started, end, "cancelled")
            self.in_flight -= 1
            run.end = end
            self._cancelled(run)
            return
        timed_out = scope.cancel_called or self._clock() >= deadline
        if timed_out:
            # Returned late without being cancelled: it never yielded to the loop.
            blocked = error is None and not scope.cancelled_caught
            cause, error = error, PhaseTimeout(spec.name, timeout, blocked_loop=blocked)
            error.__cause__ = cause
            run.stuck = stuck
        elif error is None and spec.kind == "gate":
            error = _gate_refusal(spec, value)
        if error is not None:
            run.log_attempt(started, end, "timed_out" if timed_out else "failed", error)
            await self._failed(run, _Failed(error, timed_out=timed_out), end)
            return
        run.log_attempt(started, end, "completed")
        self._completed(run, value, None, end)

    async def _run(self, run: PhaseRun) -> None:
        try:
            value, teardown = await self._attempt_all(run)
        except _Failed as failure:
            await self._failed(run, failure, self.now())
            return
        except _Stopped:
            self.in_flight -= 1
            run.end = self.now()
            self._cancelled(run)
            return
        except anyio.get_cancelled_exc_class():
            self.in_flight -= 1
            run.end = self.now()
            self._cancelled(run)
            raise
        self._completed(run, value, teardown, self.now())

    def _completed(self, run: PhaseRun, value: Any, teardown: Teardown | None, end: float) -> None:
        self.in_flight -= 1
        run.end = end
        run.status = PhaseStatus.COMPLETED
        run.teardown = teardown
        self.values[run.spec.name] = value
        if self.emit:
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
        self._dispatch(end)

    async def _failed(self, run: PhaseRun, failure: _Failed, end: float) -> None:
        self.in_flight -= 1
        run.end = end
        self._fail(run, failure)
        if run.spec.critical:
            # Let every phase that fails in this same scheduler pass record its own
            # failure before the abort cancels it, so blame is in plan order.
            await anyio.lowlevel.cancel_shielded_checkpoint()
            self.abort()
        else:
            self._dispatch()

    async def _attempt_all(self, run: PhaseRun) -> tuple[Any, Teardown | None]:
        """Every attempt of a start; raises `_Failed` or the engine's own cancellation."""
        spec = run.spec
        retry = spec.retry
        attempts = retry.attempts if retry is not None else 1
        arguments = {name: self.values[name] for name in spec.requires}
        fault = self.faults.get((spec.name, "start")) if self.faults else None
        attempt = 0
        while True:
            attempt += 1
            run.attempts = attempt
            started = self.now() if attempt == 1 else self._begin_attempt(run, attempt)
            outcome = await self._attempt(run, arguments, attempt, fault)
            if outcome.trace.abandoned is not None:
                run.abandoned += (outcome.trace.abandoned,)
            if outcome.error is None:
                run.log_attempt(started, self.now(), "completed")
                return outcome.value, outcome.teardown
            if outcome.cancelled:
                run.log_attempt(started, self.now(), "cancelled")
                raise _Stopped
            error = outcome.error
            run.log_attempt(
                started, self.now(), "timed_out" if outcome.timed_out else "failed", error
            )
            if outcome.timed_out:
                run.stuck = outcome.trace.stuck
            last = retry is None or attempt >= attempts or not retry.retries(error)
            if outcome.teardown is not None:
                if last:
                    run.teardown = outcome.teardown  # torn down with the others, recorded
                else:
                    await outcome.teardown()  # this attempt's resources, before the next
            if last:
                raise _Failed(error, timed_out=outcome.timed_out)
            assert retry is not None
            delay = retry.delay_before(attempt + 1)
            if self.emit:
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
            pause = self.now()
            try:
                await anyio.sleep(delay)
            finally:  # a pause cut short by an abort is recorded up to the cut
                run.log_pause(attempt, pause, self.now())

    def _begin_attempt(self, run: PhaseRun, attempt: int) -> float:
        at = self.now()
        if self.emit:
            self.emit(
                PhaseStarted(boot=self.plan.boot, at=at, phase=run.spec.name, attempt=attempt)
            )
        return at

    async def _attempt(
        self, run: PhaseRun, arguments: dict[str, Any], attempt: int, fault: Fault | None
    ) -> _Outcome:
        """One attempt, whatever it raises: the outcome says how it ended."""
        spec = run.spec
        outcome = _Outcome()
        deadline = math.inf if spec.timeout is None else self._clock() + spec.timeout
        cancelled = anyio.get_cancelled_exc_class()
        token = CURRENT_ATTEMPT.set(outcome.trace)
        try:
            with self._scope_class(deadline=deadline) as scope:
                try:
                    if spec.wants_context:
                        arguments["ctx"] = PhaseContext.create(
                            self.plan.boot,
                            spec.name,
                            attempt,
                            None if math.isinf(deadline) else deadline,
                        )
                    if fault is not None and (fault.attempts is None or attempt <= fault.attempts):
                        from ._faults import apply_fault  # loaded by the first fault

                        await apply_fault(fault)
                    outcome.value, outcome.teardown = await self.start_phase(spec, arguments)
                except cancelled as exc:
                    outcome.trace.note_cancelled(exc)
                    raise
        except BaseException as exc:  # any class: rule 7
            outcome.error = exc
        finally:
            CURRENT_ATTEMPT.reset(token)
        requested = self._cancel_requested()
        if not requested and not scope.cancel_called and _by_cancellation(outcome.error):
            # The caller cancelling the whole boot is not a failure of the phase.
            requested = await _cancelled_from_outside()
        if requested and (scope.cancelled_caught or _by_cancellation(outcome.error)):
            outcome.cancelled = True
            return outcome
        if scope.cancel_called or self._clock() >= deadline:
            outcome.timed_out = True
            cause = outcome.error
            # Returned late without being cancelled: it never yielded to the loop.
            blocked = cause is None and not scope.cancelled_caught
            outcome.error = PhaseTimeout(spec.name, spec.timeout or 0.0, blocked_loop=blocked)
            outcome.error.__cause__ = cause
            return outcome
        if outcome.error is None and spec.kind == "gate":
            outcome.error = _gate_refusal(spec, outcome.value)
        return outcome

    # -- in service: recovery --------------------------------------------------------

    async def attempt_again(self, run: PhaseRun) -> _Outcome:
        """One more attempt of a failed phase's start while in service (a recovery)."""
        run.attempts += 1
        started = self._begin_attempt(run, run.attempts)
        arguments = {name: self.values[name] for name in run.spec.requires}
        outcome = await self._attempt(run, arguments, run.attempts, None)
        ended: AttemptOutcome = "timed_out" if outcome.timed_out else "failed"
        if outcome.cancelled:
            ended = "cancelled"
        elif outcome.error is None:
            ended = "completed"
        error = None if outcome.cancelled else outcome.error
        run.log_attempt(started, self.now(), ended, error)
        return outcome

    async def start_recovered(self, run: PhaseRun, value: Any, teardown: Teardown | None) -> None:
        """`run`, which had failed, completed after all: start what it blocked, in plan order.

        Returns once every phase started this way has settled, as `start` does.
        """
        for position in self.queue.reopen(run.position):
            self.runs[position].status = PhaseStatus.PENDING
        run.error = run.exception = None
        self.in_flight += 1
        try:
            async with open_workers() as workers:
                self._workers = workers
                self._completed(run, value, teardown, self.now())
                await self._work()
                await workers.wait()
        finally:
            self._workers = None

    # -- settling -------------------------------------------------------------------

    def _fail(self, run: PhaseRun, failure: _Failed) -> None:
        run.status = PhaseStatus.TIMED_OUT if failure.timed_out else PhaseStatus.FAILED
        run.exception = failure.error
        run.error = error_info(failure.error)
        if self.emit:
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
                    exception=failure.error,
                )
            )
        if run.spec.critical:
            self.failures.append(run)
            self.halted = True
        else:
            self.degraded = True
            self._release(run)

    def _cancelled(self, run: PhaseRun) -> None:
        run.status = PhaseStatus.CANCELLED
        if self.emit:
            self.emit(PhaseCancelled(boot=self.plan.boot, at=self.now(), phase=run.spec.name))

    def _settle_unstarted(self, run: PhaseRun, status: PhaseStatus, reason: str) -> None:
        self._mark_unstarted(run, status, reason)
        if not self.aborting:
            self._release(run)

    def _mark_unstarted(self, run: PhaseRun, status: PhaseStatus, reason: str) -> None:
        """Settle a phase that will never start as SKIPPED or BLOCKED (a block degrades)."""
        run.status = status
        if self.emit:
            event_type = PhaseSkipped if status is PhaseStatus.SKIPPED else PhaseBlocked
            self.emit(
                event_type(boot=self.plan.boot, at=self.now(), phase=run.spec.name, reason=reason)
            )
        if status is PhaseStatus.BLOCKED and not self.aborting:
            self.degraded = True

    def _release(self, settled: PhaseRun) -> None:
        """Tell the scheduler core `settled` is done; settle what can now never start."""
        for position, status, reason in self.queue.settle(settled.position, settled.status):
            self._mark_unstarted(self.runs[position], status, reason)
