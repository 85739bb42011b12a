"""Rule 1, ready-queue scheduling; rule 6, no silent fallbacks; phase styles and injection."""

from __future__ import annotations

import threading

import anyio
import anyio.lowlevel
import pytest

from orchestrator import (
    Boot,
    BootState,
    PhaseContext,
    PhaseStarted,
    PhaseStatus,
)
from orchestrator.testing import capture_events

pytestmark = pytest.mark.anyio


def diamond(log: list[str]) -> Boot:
    boot = Boot("diamond")

    @boot.phase()
    async def root() -> str:
        log.append("root")
        return "r"

    @boot.phase()
    async def left(root: str) -> str:
        log.append("left")
        return root + "l"

    @boot.phase()
    async def right(root: str) -> str:
        log.append("right")
        return root + "r"

    @boot.phase()
    async def join(left: str, right: str) -> str:
        log.append("join")
        return left + right

    return boot


async def test_dependency_values_are_injected_by_parameter_name() -> None:
    boot = diamond([])
    async with boot.start(sinks=[]) as running:
        assert running.resources["join"] == "rlrr"


async def test_max_concurrency_one_runs_exactly_the_plan_order() -> None:
    boot = Boot("order")
    log: list[str] = []
    for index in range(12):
        name = f"p{index}"

        async def phase(name: str = name) -> None:
            await anyio.lowlevel.checkpoint()
            log.append(name)

        boot.add(phase, name=name, after=[f"p{index - 3}"] if index >= 3 else [])
    await boot.run_once(max_concurrency=1, sinks=[])
    assert log == list(boot.plan().order)


async def test_phases_ready_together_start_in_plan_order() -> None:
    boot = Boot("fan")

    @boot.phase()
    async def base() -> None:
        return None

    for name in ("zeta", "alpha", "mid"):

        async def leaf(base: None) -> None:
            await anyio.lowlevel.checkpoint()

        boot.add(leaf, name=name)
    with capture_events() as events:
        await boot.run_once(sinks=[])
    started = [e.phase for e in events if isinstance(e, PhaseStarted)]
    assert started == ["base", "zeta", "alpha", "mid"]


async def test_a_phase_starts_as_soon_as_its_own_dependencies_finish() -> None:
    boot = Boot("eager")
    slow_done = anyio.Event()
    order: list[str] = []

    @boot.phase()
    async def slow() -> None:
        await slow_done.wait()
        order.append("slow")

    @boot.phase()
    async def fast() -> None:
        order.append("fast")

    @boot.phase()
    async def after_fast(fast: None) -> None:
        order.append("after_fast")
        slow_done.set()

    await boot.run_once(sinks=[])
    assert order == ["fast", "after_fast", "slow"]


async def test_max_concurrency_bounds_phases_in_flight() -> None:
    boot = Boot("bounded")
    in_flight = 0
    peak = 0
    for index in range(10):

        async def phase() -> None:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.001)
            in_flight -= 1

        boot.add(phase, name=f"p{index}")
    await boot.run_once(max_concurrency=3, sinks=[])
    assert peak == 3


async def test_plain_function_runs_in_a_worker_thread() -> None:
    boot = Boot("threads")
    loop_thread = threading.current_thread()

    @boot.phase()
    def blocking() -> threading.Thread:
        return threading.current_thread()

    async with boot.start(sinks=[]) as running:
        assert running.resources["blocking"] is not loop_thread


async def test_generator_phases_yield_their_value_and_tear_down_after() -> None:
    boot = Boot("generators")
    log: list[str] = []

    @boot.phase()
    def sync_resource():  # type: ignore[no-untyped-def]
        log.append("open sync")
        yield "sync"
        log.append("close sync")

    @boot.phase()
    async def async_resource(sync_resource: str):  # type: ignore[no-untyped-def]
        log.append("open async")
        yield sync_resource + "+async"
        log.append("close async")

    async with boot.start(sinks=[]) as running:
        assert running.resources["async_resource"] == "sync+async"
        assert log == ["open sync", "open async"]
    assert log == ["open sync", "open async", "close async", "close sync"]


async def test_object_with_start_and_stop_is_a_phase() -> None:
    class Cache:
        def __init__(self) -> None:
            self.stopped = False

        async def start(self, settings: dict[str, int]) -> Cache:
            self.size = settings["size"]
            return self

        async def stop(self) -> None:
            self.stopped = True

    boot = Boot("component")
    boot.add(lambda: {"size": 3}, name="settings")
    cache = Cache()
    boot.add(cache, name="cache", timeout=5)
    async with boot.start(sinks=[]) as running:
        assert running.resources["cache"].size == 3
    assert cache.stopped


