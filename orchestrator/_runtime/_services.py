"""Services: long-running phases, started like any phase and supervised while in service.

A service's start is one attempt of the engine like any phase's: it ends when
the service calls `ctx.started(value)` (or raises or returns first, a start
failure that `retry=` may retry). The service itself runs on in a task of the
boot's host group, under its supervisor: when it raises or returns it is
restarted on `restart=`; once its restarts are spent the lifecycle hears of it.
Its teardown cancels it and waits for it, at its place in the teardown graph.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from .._model._describe import describe_exception
from .._model._events import Event, PhaseRestarting
from .._model._phase import PhaseSpec
from .._model._plan import BootPlan
from .._model._report import RestartRecord
from ._context import PhaseContext
from ._invoke import Teardown, start_phase
from ._phase_run import PhaseRun
from ._workers import Spawner

if TYPE_CHECKING:
    from .._model._diagnostic import Diagnostic
    from .._model._snapshot import RunSnapshot


class ServiceReturned(Exception):
    """A service's function returned: a service runs until the stop cancels it."""

    def __init__(self, phase: str) -> None:
        super().__init__(f"service '{phase}' returned; a service runs until the stop cancels it")
        self.phase = phase


class _Launch:
    """One start of a service and the supervised life that follows it."""

    __slots__ = ("error", "finished", "scope", "settled", "started", "stop_error", "value")

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.settled = anyio.Event()
        self.finished = anyio.Event()
        self.started = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.stop_error: BaseException | None = None

    def mark_started(self, value: Any) -> None:
        if not self.started:
            self.started = True
            self.value = value
            self.settled.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.settled.set()


SpentHandler = Callable[[PhaseRun, BaseException, int], Awaitable[None]]
"""Told that a service's restarts are spent: its run, why it stopped, how many restarts it had."""


class Services:
    """Starts the boot's services and supervises them until their teardown.

    `start` stands in for `start_phase` in the engine: a plain phase is started
    as always, a service is launched in the host group and its start ends at
    `ctx.started`. The lifecycle gives the host group (`host`), says when the
    stop has begun (`stopping`) and handles a service whose restarts are spent.
    """

    def __init__(
        self,
        plan: BootPlan,
        runs: Mapping[str, PhaseRun],
        *,
        emit: Callable[[Event], None] | None,
        now: Callable[[], float],
        stopping: Callable[[], bool],
        on_spent: SpentHandler,
    ) -> None:
        self.plan = plan
        self.runs = runs
        self.emit = emit
        self.now = now
        self.stopping = stopping
        self.on_spent = on_spent
        self.restarts: dict[str, list[RestartRecord]] = {}
        self._group: Spawner | None = None

    def host(self, group: Spawner) -> None:
        """The task group the services run in: open from the boot's start to its stop's end."""
        self._group = group

    async def start(
        self, spec: PhaseSpec, arguments: dict[str, Any]
    ) -> tuple[Any, Teardown | None]:
        """Start a phase; a service's start ends when it calls `ctx.started(value)`."""
        if spec.kind != "service":
            return await start_phase(spec, arguments)
        if self._group is None:
            raise RuntimeError(f"service '{spec.name}' started outside a boot's host group")
        launch = _Launch()
        context = arguments.get("ctx")
        if isinstance(context, PhaseContext):  # made for this attempt: no one else holds it
            object.__setattr__(context, "_on_started", launch.mark_started)
        self._group.start_soon(
            self._supervise,
            self.runs[spec.name],
            arguments,
            launch,
            name=f"smd service {spec.name}",
        )
        try:
            await launch.settled.wait()
        except anyio.get_cancelled_exc_class():  # the attempt timed out or the boot aborted
            await _stop(launch, raise_error=False)
            raise
        if launch.error is not None:
            await launch.finished.wait()
            raise launch.error
        return launch.value, functools.partial(_stop, launch)

    async def _supervise(self, run: PhaseRun, arguments: dict[str, Any], launch: _Launch) -> None:
        spec = run.spec
        try:
            with launch.scope:
                restarts = 0
                while True:
                    began = self.now()
                    error = await self._serve(spec, arguments, launch)
                    if launch.scope.cancel_called or error is None:
                        return
                    if not launch.started:  # a start failure: the engine's retry= decides
                        launch.fail(error)
                        return
                    if self.stopping():
                        return
                    if spec.reset_after is not None and self.now() - began >= spec.reset_after:
                        restarts = 0  # it ran healthy long enough: its budget is whole again
                    policy = spec.restart
                    if policy is None or restarts >= policy.attempts or not policy.retries(error):
                        await self.on_spent(run, error, restarts)
                        return
                    restarts += 1
                    await self._pause(spec, restarts, policy.delay_before(restarts + 1), error)
        finally:
            launch.finished.set()

    async def _serve(
        self, spec: PhaseSpec, arguments: dict[str, Any], launch: _Launch
    ) -> BaseException | None:
        """Run the service once; the error it stopped with, or None when the stop cancelled it."""
        if not spec.wants_context:
            launch.mark_started(None)  # without ctx it serves as soon as it runs
        try:
            await spec.target(**arguments)
        except BaseException as exc:  # any class, a cancellation it was not sent too: rule 7
            if launch.scope.cancel_called and isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            if launch.scope.cancel_called:
                launch.stop_error = exc  # raised while being stopped: its teardown failed
                return None
            return exc
        return ServiceReturned(spec.name)

    async def _pause(
        self, spec: PhaseSpec, number: int, delay: float, error: BaseException
    ) -> None:
        restart = RestartRecord(number, self.now(), delay, describe_exception(error))
        self.restarts.setdefault(spec.name, []).append(restart)
        if self.emit:
            self.emit(
                PhaseRestarting(
                    boot=self.plan.boot,
                    at=restart.at,
                    phase=spec.name,
                    restart=number,
                    delay=delay,
                    error=restart.error,
                )
            )
        await anyio.sleep(delay)


async def _stop(launch: _Launch, *, raise_error: bool = True) -> None:
    """A service's teardown: cancel it and wait until it has ended."""
    launch.scope.cancel()
    with anyio.CancelScope(shield=not raise_error):
        await launch.finished.wait()
    if raise_error and launch.stop_error is not None:
        raise launch.stop_error


def spent_diagnostic(snapshot: RunSnapshot, run: PhaseRun, restarts: int) -> Diagnostic:
    """The diagnostic of a critical service whose restarts are spent (`phase_failed`, 69)."""
    from .._model._root_cause import diagnose

    name = run.spec.name
    found = diagnose(dataclasses.replace(snapshot, failures=(run.position,)))
    times = "once" if restarts == 1 else f"{restarts} times"
    restarted = f" after it was restarted {times}" if restarts else ""
    return dataclasses.replace(
        found,
        summary=f"service '{name}' stopped{restarted}; its restarts are spent",
        action=f"Fix the cause in service '{name}' (declared at {run.spec.source}); if "
        "its stops are transient, give it restart=Retry(...) (or more attempts); if the "
        "service can run without it, declare it critical=False.",
    )
