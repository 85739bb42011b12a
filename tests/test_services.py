"""Services: started like phases, supervised in service, cancelled at their place in the stop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from orchestrator import (
    Boot,
    BootAborted,
    BootState,
    GraphError,
    PhaseContext,
    PhaseStatus,
    Retry,
    TeardownOutcome,
)
from orchestrator._model._events import Event, PhaseRestarting


class Waiter:
    """A sink that keeps every event and wakes whoever waits for one of a given name."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._wanted: dict[str, anyio.Event] = {}

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if event.name in self._wanted:
            self._wanted.pop(event.name).set()

    async def wait_for(self, name: str) -> Event:
        if not any(event.name == name for event in self.events):
            self._wanted[name] = anyio.Event()
            await self._wanted[name].wait()
        return next(event for event in self.events if event.name == name)

    def names(self, *names: str) -> list[tuple[str, str | None]]:
        return [(e.name, e.phase) for e in self.events if e.name in names]


def crashing(times: int, *, before_started: bool = False) -> tuple[Boot, list[int], anyio.Event]:
    """A boot whose service `pump` stops with OSError `times` times, then serves for good."""
    boot = Boot("services")
    runs: list[int] = []
    serving = anyio.Event()

    @boot.phase()
    async def database() -> str:
        return "db"

    @boot.service(restart=Retry(attempts=2, delay=0), retry=Retry(attempts=2))
    async def pump(database: str, ctx: PhaseContext) -> None:
        runs.append(len(runs))
        if before_started and len(runs) <= times:
            raise OSError("not yet")
        ctx.started(f"pump on {database}")
        if len(runs) <= times:
            raise OSError("connection reset")
        serving.set()
        await anyio.sleep_forever()

    return boot, runs, serving


@pytest.mark.anyio
async def test_a_service_value_reaches_its_dependents() -> None:
    boot = Boot("services")

    @boot.service()
    async def pump(ctx: PhaseContext) -> None:
        ctx.started("serving")
        await anyio.sleep_forever()

    @boot.phase()
    async def api(pump: str) -> str:
        return f"api with {pump}"

    async with boot.start(sinks=[]) as running:
        assert running.state is BootState.READY
        assert running.resources["api"] == "api with serving"
        assert running.report["pump"].kind == "service"


@pytest.mark.anyio
async def test_the_boot_is_ready_only_after_every_service_has_started() -> None:
    waiter = Waiter()
    boot = Boot("services")

    @boot.service()
    async def pump(ctx: PhaseContext) -> None:
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        ctx.started()
        await anyio.sleep_forever()

    async with boot.start(sinks=[waiter]):
        pass
    assert waiter.names("phase.completed", "boot.ready") == [
        ("phase.completed", "pump"),
        ("boot.ready", None),
    ]


@pytest.mark.anyio
async def test_a_service_without_ctx_has_started_as_soon_as_it_runs() -> None:
    boot = Boot("services")

    @boot.service()
    async def ticker() -> None:
        await anyio.sleep_forever()

    async with boot.start(sinks=[]) as running:
        assert running.resources["ticker"] is None


@pytest.mark.anyio
async def test_a_service_that_raises_before_started_is_a_start_failure_that_retry_retries() -> None:
    boot, runs, _ = crashing(1, before_started=True)
    async with boot.start(sinks=[]) as running:
        assert running.report["pump"].attempts == 2
        assert running.report["pump"].restarts == ()
    assert len(runs) == 2


@pytest.mark.anyio
async def test_a_critical_service_that_never_starts_aborts_the_boot() -> None:
    boot, _, _ = crashing(5, before_started=True)
    with pytest.raises(BootAborted) as caught:
        async with boot.start(sinks=[]):
            pass
    assert caught.value.diagnostic.kind == "phase_failed"
    assert caught.value.report["pump"].status is PhaseStatus.FAILED


@pytest.mark.anyio
async def test_a_service_that_stops_in_service_is_restarted_with_an_event() -> None:
    waiter = Waiter()
    boot, runs, serving = crashing(1)
    async with boot.start(sinks=[waiter]) as running:
        event = await waiter.wait_for("phase.restarting")
        await serving.wait()
        assert isinstance(event, PhaseRestarting)
        assert (event.phase, event.restart, event.error) == ("pump", 1, "OSError: connection reset")
        assert running.state is BootState.READY
    assert len(runs) == 2


