"""The engine begins plain async phases in its own task and spawns one only when a phase waits.

None of that may be observable: each phase sees what a task of its own would
give it (its context, its deadlines, its cancellation), whether it waits or not.
"""

from __future__ import annotations

import contextvars
import inspect
import math
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from orchestrator import Boot, BootAborted, PhaseStatus

pytestmark = pytest.mark.anyio

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def setter_and_reader(*, setter_waits: bool, reader_waits: bool) -> tuple[Boot, dict[str, str]]:
    """Two independent phases: the first sets a context variable, the second reads it."""
    boot = Boot("context")
    read: dict[str, str] = {}

    @boot.phase()
    async def setter() -> None:
        SEEN.set("leaked")
        if setter_waits:
            await anyio.lowlevel.checkpoint()
            SEEN.set("leaked after a wait")

    @boot.phase()
    async def reader() -> None:
        if reader_waits:
            await anyio.lowlevel.checkpoint()
        read["reader"] = SEEN.get()

    return boot, read


@pytest.mark.parametrize("setter_waits", [False, True])
@pytest.mark.parametrize("reader_waits", [False, True])
async def test_a_context_variable_a_phase_sets_is_never_seen_by_another_phase(
    setter_waits: bool, reader_waits: bool
) -> None:
    boot, read = setter_and_reader(setter_waits=setter_waits, reader_waits=reader_waits)

    await boot.run_once(sinks=[])

    assert read == {"reader": "unset"}


async def test_a_context_variable_a_phase_sets_is_never_seen_by_the_caller() -> None:
    boot, _ = setter_and_reader(setter_waits=False, reader_waits=False)

    await boot.run_once(sinks=[])

    assert SEEN.get() == "unset"


async def test_every_phase_sees_the_context_variables_of_the_caller() -> None:
    boot = Boot("inherited")
    read: list[str] = []

    @boot.phase()
    async def first() -> None:
        read.append(SEEN.get())

    @boot.phase()
    async def second(first: None) -> None:
        await anyio.lowlevel.checkpoint()
        read.append(SEEN.get())

    token = SEEN.set("from the caller")
    try:
        await boot.run_once(sinks=[])
    finally:
        SEEN.reset(token)

    assert read == ["from the caller", "from the caller"]


async def test_a_phase_with_a_timeout_sees_its_deadline_before_it_first_waits() -> None:
    boot = Boot("deadline")
    deadlines: dict[str, float] = {}

    @boot.phase(timeout=30)
    async def timed() -> None:
        deadlines["timed"] = anyio.current_effective_deadline() - anyio.current_time()

    @boot.phase()
    async def untimed() -> None:
        deadlines["untimed"] = anyio.current_effective_deadline()

    await boot.run_once(sinks=[])

    assert 0 < deadlines["timed"] <= 30
    assert deadlines["untimed"] == math.inf


async def test_a_phase_sees_the_boots_deadline_before_it_first_waits() -> None:
    boot = Boot("boot deadline")
    deadlines: list[float] = []

    @boot.phase()
    async def plain() -> None:
        deadlines.append(anyio.current_effective_deadline() - anyio.current_time())

    await boot.run_once(sinks=[], deadline=60)

    assert 0 < deadlines[0] <= 60


@pytest.mark.parametrize("waits", [False, True])
async def test_a_phase_that_raises_before_or_after_waiting_fails_the_same_way(
    waits: bool,
) -> None:
    boot = Boot("raises")

    @boot.phase()
    async def broken() -> None:
        if waits:
            await anyio.lowlevel.checkpoint()
        raise LookupError("no such thing")

    @boot.phase()
    async def after(broken: None) -> None:
        raise AssertionError("never runs")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])

    statuses = {record.name: record.status for record in caught.value.report.phases}
    assert statuses == {"broken": PhaseStatus.FAILED, "after": PhaseStatus.BLOCKED}
    assert isinstance(caught.value.__cause__, LookupError)


async def test_phases_that_wait_begin_in_plan_order_and_all_wait_at_once() -> None:
    boot = Boot("fan out")
    began: list[str] = []
    waiting = 0
    most = 0
    release = anyio.Event()

    def waiter(name: str) -> Callable[[], Awaitable[None]]:
        async def wait() -> None:
            nonlocal waiting, most
            began.append(name)
            waiting += 1
            most = max(most, waiting)
            if waiting == 5:
                release.set()
            await release.wait()
            waiting -= 1

        wait.__name__ = wait.__qualname__ = name
        return wait

    for index in range(5):
        boot.add(waiter(f"w{index}"))

    await boot.run_once(sinks=[])

    assert began == [f"w{index}" for index in range(5)]
    assert most == 5


@pytest.mark.skipif(
    not hasattr(inspect, "markcoroutinefunction"), reason="inspect.markcoroutinefunction: 3.12+"
)
async def test_a_phase_marked_async_that_returns_another_awaitable_is_awaited() -> None:
    class Later:
        def __await__(self) -> Any:
            yield from anyio.lowlevel.checkpoint().__await__()
            return "later"

    def later() -> Later:
        return Later()

    marked = inspect.markcoroutinefunction(later)  # type: ignore[attr-defined]
    boot = Boot("awaitable")
    boot.add(marked)
    got: list[str] = []

    @boot.phase()
    async def after(later: str) -> None:
        got.append(later)

    await boot.run_once(sinks=[])

    assert got == ["later"]


def waits_first(boot: Boot, release: anyio.Event) -> None:
    """A first phase that waits, so that every later independent phase begins in a spare."""

    @boot.phase()
    async def first() -> None:
        await release.wait()


