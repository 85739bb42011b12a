"""The lifecycle: one owner of the state, exactly the transitions DESIGN.md lists, each an event."""

from __future__ import annotations

import math
import os
import signal

import anyio
import anyio.lowlevel
import pytest

from orchestrator import (
    Boot,
    BootAborted,
    BootFailed,
    BootInterrupt,
    BootReady,
    BootStarted,
    BootState,
    BootStopped,
    BootStopping,
    Diagnostic,
    Event,
    PhaseContext,
)
from orchestrator._model._events import BootStateChanged, SignalReceived, SinkFailed
from orchestrator._runtime._lifecycle import TRANSITIONS, Lifecycle, LifecycleError
from orchestrator.testing import capture_events

pytestmark = pytest.mark.anyio

S = BootState


def test_the_transitions_are_exactly_those_of_the_design() -> None:
    assert {state: set(targets) for state, targets in TRANSITIONS.items()} == {
        S.STARTING: {S.READY, S.DEGRADED, S.FAILED},
        S.READY: {S.DEGRADED, S.FAILED, S.STOPPING},
        S.DEGRADED: {S.READY, S.FAILED, S.STOPPING},
        S.FAILED: {S.STOPPING},
        S.STOPPING: {S.STOPPED},
        S.STOPPED: set(),
    }


def one_phase_boot() -> Boot:
    boot = Boot("life")

    @boot.phase()
    async def resource():  # type: ignore[no-untyped-def]
        yield "r"

    return boot


async def test_a_boot_emits_one_event_per_transition_in_order() -> None:
    events: list[Event] = []
    async with one_phase_boot().start(sinks=[events.append]) as running:
        assert running.state is S.READY
    kinds = [type(e) for e in events if type(e).__name__.startswith("Boot")]
    assert kinds == [BootStarted, BootReady, BootStopping, BootStopped]
    assert running.state is S.STOPPED


async def test_in_service_transitions_are_guarded_and_each_is_an_event() -> None:
    events: list[Event] = []
    lifecycle = Lifecycle(
        one_phase_boot().plan(),
        max_concurrency=None,
        deadline=None,
        stop_timeout=None,
        sinks=[events.append],
    )
    with pytest.raises(LifecycleError):
        lifecycle.recover("nothing to recover from")  # STARTING -> READY is the boot's own
    await lifecycle.start()
    with pytest.raises(LifecycleError, match="cannot go from ready to ready"):
        lifecycle.recover("already ready")
    lifecycle.degrade("the cache gave out")
    lifecycle.recover("the cache is back")
    changes = [(e.previous, e.state) for e in events if isinstance(e, BootStateChanged)]
    assert changes == [(S.READY, S.DEGRADED), (S.DEGRADED, S.READY)]
    failure = Diagnostic(
        boot="life", fingerprint="x", kind="phase_failed", phase="resource", summary="gone"
    )
    lifecycle.fail_in_service(failure)
    assert lifecycle.state is S.FAILED
    assert isinstance(events[-1], BootFailed)
    with pytest.raises(LifecycleError):
        lifecycle.degrade("a failed boot cannot degrade")
    await lifecycle.stop()
    assert lifecycle.state is S.STOPPED
    with pytest.raises(LifecycleError):
        await lifecycle.stop()


async def test_a_critical_failure_in_service_stops_the_boot_in_order_and_raises() -> None:
    boot = one_phase_boot()
    failure = Diagnostic(
        boot="life", fingerprint="x", kind="phase_failed", phase="resource", summary="gone"
    )

    async def serve_until_the_failure() -> None:
        async with boot.start(sinks=[]) as running:
            running._lifecycle.fail_in_service(failure)
            await anyio.sleep_forever()

    with pytest.raises(BootAborted) as caught:
        await serve_until_the_failure()
    assert caught.value.exit_code == 69
    assert caught.value.report.state is S.STOPPED
    assert caught.value.report.outcome is S.FAILED


async def test_a_sigterm_right_at_ready_stops_the_boot_in_order() -> None:
    torn: list[str] = []
    boot = Boot("sigterm-at-ready")

    @boot.phase()
    async def server():  # type: ignore[no-untyped-def]
        yield "s"
        torn.append("server")

    def supervisor(event: Event) -> None:  # reacts to READY=1 at once, as systemd may
        if isinstance(event, BootReady):
            os.kill(os.getpid(), signal.SIGTERM)

    with anyio.fail_after(5):
        async with boot.start(sinks=[supervisor], handle_signals=True) as running:
            await anyio.sleep_forever()
    assert torn == ["server"]
    assert running.state is S.STOPPED
    assert not running.stop_failed


@pytest.mark.parametrize("count", [2, 5])
async def test_signals_during_the_stop_never_skip_a_teardown(count: int) -> None:
    torn: list[str] = []
    boot = Boot("signal-storm")

    @boot.phase()
    async def first():  # type: ignore[no-untyped-def]
        yield 1
        torn.append("first")

    @boot.phase()
    async def second(first: int):  # type: ignore[no-untyped-def]
        yield 2
        for _ in range(count):
            os.kill(os.getpid(), signal.SIGINT)
        await anyio.sleep(0.05)
        torn.append("second")

    with capture_events() as events:
        async with boot.start(sinks=[], handle_signals=True):
            pass
    assert torn == ["second", "first"]
    effects = [e.effect for e in events if isinstance(e, SignalReceived)]
    assert 1 <= len(effects) <= count  # a backend may coalesce signals still pending
    assert all(effect.startswith("already stopping") for effect in effects)