async def test_context_parameter_receives_phase_context() -> None:
    boot = Boot("ctx")
    seen: list[PhaseContext] = []

    @boot.phase(timeout=5)
    async def probe(ctx: PhaseContext) -> None:
        seen.append(ctx)
        assert 0 < ctx.remaining() <= 5

    await boot.run_once(sinks=[])
    assert (seen[0].boot, seen[0].phase, seen[0].attempt) == ("ctx", "probe", 1)
    assert seen[0].deadline is not None


async def test_parameter_with_default_is_not_a_dependency() -> None:
    boot = Boot("defaults")

    @boot.phase()
    async def phase(retries: int = 3) -> int:
        return retries

    assert boot.plan().phases[0].requires == ()
    async with boot.start(sinks=[]) as running:
        assert running.resources["phase"] == 3


async def test_when_false_skips_the_phase_and_what_needs_its_value() -> None:
    boot = Boot("conditional")

    @boot.phase(when=False)
    async def feature() -> str:
        raise AssertionError("must not run")

    @boot.phase()
    async def uses_feature(feature: str) -> None:
        raise AssertionError("must not run")

    @boot.phase(after=["feature"])
    async def ordered_after() -> str:
        return "ran"

    async with boot.start(sinks=[]) as running:
        report = running.report
        assert running.state is BootState.READY
        assert running.resources["ordered_after"] == "ran"
        assert "feature" not in running.resources
    assert report["feature"].status is PhaseStatus.SKIPPED
    assert report["uses_feature"].status is PhaseStatus.SKIPPED


async def test_when_callable_is_evaluated_when_the_phase_becomes_ready() -> None:
    boot = Boot("late-condition")
    flags = {"on": False}

    @boot.phase()
    async def switch() -> None:
        flags["on"] = True

    @boot.phase(when=lambda: flags["on"], after="switch")
    async def guarded() -> str:
        return "ran"

    report = await boot.run_once(sinks=[])
    assert report["guarded"].status is PhaseStatus.COMPLETED


async def test_non_critical_failure_degrades_and_blocks_its_dependents() -> None:
    boot = Boot("degraded")

    @boot.phase(critical=False)
    async def metrics() -> None:
        raise ConnectionError("collector unreachable")

    @boot.phase()
    async def metrics_exporter(metrics: None) -> None:
        raise AssertionError("must not run")

    @boot.phase()
    async def api() -> str:
        return "up"

    async with boot.start(sinks=[]) as running:
        assert running.state is BootState.DEGRADED
        report = running.report
    assert report["metrics"].status is PhaseStatus.FAILED
    assert report["metrics"].error == {
        "type": "ConnectionError",
        "message": "collector unreachable",
    }
    assert report["metrics_exporter"].status is PhaseStatus.BLOCKED
    assert report["api"].status is PhaseStatus.COMPLETED


async def test_nothing_is_downgraded_without_a_declaration() -> None:
    boot = Boot("strict")

    @boot.phase()
    async def optional_looking() -> None:
        raise RuntimeError("no fallback")

    @boot.phase()
    async def other() -> None:
        return None

    from orchestrator import BootAborted

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.report.state is BootState.FAILED
    assert caught.value.diagnostic.kind == "phase_failed"


async def test_a_generator_that_never_yields_fails_with_a_clear_message() -> None:
    boot = Boot("no-yield")

    @boot.phase()
    async def empty():  # type: ignore[no-untyped-def]
        if False:
            yield None

    @boot.phase()
    def empty_sync():  # type: ignore[no-untyped-def]
        if False:
            yield None

    from orchestrator import BootAborted

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(max_concurrency=1, sinks=[])
    assert caught.value.diagnostic.cause == (
        "NothingYielded: phase 'empty' finished without yielding a value"
    )


async def test_a_generator_that_yields_twice_fails_its_teardown() -> None:
    boot = Boot("two-yields")

    @boot.phase()
    async def twice():  # type: ignore[no-untyped-def]
        yield 1
        yield 2

    @boot.phase()
    def twice_sync():  # type: ignore[no-untyped-def]
        yield 1
        yield 2

    report = await boot.run_once(sinks=[])
    for name in ("twice", "twice_sync"):
        error = report[name].teardown_error
        assert error is not None
        assert (
            error["message"]
            == f"phase '{name}' yielded more than once; a phase yields its value once"
        )


async def test_a_component_with_sync_start_and_stop_runs_them_in_a_thread() -> None:
    loop_thread = threading.current_thread()

    class Pool:
        def start(self) -> threading.Thread:
            return threading.current_thread()

        def stop(self) -> None:
            self.stopped_in = threading.current_thread()

    pool = Pool()
    boot = Boot("sync-component")
    boot.add(pool, name="pool")
    async with boot.start(sinks=[]) as running:
        assert running.resources["pool"] is not loop_thread
    assert pool.stopped_in is not loop_thread
