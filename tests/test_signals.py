"""Rule 5, signals: abort during boot (interrupted, 130/143); orderly shutdown in service."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

from orchestrator import (
    Boot,
    BootAborted,
    BootInterrupt,
    BootState,
    PhaseStatus,
    TeardownOutcome,
)
from orchestrator._runtime._serve import serve_async

pytestmark = pytest.mark.anyio


def booting_boot(signum: int, torn: list[str]) -> Boot:
    boot = Boot("signalled")

    @boot.phase()
    async def database():  # type: ignore[no-untyped-def]
        yield "db"
        torn.append("database")

    @boot.phase()
    async def warmup(database: str) -> None:
        os.kill(os.getpid(), signum)
        await anyio.sleep(10)

    return boot


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_signal_during_boot_aborts_as_interrupted_and_tears_down(
    signum: int, code: int
) -> None:
    torn: list[str] = []
    with pytest.raises(BootAborted) as caught:
        await booting_boot(signum, torn).run_once(handle_signals=True, sinks=[])
    diagnostic = caught.value.diagnostic
    assert (diagnostic.kind, diagnostic.exit_code) == ("interrupted", code)
    assert diagnostic.cancelled == ("warmup",)
    assert caught.value.report["warmup"].status is PhaseStatus.CANCELLED
    assert caught.value.report["database"].teardown is TeardownOutcome.TORN_DOWN
    assert torn == ["database"]


async def test_signal_in_service_starts_an_orderly_shutdown() -> None:
    boot = Boot("serving")
    torn: list[str] = []

    @boot.phase()
    async def server():  # type: ignore[no-untyped-def]
        yield "listening"
        torn.append("server")

    async def stop_soon() -> None:
        await anyio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    async with anyio.create_task_group() as group:
        group.start_soon(stop_soon)
        code = await serve_async(boot, sinks=[])
    assert code == 0
    assert torn == ["server"]


async def test_boot_interrupt_aborts_a_boot_in_progress_as_a_signal_would() -> None:
    boot = Boot("interrupted-by-host")
    interrupt = BootInterrupt()
    torn: list[str] = []

    @boot.phase()
    async def database():  # type: ignore[no-untyped-def]
        yield "db"
        torn.append("database")

    @boot.phase()
    async def warmup(database: str) -> None:
        interrupt.trigger(signal.SIGTERM)
        await anyio.sleep(10)

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(interrupt=interrupt, sinks=[])
    assert (caught.value.diagnostic.kind, caught.value.exit_code) == ("interrupted", 143)
    assert torn == ["database"]


async def test_boot_interrupt_in_service_starts_the_orderly_stop() -> None:
    boot = Boot("late-interrupt")
    interrupt = BootInterrupt()
    torn: list[str] = []

    @boot.phase()
    async def server():  # type: ignore[no-untyped-def]
        yield "listening"
        torn.append("server")

    reached_end_of_block = False
    async with boot.start(interrupt=interrupt, sinks=[]) as running:
        interrupt.trigger()
        await anyio.sleep_forever()
        reached_end_of_block = True
    assert not reached_end_of_block
    assert running.state is BootState.STOPPED
    assert torn == ["server"]
