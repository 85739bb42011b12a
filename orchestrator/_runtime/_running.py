"""A boot in progress or in service: the read-only view, and the context that runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import anyio

from .._model._errors import BootAborted
from .._model._events import EventSink
from .._model._plan import BootPlan
from .._model._report import BootReport
from .._model._status import BootState, PhaseStatus
from ._collector import older_objects_frozen, smd_only
from ._interrupt import BootInterrupt
from ._lifecycle import Lifecycle
from ._workers import open_host

if TYPE_CHECKING:
    from .._model._analyzers import FailureAnalyzer
    from .._model._diagnostic import Diagnostic


class RunningBoot:
    """The live view of a boot: its state, its resources and its report so far."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle
        self._draining = False

    def __repr__(self) -> str:
        return f"<RunningBoot {self.plan.boot!r} state={self.state.value}>"

    @property
    def plan(self) -> BootPlan:
        """The plan this boot runs."""
        return self._lifecycle.plan

    @property
    def resources(self) -> Mapping[str, Any]:
        """Each completed phase's value, by phase name (read-only)."""
        return MappingProxyType(self._lifecycle.engine.values)

    @property
    def state(self) -> BootState:
        """Where the boot is in its lifecycle."""
        return self._lifecycle.state

    @property
    def report(self) -> BootReport:
        """The report as it stands now."""
        return self._lifecycle.report()

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
        return tuple(
            r.spec.name for r in self._lifecycle.engine.runs if r.status is PhaseStatus.RUNNING
        )

    @property
    def stop_failed(self) -> bool:
        """After the stop: whether a teardown failed or the stop budget ran out."""
        return self._lifecycle.stop_failed

    def request_stop(self) -> None:
        """Begin the orderly stop, as SIGTERM would: the `async with` block is cancelled."""
        self._lifecycle.request_stop()


@asynccontextmanager
async def open_boot(
    plan: BootPlan,
    *,
    max_concurrency: int | None,
    deadline: float | None,
    stop_timeout: float | None,
    sinks: Iterable[EventSink] | None,
    handle_signals: bool,
    interrupt: BootInterrupt | None = None,
    analyzers: Sequence[FailureAnalyzer] = (),
) -> AsyncIterator[RunningBoot]:
    """Boot `plan`; yield the running boot; stop it in order on exit. Raises `BootAborted`.

    One signal receiver (or the host's `BootInterrupt`) is open from the start of
    the boot until its teardown has ended, so no signal ever skips a teardown.
    """
    from ._sinks import StructlogSink

    with smd_only():
        lifecycle = Lifecycle(
            plan,
            max_concurrency=max_concurrency,
            deadline=deadline,
            stop_timeout=stop_timeout,
            sinks=[StructlogSink()] if sinks is None else sinks,
        )
    lifecycle.analyzers = tuple(analyzers)
    running = RunningBoot(lifecycle)
    body_error: BaseException | None = None
    try:
        async with anyio.create_task_group() as watchers, open_host(watchers) as host:
            lifecycle.host(host)  # services and recovery live until the stop has ended
            try:
                if handle_signals:
                    await watchers.start(lifecycle.watch_signals)
                if interrupt is not None:
                    watchers.start_soon(lifecycle.watch_interrupt, interrupt)
                with older_objects_frozen():
                    await lifecycle.start()
                if lifecycle.state is not BootState.FAILED:
                    try:
                        with lifecycle.in_service():
                            yield running
                    except BaseException as exc:  # re-raised once the stop is done
                        body_error = exc
                    with older_objects_frozen():
                        await lifecycle.stop()
            finally:
                watchers.cancel_scope.cancel()
    finally:
        lifecycle.close()  # nothing runs after this: a boot nobody holds is freed at once
    diagnostic = lifecycle.diagnostic or lifecycle.in_service_failure
    if diagnostic is not None:
        aborted = BootAborted(diagnostic, lifecycle.report(diagnostic=diagnostic.to_dict()))
        raise aborted from _original_exception(lifecycle, diagnostic)
    if body_error is not None:
        raise body_error


def _original_exception(lifecycle: Lifecycle, diagnostic: Diagnostic) -> BaseException | None:
    """The exception the diagnostic explains, for `BootAborted.__cause__` (None for a signal)."""
    if lifecycle.internal_error is not None:
        return lifecycle.internal_error
    if diagnostic.phase is None:
        return None
    return lifecycle.snapshot().exceptions.get(diagnostic.phase)