@pytest.mark.anyio
async def test_a_restart_is_in_the_report() -> None:
    boot, _, serving = crashing(2)
    async with boot.start(sinks=[]) as running:
        await serving.wait()
    record = running.report["pump"]
    assert [(r.number, r.error) for r in record.restarts] == [
        (1, "OSError: connection reset"),
        (2, "OSError: connection reset"),
    ]
    again = type(running.report).from_json(running.report.to_json())
    assert again["pump"].restarts == record.restarts


@pytest.mark.anyio
async def test_a_service_that_returns_is_restarted() -> None:
    waiter = Waiter()
    boot = Boot("services")
    runs: list[int] = []

    @boot.service(restart=Retry(attempts=1))
    async def pump(ctx: PhaseContext) -> None:
        runs.append(1)
        ctx.started()
        if len(runs) == 1:
            return
        await anyio.sleep_forever()

    async with boot.start(sinks=[waiter]):
        event = await waiter.wait_for("phase.restarting")
    assert isinstance(event, PhaseRestarting)
    assert event.error.startswith("ServiceReturned: service 'pump' returned")


@pytest.mark.anyio
async def test_a_critical_service_whose_restarts_are_spent_stops_the_boot_in_order() -> None:
    waiter = Waiter()
    boot = Boot("services")
    torn_down: list[str] = []

    @boot.phase()
    async def database() -> AsyncIterator[str]:
        yield "db"
        torn_down.append("database")

    @boot.service(restart=Retry(attempts=2, delay=0))
    async def pump(database: str, ctx: PhaseContext) -> None:
        ctx.started()
        raise OSError("broker gone")

    with pytest.raises(BootAborted) as caught:
        async with boot.start(sinks=[waiter]):
            await anyio.sleep_forever()  # the stop cancels this
    diagnostic = caught.value.diagnostic
    assert (diagnostic.kind, diagnostic.phase, diagnostic.exit_code) == ("phase_failed", "pump", 69)
    assert (
        diagnostic.summary
        == "service 'pump' stopped after it was restarted 2 times; its restarts are spent"
    )
    assert diagnostic.cause == "OSError: broker gone"
    report = caught.value.report
    assert report.state is BootState.STOPPED
    assert report.outcome is BootState.FAILED
    assert report["pump"].status is PhaseStatus.FAILED
    assert report["database"].teardown is TeardownOutcome.TORN_DOWN
    assert torn_down == ["database"]
    states = [e.name for e in waiter.events if e.name.startswith("boot.")]
    assert states == ["boot.started", "boot.ready", "boot.failed", "boot.stopping", "boot.stopped"]


@pytest.mark.anyio
async def test_a_critical_service_spent_in_service_is_titled_a_failure_in_service() -> None:
    boot = Boot("services")

    @boot.service()
    async def pump(ctx: PhaseContext) -> None:
        ctx.started()
        raise OSError("broker gone")

    with pytest.raises(BootAborted) as caught:
        async with boot.start():
            await anyio.sleep_forever()  # the stop cancels this
    diagnostic = caught.value.diagnostic
    assert diagnostic.in_service
    assert str(diagnostic).splitlines()[1] == "BOOT FAILED IN SERVICE"
    assert diagnostic.to_dict()["in_service"] is True
    assert diagnostic.exit_code == 69


@pytest.mark.anyio
async def test_a_service_failing_before_it_started_is_titled_a_failed_start() -> None:
    boot = Boot("services")

    @boot.service()
    async def pump(ctx: PhaseContext) -> None:
        raise OSError("broker gone")

    with pytest.raises(BootAborted) as caught:
        async with boot.start():
            pass
    diagnostic = caught.value.diagnostic
    assert not diagnostic.in_service
    assert str(diagnostic).splitlines()[1] == "BOOT FAILED TO START"


@pytest.mark.anyio
async def test_a_non_critical_service_whose_restarts_are_spent_degrades_the_boot() -> None:
    waiter = Waiter()
    boot = Boot("services")

    @boot.service(critical=False, restart=Retry(attempts=1))
    async def metrics(ctx: PhaseContext) -> None:
        ctx.started()
        raise OSError("exporter gone")

    async with boot.start(sinks=[waiter]) as running:
        await waiter.wait_for("boot.state_changed")
        assert running.state is BootState.DEGRADED
        assert running.report["metrics"].status is PhaseStatus.FAILED
    (interval,) = running.report.degraded
    assert interval.reason == "'metrics' failed"
    assert interval.end == running.report.stopped_at


