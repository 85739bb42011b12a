"""Rule 5 for threads and blocked loops; rule 4 under trio's shuffling; what a timeout keeps."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from orchestrator import Boot, BootAborted, GateResult, PhaseStatus, TeardownOutcome
from orchestrator._runtime._lifecycle import Lifecycle

pytestmark = pytest.mark.anyio


async def test_many_abandoned_threads_never_starve_a_later_sync_phase() -> None:
    release = threading.Event()
    boot = Boot("starved")
    for index in range(50):
        boot.add(release.wait, name=f"stuck{index}", timeout=0.01, critical=False)
    boot.add(lambda: "ran", name="later", after=[f"stuck{i}" for i in range(50)])
    try:
        with anyio.fail_after(10):
            report = await boot.run_once(sinks=[])
    finally:
        release.set()
    assert report["later"].status is PhaseStatus.COMPLETED
    assert all(report[f"stuck{i}"].status is PhaseStatus.TIMED_OUT for i in range(50))


async def test_a_dependency_is_torn_down_only_after_its_dependents_abandoned_thread_ends() -> None:
    boot = Boot("thread-uses-dependency")
    events: list[str] = []
    release = threading.Event()

    @boot.phase()
    async def database():  # type: ignore[no-untyped-def]
        yield "db"
        events.append("database closed")

    @boot.phase(timeout=0.02, critical=False)
    def report_writer(database: str) -> None:
        release.wait(10)
        time.sleep(0.05)
        events.append("thread done with the database")

    async with boot.start(sinks=[]):
        assert events == []
        release.set()
    assert events == ["thread done with the database", "database closed"]


async def test_an_async_phase_that_blocks_the_loop_past_its_timeout_is_timed_out() -> None:
    boot = Boot("blocking")

    @boot.phase(timeout=0.01)
    async def blocks() -> None:
        time.sleep(0.05)  # the mistake: a blocking call in an async phase  # noqa: ASYNC251

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.kind == "timed_out"
    assert caught.value.report["blocks"].status is PhaseStatus.TIMED_OUT
    assert any("did not yield to the event loop" in d for d in caught.value.diagnostic.details)


def same_pass_boot(go: anyio.Event) -> Boot:
    """Three phases that wait for one event and all fail as soon as it is set."""
    boot = Boot("same-pass")

    @boot.phase()
    async def opener() -> None:
        await anyio.lowlevel.checkpoint()
        go.set()

    async def fails() -> None:
        await go.wait()
        raise RuntimeError("down")

    for name in ("first", "second", "third"):
        boot.add(fails, name=name)
    return boot


async def test_failures_in_the_same_scheduler_pass_are_blamed_in_plan_order() -> None:
    for _ in range(20):  # trio shuffles the tasks that wake together
        boot = same_pass_boot(anyio.Event())
        with pytest.raises(BootAborted) as caught:
            await boot.run_once(sinks=[])
        assert caught.value.diagnostic.phase == "first"
        statuses = [caught.value.report[n].status for n in ("first", "second", "third")]
        assert statuses == [PhaseStatus.FAILED] * 3


async def test_a_timeout_keeps_where_an_async_phase_was_waiting() -> None:
    boot = Boot("stuck-async")

    @boot.phase(timeout=0.02)
    async def waits_forever() -> None:
        await anyio.sleep_forever()

    lifecycle = Lifecycle(
        boot.plan(), max_concurrency=None, deadline=None, stop_timeout=None, sinks=[]
    )
    await lifecycle.start()
    stuck = lifecycle.snapshot().stuck["waits_forever"]
    assert "waits_forever" in [frame.name for frame in stuck]


async def test_a_timeout_keeps_where_a_sync_phase_was_stuck_in_its_thread() -> None:
    boot = Boot("stuck-sync")
    release = threading.Event()

    def waits_in_thread() -> None:
        release.wait(10)

    boot.add(waits_in_thread, timeout=0.02)
    lifecycle = Lifecycle(
        boot.plan(), max_concurrency=None, deadline=None, stop_timeout=None, sinks=[]
    )
    try:
        await lifecycle.start()
    finally:
        release.set()
    stuck = lifecycle.snapshot().stuck["waits_in_thread"]
    assert "waits_in_thread" in [frame.name for frame in stuck]


async def test_a_refusing_generator_gate_is_torn_down_and_stays_a_gate_refusal() -> None:
    boot = Boot("generator-gate")
    torn: list[str] = []

    @boot.gate()
    async def check():  # type: ignore[no-untyped-def]
        yield GateResult(is_valid=False, validation_errors=("nope",))
        torn.append("check")
        raise OSError("and its teardown fails too")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.kind == "gate_failed"
    assert torn == ["check"]
    assert caught.value.report["check"].teardown is TeardownOutcome.TEARDOWN_FAILED
    assert caught.value.diagnostic.teardown == (("check", "teardown_failed"),)