async def test_a_signal_storm_during_boot_aborts_once_as_interrupted() -> None:
    boot = Boot("storm-at-boot")

    @boot.phase()
    async def base():  # type: ignore[no-untyped-def]
        yield 1

    @boot.phase()
    async def slow(base: int) -> None:
        for _ in range(5):
            os.kill(os.getpid(), signal.SIGTERM)
        await anyio.sleep(10)

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[], handle_signals=True)
    assert (caught.value.diagnostic.kind, caught.value.exit_code) == ("interrupted", 143)
    assert caught.value.diagnostic.phase is None  # an interrupt blames no phase


async def test_one_boot_interrupt_reaches_every_boot_that_shares_it() -> None:
    interrupt = BootInterrupt()
    outcomes: list[int] = []

    def slow_boot(name: str) -> Boot:
        boot = Boot(name)

        @boot.phase()
        async def wait() -> None:
            await anyio.sleep(10)

        return boot

    async def run(boot: Boot) -> None:
        try:
            await boot.run_once(sinks=[], interrupt=interrupt)
        except BootAborted as aborted:
            outcomes.append(aborted.exit_code)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(run, slow_boot("a"))
            group.start_soon(run, slow_boot("b"))
            await anyio.sleep(0.02)
            interrupt.trigger(signal.SIGINT)
    assert outcomes == [130, 130]


async def test_the_same_boot_cannot_run_twice_at_once() -> None:
    boot = one_phase_boot()
    async with boot.start(sinks=[]):
        with pytest.raises(RuntimeError, match="already running"):
            async with boot.start(sinks=[]):
                pass
    await boot.run_once(sinks=[])  # one after the other is fine


async def test_a_boot_started_from_inside_its_own_phase_fails_that_phase() -> None:
    boot = Boot("recursive")

    @boot.phase()
    async def again() -> None:
        await boot.run_once(sinks=[])

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.phase == "again"
    assert "already running" in (caught.value.diagnostic.cause or "")


async def test_a_sink_that_raises_is_detached_and_reported_to_the_others() -> None:
    seen: list[Event] = []
    calls = 0

    def broken(event: Event) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("sink down")

    await one_phase_boot().run_once(sinks=[broken, seen.append])
    assert calls == 1
    failures = [e for e in seen if isinstance(e, SinkFailed)]
    assert len(failures) == 1
    assert failures[0].error == "ValueError: sink down"
    assert isinstance(seen[-1], BootStopped)


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("max_concurrency", math.nan, TypeError),
        ("max_concurrency", 0, ValueError),
        ("max_concurrency", True, TypeError),
        ("deadline", math.nan, ValueError),
        ("deadline", math.inf, ValueError),
        ("deadline", -1, ValueError),
        ("deadline", "5", TypeError),
        ("stop_timeout", 0, ValueError),
        ("stop_timeout", math.nan, ValueError),
    ],
)
async def test_bad_arguments_to_start_are_refused_naming_the_argument(
    argument: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match=argument):
        await one_phase_boot().run_once(sinks=[], **{argument: value})  # type: ignore[arg-type]


async def test_an_error_in_the_service_block_stops_in_order_and_propagates_unwrapped() -> None:
    torn: list[str] = []
    boot = Boot("body-error")

    @boot.phase()
    async def resource():  # type: ignore[no-untyped-def]
        yield "r"
        torn.append("resource")

    async def serve() -> None:
        async with boot.start(sinks=[], handle_signals=True):
            raise LookupError("the service's own bug")

    with pytest.raises(LookupError, match="own bug"):
        await serve()
    assert torn == ["resource"]


async def test_cancelling_a_boot_in_progress_tears_down_what_started() -> None:
    torn: list[str] = []
    boot = Boot("cancelled-from-outside")

    @boot.phase()
    async def first():  # type: ignore[no-untyped-def]
        yield 1
        torn.append("first")

    @boot.phase()
    async def slow(first: int) -> None:
        await anyio.sleep_forever()

    with anyio.move_on_after(0.05) as scope:
        await boot.run_once(sinks=[])
    assert scope.cancelled_caught
    assert torn == ["first"]


async def test_a_signal_during_the_rollback_of_a_failed_boot_changes_nothing() -> None:
    torn: list[str] = []
    boot = Boot("signal-in-rollback")

    @boot.phase()
    async def first():  # type: ignore[no-untyped-def]
        yield 1
        os.kill(os.getpid(), signal.SIGTERM)
        await anyio.sleep(0.05)
        torn.append("first")

    @boot.phase()
    async def broken(first: int) -> None:
        raise RuntimeError("down")

    with capture_events() as events, pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[], handle_signals=True)
    assert caught.value.diagnostic.kind == "phase_failed"
    assert torn == ["first"]
    effects = [e.effect for e in events if isinstance(e, SignalReceived)]
    assert effects == ["already stopping; every teardown still runs"]


async def test_a_finished_boot_nobody_holds_is_freed_without_the_collector() -> None:
    """Nothing failed: a recorded exception keeps the frames it was raised through (and,
    from Python 3.12, the frames that called them), which only the collector frees."""
    import gc
    import weakref
    from collections.abc import AsyncIterator

    boot = Boot("freed")

    @boot.phase()
    async def pool() -> AsyncIterator[str]:
        yield "pool"

    @boot.phase(timeout=30)
    async def cache(pool: str) -> str:
        await anyio.lowlevel.checkpoint()
        return pool

    @boot.service()
    async def pump(pool: str, ctx: PhaseContext) -> None:
        ctx.started(pool)
        await anyio.sleep_forever()

    gc.collect()
    gc.disable()
    try:
        async with boot.start(sinks=[]) as running:
            lifecycle = weakref.ref(running._lifecycle)
            engine = weakref.ref(running._lifecycle.engine)
        del running
        assert lifecycle() is None
        assert engine() is None
    finally:
        gc.enable()