@pytest.mark.anyio
async def test_a_service_is_cancelled_at_its_place_in_the_teardown_graph() -> None:
    waiter = Waiter()
    boot = Boot("services")
    order: list[str] = []

    @boot.phase()
    async def database() -> AsyncIterator[str]:
        yield "db"
        order.append("database")

    @boot.service()
    async def pump(database: str, ctx: PhaseContext) -> None:
        ctx.started("pump")
        try:
            await anyio.sleep_forever()
        finally:
            order.append("pump")

    @boot.phase()
    async def api(pump: str) -> AsyncIterator[str]:
        yield "api"
        order.append("api")

    async with boot.start(sinks=[waiter]) as running:
        pass
    assert order == ["api", "pump", "database"]
    assert running.report["pump"].teardown is TeardownOutcome.TORN_DOWN


@pytest.mark.anyio
async def test_a_service_that_raises_while_cancelled_has_a_failed_teardown() -> None:
    boot = Boot("services")

    @boot.service()
    async def pump(ctx: PhaseContext) -> None:
        ctx.started()
        try:
            await anyio.sleep_forever()
        finally:
            raise RuntimeError("flush failed")

    async with boot.start(sinks=[]) as running:
        pass
    record = running.report["pump"]
    assert record.teardown is TeardownOutcome.TEARDOWN_FAILED
    assert record.teardown_error == {"type": "RuntimeError", "message": "flush failed"}


@pytest.mark.anyio
async def test_the_restart_budget_is_whole_again_after_running_healthy() -> None:
    boot = Boot("services")
    runs: list[int] = []
    fourth = anyio.Event()

    @boot.service(restart=Retry(attempts=1), reset_after=0.001)
    async def pump(ctx: PhaseContext) -> None:
        runs.append(1)
        ctx.started()
        if len(runs) <= 3:
            await anyio.sleep(0.002)  # healthy for longer than reset_after, then it stops
            raise OSError("daily hiccup")
        fourth.set()
        await anyio.sleep_forever()

    async with boot.start(sinks=[]) as running:
        await fourth.wait()
        assert running.state is BootState.READY
    assert [r.number for r in running.report["pump"].restarts] == [1, 1, 1]


@pytest.mark.anyio
async def test_without_a_reset_the_same_stops_spend_the_budget() -> None:
    boot = Boot("services")

    @boot.service(restart=Retry(attempts=2), reset_after=None)
    async def pump(ctx: PhaseContext) -> None:
        ctx.started()
        await anyio.sleep(0.002)
        raise OSError("daily hiccup")

    with pytest.raises(BootAborted) as caught:
        async with boot.start(sinks=[]):
            await anyio.sleep_forever()
    assert [r.number for r in caught.value.report["pump"].restarts] == [1, 2]


@pytest.mark.anyio
async def test_started_in_a_plain_phase_is_refused() -> None:
    boot = Boot("services")

    @boot.phase()
    async def database(ctx: PhaseContext) -> None:
        ctx.started()

    with pytest.raises(BootAborted) as caught:
        async with boot.start(sinks=[]):
            pass
    assert caught.value.diagnostic.cause is not None
    assert caught.value.diagnostic.cause.startswith("RuntimeError: ctx.started() is for services")


def test_restart_on_a_phase_is_refused() -> None:
    boot = Boot("services")
    boot.add(lambda: None, name="p", restart=Retry())
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "restart= applies to services: declare it with @boot.service" in str(caught.value)


def test_a_service_must_be_an_async_function() -> None:
    boot = Boot("services")

    @boot.service()
    def pump() -> None: ...

    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "a service is an async def that calls ctx.started(value)" in str(caught.value)


def test_a_bad_restart_policy_names_the_option() -> None:
    boot = Boot("services")

    async def pump() -> None: ...

    boot.add(pump, kind="service", restart=Retry(attempts=0))
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "restart.attempts must be an integer >= 1, got 0" in str(caught.value)


def test_a_declaration_without_the_new_options_keeps_its_fingerprint() -> None:
    boot = Boot("services")
    boot.add(lambda: None, name="p")
    other = Boot("services")
    other.add(lambda: None, name="p", reset_after=60.0, restart=None, recover=None)
    assert boot.plan().fingerprint == other.plan().fingerprint
    service = Boot("services")

    async def p() -> None: ...

    service.add(p, kind="service", restart=Retry())
    assert service.plan().fingerprint != boot.plan().fingerprint
