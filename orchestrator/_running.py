"""A boot in progress or in service, and its teardown."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any

import anyio

from ._diagnostic import describe_exception
from ._engine import Engine
from ._errors import BootAborted, PhaseTimeout
from ._events import (
    BootFailed,
    BootReady,
    BootStopped,
    BootStopping,
    EventSink,
    TeardownCompleted,
    TeardownFailed,
    TeardownStarted,
)
from ._faults import apply_fault
from ._interrupt import BootInterrupt
from ._phase_run import PhaseRun, error_info
from ._plan import BootPlan
from ._report import BootReport
from ._status import BootState, PhaseStatus, TeardownOutcome


class RunningBoot:
    """The live view of a boot: its state, its resources and its report so far."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._draining = False

    def __repr__(self) -> str:
        return f"<RunningBoot {self.plan.boot!r} state={self.state.value}>"

    @property
    def plan(self) -> BootPlan:
        """The plan this boot runs."""
        return self._engine.plan

    @property
    def resources(self) -> Mapping[str, Any]:
        """Each completed phase's value, by phase name (read-only)."""
        return MappingProxyType(self._engine.values)

    @property
    def state(self) -> BootState:
        """Where the boot is in its lifecycle."""
        return self._engine.state

    @property
    def report(self) -> BootReport:
        """The report as it stands now."""
        return self._engine.report()

    @property
    def draining(self) -> bool:
        """True once shutdown has begun: the service should refuse new traffic."""
        return self._draining or self.state in (BootState.STOPPING, BootState.STOPPED)

    def begin_draining(self) -> None:
        """Mark the service as draining (not ready) before it is torn down."""
        self._draining = True

    @property
    def ready(self) -> bool:
        """READY or DEGRADED, and not draining: whether to accept traffic."""
        return self.state in (BootState.READY, BootState.DEGRADED) and not self.draining

    @property
    def running_phases(self) -> tuple[str, ...]:
        """Phases whose start is in progress, in plan order."""
        return tuple(r.spec.name for r in self._engine.runs if r.status is PhaseStatus.RUNNING)


async def tear_down(engine: Engine) -> None:
    """Tear down every phase whose start completed, once, in reverse plan order.

    Runs shielded from cancellation; each teardown has its own `teardown_timeout`;
    a failing teardown is recorded and the remaining ones still run.
    """
    with anyio.CancelScope(shield=True):
        for run in reversed(engine.runs):
            if run.status is PhaseStatus.COMPLETED and run.teardown is not None:
                await _tear_down_one(engine, run)


async def _tear_down_one(engine: Engine, run: PhaseRun) -> None:
    teardown, run.teardown = run.teardown, None
    assert teardown is not None
    name = run.spec.name
    boot = engine.plan.boot
    run.teardown_start = engine.now()
    if engine.sinks:
        engine.emit(TeardownStarted(boot=boot, at=run.teardown_start, phase=name))
    limit = run.spec.teardown_timeout
    scope = anyio.CancelScope(deadline=math.inf if limit is None else anyio.current_time() + limit)
    error: BaseException | None = None
    try:
        with scope:
            fault = engine.faults.get((name, "teardown")) if engine.faults else None
            if fault is not None:
                await apply_fault(fault)
            await teardown()
        if scope.cancelled_caught:
            error = PhaseTimeout(name, limit or 0.0, "teardown")
    except Exception as exc:
        error = exc
    run.teardown_end = engine.now()
    duration = run.teardown_end - run.teardown_start
    if error is None:
        run.teardown_outcome = TeardownOutcome.TORN_DOWN
        if engine.sinks:
            engine.emit(
                TeardownCompleted(boot=boot, at=run.teardown_end, phase=name, duration=duration)
            )
    else:
        run.teardown_outcome = TeardownOutcome.TEARDOWN_FAILED
        run.teardown_error = error_info(error)
        if engine.sinks:
            engine.emit(
                TeardownFailed(
                    boot=boot,
                    at=run.teardown_end,
                    phase=name,
                    duration=duration,
                    error=describe_exception(error),
                )
            )
    engine.teardown_order.append((name, run.teardown_outcome.value))


@asynccontextmanager
async def open_boot(
    plan: BootPlan,
    *,
    max_concurrency: int | None,
    deadline: float | None,
    sinks: Iterable[EventSink] | None,
    handle_signals: bool,
    interrupt: BootInterrupt | None = None,
) -> AsyncIterator[RunningBoot]:
    """Boot `plan`; yield the running boot; tear down on exit. Raises `BootAborted`."""
    from ._diagnose import diagnose
    from ._sinks import StructlogSink

    engine = Engine(
        plan,
        max_concurrency=max_concurrency,
        deadline=deadline,
        sinks=[StructlogSink()] if sinks is None else sinks,
        handle_signals=handle_signals,
        interrupt=interrupt,
    )
    running = RunningBoot(engine)
    try:
        await engine.boot()
    except BaseException:
        await tear_down(engine)
        raise
    if engine.aborted:
        await tear_down(engine)
        diagnostic = diagnose(engine)
        if engine.sinks:
            engine.emit(BootFailed(boot=plan.boot, at=engine.now(), diagnostic=diagnostic))
        raise BootAborted(diagnostic, engine.report(diagnostic=diagnostic.to_dict()))
    if engine.sinks:
        engine.emit(
            BootReady(
                boot=plan.boot, at=engine.duration, state=engine.state, duration=engine.duration
            )
        )
    try:
        yield running
    finally:
        engine.state = BootState.STOPPING
        if engine.sinks:
            engine.emit(BootStopping(boot=plan.boot, at=engine.now()))
        await tear_down(engine)
        engine.state = BootState.STOPPED
        if engine.sinks:
            engine.emit(BootStopped(boot=plan.boot, at=engine.now(), duration=engine.now()))
