"""The stop of a boot: teardown as a graph, bounded, and surviving anything a teardown does."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from .._model._describe import describe_exception
from .._model._errors import PhaseTimeout
from .._model._events import Event, TeardownCompleted, TeardownFailed, TeardownStarted
from .._model._plan import BootPlan
from .._model._schedule import StopQueue
from .._model._status import TeardownOutcome
from ._invoke import discard
from ._phase_run import PhaseRun, error_info

if TYPE_CHECKING:
    from ._faults import Fault, FaultMoment

THREAD_GRACE = 5.0
"""Seconds a teardown waits for a dependent's abandoned thread when nothing else bounds it."""


class StopBudgetSpent(Exception):
    """A teardown that had not finished when the stop's `stop_timeout` ran out."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"stop timeout: the stop's {seconds:g}s budget ran out first")


class Teardowns:
    """Tears down every phase whose start completed, exactly once, as a graph.

    A phase's teardown begins once every phase that depends on it (by value or
    `after=`) is done with its own; independent teardowns run at the same
    time, at most `limit` at once. Nothing a teardown raises or how long it
    hangs stops the others; `stop_timeout` bounds the whole stop.
    """

    def __init__(
        self,
        plan: BootPlan,
        runs: Sequence[PhaseRun],
        *,
        limit: float,
        stop_timeout: float | None,
        emit: Callable[[Event], None] | None,
        now: Callable[[], float],
        faults: dict[tuple[str, FaultMoment], Fault],
    ) -> None:
        self.plan = plan
        self.runs = runs
        self.limit = limit
        self.stop_timeout = stop_timeout
        self.emit = emit
        self.now = now
        self.faults = faults
        self.order: list[tuple[str, str]] = []
        self.budget_spent = False
        self._queue: StopQueue | None = None  # built by the stop, if anything needs one
        self._threads_of_dependents: dict[str, list[threading.Thread]] = {}
        self._in_flight = 0
        self._group: TaskGroup | None = None
        self._budget = anyio.CancelScope()

    async def run(self) -> None:
        """Run every teardown due; shielded from outside cancellation."""
        if not any(run.teardown is not None for run in self.runs):
            return
        self._queue = StopQueue(self.plan.phases)
        for other in self.runs:  # once, not per teardown: abandoned threads are rare
            for name in other.spec.waits_for if other.abandoned else ():
                self._threads_of_dependents.setdefault(name, []).extend(other.abandoned)
        with anyio.CancelScope(shield=True):
            if self.stop_timeout is not None:
                self._budget.deadline = anyio.current_time() + self.stop_timeout
            with self._budget:
                async with anyio.create_task_group() as group:
                    self._group = group
                    self._dispatch()
            if self._budget.cancel_called:
                self.budget_spent = True
                for position in range(len(self.runs) - 1, -1, -1):
                    run = self.runs[position]
                    if run.teardown is not None:  # never began: the budget was spent first
                        await discard(run.teardown)
                        run.teardown = None
                        run.teardown_start = self.now()
                        self._settle(run, StopBudgetSpent(self.stop_timeout or 0.0))

    def _dispatch(self) -> None:
        queue = self._queue
        assert self._group is not None
        assert queue is not None
        while queue and self._in_flight < self.limit:
            run = self.runs[queue.pop()]
            if run.teardown is None:
                queue.done(run.position)
                continue
            self._in_flight += 1
            self._group.start_soon(self._tear_down, run, name=f"smd teardown {run.spec.name}")

    async def _tear_down(self, run: PhaseRun) -> None:
        teardown, run.teardown = run.teardown, None
        assert teardown is not None
        name = run.spec.name
        run.teardown_start = self.now()
        if self.emit:
            self.emit(TeardownStarted(boot=self.plan.boot, at=run.teardown_start, phase=name))
        limit = run.spec.teardown_timeout
        scope = anyio.CancelScope(
            deadline=math.inf if limit is None else anyio.current_time() + limit
        )
        error: BaseException | None = None
        try:
            with scope:
                await self._wait_for_abandoned_threads(run, bounded=limit is not None)
                fault = self.faults.get((name, "teardown")) if self.faults else None
                if fault is not None:
                    from ._faults import apply_fault  # loaded by the first fault

                    await apply_fault(fault)
                await teardown()
        except BaseException as exc:  # any class: rule 3
            error = exc
        if self._budget.cancel_called:
            error = StopBudgetSpent(self.stop_timeout or 0.0)
        elif scope.cancel_called:
            error = PhaseTimeout(name, limit or 0.0, "teardown")
        self._in_flight -= 1
        self._settle(run, error)
        assert self._queue is not None
        self._queue.done(run.position)
        if not self._budget.cancel_called:
            self._dispatch()

    async def _wait_for_abandoned_threads(self, run: PhaseRun, *, bounded: bool) -> None:
        """A dependency is not torn down under a thread of its dependent still using it."""
        threads = self._threads_of_dependents.get(run.spec.name)
        if not threads:
            return
        grace = math.inf if bounded or self.stop_timeout is not None else THREAD_GRACE
        with anyio.move_on_after(grace):
            # A thread's end wakes no event loop (it was abandoned), so its liveness is polled.
            while any(thread.is_alive() for thread in threads):  # noqa: ASYNC110
                await anyio.sleep(0.005)

    def _settle(self, run: PhaseRun, error: BaseException | None) -> None:
        run.teardown_end = self.now()
        duration = run.teardown_end - (run.teardown_start or run.teardown_end)
        name = run.spec.name
        if error is None:
            run.teardown_outcome = TeardownOutcome.TORN_DOWN
            if self.emit:
                self.emit(
                    TeardownCompleted(
                        boot=self.plan.boot, at=run.teardown_end, phase=name, duration=duration
                    )
                )
        else:
            run.teardown_outcome = TeardownOutcome.TEARDOWN_FAILED
            run.teardown_error = error_info(error)
            run.teardown_exception = error
            if self.emit:
                self.emit(
                    TeardownFailed(
                        boot=self.plan.boot,
                        at=run.teardown_end,
                        phase=name,
                        duration=duration,
                        error=describe_exception(error),
                    )
                )
        self.order.append((name, run.teardown_outcome.value))
