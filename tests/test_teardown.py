"""Rule 3: teardown is a graph too, and nothing stops it."""

from __future__ import annotations

import anyio
import pytest

from orchestrator import Boot, BootAborted, TeardownFailed, TeardownOutcome
from orchestrator.testing import capture_events, inject_fault

pytestmark = pytest.mark.anyio


def diamond(log: list[str], together: frozenset[str] = frozenset()) -> Boot:
    """base -> (left | right) -> top, and `lone` on its own; every phase tears down.

    The teardowns named in `together` each wait until all of them have begun.
    """
    boot = Boot("diamond")
    began: set[str] = set()
    all_began = anyio.Event()

    def resource(name: str, *needs: str) -> None:
        async def phase(**_: object):  # type: ignore[no-untyped-def]
            yield name
            log.append(f"begin {name}")
            if name in together:
                began.add(name)
                if began == together:
                    all_began.set()
                await all_began.wait()
            else:
                await anyio.lowlevel.checkpoint()
            log.append(f"end {name}")

        boot.add(phase, name=name, after=needs)

    resource("base")
    resource("left", "base")
    resource("right", "base")
    resource("top", "left", "right")
    resource("lone")
    return boot


async def test_a_teardown_starts_only_after_every_dependent_finished_its_own() -> None:
    log: list[str] = []
    await diamond(log).run_once(sinks=[])
    position = {line: i for i, line in enumerate(log)}
    for dependent, dependency in [("top", "left"), ("top", "right"), ("left", "base")]:
        assert position[f"end {dependent}"] < position[f"begin {dependency}"]
    assert position["end right"] < position["begin base"]
    assert sorted(line for line in log if line.startswith("end")) == [
        "end base",
        "end left",
        "end lone",
        "end right",
        "end top",
    ]


async def test_independent_teardowns_run_at_the_same_time() -> None:
    log: list[str] = []
    with anyio.fail_after(5):  # left and right each wait for the other to have begun
        await diamond(log, frozenset({"left", "right"})).run_once(sinks=[])
    assert log.index("begin right") < log.index("end left")
    assert log.index("begin left") < log.index("end right")


async def test_max_concurrency_one_tears_down_in_exact_reverse_plan_order() -> None:
    log: list[str] = []
    boot = diamond(log)
    await boot.run_once(sinks=[], max_concurrency=1)
    ends = [line.split()[1] for line in log if line.startswith("end")]
    assert ends == list(reversed(boot.plan().order))


async def test_max_concurrency_bounds_the_teardowns_in_flight() -> None:
    boot = Boot("wide")
    in_flight = 0
    peak = 0

    for index in range(8):

        async def phase():  # type: ignore[no-untyped-def]
            nonlocal in_flight, peak
            yield None
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.005)
            in_flight -= 1

        boot.add(phase, name=f"p{index}")
    await boot.run_once(sinks=[], max_concurrency=3)
    assert peak == 3


async def test_a_hanging_teardown_fails_at_its_teardown_timeout_and_the_others_still_run() -> None:
    boot = Boot("hang")
    torn: list[str] = []

    @boot.phase()
    async def base():  # type: ignore[no-untyped-def]
        yield 1
        torn.append("base")

    @boot.phase(teardown_timeout=0.05)
    async def stuck(base: int):  # type: ignore[no-untyped-def]
        yield 2
        await anyio.sleep_forever()

    report = await boot.run_once(sinks=[])
    assert report["stuck"].teardown is TeardownOutcome.TEARDOWN_FAILED
    assert report["stuck"].teardown_error is not None
    assert "teardown exceeded its 0.05s deadline" in report["stuck"].teardown_error["message"]
    assert torn == ["base"]


async def test_stop_timeout_bounds_the_whole_stop_and_names_what_was_not_done() -> None:
    boot = Boot("budget")
    torn: list[str] = []

    @boot.phase()
    async def base():  # type: ignore[no-untyped-def]
        yield 1
        torn.append("base")

    @boot.phase()
    async def slow(base: int):  # type: ignore[no-untyped-def]
        yield 2
        await anyio.sleep_forever()

    with capture_events() as events:
        async with boot.start(sinks=[], stop_timeout=0.05) as running:
            pass
    report = running.report
    assert running.stop_failed
    for name in ("slow", "base"):
        assert report[name].teardown is TeardownOutcome.TEARDOWN_FAILED
        assert report[name].teardown_error is not None
        assert report[name].teardown_error["message"].startswith("stop timeout")
    assert torn == []
    assert [e.phase for e in events if isinstance(e, TeardownFailed)] == ["slow", "base"]


async def test_a_stop_within_its_budget_completes_every_teardown() -> None:
    log: list[str] = []
    async with diamond(log).start(sinks=[], stop_timeout=5) as running:
        pass
    assert not running.stop_failed
    assert len([line for line in log if line.startswith("end")]) == 5


async def test_the_stop_is_shielded_from_the_caller_cancelling_it() -> None:
    boot = Boot("shielded")
    torn: list[str] = []

    @boot.phase()
    async def resource():  # type: ignore[no-untyped-def]
        yield 1
        await anyio.sleep(0.01)
        torn.append("resource")

    with anyio.move_on_after(0.05) as scope:
        async with boot.start(sinks=[]):
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert torn == ["resource"]


async def test_a_teardown_that_fails_after_an_abort_leaves_the_diagnostic_unchanged() -> None:
    log: list[str] = []
    with (
        inject_fault("top", error=RuntimeError("late")),
        inject_fault("base", during="teardown", error=KeyboardInterrupt()),
        pytest.raises(BootAborted) as caught,
    ):
        await diamond(log).run_once(sinks=[])
    assert caught.value.diagnostic.kind == "phase_failed"
    assert caught.value.diagnostic.phase == "top"
    assert ("base", "teardown_failed") in caught.value.diagnostic.teardown