def deadline_seen_by_a_spare() -> tuple[Boot, list[float]]:
    """A boot whose second phase begins in a spare and notes the seconds to its deadline."""
    boot = Boot("spare deadline")
    release = anyio.Event()
    waits_first(boot, release)
    deadlines: list[float] = []

    @boot.phase()
    async def later() -> None:
        await anyio.lowlevel.checkpoint()
        deadlines.append(anyio.current_effective_deadline() - anyio.current_time())
        release.set()

    return boot, deadlines


async def test_a_phase_begun_by_a_spare_sees_the_deadline_of_the_boot() -> None:
    boot, deadlines = deadline_seen_by_a_spare()

    await boot.run_once(sinks=[], deadline=60)

    assert 0 < deadlines[0] <= 60


async def test_a_phase_begun_by_a_spare_sees_the_deadline_of_the_caller() -> None:
    boot, deadlines = deadline_seen_by_a_spare()

    with anyio.fail_after(60):
        await boot.run_once(sinks=[])

    assert 0 < deadlines[0] <= 60


async def test_an_abort_lets_a_phase_in_a_spare_finish_its_shielded_cleanup() -> None:
    boot = Boot("shielded")
    cleaned: list[str] = []

    @boot.phase()
    async def first() -> None:
        await anyio.sleep_forever()

    @boot.phase()
    async def holder() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                await anyio.lowlevel.checkpoint()
                cleaned.append("holder")

    @boot.phase()
    async def breaker() -> None:
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("broken")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])

    statuses = {record.name: record.status for record in caught.value.report.phases}
    assert statuses == {
        "first": PhaseStatus.CANCELLED,
        "holder": PhaseStatus.CANCELLED,
        "breaker": PhaseStatus.FAILED,
    }
    assert cleaned == ["holder"]


async def test_the_caller_cancelling_the_boot_cancels_the_phases_in_spares() -> None:
    boot = Boot("caller cancels")
    release = anyio.Event()
    waits_first(boot, release)
    began: list[str] = []

    @boot.phase()
    async def later() -> None:
        began.append("later")
        await anyio.sleep_forever()

    with anyio.move_on_after(0.05) as scope:
        await boot.run_once(sinks=[])

    assert scope.cancelled_caught
    assert began == ["later"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_native_workers_hand_the_first_error_to_the_waiting_task_and_cancel_the_rest(
    anyio_backend: str,
) -> None:
    from orchestrator._runtime._workers import NativeWorkers

    stopped: list[str] = []

    async def hangs() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stopped.append("hangs")

    async def breaks() -> None:
        await anyio.lowlevel.checkpoint()
        raise ValueError("engine bug")

    async def run_workers() -> None:
        async with anyio.create_task_group() as group:
            workers = NativeWorkers(group)
            workers.spawn(hangs)
            workers.spawn(breaks)
            await workers.wait()

    with pytest.raises(ExceptionGroup) as caught:  # as a task of the group would raise it
        await run_workers()

    assert [str(error) for error in caught.value.exceptions] == ["engine bug"]
    assert stopped == ["hangs"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_native_workers_spawned_after_a_cancel_begin_cancelled(anyio_backend: str) -> None:
    from orchestrator._runtime._workers import NativeWorkers

    reached: list[str] = []

    async def late() -> None:
        await anyio.lowlevel.checkpoint()
        reached.append("late")

    async with anyio.create_task_group() as group:
        workers = NativeWorkers(group)
        workers.cancel()
        workers.spawn(late)
        with anyio.CancelScope(shield=True):
            await workers.wait()

    assert reached == []


def sleepers(count: int) -> Boot:
    boot = Boot("sleepers")
    for index in range(count):

        async def sleeper(**_: object) -> None:
            await anyio.lowlevel.checkpoint()

        boot.add(sleeper, name=f"s{index}")
    return boot


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_workers_go_through_the_loops_task_factory(anyio_backend: str) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    made: list[asyncio.Task[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **options)
        made.append(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        with anyio.fail_after(30):  # a hang fails the test instead of blocking the suite
            report = await sleepers(50).run_once(sinks=[])
    finally:
        loop.set_task_factory(None)

    assert all(record.status is PhaseStatus.COMPLETED for record in report.phases)
    assert "smd worker" in [task.get_name() for task in made]  # named once made


EAGER_BOOT = """
import asyncio
from orchestrator import Boot, PhaseStatus

boot = Boot("eager")
for index in range(2000):
    async def sleeper(**_):
        await asyncio.sleep(0)
    boot.add(sleeper, name=f"s{index}")

async def main():
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    report = await boot.run_once(sinks=[])
    print(sum(record.status is PhaseStatus.COMPLETED for record in report.phases))

asyncio.run(main())
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory: 3.12+")
def test_a_boot_completes_when_the_loop_starts_tasks_eagerly() -> None:
    import subprocess

    # In a process of its own: it used to hang (a worker done at once was never forgotten).
    completed = subprocess.run(
        [sys.executable, "-c", EAGER_BOOT], check=False, capture_output=True, text=True, timeout=120
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["2000"]


@pytest.mark.skipif(
    not hasattr(inspect, "markcoroutinefunction"), reason="inspect.markcoroutinefunction: 3.12+"
)
async def test_what_a_phase_marked_async_does_when_called_stays_in_its_context() -> None:
    def eager() -> Any:
        SEEN.set("set when called")
        return anyio.lowlevel.checkpoint()

    marked = inspect.markcoroutinefunction(eager)  # type: ignore[attr-defined]
    boot = Boot("called")
    boot.add(marked, name="eager")
    read: list[str] = []

    @boot.phase()
    async def later() -> None:
        read.append(SEEN.get())

    await boot.run_once(sinks=[])

    assert read == ["unset"]
