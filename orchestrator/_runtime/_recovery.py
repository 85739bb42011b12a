"""Recovery: a DEGRADED boot retries its failed `recover=` phases in the background.

Once the boot is in service, each failed non-critical phase declared with
`recover=Retry(...)` is attempted again on that policy. When an attempt
succeeds (`PhaseRecovered`), the engine starts what the phase blocked, in plan
order, as the boot would have; the lifecycle returns to READY once nothing is
degraded. Recoveries are applied one at a time, so the plan order holds.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from anyio.abc import TaskGroup

from .._model._events import Event, PhaseRecovered
from .._model._status import PhaseStatus
from ._phase_run import PhaseRun, error_info
from ._scheduler import Engine
from ._workers import Spawner

DEGRADING = (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT, PhaseStatus.BLOCKED)
"""The statuses that keep a boot in service DEGRADED."""


def degraded_phases(engine: Engine) -> tuple[str, ...]:
    """The phases that keep the boot DEGRADED (failed, timed out or blocked), in plan order."""
    return tuple(run.spec.name for run in engine.runs if run.status in DEGRADING)


class Recovery:
    """Retries failed `recover=` phases while the boot is in service.

    Args:
        engine: the boot's engine (its attempts and its scheduler core).
        emit: the lifecycle's event sink, or None.
        now: seconds since the boot started.
        on_settled: called after each recovery has started what it unblocked
            (the lifecycle decides READY, DEGRADED or FAILED from the runs).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        emit: Callable[[Event], None] | None,
        now: Callable[[], float],
        on_settled: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.emit = emit
        self.now = now
        self.on_settled = on_settled
        self.recovered_at: dict[str, float] = {}
        self._scope = anyio.CancelScope()
        self._lock = anyio.Lock()
        self._tasks: TaskGroup | None = None
        self._recovering: set[int] = set()
        self._ended: anyio.Event | None = None

    def begin(self, group: Spawner) -> None:
        """Start recovering, in `group`, every failed phase that declares `recover=`."""
        if (
            self._ended is None
            and self.engine.degraded  # only a degraded boot has a failed phase to recover
            and any(run.spec.recover for run in self.engine.runs)
        ):
            self._ended = anyio.Event()
            group.start_soon(self._run, name="smd recovery")

    def recover_due(self) -> None:
        """Start recovering the failed `recover=` phases not being recovered yet."""
        if self._tasks is None:
            return
        for run in self.engine.runs:
            policy = run.spec.recover
            if (
                policy is not None
                and run.status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)
                and run.position not in self._recovering
            ):
                self._recovering.add(run.position)
                self._tasks.start_soon(self._recover, run, name=f"smd recover {run.spec.name}")

    async def stop(self) -> None:
        """End every recovery (phases it was starting are cancelled) before the teardown."""
        if self._ended is None:
            return
        self.engine.abort()  # what is cancelled now is cancelled by the engine, not failed
        self._scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._ended.wait()

    async def _run(self) -> None:
        assert self._ended is not None
        try:
            with self._scope:
                async with anyio.create_task_group() as tasks:
                    self._tasks = tasks
                    self.recover_due()
                    await anyio.sleep_forever()  # new failures may come while in service
        finally:
            self._tasks = None
            self._ended.set()

    async def _recover(self, run: PhaseRun) -> None:
        policy = run.spec.recover
        assert policy is not None
        try:
            for number in range(1, policy.attempts + 1):
                await anyio.sleep(policy.delay_before(number + 1))
                async with self._lock:  # one recovery at a time: plan order holds
                    if await self._attempt(run):
                        return
                error = run.exception
                if error is not None and not policy.retries(error):
                    return
        finally:
            self._recovering.discard(run.position)

    async def _attempt(self, run: PhaseRun) -> bool:
        """One recovery attempt; on success, start what it blocked. Whether it succeeded."""
        engine = self.engine
        outcome = await engine.attempt_again(run)
        if outcome.error is not None:
            error = outcome.error
            if outcome.teardown is not None:  # a refused gate's resources, before the next try
                try:
                    await outcome.teardown()
                except BaseException as exc:  # any class: recorded as the attempt's error
                    error = exc
            if not outcome.cancelled:
                run.exception, run.error = error, error_info(error)
            return False
        self.recovered_at[run.spec.name] = self.now()
        if self.emit:
            self.emit(
                PhaseRecovered(
                    boot=engine.plan.boot, at=self.now(), phase=run.spec.name, attempts=run.attempts
                )
            )
        await engine.start_recovered(run, outcome.value, outcome.teardown)
        self.on_settled()
        self.recover_due()
        return True
