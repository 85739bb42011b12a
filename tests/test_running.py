"""`boot.start()`, `RunningBoot` and the `BootState` transitions."""

from __future__ import annotations

import pytest

from orchestrator import Boot, BootAborted, BootReady, BootState, RunningBoot
from orchestrator.testing import capture_events

pytestmark = pytest.mark.anyio


async def test_state_goes_starting_ready_stopping_stopped() -> None:
    boot = Boot("states")
    seen: list[BootState] = []
    holder: list[RunningBoot] = []

    @boot.phase()
    async def resource():  # type: ignore[no-untyped-def]
        yield "r"
        seen.append(holder[0].state)

    with capture_events() as events:
        async with boot.start(sinks=[]) as running:
            holder.append(running)
            seen.append(running.state)
            assert running.ready
    seen.append(running.state)
    assert seen == [BootState.READY, BootState.STOPPING, BootState.STOPPED]
    assert [e.state for e in events if isinstance(e, BootReady)] == [BootState.READY]
    assert running.report.outcome is BootState.READY


async def test_resources_are_read_only() -> None:
    boot = Boot("read-only")
    boot.add(lambda: 1, name="one")
    async with boot.start(sinks=[]) as running:
        with pytest.raises(TypeError):
            running.resources["one"] = 2  # type: ignore[index]


async def test_draining_turns_the_boot_not_ready() -> None:
    boot = Boot("draining")
    boot.add(lambda: 1, name="one")
    async with boot.start(sinks=[]) as running:
        running.begin_draining()
        assert running.draining
        assert not running.ready
        assert running.state is BootState.READY


async def test_aborted_report_state_is_failed() -> None:
    boot = Boot("failed")

    @boot.phase()
    async def broken() -> None:
        raise RuntimeError("x")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.report.state is BootState.FAILED
    assert caught.value.report.outcome is BootState.FAILED


async def test_invalid_start_options_are_refused() -> None:
    boot = Boot("options")
    boot.add(lambda: 1, name="one")
    with pytest.raises(ValueError, match="max_concurrency"):
        await boot.run_once(max_concurrency=0)
    with pytest.raises(ValueError, match="deadline"):
        await boot.run_once(deadline=-1)
